"""Discretized Gaussian mixture likelihood with bit-reproducible coding tables.

Cheng, Sun, Takeuchi & Katto, "Learned image compression with discretized Gaussian mixture
likelihoods and attention modules", CVPR 2020: each latent ŷ_i gets K = 3
weighted Gaussians, convolved with U(−½, ½),

    p(ŷ_i) = Σ_k w_ik [Φ((ŷ_i + ½ − μ_ik)/σ_ik) − Φ((ŷ_i − ½ − μ_ik)/σ_ik)],   w_i = softmax(ℓ_i).

There is no single mean to subtract, so the coded symbols are ŷ = round(y) themselves.

Training (``forward`` in train mode) evaluates the formula above in fp32 on y + U(−½, ½).
Coding (and ``forward`` in eval mode, so estimated and actual rates agree) uses a *table per
symbol*, built from the exact entropy parameters (ℓ, μ, σ on the 2^-8 grid of
:mod:`licodec.layers.exact`) as follows.

Parameters
    σ_k is replaced by the nearest entry of the shared 64-entry scale table
    (:data:`~licodec.entropy_models.gaussian.SCALE_TABLE`, as the single-Gaussian model does);
    μ_k and ℓ_k are used as they come (exact grid values); w = softmax(ℓ) with logit
    differences floored at −32.

Support
    A window [lo, lo + W − 1] around the components that carry weight (w_k ≥ 2^-16):
    from floor(min_k μ_k − 5σ_k) to ceil(max_k μ_k + 5σ_k), its width rounded up to a power of
    two W ∈ {4, 8, …, 4096} (so symbols can be tabulated in batches of equal width) and the
    window centred on the span; spans beyond 4096 are cut around their centre. The two edge
    entries absorb the tails: entry 0 is (−∞, lo + ½), entry W − 1 is [lo + W − 1.5, ∞), and a
    value at or beyond an edge is sent as the edge plus an Elias-gamma escape
    (:class:`~licodec.coding.ans.SymbolEncoder.tables`), so every integer round-trips.

Quantization and normalization
    With F the mixture CDF and T = 2^24 − W, the integer cumulative is
    c_j = floor(T · F(lo + j − ½)) for the W − 1 inner edges, made non-decreasing by a
    running maximum, with c_0 = 0 and c_W = T. The table handed to constriction is the
    integer "free weights" f_j = c_{j+1} − c_j (they sum to T exactly). constriction's
    ``Categorical(perfect=False)`` quantizer gives symbol j the 24-bit probability
    (floor(s·Σ_{<j+1} f) − floor(s·Σ_{<j} f) + 1) / 2^24 with s = T / Σf = 1 exactly (integer
    floats, exact sums), i.e. exactly **(f_j + 1) / 2^24**. That number (times 2^-b for the b
    escape bits of an edge symbol) is the eval-mode likelihood, so the rate ``forward`` reports
    is the rate the coder spends, up to the ANS coder's own few bytes.

Determinism
    Encoder and decoder must build identical tables on any machine. The entropy parameters are
    exact; everything after them uses only IEEE-754 operations that are correctly rounded by
    definition — elementwise +, −, ×, ÷ (separate numpy ufunc calls, so no FMA contraction),
    floor, comparisons, ldexp, max, table look-ups — in a fixed order. No libm function is
    called: exp is a Cody–Waite range reduction plus a degree-11 Taylor polynomial
    (:func:`det_exp`, relative error < 1e-14); Φ is the Chebyshev-fitted erfc of Numerical
    Recipes (``erfcc``, fractional error < 1.2e-7 everywhere; :func:`det_ndtr`), tabulated once
    at import on a 1/256 grid over [−20, 20] and linearly interpolated when building tables
    (:func:`table_ndtr`, absolute error < 5e-7, five times cheaper). Arguments are clamped to
    |t| ≤ 20 and weights to ≥ e^-32/3, so no intermediate is subnormal and flush-to-zero modes
    cannot change a result. The residual risk is a platform whose float64 arithmetic is not
    IEEE-754 binary64 (e.g. x87 extended precision on 32-bit x86) — not one numpy supports in
    practice; ``tests/test_mixture.py`` pins a digest of a set of tables to catch any drift.
    The approximation error of Φ costs nothing measurable against the 2^-24 table resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models.gaussian import SCALE_MIN, SCALE_TABLE, scale_indices
from licodec.ops import lower_bound, quantize_noise, ste_round

K_DEFAULT = 3
PRECISION = 24  # constriction's default AnsCoder models: 24-bit probabilities
TOTAL = 1 << PRECISION
TAIL_SIGMAS = 5.0  # window half-width around each component, in σ
WEIGHT_FLOOR = 2.0**-16  # components below this weight do not widen the window
LOGIT_FLOOR = -32.0  # softmax logit differences are floored here
MIN_WIDTH, MAX_WIDTH = 4, 4096
_CDF_CLAMP = 20.0
_ROW_BUDGET = 1 << 18  # table entries per vectorized chunk

# -- deterministic elementary functions --------------------------------------------------------------
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: the high part has 32 significant
_LN2_LO = 1.90821492927058770002e-10  # bits, so n·_LN2_HI is exact for |n| < 2^21
_INV_LN2 = 1.44269504088896338700e00
_EXP_COEFFS = tuple(1.0 / math.factorial(k) for k in range(12))  # Taylor coefficients of e^r, degree 11
_RSQRT2 = 0.70710678118654752440
# Numerical Recipes in C (2nd ed., sec. 6.2) erfcc: erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2)
_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def det_exp(x: np.ndarray) -> np.ndarray:
    """e^x for x in [−700, 700] (clamped), from IEEE basic operations only — bit-identical on every
    IEEE-754 platform, unlike libm's ``exp`` (whose last bit may differ between libraries)."""
    x = np.clip(np.asarray(x, dtype=np.float64), -700.0, 700.0)
    n = np.floor(x * _INV_LN2 + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO  # |r| <= ~0.35
    p = np.full_like(r, _EXP_COEFFS[-1])
    for c in _EXP_COEFFS[-2::-1]:
        p = p * r + c
    return np.ldexp(p, n.astype(np.int32))


def det_ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF Φ(x) from IEEE basic operations (see module docstring); x is clamped
    to [−20, 20]. Fractional error of the smaller tail below 1.2e-7."""
    x = np.clip(np.asarray(x, dtype=np.float64), -_CDF_CLAMP, _CDF_CLAMP)
    z = np.abs(x) * _RSQRT2
    t = 1.0 / (1.0 + 0.5 * z)
    p = np.full_like(t, _ERFC_COEFFS[-1])
    for c in _ERFC_COEFFS[-2::-1]:
        p = p * t + c
    tail = 0.5 * (t * det_exp((0.0 - z * z) + p))  # Φ(−|x|)
    return np.where(x < 0, tail, 1.0 - tail)


# Φ tabulated on t ∈ [−20, 20] in steps of 1/256 (from det_ndtr, so the same bits everywhere),
# made non-decreasing; evaluated by linear interpolation (absolute error < 5e-7).
_PHI_STEP = 256.0
_PHI_GRID = np.arange(-int(_CDF_CLAMP * _PHI_STEP), int(_CDF_CLAMP * _PHI_STEP) + 2) / _PHI_STEP
_PHI = np.maximum.accumulate(det_ndtr(_PHI_GRID))
_PHI_SLOPE = np.diff(_PHI)
_PHI_LAST = len(_PHI_SLOPE) - 1


def table_ndtr(x: np.ndarray) -> np.ndarray:
    """Φ(x) by linear interpolation in a fixed table (what the coding tables use): a dozen IEEE
    basic operations per value instead of :func:`det_ndtr`'s ~60; x is clamped to [−20, 20]."""
    u = (np.clip(x, -_CDF_CLAMP, _CDF_CLAMP) + _CDF_CLAMP) * _PHI_STEP
    i = np.minimum(np.floor(u), _PHI_LAST)
    f = u - i
    i = i.astype(np.intp)
    return _PHI[i] + _PHI_SLOPE[i] * f


def mixture_weights(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis with :func:`det_exp` and a fixed summation order."""
    logits = np.asarray(logits, dtype=np.float64)
    d = np.maximum(logits - logits.max(axis=-1, keepdims=True), LOGIT_FLOOR)
    e = det_exp(d)
    s = e[..., 0]
    for k in range(1, e.shape[-1]):
        s = s + e[..., k]
    return e / s[..., None]


# -- coding parameters and tables ------------------------------------------------------------------------
@dataclass(frozen=True)
class MixtureParams:
    """Per-symbol coding parameters, (n, K) float64 each: weights, means, table scales."""

    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray

    @classmethod
    def from_raw(cls, logits: np.ndarray, means: np.ndarray, scales: np.ndarray) -> "MixtureParams":
        """From the entropy-parameter network's outputs (…, K) (exact grid values): softmax the
        logits, snap each scale to the nearest scale-table entry."""
        k = logits.shape[-1]
        logits = np.asarray(logits, dtype=np.float64).reshape(-1, k)
        means = np.asarray(means, dtype=np.float64).reshape(-1, k)
        scales = np.asarray(scales, dtype=np.float64).reshape(-1, k)
        table = SCALE_TABLE[scale_indices(torch.from_numpy(np.ascontiguousarray(scales)))].reshape(scales.shape)
        return cls(mixture_weights(logits), means, table)

    def __len__(self) -> int:
        return self.weights.shape[0]

    def take(self, idx: np.ndarray | slice) -> "MixtureParams":
        return MixtureParams(self.weights[idx], self.means[idx], self.scales[idx])


def table_support(params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """(lo, width) of every symbol's table; width is a power of two in [MIN_WIDTH, MAX_WIDTH]."""
    active = params.weights >= WEIGHT_FLOOR
    active |= params.weights == params.weights.max(axis=1, keepdims=True)
    left = np.where(active, params.means - TAIL_SIGMAS * params.scales, np.inf).min(axis=1)
    right = np.where(active, params.means + TAIL_SIGMAS * params.scales, -np.inf).max(axis=1)
    lo = np.floor(left).astype(np.int64)
    hi = np.ceil(right).astype(np.int64)
    span = hi - lo + 1
    exponent = np.frexp((np.maximum(span, MIN_WIDTH) - 1).astype(np.float64))[1]  # smallest 2^e >= span
    width = np.minimum(np.left_shift(np.int64(1), exponent.astype(np.int64)), MAX_WIDTH)
    lo = lo - (width - span) // 2  # centre the window on the span (cut it around the centre if too wide)
    return lo, width


def mixture_cdf(points: np.ndarray, params: MixtureParams) -> np.ndarray:
    """F(points) for points (n, E), summed over components in a fixed order."""
    out = np.zeros(points.shape)
    for k in range(params.weights.shape[1]):
        t = (points - params.means[:, k : k + 1]) / params.scales[:, k : k + 1]
        out = out + params.weights[:, k : k + 1] * table_ndtr(t)
    return out


def table_freqs(params: MixtureParams, lo: np.ndarray, width: int) -> np.ndarray:
    """Integer free weights f (n, width) as float64, each row summing to exactly 2^24 − width; the
    coded probability of entry j is (f_j + 1) / 2^24 (see module docstring)."""
    n = len(params)
    total = TOTAL - width
    out = np.empty((n, width))
    rows = max(1, _ROW_BUDGET // width)
    inner = np.arange(1, width, dtype=np.float64) - 0.5
    for s in range(0, n, rows):
        part = params.take(slice(s, s + rows))
        edges = lo[s : s + rows, None].astype(np.float64) + inner[None, :]
        cum = np.floor(mixture_cdf(edges, part) * total)
        cum = np.maximum.accumulate(np.clip(cum, 0, total), axis=1)
        m = cum.shape[0]
        full = np.concatenate([np.zeros((m, 1)), cum, np.full((m, 1), float(total))], axis=1)
        out[s : s + rows] = np.diff(full, axis=1)
    return out


def escape_bits(values: np.ndarray, lo: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Bits of the Elias-gamma escape that follows an edge symbol (0 for inner symbols)."""
    idx = values - lo
    top = width - 1
    over = np.where(idx <= 0, -idx, idx - top)
    gamma = 2 * np.frexp((over + 1).astype(np.float64))[1] - 1  # 2·bitlen(n+1) − 1
    return np.where((idx <= 0) | (idx >= top), gamma, 0)


def coded_probability(values: np.ndarray, params: MixtureParams) -> np.ndarray:
    """Probability the coder spends on each integer ``values[i]`` (escape bits included)."""
    values = np.asarray(values, dtype=np.int64).ravel()
    lo, width = table_support(params)
    out = np.empty(len(values))
    for w, sel in _runs(width):
        freqs = table_freqs(params.take(sel), lo[sel], w)
        idx = np.clip(values[sel] - lo[sel], 0, w - 1)
        out[sel] = (freqs[np.arange(len(sel)), idx] + 1.0) / TOTAL
    bits = escape_bits(values, lo, width)
    return np.ldexp(out, -bits.astype(np.int32))


def _runs(width: np.ndarray):
    """Symbols grouped by table width: (width, indices) in ascending width, indices ascending
    within a group — the order both coder sides use — in chunks of at most _ROW_BUDGET table
    entries (batch boundaries do not matter to the coder, only the symbol order)."""
    for w in np.unique(width):
        sel = np.flatnonzero(width == w)
        rows = max(1, _ROW_BUDGET // int(w))
        for s in range(0, len(sel), rows):
            yield int(w), sel[s : s + rows]


def encode_unit(encoder: SymbolEncoder, values: np.ndarray, params: MixtureParams) -> None:
    """Queue one decoding unit (symbols whose parameters the decoder knows at the same time)."""
    values = np.asarray(values, dtype=np.int64).ravel()
    lo, width = table_support(params)
    for w, sel in _runs(width):
        encoder.tables(values[sel], table_freqs(params.take(sel), lo[sel], w), lo[sel])


def decode_unit(decoder: SymbolDecoder, params: MixtureParams) -> np.ndarray:
    """Inverse of :func:`encode_unit`: the unit's integer symbols, (n,) int64."""
    lo, width = table_support(params)
    out = np.empty(len(params), dtype=np.int64)
    for w, sel in _runs(width):
        out[sel] = decoder.tables(table_freqs(params.take(sel), lo[sel], w), lo[sel])
    return out


# -- the module -------------------------------------------------------------------------------------------
class GaussianMixtureConditional(nn.Module):
    """K-component discretized Gaussian mixture over integer ŷ = round(y).

    ``params`` tensors are (B, 3·K·C, H, W), channel blocks [logits | means | scales], each
    block component-major (K, C): :meth:`split` views them as three (B, K, C, H, W) tensors.
    """

    def __init__(self, K: int = K_DEFAULT, scale_bound: float = SCALE_MIN):
        super().__init__()
        self.K = K
        self.scale_bound = scale_bound

    def split(self, params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, c3, h, w = params.shape
        p = params.reshape(b, 3, self.K, c3 // (3 * self.K), h, w)
        return p[:, 0], p[:, 1], p[:, 2]

    def coding_params(self, params: Tensor) -> MixtureParams:
        """Coding parameters of every symbol in (B, C, H, W) raster order."""
        logits, means, scales = (t.detach().double().permute(0, 2, 3, 4, 1).cpu().numpy() for t in self.split(params))
        return MixtureParams.from_raw(logits, means, scales)

    def continuous_likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        """Σ_k w_k P_k(bin of width 1 at ``values``) in fp32 (training; differentiable)."""
        with torch.autocast(device_type=values.device.type, enabled=False):
            logits, means, scales = (t.float() for t in self.split(params.float()))
            w = torch.softmax(logits, dim=1)
            s = lower_bound(scales, self.scale_bound)
            d = (values.float().unsqueeze(1) - means).abs()
            mass = torch.special.ndtr((0.5 - d) / s) - torch.special.ndtr((-0.5 - d) / s)
            return lower_bound((w * mass).sum(1), 1e-9)

    def coded_likelihood(self, y_hat: Tensor, params: Tensor) -> Tensor:
        """The probability the coder assigns each integer of ``y_hat`` (eval mode)."""
        p = coded_probability(y_hat.detach().to(torch.int64).cpu().numpy(), self.coding_params(params))
        return torch.from_numpy(p).float().view(y_hat.shape).to(y_hat.device)

    def forward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """(ŷ, likelihoods). Training: rate of y + U(−½, ½), ŷ = round(y) with a straight-through
        gradient. Eval: ŷ = round(y) and the exact coded probabilities."""
        if self.training:
            return ste_round(y), self.continuous_likelihood(quantize_noise(y.float()), params)
        y_hat = torch.round(y)
        return y_hat, self.coded_likelihood(y_hat, params)
