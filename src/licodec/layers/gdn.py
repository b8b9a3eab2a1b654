"""Generalized divisive normalization.

Ballé, Laparra & Simoncelli, "Density modeling of images using a generalized normalization
transformation", ICLR 2016, eq. (5); used as the nonlinearity of the transforms in
"End-to-end optimized image compression", ICLR 2017:

    y_i = x_i / sqrt(beta_i + sum_j gamma_ij * x_j^2)        (GDN)
    x_i = y_i * sqrt(beta_i + sum_j gamma_ij * y_j^2)        (IGDN, the approximate inverse)

beta and gamma are kept non-negative by the square reparametrization with a lower bound
(Ballé 2018, appendix 6.1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.ops import lower_bound

_PEDESTAL = 2.0**-18


class GDN(nn.Module):
    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self._beta_bound = (beta_min + _PEDESTAL) ** 0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + _PEDESTAL))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + _PEDESTAL))

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        beta = lower_bound(self.beta, self._beta_bound) ** 2 - _PEDESTAL
        gamma = lower_bound(self.gamma, _PEDESTAL**0.5) ** 2 - _PEDESTAL
        norm = F.conv2d(x * x, gamma.view(c, c, 1, 1), beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)
