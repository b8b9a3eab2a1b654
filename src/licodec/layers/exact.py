"""Fixed-point convolutions whose inference result is bit-exact on every machine.

The path from the hyper-latent (and the already decoded latents) to the entropy parameters
must give the *same* numbers in the encoder and the decoder, or a scale-table index flips and
the rest of the image decodes to garbage (CompressAI issues #279, #309, #320). Following the
idea of Ballé, Johnston & Minnen, "Integer networks for data compression", ICLR 2019, these
layers use integer weights and integer activations:

* activations live on the grid 2^-A_FRAC (``A_FRAC`` fractional bits), clamped to |a| <= A_MAX;
* weights are rounded to the grid 2^-W_FRAC, biases to 2^-(W_FRAC + A_FRAC);
* at inference, the products and sums are computed on the integers in float64. Every partial
  sum is an integer below 2^53, so float64 represents it exactly and *any* summation order —
  any thread count, BLAS, or convolution backend — gives the identical result;
* the output is rounded back onto the activation grid (round half to even, exact in float64).

In training mode the same rounding is applied with straight-through gradients (fake
quantization) in fp32 and outside autocast, so the trained network is the one that codes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.ops import ste_round

A_FRAC = 8
W_FRAC = 14
A_MAX = 2.0**12
_EXACT_LIMIT = 2.0**53


def quantize_activation(x: Tensor) -> Tensor:
    """Put ``x`` on the activation grid (straight-through in training)."""
    return ste_round(x.clamp(-A_MAX, A_MAX) * 2**A_FRAC) / 2**A_FRAC


class _ExactMixin:
    weight: Tensor
    bias: Tensor | None
    training: bool

    def _int_params(self) -> tuple[Tensor, Tensor | None]:
        w = torch.round(self.weight.detach().double() * 2**W_FRAC)
        b = None if self.bias is None else torch.round(self.bias.detach().double() * 2 ** (W_FRAC + A_FRAC))
        # Worst case accumulator: sum |w| over one output's receptive field times the largest activation.
        per_output = w.abs().transpose(0, self._out_dim).flatten(1).sum(1)
        bound = per_output.max().item() * A_MAX * 2**A_FRAC + (0.0 if b is None else b.abs().max().item())
        if bound >= _EXACT_LIMIT:
            raise ValueError(f"{type(self).__name__}: weights too large for exact integer arithmetic")
        return w, b

    _out_dim = 0  # weight dimension that indexes output channels

    def _conv(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            with torch.autocast(device_type=x.device.type, enabled=False):
                x = quantize_activation(x.float())
                w = ste_round(self.weight * 2**W_FRAC) / 2**W_FRAC
                b = None if self.bias is None else ste_round(self.bias * 2 ** (W_FRAC + A_FRAC)) / 2 ** (W_FRAC + A_FRAC)
                return quantize_activation(self._conv(x, w, b))
        w, b = self._int_params()
        xi = torch.round(x.double().clamp(-A_MAX, A_MAX) * 2**A_FRAC)
        acc = self._conv(xi, w, b)  # exact integers in float64
        out = torch.round(acc / 2**W_FRAC).clamp(-A_MAX * 2**A_FRAC, A_MAX * 2**A_FRAC) / 2**A_FRAC
        return out.float()  # on the grid; |out| * 2^A_FRAC < 2^24, so float32 holds it exactly


class ExactConv2d(_ExactMixin, nn.Conv2d):
    """:class:`torch.nn.Conv2d` with exact fixed-point inference (see module docstring)."""

    def _conv(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.conv2d(x, w, b, self.stride, self.padding, self.dilation, self.groups)


class ExactConvTranspose2d(_ExactMixin, nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` with exact fixed-point inference."""

    _out_dim = 1

    def _conv(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.conv_transpose2d(x, w, b, self.stride, self.padding, self.output_padding, self.groups, self.dilation)


def exact_conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> ExactConv2d:
    return ExactConv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def exact_deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> ExactConvTranspose2d:
    return ExactConvTranspose2d(cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1)
