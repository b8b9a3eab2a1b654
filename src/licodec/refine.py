"""Encoder-side latent refinement: search the latents of one image for a lower RD cost.

The analysis transform is amortized: g_a maps every image to latents that are good on average
over the training set, not the best for this image. Refinement treats the latents (y, z) of
one image as free variables, initialised at (g_a(x), h_a(y)), and lowers that image's own
rate–distortion cost by gradient descent (Campos, Meierhans, Djelouah & Schroers, "Content
adaptive optimization for neural image compression", CVPR Workshops 2019):

    L(y, z) = R(ỹ | z̃) + R(z̃) + λ(q) · 255² · MSE(x, g_s(ỹ)),

with R in bits per pixel, the rates −log2 of the model's own densities (the training loss,
:func:`licodec.train.loss.rd_loss`). Rounding has no
useful gradient, so ỹ and z̃ are *stochastic Gumbel annealing* (SGA) soft roundings (Yang,
Bamler & Mandt, "Improving inference for neural image compression", NeurIPS 2020, sec. 3.3,
eq. 7–8): each value v = y − μ moves to ⌊v⌋ or ⌈v⌉ with Gumbel-softmax weights whose logits
are −atanh(distance)/τ, and the temperature τ falls from 0.5 towards 0 over the iterations,
so the relaxation ends close to the hard rounding the coder applies. The entropy-parameter
path h_s runs with its training-time fake quantization (straight-through gradients) so that
z gets gradients from the rate of y.

Only the encoder changes: the refined latents are quantized and coded by the model's ordinary
``compress`` path, so the file is decoded by the unchanged decoder, bit for bit as always.
Files get smaller at the same quality (or better at the same size) for a slower encode.
Supported by the hyperprior models without a context model (``bmshj2018-hyperprior``,
``mbt2018-mean``); their latents are coded in one pass, so ŷ is an explicit function of (y, z).
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import torch
from torch import Tensor, nn

from licodec.entropy_models.gaussian import SCALE_MIN, gaussian_likelihood
from licodec.errors import InvalidOptionError
from licodec.ops import lower_bound
from licodec.train.loss import rd_loss

if TYPE_CHECKING:
    from licodec.models.base import HyperpriorModel

#: Adam step size on the latents (in quantization-bin units).
LEARNING_RATE = 0.01
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


@contextmanager
def _train_mode(module: nn.Module) -> Iterator[None]:
    was = module.training
    module.train()
    try:
        yield
    finally:
        module.train(was)


def refine_latents(model: HyperpriorModel, x: Tensor, y: Tensor, z: Tensor, quality: Tensor, steps: int,
                   lr: float = LEARNING_RATE, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Refined (y, z) for image ``x`` (1, 3, H, W) from the amortized ``y = g_a(x)·g(q)`` and
    ``z = h_a(y)``, after ``steps`` Adam iterations on the SGA-relaxed RD loss (module docstring);
    ``quality`` is the (1,) quality tensor that gave y, and sets λ.

    The result is deterministic for given inputs, ``steps`` and ``seed`` on one machine."""
    model.check_refine(steps)
    if steps == 0:
        return y, z
    gen = torch.Generator().manual_seed(seed)
    lam = model.gain.lam(quality)
    density = model.z_density
    z_offset = 0.0 if density.medians is None else density._median_view(z)
    y = y.detach().clone().requires_grad_(True)
    z = z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([y, z], lr=lr)
    with torch.enable_grad(), _train_mode(model.h_s):
        for t in range(steps):
            tau = temperature(t, steps)
            with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
                z_soft = soft_round(z - z_offset, tau, gen) + z_offset
                scales, means = model._params(z_soft)
                scales = scales.float()
                mu = torch.zeros_like(y) if means is None else means.float()
                v_soft = soft_round(y - mu, tau, gen)
                likelihoods = {"y": gaussian_likelihood(v_soft, lower_bound(scales, SCALE_MIN)),
                               "z": density.likelihood(z_soft)}
                out = {"x_hat": model._synthesis(v_soft + mu, quality), "likelihoods": likelihoods}
                loss = rd_loss(out, x, lam)["loss"]
            y.grad, z.grad = torch.autograd.grad(loss, [y, z])  # no gradients for the weights
            opt.step()
    return y.detach(), z.detach()
