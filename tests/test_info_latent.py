"""``lic analyze`` (what the hyperprior buys on a real latent) and the context headroom (what a
context model could still buy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import licodec
from licodec import models
from licodec.cli import main
from licodec.errors import InvalidOptionError
from licodec.info.latent import coded_residuals, context_headroom

SAMPLE = str(Path(licodec.__file__).parent / "data" / "sample.png")


def _scales(shape: tuple[int, ...], value: float) -> np.ndarray:
    return np.full(shape, value)


def test_headroom_finds_spatial_redundancy():
    rng = np.random.default_rng(0)
    field = np.cumsum(rng.normal(0, 1, (4, 32, 48)), axis=2)  # a random walk along each row
    symbols = np.round(field - field.mean(axis=2, keepdims=True))
    h = context_headroom([(symbols, _scales(symbols.shape, float(symbols.std())))])
    assert h["spatial_saved_bits"] > 0.2 * h["bits"]
    assert h["channel_saved_bits"] < 0.02 * h["bits"]  # the channels are independent walks


def test_headroom_finds_channel_redundancy():
    rng = np.random.default_rng(1)
    first = rng.normal(0, 6, (32, 48))
    symbols = np.round(np.stack([first, first + rng.normal(0, 0.5, first.shape)]))
    h = context_headroom([(symbols, _scales(symbols.shape, 6.0))])
    assert h["channel_saved_bits"] > 0.25 * h["bits"]
    assert abs(h["spatial_saved_bits"]) < 0.02 * h["bits"]  # white in space


def test_headroom_of_white_noise_is_about_zero():
    rng = np.random.default_rng(2)
    symbols = np.round(rng.normal(0, 3, (6, 32, 32)))
    h = context_headroom([(symbols[:3], _scales((3, 32, 32), 3.0)), (symbols[3:], _scales((3, 32, 32), 3.0))])
    assert h["bits"] > 0
    assert abs(h["spatial_saved_bits"]) < 0.01 * h["bits"]
    assert abs(h["channel_saved_bits"]) < 0.01 * h["bits"]


def test_headroom_does_not_fit_noise():
    # 8 inputs for 32 positions per half: fitted and measured on the same half, a predictor of
    # white noise would "save" bits; measured on the other half it saves none
    rng = np.random.default_rng(3)
    symbols = np.round(rng.normal(0, 4, (48, 8, 8)))
    h = context_headroom([(symbols, _scales(symbols.shape, 4.0))])
    assert h["channel_saved_bits"] < 0
    assert h["scale_saved_bits"] < 0.01 * h["bits"]


def test_headroom_needs_a_model_without_context():
    net = models.create("he2021-checkerboard", pretrained=False)
    with pytest.raises(InvalidOptionError, match="context model"):
        coded_residuals(net, np.zeros((64, 64, 3), np.uint8), 1.0)


def test_headroom_of_the_default_model_starts_from_its_own_bits():
    from licodec.image_io import load_image

    net = models.create("mbt2018-mean")
    image = load_image(SAMPLE)[0]
    symbols, scales = coded_residuals(net, image, 2.0)
    assert np.array_equal(symbols, np.round(symbols)) and scales.min() >= 0.11 - 1e-6
    summary = json.loads(CliRunner().invoke(main, ["analyze", SAMPLE, "--quality", "2", "--json"]).stdout)
    h = context_headroom([(symbols, scales)])
    assert h["bits"] == pytest.approx(summary["conditional_bits"], rel=1e-3)
    for key in ("scale_saved_bits", "spatial_saved_bits", "channel_saved_bits"):
        assert abs(h[key]) < 0.2 * h["bits"]


def test_analyze_cli():
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", SAMPLE, "--quality", "2", "--json"])
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s["total_hyperprior_bits"] == pytest.approx(s["conditional_bits"] + s["side_bits"])
    assert s["mutual_information_estimate_bits"] == pytest.approx(s["factorized_bits"] - s["conditional_bits"])
    assert s["bpp"]["conditional"] == pytest.approx(s["conditional_bits"] / s["pixels"])
    assert len(s["channels"]) == 192
    assert sum(c["conditional_bits"] for c in s["channels"]) == pytest.approx(s["conditional_bits"], rel=1e-6)
    # a higher quality spends more bits on ŷ
    high = json.loads(runner.invoke(main, ["analyze", SAMPLE, "--quality", "6", "--json"]).stdout)
    assert high["conditional_bits"] > s["conditional_bits"]
    text = runner.invoke(main, ["analyze", SAMPLE, "--quality", "2", "--channels", "3"])
    assert text.exit_code == 0, text.output
    assert "I(ŷ; ẑ) estimate" in text.stdout
    assert len([ln for ln in text.stdout.splitlines() if ln.strip()[:1].isdigit()]) == 3


def test_analyze_cli_bad_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    result = CliRunner().invoke(main, ["analyze", str(bad)])
    assert result.exit_code == 2
    assert "error" in result.output and "Traceback" not in result.output
