"""How much redundancy a hyperprior model leaves in its latents for a context model.

    python benchmarks/context_headroom.py ../shared/data/kodak --qualities 1,4,8

For each quality, codes every image's latents with the model (default: the shipped
``mbt2018-mean``) and measures, pooled over the images, the bits a *linear* context could save
(``licodec.info.latent.context_headroom``): a prediction of each coded symbol from its four
causal neighbours in the same channel (spatial, as the context of Minnen et al. 2018 sees), or
from earlier channels at the same position (channel, as Minnen & Singh 2020 and ELIC see), plus
a refitted σ factor per channel. Fitted on one checkerboard half of the positions, measured on
the other. Percentages are of the bits the model spends on ŷ.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from licodec import models
from licodec.image_io import load_image
from licodec.info.latent import coded_residuals, context_headroom
from licodec.train.data import list_images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default="mbt2018-mean")
    ap.add_argument("--weights", default=None, help="safetensors weights (default: the shipped ones)")
    ap.add_argument("--qualities", default="1,4,8")
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = models.create(args.model, weights=args.weights)
    images = [load_image(p)[0] for p in list_images(args.folder)[: args.limit]]
    print(f"{net.name}, {len(images)} images; bits saved, % of the bits of ŷ")
    print(f"{'quality':>7} {'bpp(ŷ)':>8} {'σ factor':>9} {'spatial':>9} {'channel':>9}")
    for q in (float(v) for v in args.qualities.split(",")):
        h = context_headroom([coded_residuals(net, img, q) for img in images])
        pixels = sum(img.shape[0] * img.shape[1] for img in images)
        pct = {k: 100 * h[f"{k}_saved_bits"] / h["bits"] for k in ("scale", "spatial", "channel")}
        print(f"{q:>7g} {h['bits'] / pixels:>8.4f} {pct['scale']:>8.2f}% {pct['spatial']:>8.2f}% {pct['channel']:>8.2f}%")


if __name__ == "__main__":
    main()
