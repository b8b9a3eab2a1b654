"""Factorized prior: Ballé, Laparra & Simoncelli, "End-to-end optimized image compression",
ICLR 2017 (with the 4-layer N/M layout of Ballé et al. 2018, as in CompressAI's
``bmshj2018-factorized``). The latent ŷ is coded with a per-channel non-parametric density:
R = −log2 p(ŷ) with p factorized over channels and positions (eq. 7 of the paper)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.models.base import CompressionModel
from licodec.transforms.gdn import analysis, synthesis


class FactorizedPrior(CompressionModel):
    name = "bls2017"
    paper = "Ballé, Laparra & Simoncelli, End-to-end optimized image compression, ICLR 2017"
    downsample = 16

    def __init__(self, N: int = 128, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.density = self._factorized(M)

    def widening_chunks(self) -> dict[str, int] | None:
        return {}

    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> dict[str, Any]:
        y, q = self._analysis(x, quality)
        y_hat, y_lik = self.density(y)
        return {"x_hat": self._synthesis(y_hat, q), "likelihoods": {"y": y_lik}, "y_hat": y_hat}

    @torch.no_grad()
    def compress(self, x: Tensor, quality: float | None = None, refine: int = 0) -> dict[str, Any]:
        self._check_eval()
        self._check_input(x, single=True)
        self.check_refine(refine)
        y_hat = self.density.quantize(self._analysis(x, quality)[0])
        enc = SymbolEncoder()
        self.density.compress(y_hat, enc)
        return {"strings": [enc.finish()], "shape": tuple(y_hat.shape[-2:]), "y_hat": y_hat}

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        q = self.quality_tensor(quality, 1)
        y_hat = self.density.decompress(SymbolDecoder(strings[0]), shape)
        return {"x_hat": self.reconstruct(y_hat, q), "y_hat": y_hat}
