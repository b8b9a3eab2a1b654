"""Network building blocks: GDN, exact fixed-point convolutions, residual and attention blocks."""

from licodec.layers.exact import ExactConv2d, ExactConvTranspose2d
from licodec.layers.gdn import GDN
from licodec.layers.conv import conv, deconv

__all__ = ["GDN", "ExactConv2d", "ExactConvTranspose2d", "conv", "deconv"]
