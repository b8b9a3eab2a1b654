"""What the hyperprior buys, measured on one image: the "conditioning reduces entropy" story of
the seeds (H(Y|X) ≤ H(Y), Cover & Thomas thm. 2.6.5) on a real latent.

For a hyperprior model and an image we compare, in bits:

* ``factorized`` — ŷ coded with the best *static per-channel* model, i.e. the empirical
  (plug-in) entropy of each channel's integer symbols round(y) times their count. It is the
  smallest rate any factorized prior (Ballé 2017) fitted to this very image could reach;
* ``conditional`` — ŷ under the model's conditional Gaussian given ẑ, −Σ log2 p(ŷ | ẑ)
  (Ballé 2018, eq. 10), the bits the coder actually spends on ŷ;
* ``side`` — the hyper-latent ẑ, −Σ log2 p(ẑ).

Since the conditional code length is a cross-entropy upper bound on H(ŷ | ẑ) and the factorized
code length estimates H(ŷ), ``factorized − conditional`` estimates I(ŷ; ẑ) = H(ŷ) − H(ŷ | ẑ)
from below; the hyperprior pays off when this exceeds ``side``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from licodec.image_io import image_to_tensor, pad_to_multiple
from licodec.errors import InvalidOptionError
from licodec.models.base import CompressionModel


@dataclass
class LatentAnalysis:
    model: str
    quality: float
    pixels: int
    factorized_bits: np.ndarray  # per channel
    conditional_bits: np.ndarray  # per channel
    side_bits: float
    bits_map: np.ndarray  # conditional bits per latent position (summed over channels)

    @property
    def mutual_information_bits(self) -> float:
        return float(self.factorized_bits.sum() - self.conditional_bits.sum())

    def summary(self) -> dict:
        f, c = float(self.factorized_bits.sum()), float(self.conditional_bits.sum())
        return {
            "model": self.model, "quality": self.quality, "pixels": self.pixels,
            "factorized_bits": f, "conditional_bits": c, "side_bits": self.side_bits,
            "total_hyperprior_bits": c + self.side_bits,
            "mutual_information_estimate_bits": f - c,
            "bpp": {"factorized": f / self.pixels, "conditional": c / self.pixels, "side": self.side_bits / self.pixels,
                    "hyperprior_total": (c + self.side_bits) / self.pixels},
            "channels": [{"channel": i, "factorized_bits": float(a), "conditional_bits": float(b)}
                         for i, (a, b) in enumerate(zip(self.factorized_bits, self.conditional_bits))],
        }


def plugin_entropy_bits(symbols: np.ndarray) -> float:
    """N · H of the empirical distribution of ``symbols`` (plug-in estimate, in bits)."""
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


@torch.no_grad()
def analyze_latents(net: CompressionModel, image: np.ndarray, quality: float | None = None) -> LatentAnalysis:
    """Run ``net`` (a model with a ``z`` hyper-latent) on an H×W×3 uint8 image."""
    net.eval()
    q = net.default_quality if quality is None else float(quality)
    x = pad_to_multiple(image_to_tensor(image), net.downsample)
    out = net(x, q)
    lik = out["likelihoods"]
    if "z" not in lik:
        raise InvalidOptionError(f"{net.name} has no hyperprior (no ẑ): choose a hyperprior model")
    y = net.gain.encode(net.g_a(x), net.quality_tensor(q, 1))
    symbols = torch.round(y)[0].reshape(y.shape[1], -1).numpy()
    factorized = np.array([plugin_entropy_bits(s) for s in symbols])
    y_bits = -torch.log2(lik["y"].double())[0]
    conditional = y_bits.reshape(y_bits.shape[0], -1).sum(1).numpy()
    side = float(-torch.log2(lik["z"].double()).sum())
    return LatentAnalysis(net.name, q, image.shape[0] * image.shape[1], factorized, conditional, side,
                          y_bits.sum(0).numpy())


def save_heatmap(analysis: LatentAnalysis, image: np.ndarray, path: str) -> None:
    """Bits per latent position (summed over channels) beside the image, written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from licodec.image_io import write_atomic

    h, w = image.shape[:2]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2 * h / w + 0.8))
    axes[0].imshow(image)
    axes[0].set_title("image")
    hm = analysis.bits_map
    scale = h / (hm.shape[0] * 1.0)
    im = axes[1].imshow(hm, cmap="magma", extent=(0, hm.shape[1] * scale, hm.shape[0] * scale, 0))
    axes[1].set_xlim(0, w)
    axes[1].set_ylim(h, 0)
    axes[1].set_title(f"bits of ŷ per latent position ({analysis.model})")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04, label="bits")
    for ax in axes:
        ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format=path.rsplit(".", 1)[-1].lower() if "." in path else "png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
