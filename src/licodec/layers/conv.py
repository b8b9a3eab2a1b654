"""Shorthands for the stride-2 convolutions used by every transform in the lineage."""

from __future__ import annotations

from torch import nn


def conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    """'Same'-padded convolution, downsampling by ``stride``."""
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """Transposed convolution that upsamples exactly by ``stride``."""
    return nn.ConvTranspose2d(cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1)
