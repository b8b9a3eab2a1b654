"""Encoder-side latent refinement: RD-cost gain and encode time against the number of iterations.

For 256² centre crops of some Kodak images, codes each crop at a few qualities without and with
``refine=STEPS`` and prints, per quality and step count, the mean change of the real RD cost
(coded bpp + λ·255²·MSE of the decoded 8-bit image — the loss refinement lowers) and the mean
encode time. One thread, as in ``lic eval``.

    python benchmarks/bench_refine.py ../shared/data/kodak --steps 10,25,50,100 --qualities 1,4,8
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import licodec
from licodec.api import get_model
from licodec.eval.metrics import psnr
from licodec.image_io import load_image


def rd_cost(image: np.ndarray, data: bytes, lam: float, weights: str | None) -> float:
    bpp = 8 * len(data) / (image.shape[0] * image.shape[1])
    decoded = np.asarray(licodec.decompress(data, weights=weights))
    return bpp + lam * 255**2 * 10 ** (-psnr(image, decoded) / 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="kodim01,kodim05,kodim14,kodim23")
    ap.add_argument("--steps", default="10,25,50,100")
    ap.add_argument("--qualities", default="1,4,8")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--weights", default=None, help="weights file (default: the shipped default model)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    net, _ = get_model(None, args.weights)
    crops = []
    for name in args.images.split(","):
        arr, _ = load_image(args.kodak / f"{name}.png")
        h, w, c = arr.shape[0] // 2, arr.shape[1] // 2, args.crop // 2
        crops.append(np.ascontiguousarray(arr[h - c:h + c, w - c:w + c]))
    print(f"{len(crops)} crops of {args.crop}², weights {args.weights or net.name}")
    print("quality  steps  RD cost change  encode s")
    for q in (float(v) for v in args.qualities.split(",")):
        lam = net.lam(q)
        for steps in [0] + [int(v) for v in args.steps.split(",")]:
            costs, times = [], []
            for img in crops:
                t = time.perf_counter()
                data = licodec.compress(img, quality=q, weights=args.weights, refine=steps)
                times.append(time.perf_counter() - t)
                costs.append(rd_cost(img, data, lam, args.weights))
            if steps == 0:
                base = costs
            change = np.mean([100 * (c / b - 1) for c, b in zip(costs, base)])
            print(f"{q:7g}  {steps:5d}  {change:+13.2f} %  {np.mean(times):8.2f}", flush=True)


if __name__ == "__main__":
    main()
