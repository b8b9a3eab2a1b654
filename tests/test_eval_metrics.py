"""PSNR and MS-SSIM on 8-bit RGB (licodec.eval.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from licodec.eval import metrics


def _pair(h: int, w: int, noise: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                     ((xx + yy) * 3) % 256], axis=-1).astype(np.int32)
    a = np.clip(base + rng.integers(-30, 31, base.shape), 0, 255).astype(np.uint8)
    b = np.clip(a.astype(np.int32) + rng.integers(-noise, noise + 1, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_psnr_known_value():
    a = np.zeros((4, 5, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10  # MSE = 100 / 60
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (100 / 60)))
    assert metrics.psnr(a, a) == metrics.PSNR_MAX_DB


def test_psnr_rejects_bad_input():
    a = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError):
        metrics.psnr(a, np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError):
        metrics.psnr(a.astype(np.float32), a.astype(np.float32))


@pytest.mark.parametrize("shape", [(161, 200), (176, 233), (200, 163)])
def test_ms_ssim_matches_pytorch_msssim(shape):
    from pytorch_msssim import ms_ssim

    a, b = _pair(*shape)
    ours = metrics.ms_ssim(a, b)

    def t(x):
        return torch.from_numpy(x.copy()).permute(2, 0, 1)[None].double()

    ref = float(ms_ssim(t(a), t(b), data_range=255))
    assert ours == pytest.approx(ref, abs=1e-6)
    assert metrics.ms_ssim_scales(*shape) == 5


def test_ms_ssim_small_images_use_fewer_scales():
    assert metrics.ms_ssim_scales(160, 400) == 4
    assert metrics.ms_ssim_scales(40, 40) == 2
    assert metrics.ms_ssim_scales(44, 50) == 3
    assert metrics.ms_ssim_scales(11, 11) == 1
    assert metrics.ms_ssim_scales(10, 100) == 0
    a, b = _pair(64, 96)
    value = metrics.ms_ssim(a, b)
    assert 0.0 < value < 1.0
    worse = metrics.ms_ssim(*_pair(64, 96, noise=60))
    assert worse < value
    assert math.isnan(metrics.ms_ssim(*_pair(8, 8)))
    assert metrics.ms_ssim(a, a) == 1.0


def test_ms_ssim_db():
    assert metrics.ms_ssim_db(0.99) == pytest.approx(20.0)
    assert math.isnan(metrics.ms_ssim_db(float("nan")))
