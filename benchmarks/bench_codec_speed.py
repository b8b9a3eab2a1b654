"""Encode and decode wall time per Kodak image for every licodec model, next to CompressAI's
implementation of the same architecture where it has one.

Codes a 768×512 Kodak image (default kodim01) through real bitstreams with N threads (default
2), checks that the decoder's ŷ equals the encoder's, and prints seconds per image. The shipped
default (mbt2018-mean) runs with its trained weights. The other models have random weights,
which give near-zero latents; unless ``--raw`` is given, their latents and predicted scales are
first lifted to trained-like magnitudes (|y| up to ~10, σ ~ 0.1–20) so the entropy coder sees
realistic symbol statistics. CompressAI's models (random weights, ``update(force=True)``, its
default widths) run only when the ``compressai`` package is importable — see
``benchmarks/compressai_ref.py`` for the throw-away environment. Its random-weight latents are
left near zero, which makes its entropy coding cheaper than with trained weights, so the
comparison, if anything, favours CompressAI. Its autoregressive models decode in float: the
timing is not of an exact (cross-platform) decoder.

    python benchmarks/bench_codec_speed.py [--models ...] [--threads 2] [--quality 4] [--raw] [--layout L] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from licodec import image_io, models

sys.path.insert(0, str(Path(__file__).parent))
from compressai_ref import import_compressai  # noqa: E402

KODAK = Path("/work/shared/data/kodak")
# licodec name -> (CompressAI class, constructor arguments)
COMPRESSAI = {
    "bls2017": ("FactorizedPrior", {"N": 128, "M": 192}),
    "bmshj2018-hyperprior": ("ScaleHyperprior", {"N": 128, "M": 192}),
    "mbt2018-mean": ("MeanScaleHyperprior", {"N": 128, "M": 192}),
    "mbt2018": ("JointAutoregressiveHierarchicalPriors", {"N": 192, "M": 192}),
    "cheng2020-anchor": ("Cheng2020Anchor", {"N": 128}),
    "cheng2020-attn": ("Cheng2020Attention", {"N": 128}),
    "elic2022": ("Elic2022Official", {"N": 192, "M": 320}),
}


def load_image(path: Path) -> torch.Tensor:
    """The image as 1×3×H×W in [0, 1], landscape, cropped to a multiple of 64."""
    arr, _ = image_io.load_image(path)
    x = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    if x.shape[-2] > x.shape[-1]:
        x = x.transpose(-1, -2)
    h, w = (s - s % 64 for s in x.shape[-2:])
    return x[:, :, :h, :w].contiguous()


def lively(net: models.CompressionModel) -> None:
    """Trained-like latent magnitudes and scales for a randomly initialized model."""
    with torch.no_grad():
        if net.name in ("cheng2020-anchor", "cheng2020-attn", "elic2022"):
            net.gain.log_enc.add_(math.log(20.0))
            net.h_a[-1].weight.mul_(20)
            if net.name == "elic2022":
                for k, c in enumerate(net.groups):
                    net.param_aggregation[k][-1].bias[:c] += torch.linspace(0.0, 6.0, c)
            else:
                net.entropy_parameters[-1].bias[2 * net.K * net.M:] += torch.linspace(0.0, 6.0, net.K * net.M)
            return
        net.g_a[-1].weight.mul_(100.0)
        if net.name == "ms2020":
            for t in net.cc_scale:
                t[-1].bias += 2.0
        elif hasattr(net, "entropy_parameters"):
            net.entropy_parameters[-1].bias[: net.M] += 2.0
        elif net.name == "bmshj2018-hyperprior":
            net.h_s[-2].bias += 2.0


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_licodec(name: str, x: torch.Tensor, quality: float, raw: bool, layout: str = "channels_last") -> dict:
    torch.manual_seed(0)
    trained = name == models.DEFAULT
    net = models.create(name, pretrained=trained)
    net.update_tables()
    if not (trained or raw):
        lively(net)
    net.eval()
    fmt = getattr(torch, layout)  # licodec.api runs its models in channels_last
    net.to(memory_format=fmt)
    x = x.contiguous(memory_format=fmt)
    warm = net.compress(x[:, :, :64, :64], quality)
    net.decompress(warm["strings"], warm["shape"], quality)
    t_enc, enc = _timed(lambda: net.compress(x, quality))
    t_dec, dec = _timed(lambda: net.decompress(enc["strings"], enc["shape"], quality))
    if not torch.equal(enc["y_hat"], dec["y_hat"]):
        raise SystemExit(f"{name}: the decoder's ŷ differs from the encoder's")
    size = sum(len(s) for s in enc["strings"])
    return {"model": name, "impl": "licodec", "weights": "trained" if trained else ("random" if raw else "random, lifted"),
            "encode_s": t_enc, "decode_s": t_dec, "bpp": 8 * size / (x.shape[-2] * x.shape[-1])}


def bench_compressai(name: str, x: torch.Tensor) -> dict | None:
    try:
        cm = import_compressai().models
    except ImportError:
        return None
    cls, kw = COMPRESSAI[name]
    torch.manual_seed(0)
    net = getattr(cm, cls)(**kw).eval()
    net.update(force=True)
    with torch.no_grad():
        warm = net.compress(x[:, :, :64, :64])
        net.decompress(warm["strings"], warm["shape"])
        t_enc, enc = _timed(lambda: net.compress(x))
        t_dec, _ = _timed(lambda: net.decompress(enc["strings"], enc["shape"]))
    flat = [s for group in enc["strings"] for s in (group if isinstance(group, (list, tuple)) else [group])]
    return {"model": name, "impl": f"compressai.{cls}", "weights": "random", "encode_s": t_enc, "decode_s": t_dec,
            "bpp": 8 * sum(len(s) for s in flat) / (x.shape[-2] * x.shape[-1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", type=Path, default=KODAK / "kodim01.png")
    ap.add_argument("--models", nargs="*", default=models.available())
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quality", type=float, default=4.0)
    ap.add_argument("--raw", action="store_true", help="keep licodec's random weights untouched")
    ap.add_argument("--layout", choices=["channels_last", "contiguous_format"], default="channels_last",
                    help="memory layout of licodec's models and input (the API's: channels_last)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = load_image(args.image)
    rows = []
    if not args.json:
        print(f"# {args.image.name} {x.shape[-1]}x{x.shape[-2]}, {args.threads} threads, quality {args.quality:g}, {args.layout}, "
              f"torch {torch.__version__}, {platform.machine()}")
        print(f"{'model':<22} {'implementation':<46} {'weights':<15} {'enc s':>7} {'dec s':>7} {'bpp':>7}")
    for name in args.models:
        rows.append(bench_licodec(name, x, args.quality, args.raw, args.layout))
        if name in COMPRESSAI and (ref := bench_compressai(name, x)) is not None:
            rows.append(ref)
        if not args.json:
            for r in rows[-2:] if rows[-1]["impl"] != "licodec" else rows[-1:]:
                print(f"{r['model']:<22} {r['impl']:<46} {r['weights']:<15} "
                      f"{r['encode_s']:>7.2f} {r['decode_s']:>7.2f} {r['bpp']:>7.3f}", flush=True)
    if args.json:
        print(json.dumps({"image": args.image.name, "size": list(x.shape[-2:]), "threads": args.threads,
                          "torch": torch.__version__, "machine": platform.machine(), "results": rows}, indent=2))
    elif not any(r["impl"] != "licodec" for r in rows):
        print("(compressai is not importable here: no CompressAI comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
