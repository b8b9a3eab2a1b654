"""What the post-filter costs and gains: bytes, PSNR and time per image and quality.

    python benchmarks/bench_postfilter.py ../shared/data/kodak --limit 6 --qualities 1,4,8
    python benchmarks/bench_postfilter.py ../shared/data/kodak --knot-counts 1   # no tone knots

For each image and quality it codes the image once without the filter, decodes it, fits the
filter to that decoded picture (``licodec.postfilter.fit``, timed) and applies it (timed). Then it
prints, per quality: the mean rate without and with the filter (the payload plus its 2-byte
length field), the mean PSNR gain, how often a filter was sent, the radii and tone-knot counts
chosen, and the mean fit and apply times; then the BD-rate of the filtered curve against the
unfiltered one over the qualities. One thread, default model.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

import licodec
from licodec import api, postfilter
from licodec.eval.bdrate import bd_rate
from licodec.eval.metrics import psnr
from licodec.image_io import load_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--qualities", default="1,4,8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--knot-counts", default=",".join(map(str, postfilter.KNOT_COUNTS)),
                    help="tone-knot counts the fit may choose from")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    knot_counts = tuple(int(k) for k in args.knot_counts.split(","))
    net, _ = api.get_model()
    paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[: args.limit]
    images = [load_image(p)[0] for p in paths]
    print(f"{len(images)} images, {net.name}, {args.threads} thread(s)")
    print("quality | bpp without → with | PSNR gain (dB) | filters sent | radii | knots | fit (s) | apply (s)")
    curves: list[list[float]] = [[], [], [], []]  # mean bpp and PSNR, without and with the filter
    for q in (float(v) for v in args.qualities.split(",")):
        lam = net.lam(q)
        bpp0, bpp1, psnr0, gains, radii, knots, t_fit, t_apply = [], [], [], [], Counter(), Counter(), [], []
        for img in images:
            data = licodec.compress(img, quality=q, postfilter=False)
            decoded, _ = api.decode_array(data)
            t0 = time.perf_counter()
            pf = postfilter.fit(decoded, img, lam, knot_counts=knot_counts)
            t_fit.append(time.perf_counter() - t0)
            pixels = img.shape[0] * img.shape[1]
            bpp0.append(8 * len(data) / pixels)
            psnr0.append(psnr(img, decoded))
            if pf is None:
                bpp1.append(bpp0[-1])
                gains.append(0.0)
                radii["none"] += 1
                continue
            t0 = time.perf_counter()
            filtered = pf.apply(decoded)
            t_apply.append(time.perf_counter() - t0)
            bpp1.append(8 * (len(data) + 2 + len(pf.to_bytes())) / pixels)
            gains.append(psnr(img, filtered) - psnr0[-1])
            radii[pf.radius] += 1
            knots[pf.n_knots] += 1
        print(f"{q:g} | {np.mean(bpp0):.4f} → {np.mean(bpp1):.4f} (+{100 * (np.mean(bpp1) / np.mean(bpp0) - 1):.2f} %)"
              f" | {np.mean(gains):+.3f} | {sum(v for k, v in radii.items() if k != 'none')}/{len(images)}"
              f" | {dict(sorted(radii.items(), key=str))} | {dict(sorted(knots.items()))}"
              f" | {np.mean(t_fit):.2f} | {np.mean(t_apply) if t_apply else 0:.2f}")
        for curve, v in zip(curves, (bpp0, psnr0, bpp1, np.add(psnr0, gains))):
            curve.append(float(np.mean(v)))
    if len(curves[0]) > 1:
        print(f"BD-rate of the filter: {bd_rate(*curves):+.2f} %")


if __name__ == "__main__":
    main()
