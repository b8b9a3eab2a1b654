"""Scale hyperprior: Ballé, Minnen, Singh, Hwang & Johnston, "Variational image compression
with a scale hyperprior", ICLR 2018.

z = h_a(|y|) is coded with a factorized density; σ = h_s(ẑ) gives each ŷ_i a zero-mean
Gaussian (eq. 10). Rate R = −log2 p(ŷ | ẑ) − log2 p(ẑ)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models import GaussianConditional
from licodec.models.base import HyperpriorModel
from licodec.transforms.gdn import analysis, hyper_analysis, hyper_synthesis_scale, synthesis


class ScaleHyperprior(HyperpriorModel):
    name = "bmshj2018-hyperprior"
    paper = "Ballé et al., Variational image compression with a scale hyperprior, ICLR 2018"
    downsample = 64
    supports_refine = True

    def __init__(self, N: int = 128, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = hyper_analysis(N, M)
        self.h_s = hyper_synthesis_scale(N, M)
        self.z_density = self._factorized(N)
        self.gaussian = GaussianConditional()

    def widening_chunks(self) -> dict[str, int] | None:
        return {}

    def _hyper_in(self, y: Tensor) -> Tensor:
        return torch.abs(y)

    def _params(self, z_hat: Tensor) -> tuple[Tensor, Tensor | None]:
        """Entropy parameters (σ, μ) from ẑ."""
        return self.h_s(z_hat), None

    def _forward_y(self, y: Tensor, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        return self.gaussian(y, *self._params(z_hat))

    def _compress_y(self, y: Tensor, z_hat: Tensor, encoder: SymbolEncoder) -> Tensor:
        return self.gaussian.compress(y, *self._params(z_hat), encoder)

    def _decompress_y(self, z_hat: Tensor, decoder: SymbolDecoder) -> Tensor:
        return self.gaussian.decompress(decoder, *self._params(z_hat))
