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

:func:`context_headroom` asks the next question of the lineage: how much redundancy the
hyperprior left in the latents for a context model (Minnen et al., NeurIPS 2018; Minnen &
Singh, ICIP 2020). It predicts each coded symbol round(y − μ) linearly, as Δ, from symbols
coded before it — its causal spatial neighbours in the same channel, or earlier channels at
the same position — and counts the bits of the same symbols under N(Δ, (kσ)²) instead of
N(0, σ²). Predictors are fitted by least squares on one checkerboard half of the latent
positions and measured on the other (and the other way round), so they cannot save bits by
fitting noise. ``benchmarks/context_headroom.py`` runs it over a folder of images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from licodec.entropy_models.gaussian import gaussian_likelihood
from licodec.errors import InvalidOptionError
from licodec.image_io import image_to_tensor, pad_to_multiple
from licodec.layers.masked import anchor_mask
from licodec.models.base import CompressionModel

#: Earlier channels the channel predictor reads: the most correlated ones, chosen on the half it is fitted on.
CHANNEL_INPUTS = 8
#: Causal neighbours (row, column offsets) of the spatial predictor: the raster context's
#: nearest four, left, up-left, up and up-right.
CAUSAL_NEIGHBOURS = ((0, -1), (-1, -1), (-1, 0), (-1, 1))
#: Factors the σ of a channel may be multiplied by after a prediction (2^(i/8), ¼ to 2).
SCALE_FACTORS = 2.0 ** (np.arange(-16, 9) / 8)


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


def _bit_map(symbols: np.ndarray, scales: np.ndarray, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """Code lengths (bits) of integer ``symbols`` under N(shift, σ²) ∗ U(−½, ½)."""
    lik = gaussian_likelihood(torch.from_numpy(symbols - shift), torch.from_numpy(scales))
    return -torch.log2(lik).numpy()


def _cross_fit(design: np.ndarray, target: np.ndarray, halves: np.ndarray, inputs: int = CHANNEL_INPUTS) -> np.ndarray:
    """Predictions of ``target`` (P,) from ``design`` (P, K): least squares on one half of the
    rows (``halves`` boolean) applied to the other, both ways round. Of more than ``inputs``
    columns, the fit uses the ``inputs`` most correlated with the target on its own half."""
    pred = np.zeros_like(target)
    for fit in (halves, ~halves):
        a, b = design[fit], target[fit]
        cols = np.arange(a.shape[1])
        if len(cols) > inputs:
            corr = np.abs(a.T @ b) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b) + 1e-12)
            cols = np.argsort(-corr, kind="stable")[:inputs]
        coef = np.linalg.lstsq(a[:, cols], b, rcond=None)[0]
        pred[~fit] = design[~fit][:, cols] @ coef
    return pred


def _saved_bits(symbols: np.ndarray, scales: np.ndarray, shift: np.ndarray, halves: np.ndarray) -> float:
    """Bits saved by coding (M, P) ``symbols`` under N(Δ, (kσ)²) instead of N(0, σ²), with one
    factor k of :data:`SCALE_FACTORS` per channel, chosen on one half of the positions for the
    other (both ways round): a prediction that explains part of a symbol's spread also
    narrows its distribution."""
    costs = []  # (F, 2, M): bits per channel on each half
    for f in SCALE_FACTORS:
        bits = _bit_map(symbols, scales * f, shift)
        costs.append((bits[:, halves].sum(1), bits[:, ~halves].sum(1)))
    costs = np.asarray(costs)
    channels = np.arange(symbols.shape[0])
    saved = _bit_map(symbols, scales).sum()
    for fit in (0, 1):
        saved -= costs[costs[:, fit].argmin(0), 1 - fit, channels].sum()
    return float(saved)


