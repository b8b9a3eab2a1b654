"""The training loop: variable-rate rate–distortion optimisation on CPU or GPU.

Recipe (see ``docs/training.md`` for the evidence behind it):

* λ sampled per *sample*: quality q ~ U[1, L], λ(q) log-linearly interpolated between the
  model's trained levels, gains interpolated the same way (Cui et al., CVPR 2021);
* Adam with linear warm-up then cosine decay over the run — or, with ``decay_steps``, a constant
  rate and a cosine decay over only the last ``decay_steps`` (warm-up–stable–decay: a long run
  stays at full rate, and a short decayed fork of any checkpoint gives the weights to ship);
  gradient-norm clipping;
* bf16 autocast + channels_last on CPU (likelihoods and the rate in fp32) where the hardware
  has bf16 arithmetic; fp32 elsewhere, where emulated bf16 is several times slower — in
  channels_last when eager, in the default layout when compiled (``mbt2018-mean``, batch 8 of
  256², 2 Xeon cores with AVX-512 but not its BF16 extension: eager 2.51 s per step in
  channels_last against 2.96 s; compiled 2.26 s against 1.79 s);
* an exponential moving average of the weights — the EMA is what validation codes and what
  gets exported, since it is far better than the raw weights while the learning rate is high;
* checkpoints every few minutes and on SIGINT/SIGTERM; ``--resume`` continues exactly;
* validation with *real* coding (bytes of actual ``.lic`` files) on a held-out folder.

Runs under ``torchrun`` with DistributedDataParallel (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from licodec import api, models
from licodec.errors import InvalidOptionError
from licodec.eval.metrics import psnr
from licodec.models.base import LAMBDAS_MSE
from licodec.precision import native_bf16
from licodec.train.checkpoint import load_checkpoint, save_checkpoint
from licodec.train.data import CounterSampler, RandomCrops, load_eval_images
from licodec.train.loss import rd_loss


@dataclass
class TrainConfig:
    model: str
    data: str
    out: str
    steps: int
    lambdas: tuple[float, ...] = LAMBDAS_MSE
    val: str | None = None
    batch: int = 16
    patch: int = 128
    downscale: float = 1.0  # crops shrunk from squares up to this many times the patch
    lr: float = 5e-4
    lr_min: float = 1e-5
    warmup: int = 500
    decay_steps: int = 0  # 0: cosine over the whole run; else constant, then cosine over the last decay_steps
    clip: float = 1.0
    ema: float = 0.999
    metric: str = "mse"
    workers: int = 0
    threads: int = 0
    seed: int = 0
    bf16: bool = True
    channels_last: bool = True
    compile: bool = False
    checkpoint_minutes: float = 5.0
    val_every: int = 2000
    hours: float = 0.0  # stop when the run's training clock reaches this (0: no limit)
    val_images: int = 6
    val_qualities: tuple[float, ...] = (1.0, 4.0, 8.0)
    log_every: int = 20
    init: str | None = None
    model_config: dict[str, Any] = field(default_factory=dict)
    progress: bool = True

    def validate(self) -> None:
        if self.hours < 0:
            raise InvalidOptionError("hours must be >= 0")
        if self.steps <= 0 or self.batch <= 0 or self.patch < 64 or self.patch % 64:
            raise InvalidOptionError("steps and batch must be positive and patch a multiple of 64 (>= 64)")
        if not 1 <= self.downscale <= 8:
            raise InvalidOptionError("downscale must be between 1 and 8")
        if self.decay_steps < 0 or self.warmup < 0:
            raise InvalidOptionError("warmup and decay steps must be >= 0")
        if not self.lambdas or any(not (l > 0 and math.isfinite(l)) for l in self.lambdas):
            raise InvalidOptionError("lambdas must be positive numbers")
        if list(self.lambdas) != sorted(self.lambdas):
            raise InvalidOptionError("lambdas must be increasing (quality 1 = lowest rate)")
        if self.metric not in ("mse", "ms-ssim"):
            raise InvalidOptionError("metric must be 'mse' or 'ms-ssim'")
        if self.compile and not models.model_class(self.model).compiles:
            raise InvalidOptionError(f"--compile is not available for {self.model} (torch.compile aborts in its "
                                     "backward pass); train it without --compile")


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate of optimizer step ``step``: linear warm-up, then cosine decay to ``lr_min``
    (Loshchilov & Hutter, SGDR, ICLR 2017, eq. 5) over the whole run or, with ``decay_steps``,
    over only its last ``decay_steps`` after a constant phase (warm-up–stable–decay)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    start = max(cfg.warmup, cfg.steps - cfg.decay_steps) if cfg.decay_steps else cfg.warmup
    if step < start:
        return cfg.lr
    t = min(1.0, (step - start) / max(1, cfg.steps - start))
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


# options that define what a run learns from; --lr, --steps, --warmup, --decay-steps change on
# purpose when a run resumes, these rarely do
_RECIPE = ("data", "batch", "patch", "downscale", "lambdas", "metric", "seed")


def _warn_changed_recipe(cfg: TrainConfig, saved: dict[str, Any]) -> None:
    """Warn for each recipe option a resumed run gets with a value other than the one it trained
    with: the command line wins, so a forgotten option silently changes the training data."""
    for name in _RECIPE:
        now, before = getattr(cfg, name), saved.get(name)
        now = list(now) if isinstance(now, tuple) else now  # JSON keeps tuples as lists
        if before is not None and now != before:
            warnings.warn(f"resuming with --{name} {_shown(now)}; the run trained with {_shown(before)}")


def _shown(value: Any) -> str:
    return ",".join(f"{v:g}" for v in value) if isinstance(value, list) else (f"{value:g}" if isinstance(value, float) else str(value))


def build_model(cfg: TrainConfig) -> models.CompressionModel:
    kwargs = dict(cfg.model_config)
    kwargs["lambdas"] = tuple(cfg.lambdas)
    net = models.create(cfg.model, pretrained=False, weights=cfg.init, **kwargs) if cfg.init else \
        models.create(cfg.model, pretrained=False, **kwargs)
    return net


@torch.no_grad()
def evaluate_coded(net: models.CompressionModel, images: list[np.ndarray], qualities: tuple[float, ...]) -> list[dict[str, float]]:
    """Real coding: bytes of complete .lic files, PSNR of the decoded 8-bit image. Without the
    post-filter (:mod:`licodec.postfilter`), so the numbers follow the model alone."""
    net.eval()
    net.update_tables()
    rows = []
    for q in qualities:
        q = min(max(q, net.quality_range[0]), net.quality_range[1])
        bpps, psnrs = [], []
        for img in images:
            data = api.compress(img, quality=q, net=net, postfilter=False)
            rec, _ = api.decode_array(data, net=net)
            bpps.append(8 * len(data) / (img.shape[0] * img.shape[1]))
            psnrs.append(psnr(img, rec))
        rows.append({"quality": q, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))})
    return rows


class Trainer:
    def __init__(self, cfg: TrainConfig, resume: bool = False):
        cfg.validate()
        self.cfg = cfg
        self.rank, self.world = _dist_info()
        self.run = Path(cfg.out)
        self.run.mkdir(parents=True, exist_ok=True)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.set_flush_denormal(True)  # denormals slow CPU kernels by orders of magnitude
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.device = torch.device("cuda", self.rank % max(1, torch.cuda.device_count())) if torch.cuda.is_available() else torch.device("cpu")
        self.bf16 = cfg.bf16 and native_bf16(self.device)
        if cfg.bf16 and not self.bf16 and self.rank == 0:
            warnings.warn("this machine has no bf16 arithmetic (a CPU needs AVX-512 BF16 or AMX): "
                          "training in fp32, which is faster here than emulated bf16")
        if resume and (self.run / "checkpoint.json").is_file():  # e.g. a grown model's residual
            saved = json.loads((self.run / "checkpoint.json").read_text()).get("config", {})
            cfg.model_config = {**saved.get("model_config", {}), **cfg.model_config}
            if self.rank == 0:
                _warn_changed_recipe(cfg, saved)
        self.net = build_model(cfg).to(self.device)
        # the constructor arguments as built (from --init's weights, or grown from them)
        cfg.model_config = {k: v for k, v in self.net.config().items() if k != "lambdas"}
        self.net.train()
        self.channels_last = cfg.channels_last and (self.bf16 or not cfg.compile)  # module docstring
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.ema = {k: v.detach().clone().float() for k, v in self.net.state_dict().items() if v.is_floating_point()}
        self.step = 0
        self.elapsed = 0.0
        if resume:
            ema, info = load_checkpoint(self.run, model=self.net, optimizer=self.optimizer)
            if ema:
                self.ema.update({k: v.to(self.device) for k, v in ema.items()})
            else:  # a checkpoint without an average: it starts from the model
                self.ema = {k: v.detach().clone().float() for k, v in self.net.state_dict().items() if v.is_floating_point()}
            self.step, self.elapsed = int(info["step"]), float(info.get("elapsed_s", 0.0))
        self.model = self.net
        if self.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(self.net)
        self.forward = torch.compile(self.model) if cfg.compile else self.model
        self.dataset = RandomCrops(cfg.data, cfg.patch, seed=cfg.seed, downscale=cfg.downscale)
        self.val_images = load_eval_images(cfg.val, cfg.val_images) if cfg.val and self.rank == 0 else []
        self._stop = False
        self._writer = None

    # -- bookkeeping -------------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        self._stop = True

    def _meta(self) -> dict[str, Any]:
        cfg = asdict(self.cfg)
        cfg["lambdas"] = list(cfg["lambdas"])
        cfg["val_qualities"] = list(cfg["val_qualities"])
        return {"config": cfg, "elapsed_s": self.elapsed, "world": self.world}

    def ema_model(self) -> models.CompressionModel:
        with torch.random.fork_rng(devices=[]):  # building a model must not move the training RNG
            net = build_model(self.cfg)
        state = self.net.state_dict()
        state.update({k: v.to(state[k].dtype) for k, v in self.ema.items()})
        net.load_state_dict({k: v.cpu() for k, v in state.items()})
        net.eval()
        net.update_tables()
        return net

    def _agree_to_stop(self) -> tuple[bool, bool]:
        """(stopped by a signal, time limit reached), agreed by every rank. A signal can reach one rank
        only, or ranks at different steps, and each rank keeps its own clock; a rank that stops alone
        leaves the others waiting in the next gradient all-reduce."""
        flags = [self._stop, bool(self.cfg.hours) and self.elapsed >= self.cfg.hours * 3600]
        if self.world > 1:
            t = torch.tensor(flags, dtype=torch.int32, device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flags = [bool(v) for v in t.tolist()]
        return flags[0], flags[1]

    def close(self) -> None:
        """Leave the process group of a distributed run; exiting without it can abort the process
        while gloo's threads are still up."""
        if self.world > 1 and dist.is_initialized():
            dist.barrier()  # no rank leaves while another still writes or gathers
            dist.destroy_process_group()

    def checkpoint(self) -> None:
        if self.rank != 0:
            return
        save_checkpoint(self.run, model=self.net, ema=self.ema, optimizer=self.optimizer, step=self.step, meta=self._meta())
        card = {"steps": str(self.step), "train_hours": f"{self.elapsed / 3600:.3f}", "data": str(self.cfg.data),
                "patch": str(self.cfg.patch), "batch": str(self.cfg.batch * self.world)}
        models.save_weights(self.ema_model(), self.run / "weights.safetensors", metadata=card)

    def _log(self, path: str, row: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        file = self.run / path
        new = not file.exists()
        with file.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.run / "tb"))
            except ImportError:
                self._writer = False
        if self._writer:
            prefix = path.split(".")[0]
            for k, v in row.items():
                if k not in ("step", "quality") and isinstance(v, (int, float)):
                    tag = f"{prefix}/{k}" if "quality" not in row else f"{prefix}/{k}_q{row['quality']:g}"
                    self._writer.add_scalar(tag, v, row["step"])

    def validate(self) -> list[dict[str, float]]:
        if self.rank != 0 or not self.val_images:
            return []
        rows = evaluate_coded(self.ema_model(), self.val_images, self.cfg.val_qualities)
        for r in rows:
            self._log("val.csv", {"step": self.step, "hours": round(self.elapsed / 3600, 4), **r})
        return rows

    def _check_replicas(self) -> None:
        """All-gather a digest of every rank's weights; rank 0 records them in replicas.json.
        DistributedDataParallel must keep the replicas bit-identical."""
        digest = torch.tensor(list(models.state_digest(self.net)), dtype=torch.int64)
        gathered = [torch.zeros_like(digest) for _ in range(self.world)]
        dist.all_gather(gathered, digest)
        if self.rank == 0:
            hexes = [bytes(g.tolist()).hex() for g in gathered]
            (self.run / "replicas.json").write_text(json.dumps({"step": self.step, "digests": hexes}))

    # -- the loop ------------------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> None:
        """Train to ``cfg.steps`` or ``cfg.hours`` (validating at that end), or stop early at step
        ``until`` or on SIGINT/SIGTERM; then checkpoint."""
        cfg = self.cfg
        last = cfg.steps if until is None else min(until, cfg.steps)
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        loader = DataLoader(self.dataset, batch_size=cfg.batch, num_workers=cfg.workers,
                            sampler=CounterSampler(self.step, cfg.batch, self.rank, self.world),
                            persistent_workers=cfg.workers > 0,
                            generator=torch.Generator().manual_seed(cfg.seed))  # keeps the global RNG untouched
        batches = iter(loader)
        bar = None
        if cfg.progress and self.rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, dynamic_ncols=True, desc=cfg.model)
        levels = self.net.gain.levels
        first = self.step
        last_ckpt = time.monotonic()
        t_prev = time.monotonic()
        out_of_time = False
        try:
            while self.step < last:
                self._stop, out_of_time = self._agree_to_stop()
                if self._stop or out_of_time:
                    break
                x = next(batches).to(self.device)
                if self.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                q = 1 + torch.rand(x.shape[0]) * (levels - 1)
                lam = self.net.gain.lam(q).to(self.device)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr_at(cfg, self.step)
                with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    out = self.forward(x, q.to(self.device))
                losses = rd_loss(out, x, lam, cfg.metric)
                self.optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.clip)
                self.optimizer.step()
                with torch.no_grad():
                    # Warm-up of the decay (as TensorFlow's EMA with num_updates): early on the
                    # average must not remember the random initialisation.
                    decay = min(cfg.ema, (1 + self.step) / (10 + self.step))
                    state = self.net.state_dict()
                    for k, v in self.ema.items():
                        v.lerp_(state[k].float(), 1 - decay)
                self.step += 1
                now = time.monotonic()
                self.elapsed += now - t_prev
                t_prev = now
                if self.step % cfg.log_every == 0 or self.step == 1:
                    row = {"step": self.step, "hours": round(self.elapsed / 3600, 5), "lr": lr_at(cfg, self.step - 1),
                           "loss": losses["loss"].item(), "bpp": losses["bpp"].item(), "psnr": losses["psnr"].item(),
                           "grad_norm": grad_norm.item()}
                    self._log("train.csv", row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses['loss'].item():.3f}", bpp=f"{losses['bpp'].item():.3f}",
                                    psnr=f"{losses['psnr'].item():.2f}")
                if cfg.val_every and self.step % cfg.val_every == 0:
                    self.validate()
                    t_prev = time.monotonic()  # validation time is not training time
                if now - last_ckpt > cfg.checkpoint_minutes * 60:
                    self.checkpoint()
                    last_ckpt = t_prev = time.monotonic()
            ended = self.step >= cfg.steps or out_of_time
            if ended and self.step > first and not self._stop and cfg.val_every and self.step % cfg.val_every:
                self.validate()  # the run's last point on the RD-vs-hours curve
            self.checkpoint()
            if self.world > 1:
                self._check_replicas()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            if bar is not None:
                bar.close()
            if self._writer:
                self._writer.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m licodec.train`` (for ``torchrun``): ``lic train`` with the same
    options and the same one-line errors (exit code 2).

    A distributed rank ends with ``os._exit`` once its output is flushed: DDP's reducer keeps the
    gloo process group and its threads alive past ``destroy_process_group``, and tearing them down
    during interpreter shutdown can abort the process after the run has finished and been saved.
    """
    import sys

    from licodec.cli import main as lic

    try:
        lic.main(args=["train", *(sys.argv[1:] if argv is None else argv)], prog_name="lic")
    except SystemExit as exc:  # click ends every standalone run with one
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.code or 0)
        raise
