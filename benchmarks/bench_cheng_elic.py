"""Encode / decode wall time of cheng2020-anchor, cheng2020-attn and elic2022 on one Kodak image.

Codes a 768×512 Kodak image (default kodim01) through real bitstreams on 2 threads, checks
that the decoder's ŷ equals the encoder's, and prints encode and decode seconds, the coded
size, and the split between the transforms and the entropy-coding path. Weights are random
(no trained weights are needed); because random weights give near-zero latents, the latent
and the predicted scales are first scaled to trained-like magnitudes (|y| up to ~10,
σ ~ 0.1–20) unless ``--raw`` is given, so the entropy coder works on realistic symbol
statistics. If the ``compressai`` package is importable, CompressAI's ``Cheng2020Anchor``,
``Cheng2020Attention`` and ELIC (``Elic2022Official``) are timed the same way (random
weights, ``update(force=True)``).

    python benchmarks/bench_cheng_elic.py [--image PATH] [--threads 2] [--quality 4] [--raw] [--json]
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

KODAK = Path("/work/shared/data/kodak")
OURS = ("cheng2020-anchor", "cheng2020-attn", "elic2022")


def _load(path: Path) -> torch.Tensor:
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()
    h, w = (s - s % 64 for s in x.shape[-2:])
    return x[:, :, :h, :w]


def _lively(net) -> None:
    """Trained-like latent magnitudes for a randomly initialized model (see module docstring)."""
    with torch.no_grad():
        net.gain.log_enc.add_(math.log(20.0))
        net.h_a[-1].weight.mul_(20)
        if net.name == "elic2022":
            for k, c in enumerate(net.groups):
                net.param_aggregation[k][-1].bias[:c] += torch.linspace(0.0, 6.0, c)
        else:
            net.entropy_parameters[-1].bias[2 * net.K * net.M:] += torch.linspace(0.0, 6.0, net.K * net.M)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_ours(name: str, x: torch.Tensor, quality: float, raw: bool) -> dict:
    from licodec import models

    torch.manual_seed(0)
    net = models.create(name, pretrained=False)
    net.update_tables()
    if not raw:
        _lively(net)
    warm = x[:, :, :64, :64]
    w_enc = net.compress(warm, quality)
    net.decompress(w_enc["strings"], w_enc["shape"], quality)
    t_enc, enc = _timed(lambda: net.compress(x, quality))
    t_dec, dec = _timed(lambda: net.decompress(enc["strings"], enc["shape"], quality))
    assert torch.equal(enc["y_hat"], dec["y_hat"]), f"{name}: decoder ŷ differs from encoder ŷ"
    with torch.no_grad():
        q = net.quality_tensor(quality, 1)
        t_ga, y = _timed(lambda: net.g_a(x))
        t_gs, _ = _timed(lambda: net.g_s(net.gain.decode(enc["y_hat"], q)))
    size = sum(len(s) for s in enc["strings"])
    return {"model": name, "impl": "licodec", "encode_s": t_enc, "decode_s": t_dec, "bytes": size,
            "bpp": 8 * size / (x.shape[-2] * x.shape[-1]), "g_a_s": t_ga, "g_s_s": t_gs,
            "y_absmax": float(enc["y_hat"].abs().max())}


def _compressai_models() -> list[tuple[str, object]]:
    try:
        import compressai.models as cm  # noqa: F401
    except Exception:  # noqa: BLE001 - optional comparison only
        return []
    out = []
    from compressai import models as cm

    for label, names, kw in (("Cheng2020Anchor", ["Cheng2020Anchor"], {"N": 128}),
                             ("Cheng2020Attention", ["Cheng2020Attention"], {"N": 128}),
                             ("ELIC", ["Elic2022Official", "Elic2022Chandelier", "ELIC"], {"N": 192, "M": 320})):
        for n in names:
            cls = getattr(cm, n, None)
            if cls is not None:
                try:
                    out.append((f"compressai.{n}", cls(**kw)))
                except TypeError:
                    out.append((f"compressai.{n}", cls()))
                break
    return out


def bench_compressai(label: str, net, x: torch.Tensor) -> dict:
    torch.manual_seed(0)
    net.eval()
    net.update(force=True)
    with torch.no_grad():
        warm = x[:, :, :64, :64]
        e = net.compress(warm)
        net.decompress(e["strings"], e["shape"])
        t_enc, enc = _timed(lambda: net.compress(x))
        t_dec, _ = _timed(lambda: net.decompress(enc["strings"], enc["shape"]))
    flat = [s for group in enc["strings"] for s in (group if isinstance(group, (list, tuple)) else [group])]
    size = sum(len(s) for s in flat)
    return {"model": label, "impl": "compressai", "encode_s": t_enc, "decode_s": t_dec, "bytes": size,
            "bpp": 8 * size / (x.shape[-2] * x.shape[-1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", type=Path, default=KODAK / "kodim01.png")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quality", type=float, default=4.0)
    ap.add_argument("--models", nargs="*", default=list(OURS))
    ap.add_argument("--raw", action="store_true", help="keep the untouched random weights")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x = _load(args.image)
    rows = [bench_ours(name, x, args.quality, args.raw) for name in args.models]
    rows += [bench_compressai(label, net, x) for label, net in _compressai_models()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"# {args.image.name} {x.shape[-1]}x{x.shape[-2]}, {args.threads} threads, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, random weights{' (raw)' if args.raw else ' (scaled)'}")
    print(f"{'model':<28} {'encode s':>9} {'decode s':>9} {'bytes':>8} {'g_a s':>7} {'g_s s':>7}")
    for r in rows:
        extra = f"{r['g_a_s']:>7.2f} {r['g_s_s']:>7.2f}" if "g_a_s" in r else f"{'':>7} {'':>7}"
        print(f"{r['model']:<28} {r['encode_s']:>9.2f} {r['decode_s']:>9.2f} {r['bytes']:>8d} {extra}")
    if not any(r["impl"] == "compressai" for r in rows):
        print("(compressai is not importable here: no CompressAI comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