def context_headroom(latents: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Bits a linear context could save on coded latents (module docstring), pooled over images.

    ``latents`` holds one (symbols, scales) pair per image: the coded residuals round(y − μ)
    and their coding σ, each (M, H, W) (:func:`coded_residuals`). A context predicts each symbol
    as Δ from symbols coded before it, and the symbol is coded under N(Δ, (kσ)²) instead of
    N(0, σ²), with a per-channel factor k fitted alongside Δ. The positions of every image are
    split on the checkerboard; predictors and factors are fitted on one colour and measured on
    the other. Returns the bits without a context (``bits``, the model's own) and the bits saved
    by the factor k alone (``scale_saved_bits``: how well the model's σ fits these images), by
    the spatial predictor (``spatial_saved_bits``: :data:`CAUSAL_NEIGHBOURS` in the same channel)
    and by the channel predictor (``channel_saved_bits``: the channels coded before, at the same
    position, channels ordered by falling mean σ as the slices of a channel-conditional model
    would be; it reads the :data:`CHANNEL_INPUTS` most correlated of them). A negative saving
    means the fitted predictor does not carry over from one half to the other."""
    m = latents[0][0].shape[0]
    symbols = np.concatenate([s.reshape(m, -1) for s, _ in latents], 1)
    scales = np.concatenate([s.reshape(m, -1) for _, s in latents], 1)
    halves = np.concatenate([anchor_mask(*s.shape[1:]).numpy().ravel() for s, _ in latents])
    neighbours = []
    for sym, _ in latents:
        h, w = sym.shape[1:]
        padded = np.pad(sym, ((0, 0), (1, 1), (1, 1)))
        neighbours.append(np.stack([padded[:, 1 + di : 1 + di + h, 1 + dj : 1 + dj + w].reshape(m, -1)
                                    for di, dj in CAUSAL_NEIGHBOURS], 2))  # (M, P_i, 4)
    neighbours = np.concatenate(neighbours, 1)
    spatial = np.stack([_cross_fit(neighbours[c], symbols[c], halves) for c in range(m)])
    order = np.argsort(-scales.mean(1), kind="stable")
    channel = np.zeros_like(symbols)
    for k in range(1, m):
        channel[order[k]] = _cross_fit(symbols[order[:k]].T, symbols[order[k]], halves)
    return {"bits": float(_bit_map(symbols, scales).sum()),
            "scale_saved_bits": _saved_bits(symbols, scales, np.zeros_like(symbols), halves),
            "spatial_saved_bits": _saved_bits(symbols, scales, spatial, halves),
            "channel_saved_bits": _saved_bits(symbols, scales, channel, halves)}


@torch.no_grad()
def conditional_latents(net: CompressionModel, image: np.ndarray, quality: float | None = None
                        ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(y, μ, σ, q) of a hyperprior model without a context for an H×W×3 uint8 image (padded to
    the model's multiple): the gained latent, the mean (0 for a scale-only model) and scale that
    h_s gives each element from ẑ, and the quality tensor."""
    if not net.supports_refine:  # the same condition: entropy parameters from ẑ alone
        raise InvalidOptionError(f"{net.name} has a context model already: this measures hyperprior models "
                                 "without one (bmshj2018-hyperprior, mbt2018-mean)")
    net.eval()
    x = pad_to_multiple(image_to_tensor(image), net.downsample)
    y, q = net._analysis(x, quality)
    scales, means = net._params(net.z_density.quantize(net.h_a(net._hyper_in(y))))
    return y, torch.zeros_like(y) if means is None else means, scales, q


def coded_residuals(net: CompressionModel, image: np.ndarray, quality: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The symbols round(y − μ) a hyperprior model without a context codes for an H×W×3 uint8
    image, and their coding σ (table scales), each (M, H/16, W/16) float64."""
    y, mu, scales, _ = conditional_latents(net, image, quality)
    return torch.round(y - mu)[0].double().numpy(), net.gaussian.table_scales(scales)[0].double().numpy()


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
    y, _ = net._analysis(x, q)
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
