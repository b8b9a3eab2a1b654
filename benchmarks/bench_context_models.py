"""Wall time of compress / decompress for the context-model lineage on one 768×512 image.

Models: ``mbt2018`` (serial context, wavefront-ordered), ``he2021-checkerboard`` (two passes),
``ms2020`` (10 channel slices). Random weights, made "lively" like the tests (y scaled to
std ≈ 2, σ lifted) so the symbols and the entropy coder see realistic work rather than all
zeros. The image is kodim01 (768×512) from /work/shared/data/kodak if present, else a smooth
random image. Each round trip is checked (decoded ŷ == encoded ŷ). If ``compressai`` is
importable, its ``JointAutoregressiveHierarchicalPriors`` (N = M = 192, random weights) is
timed too — the float, non-exact reference for ``mbt2018``; CompressAI has no ms2020 or
checkerboard model of the same architecture.

    python benchmarks/bench_context_models.py [--threads 2] [--repeat 1] [--models ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from licodec import models

KODAK = Path("/work/shared/data/kodak/kodim01.png")
MODELS = ["mbt2018", "he2021-checkerboard", "ms2020"]


def _image() -> tuple[torch.Tensor, str]:
    if KODAK.is_file():
        from PIL import Image

        arr = np.asarray(Image.open(KODAK).convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
        if x.shape[-2:] == (768, 512):
            x = x.transpose(-1, -2).contiguous()
        return x[..., :512, :768], KODAK.name
    g = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, 32, 48, generator=g)
    x = torch.nn.functional.interpolate(base, size=(512, 768), mode="bicubic", align_corners=False)
    return (x + 0.05 * torch.rand(1, 3, 512, 768, generator=g)).clamp(0, 1), "random"


def _lively(name: str) -> models.CompressionModel:
    torch.manual_seed(0)
    net = models.create(name, pretrained=False)
    net.update_tables()
    with torch.no_grad():
        net.g_a[-1].weight.mul_(100.0)
        if name == "ms2020":
            for t in net.cc_scale:
                t[-1].bias += 2.0
        else:
            net.entropy_parameters[-1].bias[: net.M] += 2.0
    return net.eval()


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _bench_licodec(name: str, x: torch.Tensor, quality: float, repeat: int) -> dict[str, Any]:
    net = _lively(name)
    t_enc, enc = _best(lambda: net.compress(x, quality), repeat)
    t_dec, dec = _best(lambda: net.decompress(enc["strings"], enc["shape"], quality), repeat)
    if not torch.equal(enc["y_hat"], dec["y_hat"]):
        raise SystemExit(f"{name}: decoded y_hat differs from the encoder's")
    nbytes = sum(len(s) for s in enc["strings"])
    return {"model": name, "impl": "licodec (exact)", "encode_s": t_enc, "decode_s": t_dec,
            "bpp": 8 * nbytes / (x.shape[-1] * x.shape[-2])}


def _bench_compressai(x: torch.Tensor, repeat: int) -> dict[str, Any] | None:
    try:
        from compressai.models import JointAutoregressiveHierarchicalPriors
    except ImportError:
        return None
    torch.manual_seed(0)
    net = JointAutoregressiveHierarchicalPriors(N=192, M=192).eval()
    net.update(force=True)
    with torch.no_grad():
        t_enc, enc = _best(lambda: net.compress(x), repeat)
        t_dec, _ = _best(lambda: net.decompress(enc["strings"], enc["shape"]), repeat)
    nbytes = sum(len(s[0]) for s in enc["strings"])
    return {"model": "mbt2018", "impl": "compressai (float)", "encode_s": t_enc, "decode_s": t_dec,
            "bpp": 8 * nbytes / (x.shape[-1] * x.shape[-2])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    ap.add_argument("--quality", type=float, default=4.0)
    ap.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, source = _image()
    rows = [_bench_licodec(name, x, args.quality, args.repeat) for name in args.models]
    if "mbt2018" in args.models:
        ref = _bench_compressai(x, args.repeat)
        if ref is not None:
            rows.append(ref)
    report = {"image": source, "size": list(x.shape[-2:]), "threads": args.threads,
              "torch": torch.__version__, "python": platform.python_version(), "results": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{source} {x.shape[-1]}x{x.shape[-2]}, {args.threads} threads, random weights, torch {torch.__version__}")
    print(f"{'model':<22}{'implementation':<20}{'encode s':>10}{'decode s':>10}{'bpp':>8}")
    for r in rows:
        print(f"{r['model']:<22}{r['impl']:<20}{r['encode_s']:>10.2f}{r['decode_s']:>10.2f}{r['bpp']:>8.3f}")
    if not any(r["impl"].startswith("compressai") for r in rows) and "mbt2018" in args.models:
        print("(compressai not installed: no reference timing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
