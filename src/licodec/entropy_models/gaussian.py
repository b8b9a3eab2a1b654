"""Conditional Gaussian entropy model for the latent y given side information.

Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018, eq. (10):
each ŷ_i is modelled as N(μ_i, σ_i²) convolved with U(−½, ½), so

    p(ŷ_i) = Φ((ŷ_i − μ_i + ½)/σ_i) − Φ((ŷ_i − μ_i − ½)/σ_i)

(μ = 0 in the scale-only hyperprior; μ and σ from the hyper-decoder in Minnen et al.,
NeurIPS 2018). For coding, symbols are ``round(y − μ)`` and σ is replaced by the nearest
entry (in log scale) of a fixed table of 64 scales from 0.11 to 256, so encoder and decoder
agree on every model exactly; ŷ = symbol + μ. In evaluation mode the likelihood uses the
same table, so the estimated rate is the rate the coder achieves.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.ops import lower_bound, quantize_noise, ste_round

SCALE_MIN = 0.11
SCALE_MAX = 256.0
# Rounded to float32 so the table is the same bits on every platform's libm.
SCALE_TABLE = np.exp(np.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), 64)).astype(np.float32).astype(np.float64)
_SCALE_BOUNDS = np.sqrt(SCALE_TABLE[:-1] * SCALE_TABLE[1:]).astype(np.float32).astype(np.float64)


def scale_indices(scales: Tensor) -> np.ndarray:
    """Index of the table entry nearest (geometrically) to each scale; exact for exact input."""
    return np.searchsorted(_SCALE_BOUNDS, scales.detach().double().cpu().numpy().ravel(), side="right")


def gaussian_likelihood(values: Tensor, scales: Tensor) -> Tensor:
    """P of an integer-width bin centred at ``values`` (mean already subtracted) under N(0, σ²)."""
    v = values.abs()
    upper = torch.special.ndtr((0.5 - v) / scales)
    lower = torch.special.ndtr((-0.5 - v) / scales)
    return lower_bound(upper - lower, 1e-9)


class GaussianConditional(nn.Module):
    def __init__(self, scale_bound: float = SCALE_MIN):
        super().__init__()
        self.scale_bound = scale_bound

    def table_scales(self, scales: Tensor) -> Tensor:
        idx = scale_indices(scales)
        return torch.from_numpy(SCALE_TABLE[idx]).float().view(scales.shape)

    def likelihood(self, y: Tensor, scales: Tensor, means: Tensor | None = None) -> Tensor:
        with torch.autocast(device_type=y.device.type, enabled=False):
            y, scales = y.float(), scales.float()
            values = y if means is None else y - means.float()
            s = lower_bound(scales, self.scale_bound) if self.training else self.table_scales(scales)
            return gaussian_likelihood(values, s)

    def forward(self, y: Tensor, scales: Tensor, means: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Returns (ŷ, likelihoods). Training ("mixed quantization", Minnen & Singh, ICIP 2020):
        the rate uses y + U(−½,½), the value passed on is round(y − μ) + μ with a straight-through
        gradient. Inference: ŷ = round(y − μ) + μ for both."""
        mu = torch.zeros_like(y) if means is None else means
        if self.training:
            y_hat = ste_round(y - mu) + mu
            return y_hat, self.likelihood(quantize_noise(y), scales, means)
        y_hat = torch.round(y - mu) + mu
        return y_hat, self.likelihood(y_hat, scales, means)

    @staticmethod
    def compress(y: Tensor, scales: Tensor, means: Tensor | None, encoder: SymbolEncoder) -> Tensor:
        """Code round(y − μ) under the table scale nearest each σ; returns ŷ."""
        mu = torch.zeros_like(y) if means is None else means
        symbols = torch.round(y - mu)
        encoder.gaussian(symbols.to(torch.int64).numpy().ravel(), SCALE_TABLE[scale_indices(scales)])
        return symbols + mu

    @staticmethod
    def decompress(decoder: SymbolDecoder, scales: Tensor, means: Tensor | None) -> Tensor:
        symbols = decoder.gaussian(SCALE_TABLE[scale_indices(scales)])
        out = torch.from_numpy(symbols).float().view(scales.shape)
        return out if means is None else out + means
