"""Masked exact convolutions for spatial context models, and their evaluation at single positions.

Two spatial masks, both on :class:`~licodec.layers.exact.ExactConv2d` so that the context —
which sits between decoded symbols and entropy parameters — is bit-exact on every machine:

* **raster, type A** — van den Oord et al., "Conditional image generation with PixelCNN
  decoders", NeurIPS 2016: a tap is kept iff it comes strictly before the centre in raster
  order (rows above, and the left part of the centre row). Minnen, Ballé & Toderici,
  "Joint autoregressive and hierarchical priors for learned image compression", NeurIPS 2018,
  sec. 2 / fig. 2, use a 5×5 type-A masked convolution as the context model g_cm, so that
  φ_i = g_cm(ŷ_<i). (Type B, which also keeps the centre, is offered for completeness.)
* **checkerboard** — He, Zheng, Sun, Wang & Qin, "Checkerboard context model for efficient
  learned image compression", CVPR 2021, sec. 3.2 (fig. 3): a tap is kept iff its offset
  (Δy, Δx) from the centre has Δy + Δx odd. Latent positions are split into *anchors* and
  *non-anchors* on the two colours of a checkerboard (:func:`anchor_mask`); the context of a
  non-anchor then only ever reads anchors, and anchors get no spatial context at all.

Single-position evaluation. Autoregressive decoding must not run a full-image convolution per
decoded position. Because every exact layer computes integer sums below 2^53 in float64, *any*
way of evaluating a position's output — a full-image convolution, a k×k patch times the
unmasked taps, a different BLAS — gives the identical integer, and therefore the identical
rounded activation. :meth:`MaskedExactConv2d.at` and :class:`IntegerPointwise` use this: they
evaluate a masked convolution, resp. a stack of exact 1×1 convolutions and ReLUs, on just the
positions being decoded (integer-valued float64 tensors, batched across channels). They use
torch rather than numpy for the products: numpy's OpenBLAS spawns its own thread pool, which
ignores ``torch.set_num_threads`` and thrashes on a loaded machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.layers.exact import _EXACT_LIMIT, A_FRAC, A_MAX, W_FRAC, ExactConv2d, ExactLeakyReLU

ACT_LIMIT = A_MAX * 2**A_FRAC  # the activation clamp, in integer grid units (2^20)
GRID = float(2**A_FRAC)  # activations are integers / GRID


def raster_mask(kernel: int, mask_type: str = "A") -> Tensor:
    """(k, k) mask of the taps strictly before the centre in raster order (type A), or up to
    and including the centre (type B)."""
    if kernel % 2 != 1:
        raise ValueError("masked convolutions need an odd kernel size")
    c = kernel // 2
    m = torch.zeros(kernel, kernel)
    m[:c, :] = 1
    m[c, :c] = 1
    if mask_type == "B":
        m[c, c] = 1
    elif mask_type != "A":
        raise ValueError(f"unknown raster mask type {mask_type!r}")
    return m


def checkerboard_mask(kernel: int) -> Tensor:
    """(k, k) mask of the taps whose offset from the centre has an odd sum (He et al. 2021, fig. 3):
    seen from a non-anchor, exactly the anchors in its k×k neighbourhood."""
    if kernel % 2 != 1:
        raise ValueError("masked convolutions need an odd kernel size")
    i = torch.arange(kernel)
    return ((i[:, None] + i[None, :]) % 2 == 1).float()


def anchor_mask(h: int, w: int) -> Tensor:
    """Boolean (h, w) map of the anchor positions: (i + j) even, so the top-left latent is an anchor."""
    i = torch.arange(h)[:, None]
    j = torch.arange(w)[None, :]
    return (i + j) % 2 == 0


def to_grid(x: Tensor) -> Tensor:
    """Activations as integer grid units (float64), clamped like an exact layer's input."""
    return torch.round(x.detach().double().clamp(-A_MAX, A_MAX) * GRID)


