"""The GDN transforms of Ballé et al. (ICLR 2017, ICLR 2018) and their hyper-transforms.

g_a: four 5×5 stride-2 convolutions with GDN between them; g_s mirrors it with transposed
convolutions and IGDN (CompressAI's ``bmshj2018`` layout, N and M as in the papers).
h_s runs on exact fixed-point layers (:mod:`licodec.layers.exact`) because its outputs pick
the entropy model.
"""

from __future__ import annotations

from torch import nn

from licodec.layers import GDN, conv, deconv
from licodec.layers.exact import ExactLeakyReLU, exact_conv, exact_deconv


def analysis(N: int, M: int) -> nn.Sequential:
    return nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M))


def synthesis(N: int, M: int) -> nn.Sequential:
    return nn.Sequential(
        deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
        deconv(N, N), GDN(N, inverse=True), deconv(N, 3),
    )


def hyper_analysis(N: int, M: int, leaky: bool = False) -> nn.Sequential:
    """h_a: 3×3 then two 5×5 stride-2 convolutions (Ballé 2018, fig. 4; Minnen 2018 uses leaky ReLU)."""
    act = (lambda: nn.LeakyReLU(inplace=True)) if leaky else (lambda: nn.ReLU(inplace=True))
    return nn.Sequential(conv(M, N, 3, 1), act(), conv(N, N), act(), conv(N, N))


def hyper_synthesis_scale(N: int, M: int) -> nn.Sequential:
    """h_s of the scale hyperprior: outputs σ ≥ 0 (Ballé 2018, fig. 4). Exact fixed point."""
    return nn.Sequential(
        exact_deconv(N, N), nn.ReLU(), exact_deconv(N, N), nn.ReLU(), exact_conv(N, M, 3, 1), nn.ReLU(),
    )


def hyper_synthesis_mean_scale(N: int, M: int, leaky: bool = False) -> nn.Sequential:
    """h_s of the mean-scale hyperprior: outputs (σ, μ) stacked on channels, 2M (Minnen 2018,
    fig. 2, widths M and 3M/2). ReLU instead of leaky ReLU keeps it exact on the integer grid;
    ``leaky=True`` (CompressAI compatibility) uses the grid-exact
    :class:`~licodec.layers.exact.ExactLeakyReLU` instead."""
    act = ExactLeakyReLU if leaky else nn.ReLU
    return nn.Sequential(
        exact_deconv(N, M), act(), exact_deconv(M, M * 3 // 2), act(), exact_conv(M * 3 // 2, 2 * M, 3, 1),
    )
