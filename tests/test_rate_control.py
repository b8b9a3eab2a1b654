"""Rate control over the continuous quality knob: --size never exceeded, within 3 % when reachable."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import licodec
from exactness import random_model
from licodec import models, orientation
from licodec.coding import container
from licodec.cli import main
from licodec.errors import InvalidOptionError, TargetUnreachableError
from licodec.rate_control import _psnr, compress_to_target


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("rc") / "m.safetensors"
    models.save_weights(random_model("bmshj2018-hyperprior", seed=11), path)
    return path


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:128, 0:192]
    base = np.stack([128 + 90 * np.sin(xx / (5 + c) + yy / 11) for c in range(3)], axis=2)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def test_size_target_never_exceeded_and_close(image, weights):
    """Without the post-filter: a random model's filter (up to 465 bytes here) would dwarf how
    its streams grow with the quality."""
    lo = len(licodec.compress(image, weights=weights, quality=1, postfilter=False))
    hi = len(licodec.compress(image, weights=weights, quality=8, postfilter=False))
    assert lo < hi
    for frac in (0.3, 0.6, 0.9):
        target = int(lo + frac * (hi - lo))
        data = compress_to_target(image, weights=weights, size=target, postfilter=False)
        assert len(data) <= target
        assert len(data) >= 0.97 * target, (len(data), target)
        assert 1 < licodec.read_header(data).quality < 8


def test_bpp_and_psnr_targets(image, weights):
    pixels = image.shape[0] * image.shape[1]
    q4 = licodec.compress(image, weights=weights, quality=4)
    bpp = 8 * len(q4) / pixels
    data = compress_to_target(image, weights=weights, bpp=bpp)
    assert 8 * len(data) / pixels <= bpp
    target_psnr = _psnr(image, np.asarray(licodec.decompress(q4, weights=weights))) - 0.05
    data = compress_to_target(image, weights=weights, psnr=target_psnr)
    assert _psnr(image, np.asarray(licodec.decompress(data, weights=weights))) >= target_psnr


def test_impossible_targets(image, weights):
    with pytest.raises(TargetUnreachableError):
        compress_to_target(image, weights=weights, size=10)
    with pytest.raises(TargetUnreachableError):
        compress_to_target(image, weights=weights, psnr=99)


def test_cli_rate_control(tmp_path, image, weights):
    src = tmp_path / "x.png"
    Image.fromarray(image).save(src)
    hi = len(licodec.compress(image, weights=weights, quality=6))
    r = CliRunner().invoke(main, ["compress", str(src), "--weights", str(weights), "--size", str(hi)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.lic").stat().st_size <= hi
    r = CliRunner().invoke(main, ["compress", str(src), "--weights", str(weights), "--size", "5", "-o", str(tmp_path / "y.lic")])
    assert r.exit_code == 2 and "smallest" in r.output and not (tmp_path / "y.lic").exists()


def test_size_target_drops_a_post_filter_that_does_not_fit(image, weights):
    """With the filter on, a trial file over the budget only by its filter is kept without it:
    the same streams, never over the target."""
    filtered = licodec.compress(image, weights=weights, quality=8)
    header, streams = container.unpack(filtered)
    assert header.postfilter
    target = len(filtered) - 2
    data = compress_to_target(image, weights=weights, size=target)
    top, top_streams = container.unpack(data)
    assert len(data) <= target and top.quality == 8 and not top.postfilter and top_streams == streams


def test_orientation_is_searched_once_for_all_trials(image, weights, monkeypatch):
    calls = []
    monkeypatch.setattr(orientation, "best_orientation", lambda net, x, q: calls.append(q) or 5)
    lo, hi = (len(licodec.compress(image, weights=weights, quality=q, orientation=5, postfilter=False)) for q in (1, 8))
    data = compress_to_target(image, weights=weights, size=(lo + hi) // 2, orient=True, postfilter=False)
    assert len(calls) == 1 and licodec.read_header(data).orientation == 5 and len(data) <= (lo + hi) // 2


@pytest.mark.parametrize("k", [-1, 8, 2.0, True])
def test_an_impossible_orientation_is_refused(image, weights, k):
    with pytest.raises(InvalidOptionError, match="orientation"):
        licodec.compress(image, weights=weights, orientation=k)
