"""Rate–distortion objectives (Ballé et al., ICLR 2017, eq. 2): L = λ·D + R.

* MSE:     D = 255² · MSE on [0, 1] images (the convention of CompressAI and the λ table).
* MS-SSIM: D = 1 − MS-SSIM (Wang, Simoncelli & Bovik 2003), via pytorch-msssim.

R is the bits per pixel −Σ log2 p / (H·W) from the model's likelihoods, always in fp32.
λ may differ per sample (variable-rate training), so everything is per sample, then averaged.
"""

from __future__ import annotations

import torch
from torch import Tensor


def bpp(likelihoods: dict[str, Tensor], num_pixels: int) -> Tensor:
    """Bits per pixel of each sample: −Σ log2 p over all latents / pixels."""
    total = 0
    for lik in likelihoods.values():
        total = total + (-torch.log2(lik.float())).flatten(1).sum(1)
    return total / num_pixels


def rd_loss(out: dict, x: Tensor, lam: Tensor, metric: str = "mse") -> dict[str, Tensor]:
    n, _, h, w = x.shape
    rate = bpp(out["likelihoods"], h * w)
    x_hat = out["x_hat"].float()
    mse = (x_hat - x.float()).pow(2).flatten(1).mean(1)
    if metric == "mse":
        dist = 255.0**2 * mse
    elif metric == "ms-ssim":
        from pytorch_msssim import ms_ssim

        dist = 1 - ms_ssim(x_hat.clamp(0, 1), x.float(), data_range=1.0, size_average=False)
    else:
        raise ValueError(f"unknown distortion metric {metric!r}")
    loss = (lam * dist + rate).mean()
    psnr = (10 * torch.log10(1 / mse.clamp_min(1e-10))).mean()
    return {"loss": loss, "bpp": rate.mean(), "mse": mse.mean(), "psnr": psnr}
