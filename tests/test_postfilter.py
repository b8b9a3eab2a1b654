"""The post-filter: exact integer arithmetic, its payload, the encoder's fit, and its trip through a
.lic file (container versions 3 and 4), the API and the CLI."""

import math
import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import licodec
from licodec import api, postfilter
from licodec.cli import main
from licodec.coding import container
from licodec.coding.escape import BitReader, BitWriter
from licodec.errors import CorruptFileError, TruncatedFileError
from licodec.eval.metrics import psnr
from licodec.image_io import load_image
from licodec.postfilter import MAX_COEF, PostFilter, fit, n_coefficients, offsets
from test_default_model import SAMPLE


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """The bundled 384×256 sample: on pictures much smaller the filter rarely pays for its bytes."""
    return load_image(SAMPLE)[0]


def hat(knots: tuple[int, ...], k: int, luma: int) -> Fraction:
    """α_k(L): linear interpolation between the knots, L clamped to [t_1, t_K]."""
    if not knots:
        return Fraction(1)
    t = min(max(luma, knots[0]), knots[-1])
    for a, b in zip(range(len(knots)), range(1, len(knots))):
        if knots[a] <= t <= knots[b]:
            frac = Fraction(t - knots[a], knots[b] - knots[a])
            return 1 - frac if k == a else frac if k == b else Fraction(0)
    raise AssertionError


