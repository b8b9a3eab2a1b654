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
        # Cached until the parameters change (in-place updates bump a tensor's _version).
        key = (self.weight.data_ptr(), self.weight._version,
               None if self.bias is None else (self.bias.data_ptr(), self.bias._version))
        cache = self.__dict__.get("_int_cache")
        if cache is not None and cache[0] == key:
            return cache[1], cache[2]
        w, b = self._compute_int_params()
        self.__dict__["_int_cache"] = (key, w, b)
        return w, b

    def _compute_int_params(self) -> tuple[Tensor, Tensor | None]:
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


class ExactLeakyReLU(nn.Module):
    """Leaky ReLU whose output lies on the activation grid, bit-exact on every machine.

    ``x`` if ``x >= 0``, else ``round(x · slope · 2^A_FRAC) / 2^A_FRAC``: the product of an
    on-grid activation (an integer times 2^-A_FRAC, exact in float64) with ``slope`` is one
    correctly rounded IEEE multiplication, and rounding half to even is exact, so every machine
    gets the same numbers. Between two exact layers it changes nothing that the next layer's
    input rounding would not do anyway. Used where a network trained elsewhere has a leaky ReLU
    inside the entropy-parameter path (CompressAI's mbt2018/cheng2020 hyper-synthesis and
    entropy parameters; see ``compat="compressai"`` in :mod:`licodec.models`). Training mode
    rounds with a straight-through gradient (fake quantization), like the exact convolutions.
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def grid_units(self, a: Tensor) -> Tensor:
        """The same function on activations in integer grid units (float64)."""
        return torch.where(a >= 0, a, torch.round(a * self.negative_slope))

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            with torch.autocast(device_type=x.device.type, enabled=False):
                x = x.float()
                return torch.where(x >= 0, x, ste_round(x * (self.negative_slope * 2**A_FRAC)) / 2**A_FRAC)
        a = x.double() * 2**A_FRAC
        return torch.where(x >= 0, x, (torch.round(a * self.negative_slope) / 2**A_FRAC).to(x.dtype))
