"""Residual, sub-pixel and attention blocks of the post-2019 transforms.

* :class:`ResidualBlock`, :class:`ResidualBlockWithStride`, :class:`ResidualBlockUpsample` and
  :func:`subpel_conv3x3` — Cheng, Sun, Takeuchi & Katto, "Learned image compression with
  discretized Gaussian mixture likelihoods and attention modules", CVPR 2020: stacks of 3×3
  convolutions with shortcuts instead of 5×5 convolutions; strided blocks end in GDN,
  upsampling blocks in IGDN, and upsampling is sub-pixel convolution (Shi et al., "Real-time
  single image and video super-resolution using an efficient sub-pixel convolutional neural
  network", CVPR 2016: a convolution to r²·C channels, then a pixel shuffle). Layout as in
  CompressAI's ``compressai/layers/layers.py``.
* :class:`AttentionBlock` — Cheng et al. 2020: the *simplified* attention module (the
  non-local block of Liu et al. / Zhang et al. removed): a trunk of three residual
  units and a mask branch of three residual units + 1×1 convolution + sigmoid,
  out = x + trunk(x) · σ(mask(x)). ELIC reuses it.
* :class:`ResidualBottleneckBlock` — He, Yang, Peng, Ma, Qin & Wang, "ELIC: Efficient learned
  image compression with unevenly grouped space-channel contextual adaptive coding", CVPR
  2022: 1×1 (N→N/2), 3×3, 1×1 (N/2→N) with ReLUs and an identity shortcut.

All of these sit in g_a/g_s (float, bf16-autocast friendly). :func:`exact_subpel_conv3x3` is
the fixed-point twin used where the output feeds entropy parameters (Cheng's h_s).
"""

from __future__ import annotations

from torch import Tensor, nn

from licodec.layers.exact import ExactConv2d
from licodec.layers.gdn import GDN


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    """3×3 'same' convolution (downsamples by ``stride``)."""
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride)


def subpel_conv3x3(cin: int, cout: int, r: int = 2) -> nn.Sequential:
    """Sub-pixel convolution: 3×3 conv to cout·r² channels, then a pixel shuffle (upsamples by r)."""
    return nn.Sequential(nn.Conv2d(cin, cout * r * r, 3, padding=1), nn.PixelShuffle(r))


def exact_subpel_conv3x3(cin: int, cout: int, r: int = 2) -> nn.Sequential:
    """:func:`subpel_conv3x3` on an exact fixed-point convolution (the pixel shuffle is a
    permutation, so the result stays on the activation grid and bit-exact)."""
    return nn.Sequential(ExactConv2d(cin, cout * r * r, 3, padding=1), nn.PixelShuffle(r))


class ResidualBlock(nn.Module):
    """conv3×3 → LeakyReLU → conv3×3 → LeakyReLU, plus the input (1×1-projected if widths differ)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = conv3x3(cin, cout)
        self.conv2 = conv3x3(cout, cout)
        self.act = nn.LeakyReLU(inplace=True)
        self.skip = conv1x1(cin, cout) if cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.skip is None else self.skip(x)
        out = self.act(self.conv1(x))
        out = self.act(self.conv2(out))
        return out + identity


class ResidualBlockWithStride(nn.Module):
    """Downsampling block: strided conv3×3 → LeakyReLU → conv3×3 → GDN, plus a strided 1×1 shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 2):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride=stride)
        self.act = nn.LeakyReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.gdn = GDN(cout)
        self.skip = conv1x1(cin, cout, stride=stride) if stride != 1 or cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.skip is None else self.skip(x)
        out = self.gdn(self.conv2(self.act(self.conv1(x))))
        return out + identity


class ResidualBlockUpsample(nn.Module):
    """Upsampling block: sub-pixel conv → LeakyReLU → conv3×3 → IGDN, plus a sub-pixel shortcut."""

    def __init__(self, cin: int, cout: int, upsample: int = 2):
        super().__init__()
        self.subpel = subpel_conv3x3(cin, cout, upsample)
        self.act = nn.LeakyReLU(inplace=True)
        self.conv = conv3x3(cout, cout)
        self.igdn = GDN(cout, inverse=True)
        self.upsample = subpel_conv3x3(cin, cout, upsample)

    def forward(self, x: Tensor) -> Tensor:
        out = self.igdn(self.conv(self.act(self.subpel(x))))
        return out + self.upsample(x)


class _ResidualUnit(nn.Module):
    """1×1 (N→N/2) → ReLU → 3×3 → ReLU → 1×1 (N/2→N), plus the input, then ReLU (Cheng et al. 2020)."""

    def __init__(self, N: int):
        super().__init__()
        self.body = nn.Sequential(
            conv1x1(N, N // 2), nn.ReLU(inplace=True), conv3x3(N // 2, N // 2), nn.ReLU(inplace=True),
            conv1x1(N // 2, N),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.body(x) + x)


class AttentionBlock(nn.Module):
    """Simplified attention module (Cheng et al. 2020): x + trunk(x) · sigmoid(mask(x))."""

    def __init__(self, N: int):
        super().__init__()
        self.trunk = nn.Sequential(_ResidualUnit(N), _ResidualUnit(N), _ResidualUnit(N))
        self.mask = nn.Sequential(_ResidualUnit(N), _ResidualUnit(N), _ResidualUnit(N), conv1x1(N, N))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.trunk(x) * self.mask(x).sigmoid()


class ResidualBottleneckBlock(nn.Module):
    """ELIC's residual bottleneck (He et al. 2022): x + 1×1 ∘ ReLU ∘ 3×3 ∘ ReLU ∘ 1×1 (x)."""

    def __init__(self, N: int):
        super().__init__()
        self.body = nn.Sequential(
            conv1x1(N, N // 2), nn.ReLU(inplace=True), conv3x3(N // 2, N // 2), nn.ReLU(inplace=True),
            conv1x1(N // 2, N),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)
