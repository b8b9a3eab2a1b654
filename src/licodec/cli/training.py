"""``lic train``."""

from __future__ import annotations

import click

from licodec.cli.console import warnings_to_stderr
from licodec.errors import InvalidOptionError


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InvalidOptionError(f"not a comma-separated list of numbers: {text!r}") from None


@click.command("train")
@click.option("--model", "model_name", required=True, help="Registry name, e.g. mbt2018-mean.")
@click.option("--data", required=True, type=click.Path(), help="Folder of training images.")
@click.option("--val", type=click.Path(), default=None, help="Folder of validation images (real coding).")
@click.option("--lambda", "lam", type=float, default=None, help="Train one rate point.")
@click.option("--lambdas", default=None, help="Comma-separated λ per quality level (variable rate).")
@click.option("--steps", type=int, required=True)
@click.option("--batch", type=int, default=16, show_default=True)
@click.option("--patch", type=int, default=128, show_default=True)
@click.option("--downscale", type=float, default=1.0, show_default=True,
              help="Shrink each crop from a square up to this many times --patch (random factor; washes out JPEG artifacts).")
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--warmup", type=int, default=500, show_default=True)
@click.option("--decay-steps", type=int, default=0, show_default=True,
              help="Keep --lr constant, then cosine-decay it over the last N of --steps (0: cosine over all).")
@click.option("--metric", type=click.Choice(["mse", "ms-ssim"]), default="mse", show_default=True)
@click.option("--workers", type=int, default=0, show_default=True, help="Data-loading worker processes.")
@click.option("--threads", type=int, default=0, help="Torch threads (0: all cores).")
@click.option("--no-bf16", is_flag=True, help="Train in fp32 (what a CPU without bf16 arithmetic does anyway).")
@click.option("--compile", "use_compile", is_flag=True, help="torch.compile the model.")
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True)
@click.option("--val-every", type=int, default=2000, show_default=True)
@click.option("--hours", type=float, default=0.0, help="Stop (validate, checkpoint) after this much training time.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--init", type=click.Path(), default=None, help="Start from these weights (safetensors); a model it grows from "
              "(mbt2018-mean for he2021-checkerboard) starts it coding exactly like that model, and the same model "
              "with fewer channels (--config with larger N, M) starts it reconstructing exactly like that one.")
@click.option("--config", "model_config", default=None, help='Model constructor JSON, e.g. \'{"N": 192, "M": 320}\'.')
@click.option("--out", required=True, type=click.Path(), help="Run folder (checkpoints, logs, weights).")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model_name, data, val, lam, lambdas, steps, batch, patch, downscale, lr, warmup, decay_steps, metric, workers, threads,
          no_bf16, use_compile, checkpoint_minutes, val_every, hours, seed, init, model_config, out, resume, quiet):
    """Train a model (variable rate with --lambdas, one rate with --lambda)."""
    import json

    from licodec.models.base import LAMBDAS_MSE
    from licodec.train.trainer import TrainConfig, Trainer

    if lam is not None and lambdas is not None:
        raise InvalidOptionError("give --lambda or --lambdas, not both")
    lams = (lam,) if lam is not None else (_floats(lambdas) if lambdas else LAMBDAS_MSE)
    try:
        extra = json.loads(model_config) if model_config else {}
    except json.JSONDecodeError:
        raise InvalidOptionError("--config must be a JSON object") from None
    cfg = TrainConfig(model=model_name, data=data, out=out, steps=steps, lambdas=lams, val=val, batch=batch,
                      patch=patch, downscale=downscale, lr=lr, warmup=warmup, decay_steps=decay_steps, metric=metric, workers=workers,
                      threads=threads, seed=seed, bf16=not no_bf16, compile=use_compile, checkpoint_minutes=checkpoint_minutes,
                      val_every=val_every, hours=hours, init=init, model_config=extra, progress=not quiet)
    with warnings_to_stderr():
        trainer = Trainer(cfg, resume=resume)
        trainer.fit()
    trainer.close()  # not on an error: a barrier there would wait for ranks still training
    if trainer.rank == 0:
        click.echo(f"step {trainer.step}: checkpoint and weights in {out}")


@click.command("export")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output .safetensors file.")
@click.option("--fp16", is_flag=True, help="Store float weights in half precision (coding tables stay fp32).")
@click.option("--raw", is_flag=True, help="The checkpoint's raw weights instead of their moving average "
              "(better after a learning-rate decay, which the average lags behind).")
def export(run, output, fp16, raw):
    """Export a training run's weights (the moving average by default), with fresh coding tables,
    as a weights file."""
    from pathlib import Path

    from licodec import models
    from licodec.models.weights import load_state
    from licodec.train.checkpoint import ema_state, read_checkpoint, section

    run = Path(run)
    if not (run / "checkpoint.json").is_file():
        raise InvalidOptionError(f"{run} has no checkpoint (is it a training run folder?)")
    tensors, info = read_checkpoint(run)
    cfg = info.get("config", {})
    net = models.create(cfg.get("model", ""), pretrained=False, lambdas=tuple(cfg.get("lambdas", ())),
                        **cfg.get("model_config", {}))
    state = section(tensors, "model.")
    if not raw:
        state.update(ema_state(tensors))
    load_state(net, state, source=f"{run} checkpoint")
    net.update_tables()
    card = {"steps": str(info.get("step")), "train_hours": f"{info.get('elapsed_s', 0) / 3600:.2f}",
            "patch": str(cfg.get("patch")), "batch": str(cfg.get("batch")), "lr": str(cfg.get("lr")),
            "metric": str(cfg.get("metric")), "data": Path(str(cfg.get("data"))).name,
            "weights": "raw" if raw else "moving average"}
    if fp16:
        # Round-trip through half precision first, so the exported tables match the weights that ship.
        load_state(net, {k: (v.half() if v.is_floating_point() and not k.endswith("_pmf") else v)
                         for k, v in net.state_dict().items()})
        net.update_tables()
    models.save_weights(net, output, fp16=fp16, metadata=card)
    click.echo(f"{output}: {net.name}, {sum(p.numel() for p in net.parameters())} parameters, "
               f"{'fp16' if fp16 else 'fp32'}, digest {models.state_digest(net).hex()}")


@click.command("pack")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the packed checkpoint.")
def pack(run, output):
    """Pack a run's checkpoint compactly (fp32 model; bf16 Adam second moment and EMA delta) so it can be
    committed and resumed elsewhere with `lic train ... --out OUTPUT --resume`."""
    from pathlib import Path

    from licodec.train.checkpoint import pack_checkpoint

    if not (Path(run) / "checkpoint.json").is_file():
        raise InvalidOptionError(f"{run} has no checkpoint")
    size = pack_checkpoint(Path(run), Path(output))
    click.echo(f"{output}: {size / 2**20:.1f} MiB")


COMMANDS = [train, export, pack]
