"""Residual-block transforms: Cheng et al. (CVPR 2020) and ELIC (He et al., CVPR 2022).

Cheng, Sun, Takeuchi & Katto, "Learned image compression with discretized Gaussian mixture
likelihoods and attention modules", CVPR 2020 (CompressAI's ``cheng2020-anchor`` /
``cheng2020-attn`` layouts): g_a = three residual blocks with stride (GDN) interleaved with
residual blocks, then a strided 3×3 convolution; g_s mirrors it with sub-pixel upsampling
blocks (IGDN). The attention variant inserts simplified attention modules after the second
downsampling stage and at the end of g_a (at the start and after the second upsampling stage
of g_s). The hyper-transforms use 3×3 convolutions; h_s upsamples by sub-pixel convolution.

He, Yang, Peng, Ma, Qin & Wang, "ELIC: Efficient learned image compression with unevenly
grouped space-channel contextual adaptive coding", CVPR 2022 (CompressAI's
``Elic2022Official``): four 5×5 stride-2 (de)convolutions, each stage followed by three residual
bottleneck blocks, attention modules after stages 2 and 4 of g_a (before stages 1 and 3 of
g_s); the hyperprior is the mean-scale one of Minnen et al. (h_s outputs 2M channels).

Every h_s here is built from exact fixed-point layers with ReLU (:mod:`licodec.layers.exact`)
because its output selects entropy-coding tables.
"""

from __future__ import annotations

from torch import nn

from licodec.layers.blocks import (
    AttentionBlock, ResidualBlock, ResidualBlockUpsample, ResidualBlockWithStride, ResidualBottleneckBlock,
    conv3x3, exact_subpel_conv3x3, subpel_conv3x3,
)
from licodec.layers.conv import conv, deconv
from licodec.layers.exact import ExactConv2d, ExactLeakyReLU, exact_conv, exact_deconv


# -- Cheng et al. 2020 -----------------------------------------------------------------------------
def cheng_analysis(N: int, M: int, attention: bool = False) -> nn.Sequential:
    """g_a: ×16 downsampling, 3 → M channels."""
    layers: list[nn.Module] = [
        ResidualBlockWithStride(3, N, 2), ResidualBlock(N, N),
        ResidualBlockWithStride(N, N, 2),
    ]
    if attention:
        layers.append(AttentionBlock(N))
    layers += [ResidualBlock(N, N), ResidualBlockWithStride(N, N, 2), ResidualBlock(N, N), conv3x3(N, M, stride=2)]
    if attention:
        layers.append(AttentionBlock(M))
    return nn.Sequential(*layers)


def cheng_synthesis(N: int, M: int, attention: bool = False) -> nn.Sequential:
    """g_s: ×16 upsampling, M → 3 channels."""
    layers: list[nn.Module] = []
    if attention:
        layers.append(AttentionBlock(M))
    layers += [ResidualBlock(M, N), ResidualBlockUpsample(N, N, 2), ResidualBlock(N, N), ResidualBlockUpsample(N, N, 2)]
    if attention:
        layers.append(AttentionBlock(N))
    layers += [ResidualBlock(N, N), ResidualBlockUpsample(N, N, 2), ResidualBlock(N, N), subpel_conv3x3(N, 3, 2)]
    return nn.Sequential(*layers)


def cheng_hyper_analysis(N: int, M: int) -> nn.Sequential:
    """h_a: five 3×3 convolutions with leaky ReLU, two of them stride 2 (×4), M → N."""
    act = lambda: nn.LeakyReLU(inplace=True)  # noqa: E731
    return nn.Sequential(
        conv3x3(M, N), act(), conv3x3(N, N), act(), conv3x3(N, N, stride=2), act(),
        conv3x3(N, N), act(), conv3x3(N, N, stride=2),
    )


def cheng_hyper_synthesis(N: int, M: int, leaky: bool = False) -> nn.Sequential:
    """h_s: N → 2M (the hyperprior's share ψ of the entropy parameters), ×4 by sub-pixel
    convolution. Exact fixed point; ReLU replaces the paper's leaky ReLU so the path stays on
    the integer grid (``leaky=True``, for CompressAI compatibility: the grid-exact
    :class:`~licodec.layers.exact.ExactLeakyReLU`)."""
    act = ExactLeakyReLU if leaky else nn.ReLU
    return nn.Sequential(
        ExactConv2d(N, N, 3, padding=1), act(),
        exact_subpel_conv3x3(N, N, 2), act(),
        ExactConv2d(N, N * 3 // 2, 3, padding=1), act(),
        exact_subpel_conv3x3(N * 3 // 2, N * 3 // 2, 2), act(),
        ExactConv2d(N * 3 // 2, 2 * M, 3, padding=1),
    )


# -- ELIC (He et al. 2022) -------------------------------------------------------------------------
def _rbb(N: int, count: int = 3) -> list[nn.Module]:
    return [ResidualBottleneckBlock(N) for _ in range(count)]


def elic_analysis(N: int, M: int) -> nn.Sequential:
    return nn.Sequential(
        conv(3, N), *_rbb(N),
        conv(N, N), *_rbb(N), AttentionBlock(N),
        conv(N, N), *_rbb(N),
        conv(N, M), AttentionBlock(M),
    )


def elic_synthesis(N: int, M: int) -> nn.Sequential:
    return nn.Sequential(
        AttentionBlock(M), deconv(M, N), *_rbb(N),
        deconv(N, N), AttentionBlock(N), *_rbb(N),
        deconv(N, N), *_rbb(N),
        deconv(N, 3),
    )


def elic_hyper_analysis(N: int, M: int) -> nn.Sequential:
    act = lambda: nn.ReLU(inplace=True)  # noqa: E731
    return nn.Sequential(conv(M, N, 3, 1), act(), conv(N, N), act(), conv(N, N))


def elic_hyper_synthesis(N: int, M: int, out: int | None = None) -> nn.Sequential:
    """h_s: N → 2M (ψ), exact fixed point. ``out`` overrides ψ's width (CompressAI's
    ``Elic2022Official`` has 2N)."""
    return nn.Sequential(
        exact_deconv(N, N), nn.ReLU(), exact_deconv(N, N * 3 // 2), nn.ReLU(),
        exact_conv(N * 3 // 2, 2 * M if out is None else out, 3, 1),
    )