def reference_apply(pf: PostFilter, image: np.ndarray) -> np.ndarray:
    """The module docstring's formula, written out term by term in Python integers and fractions."""
    r, offs, k = pf.radius, offsets(pf.radius), pf.n_knots
    x = np.pad(image.astype(object), ((r, r), (r, r), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    for c in range(3):
        co = pf.coefs[c].tolist()
        tone = co[3 * len(offs) :]
        for n in range(h):
            for m in range(w):
                centre = x[n + r, m + r]
                e = Fraction(0)
                for cc in range(3):
                    for t, (i, j) in enumerate(offs):
                        e += co[cc * len(offs) + t] * (x[n + r + i, m + r + j, cc] + x[n + r - i, m + r - j, cc] - 2 * centre[cc])
                for kk in range(k):
                    v, b = tone[4 * kk : 4 * kk + 3], tone[4 * kk + 3]
                    e += hat(pf.knots, kk, int(sum(centre))) * (sum(v[cc] * (centre[cc] - 128) for cc in range(3)) + b)
                out[n, m, c] = min(255, max(0, int(centre[c]) + math.floor(e / (1 << pf.shift) + Fraction(1, 2))))
    return out


@pytest.mark.parametrize("radius", postfilter.RADII)
@pytest.mark.parametrize("knots", [(), (0, 765), (100, 101, 300, 500)])
def test_apply_is_the_exact_integer_formula(radius, knots, rng):
    """Even with the largest coefficients a file may hold, and the widest knot interval, the
    float64 convolution and the integer interpolation are exact."""
    image = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    k = max(1, len(knots))
    coefs = rng.integers(-MAX_COEF, MAX_COEF + 1, (3, n_coefficients(radius, k)))
    for shift in (4, 12):
        big = PostFilter(radius, shift, coefs, knots)
        assert np.array_equal(big.apply(image), reference_apply(big, image))
    small = PostFilter(radius, 8, rng.integers(-40, 41, (3, n_coefficients(radius, k))), knots)
    assert np.array_equal(small.apply(image), reference_apply(small, image))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(postfilter.RADII), st.sampled_from(postfilter.SHIFTS), st.integers(0, 2**32 - 1),
       st.integers(0, 20), st.lists(st.integers(0, postfilter.MAX_LUMA), max_size=postfilter.MAX_KNOTS, unique=True))
def test_payload_round_trip_and_size(radius, shift, seed, magnitude_bits, knots):
    knots = tuple(sorted(knots)) if len(knots) > 1 else ()
    k = max(1, len(knots))
    coefs = np.random.default_rng(seed).integers(-(1 << magnitude_bits), (1 << magnitude_bits) + 1,
                                                 (3, n_coefficients(radius, k)))
    pf = PostFilter(radius, shift, np.clip(coefs, -MAX_COEF, MAX_COEF), knots)
    data = pf.to_bytes()
    back = PostFilter.from_bytes(data)
    assert (back.radius, back.shift, back.knots) == (radius, shift, knots) and np.array_equal(back.coefs, pf.coefs)
    assert len(data) == -(-postfilter.payload_bits(pf.coefs, k) // 8)


def test_bad_payloads_are_corruption(rng):
    data = PostFilter(2, 8, rng.integers(-300, 301, (3, n_coefficients(2)))).to_bytes()
    for bad in [data[:1], bytes([5]) + data[1:], bytes([2, 3]) + data[2:], data[:-3], data + b"\x00",
                data[:-1] + bytes([data[-1] | 1]) if data[-1] & 1 == 0 else data + b"\x80"]:
        with pytest.raises(CorruptFileError):
            PostFilter.from_bytes(bad)
    too_big = PostFilter(1, 8, np.full((3, n_coefficients(1)), MAX_COEF + 1)).to_bytes()
    with pytest.raises(CorruptFileError, match="out of range"):
        PostFilter.from_bytes(too_big)
    coefs = rng.integers(-9, 10, (3, n_coefficients(1, 3)))
    for knots in [(5, 5, 9), (9, 5, 700), (0, 100, 766)]:  # not increasing, or above R + G + B = 765
        with pytest.raises(CorruptFileError, match="tone knots"):
            PostFilter.from_bytes(PostFilter(1, 8, coefs, knots).to_bytes())
    with pytest.raises(CorruptFileError, match="header"):  # nine knots
        PostFilter.from_bytes(bytes([1 | 8 << 4]) + data[1:])


def test_bit_reader_reads_raw_bits_and_sees_the_end():
    w = BitWriter()
    w.write_bits(0b1011, 4)
    w.write_gamma(6)
    r = BitReader(w.getvalue())
    assert r.read_bits(4) == 0b1011 and not r.at_end()
    assert r.read_gamma() == 6 and r.at_end()


def test_fit_finds_a_colour_cast_and_a_blur(crop):
    """Decoded = the picture blurred, darker and with its red and green mixed: the fitted filter
    undoes much of it, and pays for its bytes at a normal λ, not at a tiny one."""
    x = crop.astype(np.float64)
    blur = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 5
    decoded = np.clip(np.round(blur @ np.array([[0.9, 0.05, 0], [0.05, 0.9, 0], [0, 0, 0.95]]) - 4), 0, 255).astype(np.uint8)
    pf = fit(decoded, crop, lam=0.0067)
    assert pf is not None
    assert psnr(crop, pf.apply(decoded)) > psnr(crop, decoded) + 3
    assert fit(decoded, crop, lam=1e-7) is None


def test_fit_finds_a_tone_dependent_colour_cast(crop):
    """Magenta midtones: a cast that is not an affine function of the colour, so no single colour
    matrix undoes it; a piecewise-linear one in the tone does."""
    x = crop.astype(np.float64)
    tone = x.sum(2, keepdims=True) / 765  # 0 in the shadows, 1 in the highlights
    decoded = np.clip(np.round(x + 4 * tone * (1 - tone) * [12, -10, 12]), 0, 255).astype(np.uint8)
    one = fit(decoded, crop, lam=0.0067, knot_counts=(1,))
    best = fit(decoded, crop, lam=0.0067)
    assert one is not None and not one.knots and len(best.knots) >= 2
    assert psnr(crop, best.apply(decoded)) > psnr(crop, one.apply(decoded)) + 1


def test_fit_keeps_nothing_when_the_picture_is_already_right(crop):
    assert fit(crop, crop, lam=0.18) is None


def test_api_sends_the_filter_and_the_decoder_applies_it(crop):
    plain = licodec.compress(crop, quality=6, postfilter=False)
    filtered = licodec.compress(crop, quality=6)
    h_plain, streams_plain = container.unpack(plain)
    h, streams = container.unpack(filtered)
    assert h_plain.version == 1 and not h_plain.postfilter
    assert h.version in (3, 4) and streams == streams_plain  # the same latents, plus the filter
    unfiltered, _ = api.decode_array(plain)
    restored, _ = api.decode_array(filtered)
    assert np.array_equal(restored, PostFilter.from_bytes(h.postfilter).apply(unfiltered))
    lam = 0.0483  # λ at quality 6: the filter lowered the RD cost it was chosen by
    sse = lambda a: float(np.square(crop.astype(np.float64) - a).sum())  # noqa: E731
    assert 8 * len(filtered) + lam * sse(restored) / 3 < 8 * len(plain) + lam * sse(unfiltered) / 3


def with_crc(body: bytes | bytearray) -> bytes:
    return bytes(body) + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("knots", [(), (10, 300, 700)])
def test_container_versions_3_and_4(knots, rng):
    """Version 3 holds a filter without tone knots, version 4 one with them."""
    fields = {"model": "m", "digest": bytes(8), "height": 5, "width": 7, "channels": 3, "quality": 1.0, "shape": (1, 1)}
    version = 4 if knots else 3
    payload = PostFilter(1, 6, rng.integers(-9, 10, (3, n_coefficients(1, max(1, len(knots))))), knots).to_bytes()
    for k in (0, 6):
        data = container.pack({**fields, "orientation": k, "postfilter": payload}, [b"ab", b"c"])
        header, streams = container.unpack(data)
        assert data[4:6] == bytes([version, k]) and header.version == version and header.orientation == k
        assert header.postfilter == payload and streams == [b"ab", b"c"] and header.total_bytes == len(data)
        for cut in (35, len(data) - 8):
            with pytest.raises(TruncatedFileError):
                container.unpack(data[:cut])
    with pytest.raises(ValueError):
        container.pack({**fields, "postfilter": b"\x01"}, [b"ab"])
    pos = 7 + 1 + 8 + 17 + 8
    body = bytearray(data[:-4])
    body[pos : pos + 2] = struct.pack("<H", 1)
    with pytest.raises(CorruptFileError, match="post-filter length"):
        container.unpack(with_crc(body))
    body = bytearray(data[:-4])
    body[4] = 7 - version  # a filter with knots in a version-3 file, or one without in a version-4 file
    with pytest.raises(CorruptFileError, match="post-filter version"):
        container.unpack(with_crc(body))


def test_cli_option_and_info(crop, tmp_path):
    from PIL import Image

    src = tmp_path / "a.png"
    Image.fromarray(crop).save(src)
    r = CliRunner().invoke(main, ["compress", str(src), "--quality", "6"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["info", str(tmp_path / "a.lic")])
    assert "post-filter " in r.output and "(radius " in r.output and "tone knots" in r.output
    r = CliRunner().invoke(main, ["compress", str(src), "--quality", "6", "--no-postfilter", "-o", str(tmp_path / "b.lic")])
    assert r.exit_code == 0, r.output
    assert licodec.read_header((tmp_path / "b.lic").read_bytes()).version == 1
    data = bytearray((tmp_path / "a.lic").read_bytes())
    h = licodec.read_header(bytes(data))
    pf_at = h.header_bytes - len(h.postfilter)
    data[pf_at] = data[pf_at] & 0xF0 | 9  # radius 9: corrupt filter, fixed checksum
    (tmp_path / "c.lic").write_bytes(with_crc(data[:-4]))
    r = CliRunner().invoke(main, ["decompress", str(tmp_path / "c.lic")])
    assert r.exit_code == 2 and "post-filter is corrupted" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "c.png").exists()
