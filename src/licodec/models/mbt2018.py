"""Mean-scale hyperprior: Minnen, Ballé & Toderici, "Joint autoregressive and hierarchical
priors for learned image compression", NeurIPS 2018 (the model without the context model,
CompressAI's ``mbt2018-mean``). h_s predicts both μ and σ of each Gaussian (eq. 5 without the
context term); ŷ = round(y − μ) + μ."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from licodec.models.bmshj2018 import ScaleHyperprior
from licodec.transforms.gdn import hyper_analysis, hyper_synthesis_mean_scale


class MeanScaleHyperprior(ScaleHyperprior):
    name = "mbt2018-mean"
    paper = "Minnen, Ballé & Toderici, Joint autoregressive and hierarchical priors, NeurIPS 2018"

    def __init__(self, N: int = 128, M: int = 192, **kw: Any):
        super().__init__(N, M, **kw)
        self.h_a = hyper_analysis(N, M, leaky=True)
        self.h_s = hyper_synthesis_mean_scale(N, M)

    def _hyper_in(self, y: Tensor) -> Tensor:
        return y

    def _params(self, z_hat: Tensor) -> tuple[Tensor, Tensor | None]:
        scales, means = self.h_s(z_hat).chunk(2, dim=1)
        return scales, means
