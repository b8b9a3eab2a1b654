"""Classical codec round trips and the --codecs grammar (licodec.eval.classical / codecs)."""

from __future__ import annotations

import numpy as np
import pytest

from licodec.errors import InvalidOptionError
from licodec.eval import metrics
from licodec.eval.classical import CLASSICAL, library_versions
from licodec.eval.codecs import CodecSpec, parse_codecs, resolve_specs

MAGIC = {
    "jpeg444": b"\xff\xd8\xff", "jpeg420": b"\xff\xd8\xff", "webp": b"RIFF",
    "avif444": b"\x00\x00\x00", "jpeg2000": b"\x00\x00\x00\x0cjP  ", "jpegxl": b"\xff\x0a",
}


def synthetic(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth photo-like test image: gradients, a disc, edges and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / 17.0) * np.cos(yy / 23.0)
    g = 255 * yy / h
    b = np.where((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(h, w) / 3) ** 2, 200.0, 40.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", list(CLASSICAL))
def test_round_trip(name):
    codec = CLASSICAL[name]
    rgb = synthetic()
    n = len(codec.default_settings)
    lo, hi = codec.default_settings[n // 3], codec.default_settings[-2]  # a low and a high quality
    sizes, psnrs = [], []
    for setting in (lo, hi):
        data = codec.encode(rgb, setting, 1)
        assert isinstance(data, bytes) and data.startswith(MAGIC[name]), data[:12]
        out = codec.decode(data, 1)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        sizes.append(len(data))
        psnrs.append(metrics.psnr(rgb, out))
    assert sizes[1] > sizes[0], sizes  # higher quality costs more bits
    assert psnrs[1] > psnrs[0] > 20, psnrs
    # codecs are deterministic: the report's re-encode reproduces the measured file
    assert codec.encode(rgb, hi, 1) == codec.encode(rgb, hi, 1)


def test_jpeg2000_hits_its_target_rate():
    rgb = synthetic(128, 160)
    data = CLASSICAL["jpeg2000"].encode(rgb, 1.0, 1)
    assert 0.8 < 8 * len(data) / (128 * 160) < 1.1


def test_avif_is_444_and_jpeg_variants_differ():
    rgb = synthetic()
    assert CLASSICAL["jpeg444"].encode(rgb, 50, 1) != CLASSICAL["jpeg420"].encode(rgb, 50, 1)
    from PIL import Image
    import io

    with Image.open(io.BytesIO(CLASSICAL["jpeg420"].encode(rgb, 50, 1))) as im:
        assert im.layer[0][1:3] == (2, 2)  # luma sampled 2x2 = 4:2:0
    with Image.open(io.BytesIO(CLASSICAL["jpeg444"].encode(rgb, 50, 1))) as im:
        assert im.layer[0][1:3] == (1, 1)


def test_library_versions():
    v = library_versions()
    for key in ("pillow", "libjpeg", "libwebp", "libavif", "openjpeg", "libjxl"):
        assert v.get(key) not in (None, "unavailable"), key


def test_parse_codecs_grammar():
    specs = parse_codecs("lic:default@1,2.5,4,jpeg,webp@50,75, jpegxl")
    assert specs == [CodecSpec("lic:default", (1.0, 2.5, 4.0)), CodecSpec("jpeg"),
                     CodecSpec("webp", (50.0, 75.0)), CodecSpec("jpegxl")]


def test_resolve_expands_aliases_and_defaults():
    specs = resolve_specs(parse_codecs("jpeg,avif@30,jp2,jpeg444@50"))
    names = [s.name for s in specs]
    assert names == ["jpeg444", "jpeg420", "avif444", "jpeg2000"]
    assert specs[0].settings == CLASSICAL["jpeg444"].default_settings + ((50.0,) if 50.0 not in CLASSICAL["jpeg444"].default_settings else ())
    assert specs[2].settings == (30.0,)


def test_resolve_lic_default_names_the_model():
    from licodec import models

    specs = resolve_specs(parse_codecs("lic,lic:default@3"))
    assert specs == [CodecSpec(f"lic:{models.DEFAULT}", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0))]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("jpeg,,webp", "empty item"),
    ("50,jpeg", "does not follow"),
    ("jpeg,50", "does not follow"),
    ("jpeg@", "no settings"),
    ("jpeg@abc", "not a number"),
    ("jpeg@nan", "finite"),
    ("bogus", "unknown codec"),
    ("webp@150", "outside"),
    ("lic:nosuchmodel", "unknown model"),
    ("lic:default@0", "positive"),
    ("jpe g", "bad codec name"),
])
def test_bad_codec_lists(text, message):
    with pytest.raises(InvalidOptionError, match=message):
        resolve_specs(parse_codecs(text))
