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
from licodec.models.base import CompressionModel
from licodec.transforms.gdn import analysis, hyper_analysis, hyper_synthesis_scale, synthesis


class ScaleHyperprior(CompressionModel):
    name = "bmshj2018-hyperprior"
    paper = "Ballé et al., Variational image compression with a scale hyperprior, ICLR 2018"
    downsample = 64

    def __init__(self, N: int = 128, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = hyper_analysis(N, M)
        self.h_s = hyper_synthesis_scale(N, M)
        self.z_density = self._factorized(N)
        self.gaussian = GaussianConditional()

    def _hyper_in(self, y: Tensor) -> Tensor:
        return torch.abs(y)

    def _params(self, z_hat: Tensor) -> tuple[Tensor, Tensor | None]:
        """Entropy parameters (σ, μ) from ẑ."""
        return self.h_s(z_hat), None

    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> dict[str, Any]:
        q = self.quality_tensor(quality, x.shape[0])
        y = self.gain.encode(self.g_a(x), q)
        z_hat, z_lik = self.z_density(self.h_a(self._hyper_in(y)))
        scales, means = self._params(z_hat)
        y_hat, y_lik = self.gaussian(y, scales, means)
        x_hat = self.g_s(self.gain.decode(y_hat, q))
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}, "y_hat": y_hat}

    @torch.no_grad()
    def compress(self, x: Tensor, quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        self._check_input(x, single=True)
        q = self.quality_tensor(quality, 1)
        y = self.gain.encode(self.g_a(x), q)
        z_hat = self.z_density.quantize(self.h_a(self._hyper_in(y)))
        z_enc, y_enc = SymbolEncoder(), SymbolEncoder()
        self.z_density.compress(z_hat, z_enc)
        scales, means = self._params(z_hat)
        y_hat = self.gaussian.compress(y, scales, means, y_enc)
        return {"strings": [y_enc.finish(), z_enc.finish()], "shape": tuple(z_hat.shape[-2:]), "y_hat": y_hat}

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float | None = None) -> dict[str, Any]:
        self._check_eval()
        q = self.quality_tensor(quality, 1)
        z_hat = self.z_density.decompress(SymbolDecoder(strings[1]), shape)
        scales, means = self._params(z_hat)
        y_hat = self.gaussian.decompress(SymbolDecoder(strings[0]), scales, means)
        x_hat = self.g_s(self.gain.decode(y_hat, q)).clamp(0, 1)
        return {"x_hat": x_hat, "y_hat": y_hat}
