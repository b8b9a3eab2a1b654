"""The shipped default model: works out of the box, decodes exactly, codes at its estimated rate."""

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from exactness import check_cross_process, check_roundtrip
from licodec import api, models
from licodec.cli import main
from licodec.coding import container
from licodec.coding.container import Header
from licodec.image_io import image_to_tensor, load_image, pad_to_multiple

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
SAMPLE = Path(models.__file__).resolve().parents[1] / "data" / "sample.png"


def kodak_or_sample() -> Path:
    return KODAK / "kodim01.png" if (KODAK / "kodim01.png").is_file() else SAMPLE


def test_default_weights_ship_and_load():
    path = models.shipped_weights(models.DEFAULT)
    assert path is not None and path.stat().st_size < 100 * 2**20
    net = models.create(models.DEFAULT)
    assert net.name == models.DEFAULT and not net.training
    assert (Path(path).with_suffix(".md")).is_file(), "model card missing"


def test_default_model_exact_and_rate_within_one_percent_on_kodak():
    net = models.create(models.DEFAULT)
    arr, _ = load_image(kodak_or_sample())
    x = pad_to_multiple(image_to_tensor(arr), net.downsample)
    for q in (1.0, 4.0, 8.0):
        enc = check_roundtrip(net, x, quality=q)  # y_hat bit-exact, payload within 1 % of the estimate
        payload = sum(len(s) for s in enc["strings"])
        header = Header(net.name, b"\0" * 8, *arr.shape[:2], 3, q, enc["shape"], tuple(len(s) for s in enc["strings"]))
        assert header.total_bytes - payload < 64  # the fixed header is small


def test_default_model_decodes_in_fresh_process(tmp_path):
    net = models.create(models.DEFAULT)
    arr, _ = load_image(SAMPLE)
    check_cross_process(net, pad_to_multiple(image_to_tensor(arr), net.downsample), tmp_path, quality=5.5)


def test_demo_prints_bytes_bpp_psnr_and_times():
    r = CliRunner().invoke(main, ["demo"])
    assert r.exit_code == 0, r.output
    for key in ("bytes", "bpp", "PSNR", "compress", "decompress"):
        assert key in r.output
    psnr = float(r.output.split("PSNR")[1].split("dB")[0])
    assert psnr > 22  # a trained model, not noise


def test_trained_default_beats_untrained_by_far():
    net = models.create(models.DEFAULT)
    arr, _ = load_image(SAMPLE)
    x = pad_to_multiple(image_to_tensor(arr), net.downsample)
    with torch.no_grad():
        x_hat = net(x, 4.0)["x_hat"].clamp(0, 1)
    mse = float(((x_hat - x) ** 2).mean())
    assert 10 * np.log10(1 / mse) > 22


def test_api_models_run_channels_last_and_decode_like_any_layout():
    """The API keeps its models in channels_last (faster convolutions on CPU); the exact
    entropy-parameter path computes the same integers in any layout, so a file it codes decodes
    to the same ŷ under a model in the default layout."""
    net, _ = api.get_model()
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in net.parameters() if p.dim() == 4)
    arr, _ = load_image(SAMPLE)
    data = api.compress(arr, quality=3)
    header, streams = container.unpack(data)
    plain = models.create(models.DEFAULT)
    assert all(p.is_contiguous() for p in plain.parameters())
    with torch.inference_mode():
        a = net.decompress(streams, header.shape, header.quality)
        b = plain.decompress(streams, header.shape, header.quality)
    assert torch.equal(a["y_hat"], b["y_hat"])
    assert (a["x_hat"] - b["x_hat"]).abs().max() < 1e-4  # the float synthesis differs at most in rounding
