"""Cheng, Sun, Takeuchi & Katto, "Learned image compression with discretized Gaussian mixture
likelihoods and attention modules", CVPR 2020.

* Transforms: residual blocks with stride (GDN), sub-pixel upsampling blocks
  (IGDN), 3×3 hyper-transforms; ``cheng2020-attn`` adds the simplified attention modules
  (:mod:`licodec.transforms.residual`). N = M = 128 (the paper's low-rate width).
* Entropy model: the joint autoregressive + hierarchical prior of Minnen et
  al. (NeurIPS 2018) — a 5×5 type-A masked context g_cm (M → 2M) and a 1×1 entropy-parameter
  net g_ep on [ψ = h_s(ẑ), φ = g_cm(ŷ_<i)] — but g_ep outputs a **K = 3 discretized Gaussian
  mixture** (weights, means, scales per component: 9M channels; widths ramp linearly
  4M → 17M/3 → 22M/3 → 9M as CompressAI's single-Gaussian g_ep ramps 4M → 2M).
  CompressAI's ``cheng2020-*`` ship only a single Gaussian here; this is the paper's mixture,
  coded with per-symbol tables (:mod:`licodec.entropy_models.mixture`).

h_s, g_cm and g_ep are exact fixed-point layers with ReLU, and the mixture tables are built
with IEEE-exact arithmetic only, so decoding is bit-exact across machines and thread counts.

Quantization: ŷ = round(y) (a mixture has no single mean to subtract), so the encoder computes
every context and table in parallel. Training: the rate uses y + U(−½, ½); the context model
and g_s get round(y) with a straight-through gradient ("mixed quantization", Minnen & Singh,
ICIP 2020) — exactly what they see at inference.

Decoding is autoregressive. Positions are visited in wavefront order (step t = j + 3i for the
5×5 type-A context): all positions of a step have their whole context in earlier steps, so a
step's M·n symbols are decoded together — context from their 5×5 neighbourhoods only,
g_ep through :class:`~licodec.layers.masked.IntegerPointwise` (with ψ's share precomputed),
tables for the whole step in a few vectorized batches. W + 3(H − 1) steps instead of H·W.

``compat="compressai"`` (weights imported from CompressAI, :mod:`licodec.convert.compressai`):
CompressAI's single-Gaussian entropy model instead of the mixture — g_ep 4M → 10M/3 → 8M/3 → 2M,
exact leaky ReLU in h_s and g_ep, ŷ = round(y − μ) + μ coded exactly as ``mbt2018`` codes it —
and median-centred ẑ.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models import GaussianConditional
from licodec.entropy_models.gaussian import SCALE_TABLE
from licodec.entropy_models.mixture import GaussianMixtureConditional, MixtureParams, decode_unit, encode_unit
from licodec.layers.exact import ExactConv2d, ExactLeakyReLU
from licodec.layers.masked import GRID, IntegerPointwise, MaskedExactConv2d, from_grid, requantize, to_grid
from licodec.models.base import CompressionModel
from licodec.models.mbt2018 import JointAutoregressiveHierarchicalPriors
from licodec.ops import quantize_noise, ste_round
from licodec.transforms.residual import cheng_analysis, cheng_hyper_analysis, cheng_hyper_synthesis, cheng_synthesis


def wavefront(h: int, w: int, c: int) -> list[np.ndarray]:
    """Flat positions of an h×w map grouped into decoding steps for a (2c+1)² type-A context:
    step t = j + (c+1)·i. Every context tap (Δi < 0, |Δj| ≤ c, or Δi = 0, Δj < 0) lies in an
    earlier step; within a step positions are in raster order."""
    i, j = np.divmod(np.arange(h * w), w)
    t = j + (c + 1) * i
    order = np.lexsort((i, t))
    return np.split(order, np.flatnonzero(np.diff(t[order])) + 1)


@contextmanager
def single_thread() -> Iterator[None]:
    """Run a loop of small tensor operations on one intra-op thread. Each decoding step is a few
    small matrix products; with two or more threads their fork/join costs more than the work,
    badly so on a loaded machine (measured here: a 16×512×725 float64 product 1.7 ms on one
    thread, 27 ms on two while other jobs ran). The results do not depend on it (exact maths)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _ramp(cin: int, cout: int, layers: int = 3) -> list[int]:
    return [cin + (cout - cin) * i // layers for i in range(layers + 1)]


class Cheng2020Anchor(CompressionModel):
    name = "cheng2020-anchor"
    paper = ("Cheng, Sun, Takeuchi & Katto, Learned image compression with discretized Gaussian mixture "
             "likelihoods and attention modules, CVPR 2020")
    downsample = 64
    attention = False

    def __init__(self, N: int = 128, M: int = 128, K: int = 3, **kw: Any):
        super().__init__(N, M, **kw)
        self.K = K
        compat = self.compat == "compressai"
        self.g_a = cheng_analysis(N, M, self.attention)
        self.g_s = cheng_synthesis(N, M, self.attention)
        self.h_a = cheng_hyper_analysis(N, M)
        self.h_s = cheng_hyper_synthesis(N, M, leaky=compat)
        self.z_density = self._factorized(N)
        self.context_prediction = MaskedExactConv2d(M, 2 * M, 5, mask="A")
        if compat:
            # CompressAI's cheng2020-*: the single-Gaussian g_ep of mbt2018, leaky ReLU
            act = ExactLeakyReLU
            w = [4 * M, M * 10 // 3, M * 8 // 3, 2 * M]
        else:
            act = nn.ReLU
            w = _ramp(4 * M, 3 * K * M)
        self.entropy_parameters = nn.Sequential(
            ExactConv2d(w[0], w[1], 1), act(), ExactConv2d(w[1], w[2], 1), act(), ExactConv2d(w[2], w[3], 1),
        )
        if compat:
            self.gaussian = GaussianConditional()
        else:
            self.mixture = GaussianMixtureConditional(K)

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        if self.K != 3:
            cfg["K"] = self.K
        return cfg

    def _entropy_params(self, psi: Tensor, y_hat: Tensor) -> Tensor:
        return self.entropy_parameters(torch.cat([psi, self.context_prediction(y_hat)], dim=1))

    # -- the contract --------------------------------------------------------------------------
    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> dict[str, Any]:
        if self.compat == "compressai":
            return self._gaussian_forward(x, quality)
        q = self.quality_tensor(quality, x.shape[0])
        y = self.gain.encode(self.g_a(x), q)
        z_hat, z_lik = self.z_density(self.h_a(y))
        psi = self.h_s(z_hat)
        y_hat = ste_round(y) if self.training else torch.round(y)
        params = self._entropy_params(psi, y_hat)
        _, y_lik = self.mixture(y, params)
        x_hat = self.g_s(self.gain.decode(y_hat, q))
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}, "y_hat": y_hat}

    @torch.no_grad()
    def compress(self, x: Tensor, quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        self._check_input(x, single=True)
        if self.compat == "compressai":
            return self._gaussian_compress(x, quality)
        q = self.quality_tensor(quality, 1)
        y = self.gain.encode(self.g_a(x), q)
        z_hat = torch.round(self.h_a(y))
        z_enc, y_enc = SymbolEncoder(), SymbolEncoder()
        self.z_density.compress(z_hat, z_enc)
        y_hat = torch.round(y)
        params = self.mixture.coding_params(self._entropy_params(self.h_s(z_hat), y_hat))  # (c, i, j) order
        h, w = y_hat.shape[-2:]
        values = y_hat.to(torch.int64).numpy().ravel()
        channel_base = np.arange(self.M)[None, :] * (h * w)
        for pos in wavefront(h, w, self.context_prediction.kernel_size[0] // 2):
            idx = (pos[:, None] + channel_base).ravel()  # position-major, then channel
            encode_unit(y_enc, values[idx], params.take(idx))
        return {"strings": [y_enc.finish(), z_enc.finish()], "shape": tuple(z_hat.shape[-2:]), "y_hat": y_hat}

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        if self.compat == "compressai":
            return self._gaussian_decompress(strings, shape, quality)
        q = self.quality_tensor(quality, 1)
        z_hat = self.z_density.decompress(SymbolDecoder(strings[1]), shape)
        psi = self.h_s(z_hat)
        with single_thread():
            y_hat = self._decode_latent(psi, SymbolDecoder(strings[0]))
        x_hat = self.g_s(self.gain.decode(y_hat, q)).clamp(0, 1)
        return {"x_hat": x_hat, "y_hat": y_hat}

    def _decode_latent(self, psi: Tensor, decoder: SymbolDecoder) -> Tensor:
        """Autoregressive decoding of ŷ (1, M, H, W) in wavefront steps (module docstring)."""
        _, _, h, w = psi.shape
        M, K = self.M, self.K
        conv = self.context_prediction
        k = conv.kernel_size[0]
        c = k // 2
        w_ctx, b_ctx = conv.integer_taps()
        ep = IntegerPointwise(self.entropy_parameters)
        head = ep.partial(to_grid(psi)[0].reshape(2 * M, h * w).T)  # ψ's share of g_ep's first layer
        y_pad = torch.zeros(1, M, h + 2 * c, w + 2 * c, dtype=torch.float64)  # ŷ in grid units, zero padded
        for pos in wavefront(h, w, c):
            n = len(pos)
            pos_t = torch.from_numpy(pos)
            r, s = pos_t // w, pos_t % w
            ctx = requantize(conv.gather(y_pad, r, s) @ w_ctx + b_ctx)  # φ at the step's positions
            raw = (ep(ctx, head[pos_t]) / GRID).numpy().reshape(n, 3, K, M).transpose(1, 0, 3, 2)  # (3, n, M, K)
            values = decode_unit(decoder, MixtureParams.from_raw(raw[0], raw[1], raw[2]))
            y_pad[0, :, r + c, s + c] = torch.from_numpy(values.reshape(n, M).T * GRID)
        return (y_pad[:, :, c : c + h, c : c + w] / GRID).float()

    # -- compat="compressai": CompressAI's single Gaussian ---------------------------------------------
    # CompressAI's Cheng2020 models keep mbt2018's entropy model: one Gaussian per symbol from
    # g_ep(ψ, g_cm(ŷ_<i)) and ŷ = round(y − μ) + μ, decoded in raster-causal order. These methods
    # run exactly the joint model of :class:`~licodec.models.mbt2018.JointAutoregressiveHierarchicalPriors`
    # (same wavefront schedule and exact step computation) on Cheng's transforms.
    schedule = JointAutoregressiveHierarchicalPriors.schedule
    _gaussian_sequential = JointAutoregressiveHierarchicalPriors._sequential

    def _gaussian_forward(self, x: Tensor, quality: float | Tensor | None) -> dict[str, Any]:
        q = self.quality_tensor(quality, x.shape[0])
        y = self.gain.encode(self.g_a(x), q)
        z_hat, z_lik = self.z_density(self.h_a(y))
        psi = self.h_s(z_hat)
        if self.training:
            y_ctx = quantize_noise(y)
        else:
            with torch.no_grad():
                y_ctx = from_grid(self._gaussian_sequential(psi, y=y)[0])
        scales, means = self._entropy_params(psi, y_ctx).chunk(2, dim=1)
        y_hat, y_lik = self.gaussian(y, scales, means)
        x_hat = self.g_s(self.gain.decode(y_hat, q))
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}, "y_hat": y_hat}

    def _gaussian_compress(self, x: Tensor, quality: float | None) -> dict[str, Any]:
        q = self.quality_tensor(quality, 1)
        y = self.gain.encode(self.g_a(x), q)
        z_hat = self.z_density.quantize(self.h_a(y))
        z_enc, y_enc = SymbolEncoder(), SymbolEncoder()
        self.z_density.compress(z_hat, z_enc)
        y_hat, symbols, indices = self._gaussian_sequential(self.h_s(z_hat), y=y)
        y_enc.gaussian(symbols.astype(np.int64), SCALE_TABLE[indices])
        return {"strings": [y_enc.finish(), z_enc.finish()], "shape": tuple(z_hat.shape[-2:]),
                "y_hat": from_grid(y_hat)}

    def _gaussian_decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None) -> dict[str, Any]:
        q = self.quality_tensor(quality, 1)
        z_hat = self.z_density.decompress(SymbolDecoder(strings[1]), shape)
        y_hat = from_grid(self._gaussian_sequential(self.h_s(z_hat), decoder=SymbolDecoder(strings[0]))[0])
        x_hat = self.g_s(self.gain.decode(y_hat, q)).clamp(0, 1)
        return {"x_hat": x_hat, "y_hat": y_hat}


class Cheng2020Attention(Cheng2020Anchor):
    name = "cheng2020-attn"
    attention = True
