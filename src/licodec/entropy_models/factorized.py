"""Per-channel non-parametric density ("entropy bottleneck").

Ballé, Minnen, Singh, Hwang & Johnston, "Variational image compression with a scale
hyperprior", ICLR 2018, appendix 6.1: each channel's cumulative distribution is a small
monotone network c(x) = f_K ∘ … ∘ f_1(x) with

    f_k(x) = g_k(H^(k) x + b^(k)),   g_k(x) = x + a^(k) ⊙ tanh(x)   (k < K),   g_K = sigmoid,

H^(k) kept non-negative via softplus and a^(k) kept ≥ -1 via tanh. The likelihood of an
integer (or noisy) value v is c(v + 1/2) − c(v − 1/2) (eq. 8 of the appendix, convolved with
the uniform noise of training).

For coding, :meth:`update_tables` samples this density once into a probability table per
channel, with an edge symbol at each end that holds only the tail mass beyond the values of
real probability (a value at an edge is escape-coded, :mod:`licodec.coding.ans`). The tables
are buffers saved with the weights, so encoder and decoder code with the *same* stored numbers
on any machine.

Median-centred quantization (``medians=True``, off by default): a per-channel offset m (the
buffer ``medians``, zero until set) and x̂ = round(x − m) + m, as CompressAI's
``EntropyBottleneck`` quantizes around the medians it learns in ``quantiles``. The coded symbols
are round(x − m) and the tables sample the density at m + k. Used by models imported from
CompressAI (``compat="compressai"``); without it nothing changes and no buffer is saved.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.ops import lower_bound, quantize_noise, ste_round


class FactorizedDensity(nn.Module):
    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0,
                 tail_mass: float = 1e-9, max_support: int = 512, medians: bool = False):
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        self.max_support = max_support
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(filters) + 1):
            init = float(np.log(np.expm1(1 / scale / dims[k + 1])))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[k + 1], dims[k]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[k + 1], 1).uniform_(-0.5, 0.5)))
            if k < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[k + 1], 1)))
        # Coding tables (filled by update_tables, saved with the weights).
        self.register_buffer("_pmf", torch.zeros(channels, 0, dtype=torch.float32))
        self.register_buffer("_offset", torch.zeros(channels, dtype=torch.int32))
        # Optional quantization offsets (None: plain rounding, nothing saved).
        self.medians: Tensor | None
        self.register_buffer("medians", torch.zeros(channels) if medians else None)

    # -- density ------------------------------------------------------------------------------
    def _logits_cumulative(self, x: Tensor) -> Tensor:
        """x: (C, 1, N) -> logits of the cumulative, (C, 1, N)."""
        for k, (h, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(h), x) + b
            if k < len(self.factors):
                x = x + torch.tanh(self.factors[k]) * torch.tanh(x)
        return x

    def likelihood(self, x: Tensor) -> Tensor:
        """P(x) for (B, C, H, W) ``x``: c(x+½) − c(x−½), evaluated on the side away from the
        saturated tail for accuracy."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            b, c, h, w = x.shape
            v = x.float().permute(1, 0, 2, 3).reshape(c, 1, -1)
            lower = self._logits_cumulative(v - 0.5)
            upper = self._logits_cumulative(v + 0.5)
            sign = -torch.sign(lower + upper).detach()
            lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
            lik = lower_bound(lik, 1e-9)
            return lik.reshape(c, b, h, w).permute(1, 0, 2, 3)

    def _median_view(self, x: Tensor) -> Tensor:
        return self.medians.to(x.dtype).view(1, -1, *([1] * (x.dim() - 2)))

    def quantize(self, x: Tensor) -> Tensor:
        """x̂ = round(x), or round(x − m) + m with medians: the values :meth:`compress` codes."""
        if self.medians is None:
            return torch.round(x)
        m = self._median_view(x)
        return torch.round(x - m) + m

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Returns (x̂ for the next stage, likelihoods). Training: rate on x + U(−½,½),
        straight-through rounding for the value passed on; inference: rounding for both."""
        if self.training:
            if self.medians is None:
                return ste_round(x), self.likelihood(quantize_noise(x))
            m = self._median_view(x)
            return ste_round(x - m) + m, self.likelihood(quantize_noise(x))
        x_hat = self.quantize(x)
        return x_hat, self.likelihood(x_hat)

    # -- coding tables -------------------------------------------------------------------------
    @torch.no_grad()
    def update_tables(self) -> None:
        """Sample each channel's density on the integers into a pmf whose edges hold the tails."""
        span = torch.arange(-self.max_support, self.max_support + 1, dtype=torch.float32)
        v = span.view(1, 1, -1).expand(self.channels, 1, -1)
        if self.medians is not None:
            v = v + self.medians.float().view(-1, 1, 1)  # the coded values m + k
        cdf = torch.sigmoid(self._logits_cumulative(v + 0.5)).squeeze(1).double()  # P(X <= k)
        # The edge symbols hold the tails, and a value at an edge costs an escape after it: put
        # them one step outside [first k with cdf >= tail/2, first k with cdf >= 1 - tail/2], so
        # they hold only the tails and every value of real probability is an inner symbol (else
        # a channel that is almost always 0 would pay an escape bit for every 0)
        lo_idx = ((cdf < self.tail_mass / 2).sum(1) - 1).clamp(0, len(span) - 2)
        hi_idx = torch.maximum(((cdf < 1 - self.tail_mass / 2).sum(1) + 1).clamp(0, len(span) - 1), lo_idx + 1)
        length = int((hi_idx - lo_idx).max().item()) + 1
        pmf = torch.zeros(self.channels, length, dtype=torch.float64)
        for ch in range(self.channels):
            lo, hi = int(lo_idx[ch]), int(hi_idx[ch])
            c = cdf[ch, lo : hi + 1].clone()
            c[-1] = 1.0
            p = torch.diff(c, prepend=torch.zeros(1, dtype=torch.float64))
            pmf[ch, : hi - lo + 1] = p.clamp_min(1e-12)  # > 0: the table's length is where its zeros begin
        self._pmf = pmf.float()
        self._offset = (lo_idx - self.max_support).to(torch.int32)

    @property
    def has_tables(self) -> bool:
        return self._pmf.shape[1] > 0

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: D401
        # Tables differ in length between weight files: adopt the stored shape before loading.
        key = prefix + "_pmf"
        if key in state_dict:
            self._pmf = torch.zeros_like(state_dict[key], dtype=torch.float32)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_tables:
            self.update_tables()
        return self._pmf.double().numpy(), self._offset.numpy().astype(np.int64)

    def compress(self, x_hat: Tensor, encoder: SymbolEncoder) -> None:
        """Code integer-valued ``x_hat`` (1, C, H, W), channel by channel."""
        pmf, offset = self._tables()
        if self.medians is not None:
            x_hat = torch.round(x_hat - self._median_view(x_hat))
        values = x_hat[0].reshape(self.channels, -1).to(torch.int64).numpy()
        for ch in range(self.channels):
            length = _used_length(pmf[ch])
            encoder.categorical(values[ch], pmf[ch, :length], int(offset[ch]))

    def decompress(self, decoder: SymbolDecoder, shape: tuple[int, int]) -> Tensor:
        pmf, offset = self._tables()
        h, w = shape
        out = np.empty((self.channels, h * w), dtype=np.int64)
        for ch in range(self.channels):
            length = _used_length(pmf[ch])
            out[ch] = decoder.categorical(h * w, pmf[ch, :length], int(offset[ch]))
        x_hat = torch.from_numpy(out).float().view(1, self.channels, h, w)
        return x_hat if self.medians is None else x_hat + self._median_view(x_hat)


def _used_length(pmf_row: np.ndarray) -> int:
    nz = np.flatnonzero(pmf_row > 0)
    return max(int(nz[-1]) + 1 if len(nz) else 2, 2)
