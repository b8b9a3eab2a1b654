"""Does a training run overfit its images? Compare snapshots on training and held-out images.

    python benchmarks/generalization.py --train ../shared/data/train --val ../shared/data/kodak \
        w74k.safetensors w88k.safetensors w109k.safetensors

Each weights file codes a random sample of training images and a slice of the validation folder
(centre crops to the model's multiple) at the given qualities; rate is the model's own estimate
in eval mode (−log2 of the likelihoods under the coder's scale table, within a few bytes of a
real file), PSNR of the 8-bit output. For every later file the script prints its BD-rate against
the first on both sets. A run that memorizes its data gains more on the training sample than on
the held-out images; equal gains mean it is limited by optimization steps, not by its data.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch

from licodec import models
from licodec.eval.bdrate import bd_rate
from licodec.eval.metrics import psnr
from licodec.image_io import image_to_tensor, load_image, tensor_to_array
from licodec.train.data import list_images


def centre_crop(arr: np.ndarray, multiple: int) -> np.ndarray:
    h, w = arr.shape[:2]
    H, W = h // multiple * multiple, w // multiple * multiple
    return np.ascontiguousarray(arr[(h - H) // 2 : (h - H) // 2 + H, (w - W) // 2 : (w - W) // 2 + W])


@torch.inference_mode()
def rd_points(net, images: list[np.ndarray], qualities: list[float]) -> tuple[list[float], list[float]]:
    """(bpp pooled over the images, mean PSNR) at each quality."""
    rates, psnrs = [], []
    for q in qualities:
        bits, pixels, values = 0.0, 0, []
        for arr in images:
            out = net(image_to_tensor(arr), q)
            bits += sum(float(-torch.log2(lik).sum()) for lik in out["likelihoods"].values())
            pixels += arr.shape[0] * arr.shape[1]
            values.append(psnr(arr, tensor_to_array(out["x_hat"].clamp(0, 1))))
        rates.append(bits / pixels)
        psnrs.append(float(np.mean(values)))
    return rates, psnrs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="+", type=Path, help="safetensors files, the first is the reference")
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--images", type=int, default=8, help="images from each set")
    ap.add_argument("--val-offset", type=int, default=6, help="skip the first validation images (a run's own validation)")
    ap.add_argument("--qualities", default="1,4,8")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    qualities = [float(v) for v in args.qualities.split(",")]
    train = random.Random(args.seed).sample(list_images(args.train), args.images)
    val = list_images(args.val)[args.val_offset : args.val_offset + args.images]
    nets = [models.load(path).eval() for path in args.weights]
    sets = {name: [centre_crop(load_image(p)[0], nets[0].downsample) for p in paths]
            for name, paths in (("train", train), ("held-out", val))}
    curves = {}
    for path, net in zip(args.weights, nets):
        for name, images in sets.items():
            curves[path, name] = rd_points(net, images, qualities)
            pts = " · ".join(f"{r:.4f} → {p:.3f}" for r, p in zip(*curves[path, name]))
            print(f"{path.name:>28} {name:>8}: {pts}", flush=True)
    ref = args.weights[0]
    for path in args.weights[1:]:
        gains = ", ".join(f"{name} {bd_rate(*curves[ref, name], *curves[path, name]):+.2f} %" for name in sets)
        print(f"{path.name} vs {ref.name}, BD-rate: {gains}")


if __name__ == "__main__":
    main()
