"""Differentiable quantization primitives shared by the transforms and entropy models."""

from __future__ import annotations

import torch
from torch import Tensor


def ste_round(x: Tensor) -> Tensor:
    """Round in the forward pass, identity gradient in the backward pass (straight-through
    estimator; Bengio et al. 2013, as used for learned compression by Theis et al., ICLR 2017)."""
    return x + (torch.round(x) - x).detach()


class _LowerBound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, bound: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # Let gradients through where x is above the bound, or where they push x upwards.
        passthrough = (x >= ctx.bound) | (grad < 0)
        return grad * passthrough.to(grad.dtype), None


def lower_bound(x: Tensor, bound: float) -> Tensor:
    """``max(x, bound)`` whose gradient still pulls values up from below the bound
    (Ballé et al., ICLR 2018, appendix 6.1 "LowerBound")."""
    return _LowerBound.apply(x, bound)


def quantize_noise(x: Tensor) -> Tensor:
    """Additive uniform noise U(-1/2, 1/2): the training proxy for rounding (Ballé et al., ICLR 2017, sec. 3.1)."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)
