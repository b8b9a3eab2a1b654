"""Rate control by search over the continuous quality knob.

File size and PSNR grow monotonically with quality for a variable-rate model (in practice;
the search tolerates small violations), so a bisection over q in the model's range finds:

* ``size``: the largest quality whose file is at most ``size`` bytes (never exceeded; stops as
  soon as it lands within 3 % below the target). A trial file that is over the budget with its
  post-filter is tried without it, which keeps the size monotonic in the quality;
* ``bpp``: the same with size = bpp · pixels / 8;
* ``psnr``: the smallest file whose decoded PSNR reaches the target.

An unreachable target raises :class:`~licodec.errors.TargetUnreachableError`.
"""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image

from licodec import api, orientation
from licodec.coding import container
from licodec.errors import InvalidOptionError, TargetUnreachableError
from licodec.eval.metrics import psnr as _psnr
from licodec.image_io import image_to_tensor, to_rgb_array

MAX_ITERATIONS = 24


def _within(data: bytes, size: int) -> bytes:
    """``data``, or the same file without its post-filter when ``data`` is over ``size`` bytes."""
    return data if len(data) <= size else container.without_postfilter(data)


def compress_to_target(image: Image.Image | np.ndarray, *, model: str | None = None,
                       weights: str | os.PathLike | None = None, bpp: float | None = None,
                       size: int | None = None, psnr: float | None = None, refine: int = 0,
                       orient: bool = False, postfilter: bool = True) -> bytes:
    """Compress ``image`` to meet exactly one of the targets ``bpp``, ``size`` (bytes) or ``psnr`` (dB);
    ``refine``, ``orient`` and ``postfilter`` as in :func:`licodec.compress` (every trial encode uses
    them; with ``orient`` the orientation is searched once, at the model's default quality)."""
    if sum(t is not None for t in (bpp, size, psnr)) != 1:
        raise InvalidOptionError("give exactly one rate-control target")
    arr, _ = to_rgb_array(image)
    net, _ = api.get_model(model, weights)
    lo, hi = net.quality_range
    pixels = arr.shape[0] * arr.shape[1]
    k = orientation.best_orientation(net, image_to_tensor(arr), net.default_quality) if orient else 0
    encode = lambda q: api.compress(image, model=model, quality=q, weights=weights, refine=refine,  # noqa: E731
                                    orientation=k, postfilter=postfilter)

    if psnr is not None:
        if not math.isfinite(psnr) or psnr <= 0:
            raise InvalidOptionError("--psnr must be a positive number of dB")
        quality_of = lambda data: _psnr(arr, api.decode_array(data, net=net)[0])  # noqa: E731
        best = encode(hi)
        if quality_of(best) < psnr:
            raise TargetUnreachableError(f"PSNR {psnr:g} dB is above what this model reaches ({quality_of(best):.2f} dB at the top quality)")
        low = encode(lo)
        if quality_of(low) >= psnr:
            return low
        for _ in range(MAX_ITERATIONS):
            mid = (lo + hi) / 2
            data = encode(mid)
            if quality_of(data) >= psnr:
                hi, best = mid, data
            else:
                lo = mid
            if hi - lo < 1e-3:
                break
        return best

    if size is None:
        if not (bpp is not None and math.isfinite(bpp) and bpp > 0):
            raise InvalidOptionError("--bpp must be a positive number")
        size = int(math.floor(bpp * pixels / 8))
    if size <= 0:
        raise InvalidOptionError("--size must be a positive number of bytes")
    best = _within(encode(lo), size)
    if len(best) > size:
        raise TargetUnreachableError(f"{size} bytes is below the smallest file this model makes for this image ({len(best)} bytes)")
    top = _within(encode(hi), size)
    if len(top) <= size:
        return top
    for _ in range(MAX_ITERATIONS):
        if len(best) >= 0.97 * size:
            break
        mid = (lo + hi) / 2
        data = _within(encode(mid), size)
        if len(data) <= size:
            lo, best = mid, data
        else:
            hi = mid
        if hi - lo < 1e-4:
            break
    return best
