"""Distortion metrics on 8-bit RGB images.

* PSNR is computed on the 8-bit RGB arrays exactly as they are written to / read from disk:
  ``10 log10(255^2 / MSE)`` with the MSE averaged over all pixels and the three channels.
* MS-SSIM is the multi-scale structural similarity of Wang, Simoncelli and Bovik, "Multiscale
  structural similarity for image quality assessment", Asilomar 2003 (5 scales, weights
  0.0448, 0.2856, 0.3001, 0.2363, 0.1333, 11-tap Gaussian window with sigma 1.5, K = (0.01, 0.03),
  2x2 average pooling between scales), on the RGB channels (mean over channels), data range 255:
  the definition of ``pytorch_msssim.ms_ssim``, the library behind CompressAI's published numbers.
  It is evaluated here in float64 with scipy (faster on CPU); the tests compare it with
  ``pytorch_msssim`` to 1e-6.

The 5-scale MS-SSIM needs at least 161 pixels on the short side (an 11-tap window after four 2x
downsamplings). For smaller images :func:`ms_ssim` uses as many scales as fit, with the first
weights of the standard set renormalised to sum to one (:func:`ms_ssim_scales` says how many);
below 11 pixels it returns ``nan``. Published Kodak numbers (768x512) always use 5 scales.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PSNR_MAX_DB", "psnr", "mse", "ms_ssim", "ms_ssim_db", "ms_ssim_scales", "MSSSIM_WEIGHTS"]

#: PSNR reported for identical images (MSE = 0), so that results stay finite numbers.
PSNR_MAX_DB = 100.0

#: Wang et al. (2003) scale weights, finest scale first.
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN = 11
_SIGMA = 1.5
_K = (0.01, 0.03)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected H x W x 3 RGB arrays, got shape {a.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"expected uint8 arrays, got {a.dtype} and {b.dtype}")


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all pixels and channels of two H x W x 3 uint8 images."""
    _check_pair(a, b)
    d = a.astype(np.int32) - b.astype(np.int32)
    return float(np.mean(d * d, dtype=np.float64))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two H x W x 3 uint8 RGB images (peak 255); :data:`PSNR_MAX_DB` if identical."""
    m = mse(a, b)
    if m == 0.0:
        return PSNR_MAX_DB
    return min(PSNR_MAX_DB, 10.0 * math.log10(255.0 * 255.0 / m))


def ms_ssim_scales(height: int, width: int) -> int:
    """Number of MS-SSIM scales (at most 5) that fit an image of this size (0: none fits)."""
    side = min(height, width)
    levels = 0
    while levels < len(MSSSIM_WEIGHTS) and side >= _WIN:
        levels += 1
        side = (side + 1) // 2  # pytorch_msssim pads odd sizes before 2x2 average pooling
    # the library's own guard for 5 scales is side > (win - 1) * 16
    if levels == len(MSSSIM_WEIGHTS) and min(height, width) <= (_WIN - 1) * 16:
        levels -= 1
    return levels


def _gauss_window() -> np.ndarray:
    x = np.arange(_WIN, dtype=np.float64) - _WIN // 2
    g = np.exp(-(x * x) / (2.0 * _SIGMA * _SIGMA))
    return g / g.sum()


def _blur_valid(t: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter over the last two axes, 'valid' part only (no padding)."""
    from scipy.ndimage import correlate1d

    r = _WIN // 2
    if t.shape[-1] >= _WIN:
        t = correlate1d(t, g, axis=-1, mode="constant")[..., r:-r]
    if t.shape[-2] >= _WIN:
        t = correlate1d(t, g, axis=-2, mode="constant")[..., r:-r, :]
    return t


def _avg_pool2(t: np.ndarray) -> np.ndarray:
    """2x2 average pooling; odd sizes are zero-padded on both sides first (as torch's
    ``avg_pool2d(kernel_size=2, padding=size % 2)`` does in pytorch_msssim)."""
    ph, pw = t.shape[-2] % 2, t.shape[-1] % 2
    if ph or pw:
        t = np.pad(t, ((0, 0), (ph, ph), (pw, pw)))
    c, h, w = t.shape
    h2, w2 = h // 2, w // 2
    return t[:, : 2 * h2, : 2 * w2].reshape(c, h2, 2, w2, 2).mean(axis=(2, 4))


def _ms_ssim_levels(a: np.ndarray, b: np.ndarray, levels: int) -> float:
    x = a.transpose(2, 0, 1).astype(np.float64)
    y = b.transpose(2, 0, 1).astype(np.float64)
    weights = np.asarray(MSSSIM_WEIGHTS[:levels], dtype=np.float64)
    if levels < len(MSSSIM_WEIGHTS):
        weights = weights / weights.sum()
    g = _gauss_window()
    c1 = (_K[0] * 255.0) ** 2
    c2 = (_K[1] * 255.0) ** 2
    values = []
    for i in range(levels):
        mu_x, mu_y = _blur_valid(x, g), _blur_valid(y, g)
        sxx = _blur_valid(x * x, g) - mu_x * mu_x
        syy = _blur_valid(y * y, g) - mu_y * mu_y
        sxy = _blur_valid(x * y, g) - mu_x * mu_y
        cs = (2.0 * sxy + c2) / (sxx + syy + c2)
        if i < levels - 1:
            values.append(np.maximum(cs.mean(axis=(1, 2)), 0.0))
            x, y = _avg_pool2(x), _avg_pool2(y)
        else:
            ssim = ((2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)) * cs
            values.append(np.maximum(ssim.mean(axis=(1, 2)), 0.0))
    per_channel = np.prod(np.stack(values) ** weights[:, None], axis=0)
    return float(per_channel.mean())


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM (linear, in [0, 1]) of two H x W x 3 uint8 RGB images, Wang et al. (2003).

    Same definition and constants as ``pytorch_msssim.ms_ssim(x, y, data_range=255)`` (the tests
    check agreement to 1e-6) computed in float64 with scipy, which is 2-4x faster than the torch
    depthwise convolutions on CPU. Small images use fewer scales (module docstring).
    """
    _check_pair(a, b)
    levels = ms_ssim_scales(a.shape[0], a.shape[1])
    if levels == 0:
        return float("nan")
    if np.array_equal(a, b):
        return 1.0
    return _ms_ssim_levels(a, b, levels)


def ms_ssim_db(value: float) -> float:
    """MS-SSIM in decibels, ``-10 log10(1 - MS-SSIM)``, as plotted in most learned-codec papers."""
    if value is None or not math.isfinite(value):
        return float("nan")
    if value >= 1.0:
        return PSNR_MAX_DB
    return -10.0 * math.log10(1.0 - value)
