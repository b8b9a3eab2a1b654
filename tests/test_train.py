"""Training: data handling, exact resume, checkpoints without pickle, DDP replicas, `lic train`."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from licodec import models
from licodec.cli import main
from licodec.train import trainer
from licodec.train.data import CounterSampler, RandomCrops
from licodec.train.trainer import TrainConfig, Trainer, lr_at

TINY = {"N": 8, "M": 12}


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(80, 96), (70, 50), (128, 128)]):  # one smaller than the patch
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(d / f"img{i}.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    return d


def cfg(data_dir, out, **kw):
    base = dict(model="bmshj2018-hyperprior", data=str(data_dir), out=str(out), steps=6, batch=2, patch=64,
                warmup=3, val=str(data_dir), val_every=0, val_images=1, val_qualities=(1.0, 8.0),
                checkpoint_minutes=60, model_config=TINY, progress=False, bf16=True, threads=1)
    base.update(kw)
    return TrainConfig(**base)


def test_crops_are_a_function_of_the_sample_number(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = RandomCrops(data_dir, 64, seed=3)
        a, b = ds[17], RandomCrops(data_dir, 64, seed=3)[17]
    assert a.shape == (3, 64, 64) and torch.equal(a, b)
    assert not torch.equal(ds[17], ds[18])


def test_downscaled_crops_average_away_fine_detail(tmp_path):
    d = tmp_path / "stripes"
    d.mkdir()
    stripes = np.zeros((256, 256, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: the finest detail an image holds
    Image.fromarray(stripes).save(d / "s.png")
    plain, shrunk = RandomCrops(d, 64), RandomCrops(d, 64, seed=1, downscale=4)
    a = torch.stack([shrunk[k] for k in range(16)])
    assert a.shape == (16, 3, 64, 64) and torch.equal(a[5], RandomCrops(d, 64, seed=1, downscale=4)[5])
    assert torch.equal(a * 255, (a * 255).round())  # 8-bit values, like the images it will code
    assert plain[0].std() > 0.49 and a.std(dim=(1, 2, 3)).mean() < 0.25


def test_unreadable_images_are_skipped_with_a_warning(data_dir):
    ds = RandomCrops(data_dir, 64)
    with pytest.warns(UserWarning, match="skipping unreadable"):
        for k in range(40):
            ds[k]


def test_sampler_interleaves_ranks():
    take = lambda s: [next(it) for it in [iter(s)] for _ in range(6)]  # noqa: E731
    assert take(CounterSampler(0, 2, 0, 2)) == [0, 1, 4, 5, 8, 9]
    assert take(CounterSampler(0, 2, 1, 2)) == [2, 3, 6, 7, 10, 11]
    assert take(CounterSampler(3, 2, 0, 1)) == [6, 7, 8, 9, 10, 11]


def test_lr_schedules():
    c = TrainConfig(model="bls2017", data="d", out="o", steps=1000, lr=1e-3, lr_min=1e-5, warmup=100)
    assert lr_at(c, 0) == pytest.approx(1e-5) and lr_at(c, 99) == pytest.approx(1e-3)
    assert lr_at(c, 550) == pytest.approx((1e-3 + 1e-5) / 2) and lr_at(c, 1000) == pytest.approx(1e-5)
    c.decay_steps = 200  # constant to step 800, then the cosine over the last 200 steps
    assert lr_at(c, 100) == lr_at(c, 800) == 1e-3
    assert lr_at(c, 900) == pytest.approx((1e-3 + 1e-5) / 2) and lr_at(c, 1000) == pytest.approx(1e-5)
    assert all(lr_at(c, s) > lr_at(c, s + 1) for s in range(800, 1000))
    c.decay_steps = 5000  # longer than the run: decays right after the warm-up
    assert lr_at(c, 100) == 1e-3 and lr_at(c, 550) == pytest.approx((1e-3 + 1e-5) / 2)


def test_resume_continues_exactly(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = Trainer(cfg(data_dir, tmp_path / "a"))
        straight.fit()
        interrupted = Trainer(cfg(data_dir, tmp_path / "b"))
        interrupted.fit(until=3)
        assert interrupted.step == 3
        resumed = Trainer(cfg(data_dir, tmp_path / "b"), resume=True)
        assert resumed.step == 3
        resumed.fit()
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(straight.ema[k], resumed.ema[k]) for k in straight.ema)


def test_bf16_only_where_the_hardware_has_it(data_dir, tmp_path, monkeypatch):
    """Emulated bf16 is several times slower than fp32: without bf16 arithmetic a run asked for
    bf16 warns and trains exactly like an fp32 run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = Trainer(cfg(data_dir, tmp_path / "fp32", bf16=False, steps=2, val=None))
        fp32.fit()
        monkeypatch.setattr(trainer, "native_bf16", lambda device: True)
        bf16 = Trainer(cfg(data_dir, tmp_path / "bf16", steps=2, val=None))
        bf16.fit()
    monkeypatch.setattr(trainer, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="no bf16 arithmetic"):
        fallback = Trainer(cfg(data_dir, tmp_path / "fallback", steps=2, val=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fallback.fit()
    assert bf16.bf16 and not fallback.bf16
    # channels_last speeds up bf16 and eager fp32, but slows compiled fp32: that keeps the default layout
    assert bf16.channels_last and fallback.channels_last
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = Trainer(cfg(data_dir, tmp_path / "compiled", steps=2, val=None, compile=True))
    assert not compiled.channels_last and all(p.is_contiguous() for p in compiled.net.parameters())
    a, b, c = fp32.net.state_dict(), bf16.net.state_dict(), fallback.net.state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_outputs_and_real_validation(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = Trainer(cfg(data_dir, tmp_path / "r", val_every=3))
        t.fit()
    run = tmp_path / "r"
    rows = list(open(run / "val.csv"))[1:]
    assert len(rows) == 4  # steps 3 and 6, two qualities each
    bpp = [float(r.split(",")[3]) for r in rows]
    assert all(v > 0 for v in bpp)
    assert (run / "train.csv").is_file() and (run / "checkpoint.json").is_file()
    info = json.loads((run / "checkpoint.json").read_text())
    assert info["step"] == 6
    net = models.load(run / "weights.safetensors")  # exported EMA weights load by themselves
    assert net.name == "bmshj2018-hyperprior" and net.N == 8


def test_signal_stops_and_checkpoints(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = Trainer(cfg(data_dir, tmp_path / "s", steps=50))
        t._on_signal(15, None)
        t.fit()
    assert t.step == 0 or t.step < 50
    assert json.loads((tmp_path / "s" / "checkpoint.json").read_text())["step"] == t.step


def test_hours_limit_stops_validates_and_resumes(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = Trainer(cfg(data_dir, tmp_path / "h", steps=1000, hours=1e-9, val_every=100))
        t.fit()
        assert t.step == 1  # the clock only advances with a step
        rows = list(open(tmp_path / "h" / "val.csv"))[1:]
        assert [r.split(",")[0] for r in rows] == ["1", "1"]  # a last validation point at the stop
        more = Trainer(cfg(data_dir, tmp_path / "h", steps=3, val_every=100), resume=True)
        more.fit()
        assert more.step == 3
        rows = list(open(tmp_path / "h" / "val.csv"))[1:]
        assert [r.split(",")[0] for r in rows] == ["1", "1", "3", "3"]  # and at the end of the steps
        Trainer(cfg(data_dir, tmp_path / "h", steps=3, val_every=100), resume=True).fit()
        assert len(list(open(tmp_path / "h" / "val.csv"))) == 5  # a finished run resumed: no new point
    with pytest.raises(ValueError, match="hours"):
        cfg(data_dir, tmp_path / "x", hours=-1).validate()


def test_tampered_checkpoint_is_refused(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Trainer(cfg(data_dir, tmp_path / "t", steps=2)).fit()
        st = tmp_path / "t" / "checkpoint.safetensors"
        st.write_bytes(st.read_bytes()[:-1] + b"\x01")
        with pytest.raises(ValueError, match="inconsistent"):
            Trainer(cfg(data_dir, tmp_path / "t", steps=4), resume=True)


def test_cli_train_and_bad_options(data_dir, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(main, ["train", "--model", "bls2017", "--data", str(data_dir), "--lambdas", "0.001,0.01",
                                  "--steps", "2", "--batch", "2", "--patch", "64", "--out", str(out), "--quiet",
                                  "--config", json.dumps(TINY), "--threads", "1"])
    assert r.exit_code == 0, r.output
    net = models.load(out / "weights.safetensors")
    assert net.quality_range == (1.0, 2.0)
    r = CliRunner().invoke(main, ["train", "--model", "bls2017", "--data", str(data_dir), "--lambdas", "0.001,0.01",
                                  "--steps", "3", "--batch", "2", "--patch", "64", "--out", str(out), "--quiet",
                                  "--threads", "1", "--downscale", "1.5", "--resume"])
    assert r.exit_code == 0 and "step 3:" in r.output, r.output
    warned = [line for line in r.output.splitlines() if "resuming with" in line]  # the one changed option only
    assert warned == ["lic: warning: resuming with --downscale 1.5; the run trained with 1"], r.output
    for args, msg in [(["--lambda", "0.01", "--lambdas", "0.1,0.2"], "not both"), (["--patch", "100"], "multiple of 64"),
                      (["--lambdas", "0.2,0.1"], "increasing"), (["--lambdas", "0.1,x"], "numbers"),
                      (["--decay-steps", "-1"], ">= 0"), (["--downscale", "0.5"], "between 1 and 8")]:
        r = CliRunner().invoke(main, ["train", "--model", "bls2017", "--data", str(data_dir), "--steps", "1",
                                      "--out", str(tmp_path / "bad"), "--quiet", *args])
        assert r.exit_code == 2 and msg in r.output, (args, r.output)
    r = CliRunner().invoke(main, ["train", "--model", "elic2022", "--compile", "--data", str(data_dir), "--steps", "1",
                                  "--out", str(tmp_path / "bad"), "--quiet"])
    assert r.exit_code == 2 and "--compile is not available for elic2022" in r.output, r.output
    assert not (tmp_path / "bad").exists()
    r = CliRunner().invoke(main, ["train", "--model", "bls2017", "--data", str(tmp_path / "none"), "--steps", "1", "--out", str(out)])
    assert r.exit_code == 2 and "not a directory" in r.output


def test_export_average_or_raw_weights(data_dir, tmp_path):
    from licodec.train.checkpoint import read_checkpoint

    run = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Trainer(cfg(data_dir, run, steps=4)).fit()
    tensors, _ = read_checkpoint(run)
    for flags, prefix in [([], "ema."), (["--raw"], "model.")]:
        out = tmp_path / f"w{len(flags)}.safetensors"
        r = CliRunner().invoke(main, ["export", str(run), "-o", str(out), *flags])
        assert r.exit_code == 0, r.output
        state = models.load(out).state_dict()
        weight = next(k for k in state if k.endswith("weight") and not k.startswith("gain"))
        assert torch.equal(state[weight], tensors[prefix + weight]), (flags, weight)
    assert not torch.equal(tensors["ema." + weight], tensors["model." + weight])  # the two differ
    packed = tmp_path / "packed"  # a packed run (as committed) has no weights.safetensors
    assert CliRunner().invoke(main, ["pack", str(run), "-o", str(packed)]).exit_code == 0
    r = CliRunner().invoke(main, ["export", str(packed), "-o", str(tmp_path / "p.safetensors"), "--raw"])
    assert r.exit_code == 0, r.output
    assert torch.equal(models.load(tmp_path / "p.safetensors").state_dict()[weight], tensors["model." + weight])
    r = CliRunner().invoke(main, ["export", str(tmp_path), "-o", str(tmp_path / "x.safetensors")])
    assert r.exit_code == 2 and "no checkpoint" in r.output and not (tmp_path / "x.safetensors").exists()


def torchrun(*args: str, timeout: int) -> None:
    """Run ``args`` as 2 CPU ranks under torchrun; the launch must succeed."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_distributed_replicas_stay_identical(data_dir, tmp_path):
    out = tmp_path / "ddp"
    torchrun("-m", "licodec.train", "--model", "bmshj2018-hyperprior", "--data", str(data_dir), "--steps", "3",
             "--batch", "2", "--patch", "64", "--warmup", "2", "--out", str(out), "--quiet", "--threads", "1",
             "--config", json.dumps(TINY), timeout=600)
    rep = json.loads((out / "replicas.json").read_text())
    assert rep["step"] == 3 and len(rep["digests"]) == 2 and len(set(rep["digests"])) == 1


def test_module_entry_point_reports_bad_options_in_one_line(data_dir, tmp_path):
    """``python -m licodec.train`` (what torchrun launches) reports a bad option like ``lic train``."""
    proc = subprocess.run([sys.executable, "-m", "licodec.train", "--model", "bmshj2018-hyperprior", "--data",
                           str(data_dir), "--steps", "1", "--lambdas", "0.01,x", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["lic: error: not a comma-separated list of numbers: '0.01,x'"]
    assert not (tmp_path / "run").exists()


STOP_ONE_RANK = """
import json, os, signal, sys
from licodec.train.trainer import TrainConfig, Trainer
t = Trainer(TrainConfig(**json.loads(sys.argv[1])))
if t.rank == 1:  # a signal that reaches one rank only, during its second step
    step = t.optimizer.step
    def step_then_signal(*args, **kwargs):
        out = step(*args, **kwargs)
        if t.step == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return out
    t.optimizer.step = step_then_signal
t.fit()
t.close()
os._exit(0)  # as licodec.train.main ends a rank: gloo's threads must not be torn down at interpreter exit
"""


def test_distributed_ranks_stop_together(data_dir, tmp_path):
    """A stop seen by one rank stops every rank at the same step (else the others wait in a collective)."""
    out = tmp_path / "ddp"
    script = tmp_path / "stop_one_rank.py"
    script.write_text(STOP_ONE_RANK)
    config = dict(model="bmshj2018-hyperprior", data=str(data_dir), out=str(out), steps=50, batch=2, patch=64,
                  warmup=2, val_every=0, model_config=TINY, progress=False, threads=1)
    torchrun(str(script), json.dumps(config), timeout=300)
    rep = json.loads((out / "replicas.json").read_text())
    assert rep["step"] == 2 and len(set(rep["digests"])) == 1
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 2


def test_packed_checkpoint_resumes(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Trainer(cfg(data_dir, tmp_path / "full", steps=4)).fit(until=2)
        r = CliRunner().invoke(main, ["pack", str(tmp_path / "full"), "-o", str(tmp_path / "packed")])
        assert r.exit_code == 0, r.output
        full = (tmp_path / "full" / "checkpoint.safetensors").stat().st_size
        assert (tmp_path / "packed" / "checkpoint.safetensors").stat().st_size < 0.65 * full  # 4+2+2 of 4+4+4+4 bytes a weight
        t = Trainer(cfg(data_dir, tmp_path / "packed", steps=4), resume=True)
        assert t.step == 2
        # The pack keeps the weight average (as a bf16 delta from the model), not a restart from it.
        ref = Trainer(cfg(data_dir, tmp_path / "full", steps=4), resume=True)
        model = ref.net.state_dict()
        gaps = {k: (v - model[k].float()).abs().max().item() for k, v in ref.ema.items() if v.numel()}
        assert max(gaps.values()) > 0
        for k, gap in gaps.items():
            assert (t.ema[k] - ref.ema[k]).abs().max().item() <= 1e-2 * gap + 1e-7, k
        t.fit()
        assert t.step == 4


@pytest.mark.parametrize("avx512_bf16, amx, native", [(False, False, False), (True, False, True), (False, True, True)])
def test_native_bf16_asks_the_cpu_for_bf16_instructions(monkeypatch, avx512_bf16, amx, native):
    """oneDNN calls bf16 supported on every AVX-512 CPU, where it converts in software and a
    training step is twice as slow as in fp32; only AVX-512 BF16 or AMX count as native."""
    from licodec import precision

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert precision.native_bf16(torch.device("cpu")) is native
