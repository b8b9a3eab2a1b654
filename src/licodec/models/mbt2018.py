"""Mean-scale hyperprior: Minnen, Ballé & Toderici, "Joint autoregressive and hierarchical
priors for learned image compression", NeurIPS 2018 (the model without the context model,
CompressAI's ``mbt2018-mean``). h_s predicts both μ and σ of each Gaussian (eq. 5 without the
context term); ŷ = round(y − μ) + μ.

:class:`JointAutoregressiveHierarchicalPriors` (``mbt2018``) is the paper's full model: the same
hyperprior plus a masked 5×5 context model over ŷ and an entropy-parameter network."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models.gaussian import SCALE_TABLE, scale_indices
from licodec.layers.exact import ExactConv2d, ExactLeakyReLU
from licodec.layers.masked import (
    GRID, IntegerPointwise, MaskedExactConv2d, from_grid, requantize, single_threaded, to_grid, wavefront,
)
from licodec.models.bmshj2018 import ScaleHyperprior
from licodec.ops import quantize_noise
from licodec.transforms.gdn import hyper_analysis, hyper_synthesis_mean_scale


class MeanScaleHyperprior(ScaleHyperprior):
    name = "mbt2018-mean"
    paper = "Minnen, Ballé & Toderici, Joint autoregressive and hierarchical priors, NeurIPS 2018"

    def __init__(self, N: int = 128, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.h_a = hyper_analysis(N, M, leaky=True)
        self.h_s = hyper_synthesis_mean_scale(N, M, leaky=self.compat == "compressai")

    def widening_chunks(self) -> dict[str, int] | None:
        return {f"h_s.{len(self.h_s) - 1}": 2}  # [σ; μ]

    def _hyper_in(self, y: Tensor) -> Tensor:
        return y

    def _params(self, z_hat: Tensor) -> tuple[Tensor, Tensor | None]:
        scales, means = self.h_s(z_hat).chunk(2, dim=1)
        return scales, means


class JointAutoregressiveHierarchicalPriors(MeanScaleHyperprior):
    """Minnen, Ballé & Toderici, "Joint autoregressive and hierarchical priors for learned image
    compression", NeurIPS 2018 (CompressAI's ``mbt2018``).

    Entropy model (sec. 2, the combined model of fig. 2):

        p(ŷ | ẑ) = ∏_i ( N(μ_i, σ_i²) ∗ U(−½, ½) )(ŷ_i),
        (μ_i, σ_i) = g_ep(ψ, φ_i),   ψ = h_s(ẑ),   φ_i = g_cm(ŷ_<i),

    with g_cm a 5×5 type-A masked convolution (M → 2M) over ŷ and g_ep three 1×1 convolutions
    4M → 10M/3 → 8M/3 → 2M (640, 512, 384 for M = 192, as in CompressAI). g_a/g_s are the GDN
    transforms (N = M = 192), h_a uses leaky ReLU as in the paper; h_s, g_cm and g_ep are exact
    fixed-point layers with ReLU (:mod:`licodec.layers.exact`), so ψ, φ_i, μ_i and σ_i are the
    same integers in encoder and decoder on any machine. With ``compat="compressai"`` (weights
    imported from CompressAI) h_s and g_ep use the grid-exact leaky ReLU, as CompressAI's do.

    Quantization: ŷ_i = round(y_i − μ_i) + μ_i. Because μ_i depends on ŷ_<i, *encoding* is
    sequential too. Coding visits the latent positions in wavefront order (see
    :meth:`schedule`): every step holds positions none of whose type-A contexts contain each
    other, so a step's positions are decoded together — context computed from their 5×5
    neighbourhoods only (:meth:`MaskedExactConv2d.at`-style patch × unmasked taps), entropy
    parameters through :class:`~licodec.layers.masked.IntegerPointwise`, one
    ``decoder.gaussian`` call for all M channels of all the step's positions. This is a
    topological order of the same raster-causal dependency graph, so ŷ is identical to a
    position-by-position raster decode; it only takes W + 3(H−1) steps instead of H·W.
    Bitstream: ``strings[0]`` holds the symbols step by step (a step's positions by row, the M
    channels of each position together), ``strings[1]`` holds ẑ.

    Training (``forward`` in train mode): the context model sees the noisy proxy y + U(−½, ½)
    (the paper's training relaxation), the rate uses y + U(−½, ½) under (μ, σ), and g_s gets
    round(y − μ) + μ with a straight-through gradient ("mixed quantization", Minnen & Singh,
    ICIP 2020). In eval mode ``forward`` runs the exact sequential quantization, so its
    likelihoods are those of the coded symbols.
    """

    name = "mbt2018"
    supports_refine = False  # ŷ depends on the coding order through the context model
    paper = "Minnen, Ballé & Toderici, Joint autoregressive and hierarchical priors, NeurIPS 2018"

    def __init__(self, N: int = 192, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.context_prediction = MaskedExactConv2d(M, 2 * M, 5, mask="A")
        act = ExactLeakyReLU if self.compat == "compressai" else nn.ReLU
        self.entropy_parameters = nn.Sequential(
            ExactConv2d(M * 12 // 3, M * 10 // 3, 1), act(),
            ExactConv2d(M * 10 // 3, M * 8 // 3, 1), act(),
            ExactConv2d(M * 8 // 3, M * 6 // 3, 1),
        )

    # -- coding order --------------------------------------------------------------------------
    def schedule(self, h: int, w: int) -> list[np.ndarray]:
        """Flat latent positions grouped into decoding steps: step t = j + (c+1)·i for a k×k
        type-A context (c = k // 2). Every context tap (Δi, Δj) has Δi < 0 and |Δj| ≤ c, or
        Δi = 0 and Δj < 0, so it lies in an earlier step; positions within a step are ordered by row."""
        return wavefront(h, w, self.context_prediction.kernel_size[0] // 2)

    def widening_chunks(self) -> dict[str, int] | None:
        return None  # g_ep reads [ψ; φ] concatenated

    def _sequential(self, psi: Tensor, y: Tensor | None = None, decoder: SymbolDecoder | None = None
                    ) -> tuple[Tensor, np.ndarray, np.ndarray]:
        """Quantize (``y`` given) or decode (``decoder`` given) ŷ step by step.

        Returns ŷ in activation-grid units (float64, (B, M, H, W)), and the symbols and
        scale-table indices in coding order (flat; empty when decoding)."""
        bsz, _, h, w = psi.shape
        M = self.M
        conv = self.context_prediction
        c = conv.kernel_size[0] // 2
        w_ctx, b_ctx = conv.integer_taps()
        ep = IntegerPointwise(self.entropy_parameters)
        head = ep.partial(to_grid(psi).permute(0, 2, 3, 1).reshape(bsz, h * w, 2 * M))  # ψ's share of g_ep layer 1
        y_hat = torch.zeros(bsz, M, h + 2 * c, w + 2 * c, dtype=torch.float64)  # grid units, zero padded
        y32 = None if y is None else y.detach().float()
        symbols: list[np.ndarray] = []
        indices: list[np.ndarray] = []
        with single_threaded():  # latency-bound: many small ops per step
            for step in self.schedule(h, w):
                pos = torch.from_numpy(step)
                r, q = pos // w, pos % w
                n = len(step)
                ctx = requantize(conv.gather(y_hat, r, q) @ w_ctx + b_ctx)  # φ at these positions, (B·n, 2M)
                params = ep(ctx, head[:, pos].reshape(bsz * n, -1))
                scales, means = params[:, :M], params[:, M:]
                idx = scale_indices(scales / GRID)
                if decoder is not None:
                    sym = torch.from_numpy(decoder.gaussian(SCALE_TABLE[idx])).double().view(bsz * n, M)
                else:
                    yv = y32[:, :, r, q].permute(0, 2, 1).reshape(bsz * n, M)
                    # the float32 arithmetic of GaussianConditional.compress: round(y − μ)
                    sym = torch.round(yv - (means / GRID).float()).double()
                    symbols.append(sym.numpy().ravel())
                    indices.append(idx)
                y_hat[:, :, r + c, q + c] = (sym * GRID + means).view(bsz, n, M).permute(0, 2, 1)
        flat = (lambda parts: np.concatenate(parts)) if symbols else (lambda parts: np.zeros(0))
        return y_hat[:, :, c : c + h, c : c + w], flat(symbols), flat(indices)

    def _entropy_params(self, psi: Tensor, y_ctx: Tensor) -> tuple[Tensor, Tensor]:
        """(σ, μ) of every position from ψ and the masked context over ``y_ctx`` (full image)."""
        params = self.entropy_parameters(torch.cat([psi, self.context_prediction(y_ctx)], dim=1))
        scales, means = params.chunk(2, dim=1)
        return scales, means

    def _context_input(self, psi: Tensor, y: Tensor) -> Tensor:
        """What the context model sees in ``forward``: y + U(−½, ½) in training, the exactly
        (sequentially) quantized ŷ in eval mode."""
        if self.training:
            return quantize_noise(y)
        with torch.no_grad():
            return from_grid(self._sequential(psi, y=y)[0])

    # -- the entropy model of ŷ ----------------------------------------------------------------
    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        psi = self.h_s(z_hat)
        return self.gaussian(y, *self._entropy_params(psi, self._context_input(psi, y)))

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        y_hat, symbols, indices = self._sequential(self.h_s(z_hat), y=y)
        encoder.gaussian(symbols.astype(np.int64), SCALE_TABLE[indices])
        return from_grid(y_hat)

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        return from_grid(self._sequential(self.h_s(z_hat), decoder=decoder)[0])
