"""Encoder-side latent refinement: search the latents of one image for a lower RD cost.

The analysis transform is amortized: g_a maps every image to latents that are good on average
over the training set, not the best for this image. Refinement treats the latent y of one image
as a free variable, initialised at g_a(x), and lowers that image's own rate–distortion cost by
gradient descent (Campos, Meierhans, Djelouah & Schroers, "Content adaptive optimization for
neural image compression", CVPR Workshops 2019):

    L(y) = R(ỹ | ẑ) + λ(q) · 255² · MSE(x, g_s(ỹ)),

with R in bits per pixel, the rate −log2 of the model's own density (the training loss,
:func:`licodec.train.loss.rd_loss`). The hyper-latent stays at ẑ = Q(h_a(y₀)), so the entropy
parameters (σ, μ) = h_s(ẑ) are the exact ones the coder will use, computed once. Rounding has no
useful gradient, so ỹ is a *stochastic Gumbel annealing* (SGA) soft rounding (Yang, Bamler &
Mandt, "Improving inference for neural image compression", NeurIPS 2020, sec. 3.3, eq. 7–8):
each value v = y − μ moves to ⌊v⌋ or ⌈v⌉ with Gumbel-softmax weights whose logits are
−atanh(distance)/τ, and the temperature τ falls from 0.5 towards 0 over the iterations, so the
relaxation ends close to the hard rounding the coder applies. Adam's step size follows a cosine
from :data:`LEARNING_RATE` to 0.

Measured on 256² crops of four Kodak images (real coded bits, 50 iterations): keeping ẑ fixed
and decaying the step size lowers the RD cost by 5.3 / 5.6 / 11.8 % at quality 1 / 4 / 8, against
4.3 / 4.6 / 10.5 % when z is refined too (Yang et al.) at a constant 0.01 — and each iteration
is cheaper, with only g_s to run forward and backward.

Only the encoder changes: the refined latents are quantized and coded by the model's ordinary
``compress`` path, so the file is decoded by the unchanged decoder, bit for bit as always.
Files get smaller at the same quality (or better at the same size) for a slower encode.
Supported by the hyperprior models without a context model (``bmshj2018-hyperprior``,
``mbt2018-mean``); their latents are coded in one pass, so ŷ is an explicit function of (y, ẑ).
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from licodec.entropy_models.gaussian import SCALE_MIN, gaussian_likelihood
from licodec.errors import InvalidOptionError
from licodec.ops import lower_bound
from licodec.precision import native_bf16
from licodec.train.loss import rd_loss

if TYPE_CHECKING:
    from licodec.models.base import HyperpriorModel

#: Adam's first step size on the latents (quantization-bin units); a cosine takes it to 0.
LEARNING_RATE = 0.02
#: The annealing temperature starts here (Yang et al. 2020 cap τ at 0.5) ...
TAU_MAX = 0.5
#: ... and decays as τ(t) = min(TAU_MAX, exp(−TAU_DECAY · t / steps)), ending near exp(−6).
TAU_DECAY = 6.0
#: Largest number of iterations a caller may ask for.
MAX_STEPS = 10_000


def check_steps(steps: int) -> int:
    """Validate a refinement iteration count (0 = no refinement)."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or not 0 <= steps <= MAX_STEPS:
        raise InvalidOptionError(f"refinement steps must be an integer in [0, {MAX_STEPS}], got {steps!r}")
    return int(steps)


def soft_round(v: Tensor, tau: float, generator: torch.Generator | None = None) -> Tensor:
    """SGA (Yang et al. 2020, eq. 7–8): ⌊v⌋ + w, w the Gumbel-softmax weight of ⌈v⌉ with logits
    −atanh(v − ⌊v⌋)/τ for ⌊v⌋ and −atanh(⌈v⌉ − v)/τ for ⌈v⌉. Differentiable in v; as τ → 0 it
    tends to rounding to the nearest integer."""
    floor = torch.floor(v).detach()
    r = (v - floor).clamp(1e-5, 1 - 1e-5)
    logits = torch.stack([-torch.atanh(r), -torch.atanh(1 - r)]) / tau
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp_min(1e-20)
    gumbel = -torch.log(-torch.log(u))
    return floor + torch.softmax(logits + gumbel, dim=0)[1]


def temperature(step: int, steps: int) -> float:
    """τ at iteration ``step`` of ``steps``."""
    return min(TAU_MAX, math.exp(-TAU_DECAY * step / max(steps, 1)))


def refine_latents(model: HyperpriorModel, x: Tensor, y: Tensor, z_hat: Tensor, quality: Tensor, steps: int,
                   lr: float = LEARNING_RATE, seed: int = 0) -> Tensor:
    """Refined y for image ``x`` (1, 3, H, W) from the amortized ``y = g_a(x)·g(q)``, after
    ``steps`` Adam iterations on the SGA-relaxed RD loss (module docstring) with the entropy
    parameters of the coded hyper-latent ``z_hat``; ``quality`` is the (1,) quality tensor that
    gave y, and sets λ.

    ``steps`` is validated by the caller (the model's ``compress``). The result is deterministic
    for given inputs, ``steps`` and ``seed`` on one machine (in bf16 where the machine has bf16
    arithmetic, else in fp32)."""
    if steps == 0:
        return y
    gen = torch.Generator().manual_seed(seed)
    lam = model.gain.lam(quality)
    cl = torch.channels_last  # about 30 % faster convolutions on CPU, as in training
    scales, means = model._params(z_hat)
    scales = lower_bound(scales, SCALE_MIN).contiguous(memory_format=cl)
    mu = (torch.zeros_like(y) if means is None else means).contiguous(memory_format=cl)
    x = x.contiguous(memory_format=cl)
    y = y.detach().clone(memory_format=cl).requires_grad_(True)
    bf16 = native_bf16(x.device)  # emulated bf16 would be several times slower than fp32
    opt = torch.optim.Adam([y], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    with torch.enable_grad():
        for t in range(steps):
            tau = temperature(t, steps)
            with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=bf16):
                v_soft = soft_round(y - mu, tau, gen)
                out = {"x_hat": model._synthesis(v_soft + mu, quality),
                       "likelihoods": {"y": gaussian_likelihood(v_soft, scales)}}
                loss = rd_loss(out, x, lam)["loss"]
            (y.grad,) = torch.autograd.grad(loss, [y])  # no gradients for the weights
            opt.step()
            sched.step()
    return y.detach().contiguous()
