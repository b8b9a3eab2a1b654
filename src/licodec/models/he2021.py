"""Checkerboard context model: He, Zheng, Sun, Wang & Qin, "Checkerboard context model for
efficient learned image compression", CVPR 2021.

The latent positions are split on a checkerboard into anchors (here (i + j) even) and
non-anchors. With ψ = h_s(ẑ) and the checkerboard-masked 5×5 context g_cm (sec. 3.2, fig. 3),
the entropy parameters are (sec. 3.3, the two-case definition of the parameters Φ_i)

    (μ_i, σ_i) = g_ep(ψ_i, 0)                     if i is an anchor,
    (μ_i, σ_i) = g_ep(ψ_i, g_cm(ŷ_anchor)_i)      if i is a non-anchor,

and p(ŷ | ẑ) = ∏_i (N(μ_i, σ_i²) ∗ U(−½, ½))(ŷ_i) as in Minnen et al. (NeurIPS 2018). Decoding
takes two passes — all anchors, then all non-anchors — instead of H·W serial steps.

Backbone: the mean-scale hyperprior of Minnen et al. with GDN transforms, N = M = 192 (the
paper builds on the same backbone, without the autoregressive context). g_cm and g_ep (1×1
convolutions 4M → 10M/3 → 8M/3 → 2M, as in ``mbt2018``) are exact fixed-point layers with
ReLU, so the decoder's non-anchor parameters are the encoder's bit for bit.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.layers.exact import ExactConv2d
from licodec.layers.masked import MaskedExactConv2d, anchor_mask
from licodec.models.mbt2018 import MeanScaleHyperprior
from licodec.ops import ste_round


class CheckerboardContext(MeanScaleHyperprior):
    """He et al., CVPR 2021: mean-scale hyperprior + checkerboard context, two-pass coding.

    Training (``forward``): anchors' ŷ is round(y − μ) + μ with a straight-through gradient
    (μ from the hyperprior alone), the context runs over the anchors only, and every position
    gets the rate of y + U(−½, ½) under its (μ, σ) and passes round(y − μ) + μ on to g_s
    ("mixed quantization", Minnen & Singh, ICIP 2020). In eval mode the same code is the exact
    coding computation, so the likelihoods are those of the coded symbols.

    Bitstream: ``strings[0]`` holds the anchors (all channels, channel-major, positions in
    raster order) followed by the non-anchors; ``strings[1]`` holds ẑ.
    """

    name = "he2021-checkerboard"
    paper = "He et al., Checkerboard context model for efficient learned image compression, CVPR 2021"
    supports_refine = False  # ŷ depends on the coding order through the context model

    grows_from = ("mbt2018-mean",)

    def __init__(self, N: int = 192, M: int = 192, residual: bool = False, **kw: Any):
        super().__init__(N, M, **kw)
        self.residual = residual
        self.context_prediction = MaskedExactConv2d(M, 2 * M, 5, mask="checkerboard")
        self.entropy_parameters = nn.Sequential(
            ExactConv2d(M * 12 // 3, M * 10 // 3, 1), nn.ReLU(),
            ExactConv2d(M * 10 // 3, M * 8 // 3, 1), nn.ReLU(),
            ExactConv2d(M * 8 // 3, M * 6 // 3, 1),
        )

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        if self.residual:
            cfg["residual"] = True
        return cfg

    def grow(self) -> None:
        """Start from a trained ``mbt2018-mean`` (its tensors already loaded): (σ, μ) becomes
        ψ + g_ep(ψ, ctx) with g_ep's last layer at zero, so the model first codes exactly like
        the mean-scale hyperprior and training adds what the context is worth
        (function-preserving growth: Chen, Goodfellow & Shlens, "Net2Net", ICLR 2016; the
        zero-initialized residual branch as in Goyal et al., arXiv:1706.02677)."""
        self.residual = True
        last = self.entropy_parameters[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()

    def widening_chunks(self) -> dict[str, int] | None:
        return None  # g_ep reads [ψ; ctx] concatenated

    def _ep(self, psi: Tensor, ctx: Tensor | None) -> tuple[Tensor, Tensor]:
        """(σ, μ) = g_ep(ψ, ctx), plus ψ in a grown model; ``ctx=None`` is the anchors' zero
        context. Sums of grid values are exact, so the residual keeps coding bit-exact."""
        if ctx is None:
            ctx = torch.zeros_like(psi)
        params = self.entropy_parameters(torch.cat([psi, ctx], dim=1))
        if self.residual:
            params = params + psi
        scales, means = params.chunk(2, dim=1)
        return scales, means

    # -- the entropy model of ŷ ----------------------------------------------------------------
    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        psi = self.h_s(z_hat)
        anchors = anchor_mask(*y.shape[-2:]).to(y.device)
        # pass 1: anchors, from the hyperprior alone
        _, means_a = self._ep(psi, None)
        rnd = ste_round if self.training else torch.round
        y_anchor = torch.where(anchors, rnd(y - means_a) + means_a, torch.zeros_like(y))
        # pass 2: the context of the non-anchors reads the anchors; anchors keep a zero context,
        # so g_ep gives them the same parameters as in pass 1.
        ctx = torch.where(anchors, torch.zeros((), device=y.device), self.context_prediction(y_anchor))
        return self.gaussian(y, *self._ep(psi, ctx))

    @staticmethod
    def _split(h: int, w: int) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """(rows, cols) of the anchors and of the non-anchors, each in raster order."""
        anchors = anchor_mask(h, w)
        return tuple(torch.nonzero(anchors).T), tuple(torch.nonzero(~anchors).T)  # type: ignore[return-value]

    @staticmethod
    def _at(t: Tensor, rc: tuple[Tensor, Tensor]) -> Tensor:
        """The positions ``rc`` of (1, C, H, W) ``t`` as a (1, C, 1, P) tensor (1×1 layers apply per position)."""
        return t[:, :, rc[0], rc[1]].unsqueeze(2)

    def _two_passes(self, psi: Tensor, code: Callable[[tuple[Tensor, Tensor], Tensor, Tensor], Tensor]) -> Tensor:
        """ŷ (1, M, H, W): the anchors, then the non-anchors with their context over the anchors;
        ``code(positions, σ, μ)`` quantizes and codes, or decodes, ŷ at ``positions`` as (1, M, 1, P)."""
        anc, non = self._split(*psi.shape[-2:])
        y_hat = torch.zeros(1, self.M, *psi.shape[-2:])
        scales, means = self._ep(self._at(psi, anc), None)
        y_hat[:, :, anc[0], anc[1]] = code(anc, scales, means)[:, :, 0]
        ctx = self.context_prediction.at(y_hat, *non).unsqueeze(2)
        scales, means = self._ep(self._at(psi, non), ctx)
        y_hat[:, :, non[0], non[1]] = code(non, scales, means)[:, :, 0]
        return y_hat

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        return self._two_passes(self.h_s(z_hat), lambda rc, scales, means:
                                self.gaussian.compress(self._at(y, rc), scales, means, encoder))

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        return self._two_passes(self.h_s(z_hat), lambda rc, scales, means:
                                self.gaussian.decompress(decoder, scales, means))
