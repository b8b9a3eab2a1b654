"""Would the decoder gain by reconstructing each symbol at its bin's mean instead of its centre?

    python benchmarks/dequantization.py ../shared/data/kodak --limit 6 --qualities 1,4,8

The coder sends s = round(y − μ) and the decoder sets ŷ = s + μ, the centre of the bin. Within a
bin, y is not uniform: its density falls away from μ, so E[y | s] lies between the centre and μ
(the reconstruction offset of classical scalar quantizers, Sullivan, "Efficient scalar
quantization of exponential and Laplacian random variables", IEEE Trans. IT 1996). This script
measures an *oracle* of it: for every class of (coder scale-table entry, |s| = 1 or ≥ 2), the
mean of (y − μ − s)·sign(s) over the very images being coded, added back as ŷ = s + μ + δ·sign(s);
s = 0 stays at μ. It prints the latent error ‖y − ŷ‖² per element and the PSNR of g_s(ŷ) both
ways (the rate does not change). Models: the hyperprior models whose entropy parameters come
from ẑ alone (``bmshj2018-hyperprior``, ``mbt2018-mean``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from licodec import models
from licodec.entropy_models.gaussian import SCALE_TABLE, scale_indices
from licodec.eval.metrics import psnr
from licodec.image_io import load_image, tensor_to_array
from licodec.info.latent import conditional_latents
from licodec.train.data import list_images


def latents(net, arr: np.ndarray, quality: float) -> dict:
    y, mu, scales, q = conditional_latents(net, arr, quality)
    s = torch.round(y - mu)
    cls = torch.from_numpy(scale_indices(scales).reshape(s.shape)) * 3 + s.abs().clamp(max=2).long()
    return {"arr": arr, "q": q, "y": y, "mu": mu, "s": s, "cls": cls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default="mbt2018-mean")
    ap.add_argument("--weights", default=None, help="safetensors weights (default: the shipped ones)")
    ap.add_argument("--qualities", default="1,4,8")
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = models.create(args.model, weights=args.weights)
    images = [load_image(p)[0] for p in list_images(args.folder)[: args.limit]]
    print(f"{net.name}, {len(images)} images; oracle offsets per (scale-table entry, |s| = 1, ≥ 2)")
    print(f"{'quality':>7} {'nonzero':>8} {'latent MSE centre':>18} {'with offsets':>13} {'PSNR centre':>12} {'with offsets':>13}")
    classes = 3 * len(SCALE_TABLE)
    for quality in (float(v) for v in args.qualities.split(",")):
        coded = [latents(net, arr, quality) for arr in images]
        sums, counts = torch.zeros(classes, dtype=torch.float64), torch.zeros(classes, dtype=torch.float64)
        for c in coded:
            residual = (c["y"] - c["mu"] - c["s"]) * torch.sign(c["s"])
            sums.index_add_(0, c["cls"].ravel(), residual.ravel().double())
            counts.index_add_(0, c["cls"].ravel(), torch.ones(c["cls"].numel(), dtype=torch.float64))
        offsets = (sums / counts.clamp(min=1)).float()
        offsets[0::3] = 0  # s = 0: the bin is symmetric about μ
        err = {"centre": [], "offsets": []}
        quality_db = {"centre": [], "offsets": []}
        nonzero = []
        for c in coded:
            h, w = c["arr"].shape[:2]
            for name, y_hat in (("centre", c["s"] + c["mu"]),
                                ("offsets", c["s"] + c["mu"] + offsets[c["cls"]] * torch.sign(c["s"]))):
                err[name].append(float(((c["y"] - y_hat) ** 2).mean()))
                with torch.inference_mode():
                    picture = tensor_to_array(net.reconstruct(y_hat, c["q"])[..., :h, :w])
                quality_db[name].append(psnr(c["arr"], picture))
            nonzero.append(float((c["s"] != 0).float().mean()))
        print(f"{quality:>7g} {np.mean(nonzero):>8.3f} {np.mean(err['centre']):>18.4f} {np.mean(err['offsets']):>13.4f} "
              f"{np.mean(quality_db['centre']):>12.3f} {np.mean(quality_db['offsets']):>13.3f}", flush=True)


if __name__ == "__main__":
    main()
