"""Orientation search: the eight orientations, their round trip through a .lic file, the search's
choice, the container's version 2, and the options that expose it."""

import struct
import zlib

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import licodec
from licodec import orientation
from licodec.cli import main
from licodec.coding import container
from licodec.errors import CorruptFileError, UnsupportedVersionError
from licodec.eval.lic import EncoderOptions, resolve_model, split_options
from licodec.image_io import image_to_tensor, load_image, pad_to_multiple
from licodec.orientation import ORIENTATIONS, best_orientation, describe, orient, oriented_size, rd_cost, unorient
from test_default_model import kodak_or_sample


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """A non-square crop whose sides are not multiples of the models' 64."""
    arr, _ = load_image(kodak_or_sample())
    return np.ascontiguousarray(arr[:72, :136])


def as_array(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


def test_the_eight_orientations_are_distinct_and_invert():
    x = torch.arange(15.0).view(1, 1, 3, 5)
    seen = set()
    for k in range(ORIENTATIONS):
        y = orient(x, k)
        assert tuple(y.shape[-2:]) == oriented_size(3, 5, k)
        assert torch.equal(unorient(y, k), x)
        seen.add(tuple(y.flatten().tolist()) + tuple(y.shape))
    assert len(seen) == ORIENTATIONS
    assert torch.equal(orient(x, 1)[0, 0, 0], torch.tensor([4.0, 9.0, 14.0]))  # 90° counter-clockwise
    assert describe(0) == "as is" and describe(6) == "mirrored, rotated 180°"


@pytest.mark.parametrize("k", range(ORIENTATIONS))
def test_a_file_coded_in_any_orientation_decodes_to_the_picture(crop, monkeypatch, k):
    """With orientation k forced, the file holds exactly the coding of the oriented picture, and
    decoding turns it back: the same pixels as coding the oriented picture and undoing it by hand."""
    monkeypatch.setattr(orientation, "best_orientation", lambda net, x, q: k)
    data = licodec.compress(crop, quality=2, orient=True)
    header = licodec.read_header(data)
    assert header.orientation == k and data[4] == (2 if k else 1) and data[5] == k
    oriented = np.ascontiguousarray(as_array(orient(torch.from_numpy(crop).permute(2, 0, 1)[None], k)))
    by_hand = np.array(licodec.decompress(licodec.compress(oriented, quality=2)))
    expected = as_array(unorient(torch.from_numpy(by_hand).permute(2, 0, 1)[None], k))
    decoded = np.asarray(licodec.decompress(data))
    assert decoded.shape == crop.shape
    assert np.array_equal(decoded, expected)


def test_grayscale_keeps_its_mode_in_a_rotated_file(crop, monkeypatch):
    monkeypatch.setattr(orientation, "best_orientation", lambda net, x, q: 3)
    gray = np.ascontiguousarray(crop[..., 1])
    restored = licodec.decompress(licodec.compress(gray, quality=1, orient=True))
    assert restored.mode == "L" and restored.size == (gray.shape[1], gray.shape[0])


def test_search_picks_the_cheapest_orientation_and_the_file_is_no_worse(crop):
    net, _ = licodec.api.get_model()
    x = image_to_tensor(crop)
    costs = [rd_cost(net, orient(x, k), 4.0) for k in range(ORIENTATIONS)]
    k = best_orientation(net, x, 4.0)
    assert costs[k] == min(costs)
    assert max(costs) > min(costs)  # the model is not equivariant: there is something to gain
    data = licodec.compress(crop, quality=4, orient=True)
    assert licodec.read_header(data).orientation == k
    plain = licodec.compress(crop, quality=4)
    lam = net.lam(4.0)

    def real_cost(blob: bytes) -> float:
        err = np.asarray(licodec.decompress(blob), dtype=np.float64) - crop
        return 8 * len(blob) / (crop.shape[0] * crop.shape[1]) + lam * np.mean(err**2)

    # the estimate the search minimizes is the coded rate up to the header and the coder's overhead
    assert real_cost(data) <= real_cost(plain) * 1.01


def test_container_versions_and_flags():
    fields = {"model": "m", "digest": bytes(8), "height": 5, "width": 7, "channels": 3, "quality": 1.0, "shape": (1, 1)}
    v1 = container.pack(fields, [b"ab"])
    assert v1[4:6] == bytes([1, 0]) and container.unpack(v1)[0].orientation == 0
    v2 = container.pack({**fields, "orientation": 5}, [b"ab"])
    assert v2[4:6] == bytes([2, 5]) and container.unpack(v2)[0].orientation == 5
    with pytest.raises(ValueError):
        container.pack({**fields, "orientation": 8}, [b"ab"])

    def patched(data: bytes, version: int, flags: int) -> bytes:
        body = bytearray(data[:-4])
        body[4:6] = bytes([version, flags])
        return bytes(body) + struct.pack("<I", zlib.crc32(body))

    for version, flags in [(1, 3), (2, 0), (2, 8), (2, 0x83)]:
        with pytest.raises(CorruptFileError, match="flags"):
            container.unpack(patched(v1, version, flags))
    with pytest.raises(UnsupportedVersionError, match="versions 1 to 4"):
        container.unpack(patched(v1, 5, 0))


def test_cli_and_eval_options(crop, tmp_path, monkeypatch):
    from PIL import Image

    src = tmp_path / "a.png"
    Image.fromarray(crop).save(src)
    monkeypatch.setattr(orientation, "best_orientation", lambda net, x, q: 6)
    r = CliRunner().invoke(main, ["compress", str(src), "--orient", "--quality", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["info", str(tmp_path / "a.lic")])
    assert "orientation   6 (coded mirrored, rotated 180°)" in r.output
    r = CliRunner().invoke(main, ["compress", str(src), "--orient", "--size", "600", "-o", str(tmp_path / "b.lic")])
    assert r.exit_code == 0, r.output
    assert licodec.read_header((tmp_path / "b.lic").read_bytes()).orientation == 6
    assert (tmp_path / "b.lic").stat().st_size <= 600

    assert split_options("default+orient+refine50") == ("default", EncoderOptions(50, True))
    assert split_options("x.safetensors+nofilter") == ("x.safetensors", EncoderOptions(postfilter=False))
    assert split_options("x.safetensors") == ("x.safetensors", EncoderOptions())
    assert resolve_model("default+orient+refine5") == f"{licodec.models.DEFAULT}+refine5+orient"


def test_orientation_combines_with_refinement(crop, monkeypatch):
    """The search picks the orientation, then refinement optimizes that picture's latents: the
    file's streams are exactly the refined coding of the turned picture (72×136 → 136×72)."""
    monkeypatch.setattr(orientation, "best_orientation", lambda net, x, q: 1)
    data = licodec.compress(crop, quality=3, refine=2, orient=True)
    header, streams = container.unpack(data)
    assert header.orientation == 1 and header.shape == (3, 2)  # 136×72 padded to 192×128, ẑ at 1/64
    net, _ = licodec.api.get_model()
    x = pad_to_multiple(orient(image_to_tensor(crop), 1), net.downsample)
    with torch.no_grad():
        assert net.compress(x, 3.0, refine=2)["strings"] == streams
    assert np.asarray(licodec.decompress(data)).shape == crop.shape
