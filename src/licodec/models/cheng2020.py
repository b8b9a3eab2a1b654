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

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models import GaussianConditional
from licodec.entropy_models.mixture import GaussianMixtureConditional, MixtureParams, decode_unit, encode_unit
from licodec.layers.exact import ExactConv2d, ExactLeakyReLU
from licodec.layers.masked import (
    GRID, IntegerPointwise, MaskedExactConv2d, requantize, single_threaded, to_grid, wavefront,
)
from licodec.models.base import HyperpriorModel
from licodec.models.mbt2018 import JointAutoregressiveHierarchicalPriors
from licodec.ops import ste_round
from licodec.transforms.residual import cheng_analysis, cheng_hyper_analysis, cheng_hyper_synthesis, cheng_synthesis


def _ramp(cin: int, cout: int, layers: int = 3) -> list[int]:
    return [cin + (cout - cin) * i // layers for i in range(layers + 1)]


class Cheng2020Anchor(HyperpriorModel):
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

    # -- the entropy model of ŷ ----------------------------------------------------------------
    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        psi = self.h_s(z_hat)
        if self.compat == "compressai":
            return self.gaussian(y, *self._entropy_params(psi, self._context_input(psi, y)).chunk(2, dim=1))
        y_hat = ste_round(y) if self.training else torch.round(y)
        _, y_lik = self.mixture(y, self._entropy_params(psi, y_hat))
        return y_hat, y_lik

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        if self.compat == "compressai":
            return self._gaussian_compress_y(y, z_hat, encoder)
        y_hat = torch.round(y)
        params = self.mixture.coding_params(self._entropy_params(self.h_s(z_hat), y_hat))  # (c, i, j) order
        h, w = y_hat.shape[-2:]
        values = y_hat.to(torch.int64).numpy().ravel()
        channel_base = np.arange(self.M)[None, :] * (h * w)
        for pos in wavefront(h, w, self.context_prediction.kernel_size[0] // 2):
            idx = (pos[:, None] + channel_base).ravel()  # position-major, then channel
            encode_unit(encoder, values[idx], params.take(idx))
        return y_hat

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        if self.compat == "compressai":
            return self._gaussian_decompress_y(z_hat, decoder)
        psi = self.h_s(z_hat)
        with single_threaded():
            return self._decode_latent(psi, decoder)

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
    _sequential = JointAutoregressiveHierarchicalPriors._sequential
    _context_input = JointAutoregressiveHierarchicalPriors._context_input
    _gaussian_compress_y = JointAutoregressiveHierarchicalPriors._compress_y
    _gaussian_decompress_y = JointAutoregressiveHierarchicalPriors._decompress_y


class Cheng2020Attention(Cheng2020Anchor):
    name = "cheng2020-attn"
    attention = True