def requantize(acc: Tensor) -> Tensor:
    """Accumulator (units 2^-(A_FRAC+W_FRAC)) back onto the activation grid — the same rounding
    (half to even) and clamp as :class:`~licodec.layers.exact.ExactConv2d`."""
    return torch.round(acc / 2**W_FRAC).clamp_(-ACT_LIMIT, ACT_LIMIT)


def from_grid(a: Tensor) -> Tensor:
    """Integer grid units back to float32 activations (exact: |a| <= 2^20)."""
    return (a / GRID).float()


def wavefront(h: int, w: int, c: int) -> list[np.ndarray]:
    """Flat positions of an h×w map grouped into decoding steps for a (2c+1)² type-A context:
    step t = j + (c+1)·i. Every context tap (Δi < 0, |Δj| ≤ c, or Δi = 0, Δj < 0) lies in an
    earlier step; within a step positions are in raster order."""
    i, j = np.divmod(np.arange(h * w), w)
    t = j + (c + 1) * i
    order = np.lexsort((i, t))
    return np.split(order, np.flatnonzero(np.diff(t[order])) + 1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run a latency-bound loop of many small ops on one intra-op thread, restoring the thread
    count afterwards. A serial decoding loop gains nothing from a second thread, but every op
    then waits at an OpenMP barrier — on a loaded 2-core machine the mbt2018 loop took 40 s
    with 2 threads against 2.8 s with 1 for a 768×512 image. (``torch.set_num_threads`` is
    process-wide: other Python threads using torch meanwhile also run on one thread.)"""
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class MaskedExactConv2d(ExactConv2d):
    """Stride-1, 'same'-padded :class:`ExactConv2d` whose taps outside a fixed spatial mask are zero.

    ``mask`` is ``"A"`` or ``"B"`` (raster, PixelCNN) or ``"checkerboard"`` (He et al. 2021).
    The mask is a non-persistent buffer: it comes from the code, never from a weights file, so
    a file cannot give the context model access to the future. Masked taps get no gradient in
    training (the masked weight is what is fake-quantized and convolved).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, mask: str = "A"):
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding=kernel_size // 2)
        if mask in ("A", "B"):
            m = raster_mask(kernel_size, mask)
        elif mask == "checkerboard":
            m = checkerboard_mask(kernel_size)
        else:
            raise ValueError(f"unknown mask {mask!r}")
        self.mask_type = mask
        self.register_buffer("mask", m[None, None], persistent=False)
        with torch.no_grad():
            self.weight.mul_(self.mask)  # cosmetic: the masked taps start (and stay unused) at zero

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mask={self.mask_type}"

    def _conv(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.conv2d(x, w * self.mask.to(w.dtype), b, self.stride, self.padding, self.dilation, self.groups)

    def _int_params(self) -> tuple[Tensor, Tensor | None]:
        w = torch.round(self.weight.detach().double() * 2**W_FRAC) * self.mask.double()
        b = None if self.bias is None else torch.round(self.bias.detach().double() * 2 ** (W_FRAC + A_FRAC))
        bound = w.abs().flatten(1).sum(1).max().item() * ACT_LIMIT + (0.0 if b is None else b.abs().max().item())
        if bound >= _EXACT_LIMIT:
            raise ValueError(f"{type(self).__name__}: weights too large for exact integer arithmetic")
        return w, b

    # -- single-position evaluation ---------------------------------------------------------------
    def taps(self) -> Tensor:
        """Flat indices (into the k·k patch, row-major) of the unmasked taps."""
        return torch.nonzero(self.mask.flatten().cpu()).flatten()

    def integer_taps(self) -> tuple[Tensor, Tensor]:
        """Integer weights of the unmasked taps as a (C_in·T, C_out) matrix with rows ordered
        (input channel, tap), and the integer bias (C_out,), both float64."""
        w, b = self._int_params()
        wt = w.flatten(2)[:, :, self.taps()]  # (C_out, C_in, T)
        bias = torch.zeros(self.out_channels, dtype=torch.float64) if b is None else b
        return wt.reshape(self.out_channels, -1).T.contiguous(), bias

    def gather(self, x_grid: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """The unmasked taps around positions (rows[p], cols[p]) of a grid-unit tensor that is
        already zero padded by k // 2 on every side: (B·P, C·T), rows ordered (sample, position)."""
        k = self.kernel_size[0]
        t = self.taps()
        dy, dx = t // k, t % k
        patch = x_grid[:, :, rows[:, None] + dy, cols[:, None] + dx]  # (B, C, P, T)
        bsz, cin, npos, ntap = patch.shape
        return patch.permute(0, 2, 1, 3).reshape(bsz * npos, cin * ntap).clamp(-ACT_LIMIT, ACT_LIMIT)

    @torch.no_grad()
    def at(self, x: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Eval-mode output at positions (rows[p], cols[p]) from their k×k neighbourhoods only:
        (B, C_out, P), bit-identical to ``self(x)[:, :, rows, cols]``."""
        c = self.kernel_size[0] // 2
        w, b = self.integer_taps()
        xp = F.pad(to_grid(x), (c, c, c, c))
        out = requantize(self.gather(xp, rows, cols) @ w + b)
        return from_grid(out.reshape(x.shape[0], len(rows), -1).permute(0, 2, 1))


class IntegerPointwise:
    """A stack of exact 1×1 convolutions and ReLUs (or :class:`~licodec.layers.exact.ExactLeakyReLU`)
    evaluated row-wise on integer-grid activations.

    Eval-mode twin of ``nn.Sequential(ExactConv2d(.., 1), nn.ReLU(), ...)`` for per-position
    decoding loops: ``x`` is (P, C_in) in grid units (:func:`to_grid`), the result (P, C_out) in
    grid units, bit-identical to the module applied to the same positions. :meth:`partial` and
    the ``partial`` argument of :meth:`__call__` split the first layer's input channels: a
    contribution known for every position in advance (e.g. the hyperprior's) is computed in one
    batch, and only the rest (the context) per decoding step — exact, since integer sums do not
    depend on the order they are formed in.
    """

    def __init__(self, stack: nn.Sequential):
        self.layers: list[tuple[Tensor, Tensor, bool]] = []
        for module in stack:
            if isinstance(module, ExactConv2d) and not isinstance(module, MaskedExactConv2d) \
                    and module.kernel_size == (1, 1) and module.groups == 1:
                w, b = module._int_params()
                bias = torch.zeros(module.out_channels, dtype=torch.float64) if b is None else b
                self.layers.append((w[:, :, 0, 0].T.contiguous(), bias, False))
            elif isinstance(module, nn.ReLU) and self.layers:
                w, b, _ = self.layers[-1]
                self.layers[-1] = (w, b, True)
            elif isinstance(module, ExactLeakyReLU) and self.layers:
                w, b, _ = self.layers[-1]
                self.layers[-1] = (w, b, module.grid_units)  # type: ignore[assignment]
            else:
                raise TypeError(f"IntegerPointwise takes exact 1x1 convolutions and ReLUs, not {type(module).__name__}")

    def partial(self, head: Tensor) -> Tensor:
        """First-layer accumulator (with bias) from the leading ``head.shape[-1]`` input channels."""
        w, b, _ = self.layers[0]
        return head @ w[: head.shape[-1]] + b

    def __call__(self, x: Tensor, partial: Tensor | None = None) -> Tensor:
        """Run the stack on ``x`` (P, C); with ``partial``, ``x`` holds only the trailing input
        channels of the first layer and ``partial`` the accumulator of the leading ones."""
        for n, (w, b, relu) in enumerate(self.layers):
            if n == 0 and partial is not None:
                acc = partial + x @ w[w.shape[0] - x.shape[-1]:]
            else:
                acc = x @ w + b
            x = requantize(acc)
            if callable(relu):  # ExactLeakyReLU, on grid units
                x = relu(x)
            elif relu:
                x = x.clamp_(min=0.0)
        return x
