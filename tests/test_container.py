"""The .lic container: fields round-trip; bad files raise specific errors."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.coding import container
from licodec.errors import CorruptFileError, FormatError, NotLicFileError, TruncatedFileError, UnsupportedVersionError

FIELDS = {"model": "mbt2018-mean", "digest": bytes(range(8)), "height": 17, "width": 33, "channels": 3,
          "quality": 2.5, "shape": (1, 1)}


def sample() -> bytes:
    return container.pack(FIELDS, [b"abc" * 10, b"", b"xyz"])


def test_roundtrip_fields_and_streams():
    header, streams = container.unpack(sample())
    assert (header.model, header.digest, header.height, header.width) == ("mbt2018-mean", bytes(range(8)), 17, 33)
    assert header.quality == 2.5 and header.shape == (1, 1) and header.channels == 3
    assert streams == [b"abc" * 10, b"", b"xyz"]
    assert header.total_bytes == len(sample())


def test_layout_matches_documentation():
    data = sample()
    assert data[:4] == b"\x89LIC" and data[4] == 1 and data[6] == len("mbt2018-mean")
    pos = 7 + 12 + 8
    assert struct.unpack_from("<II", data, pos) == (17, 33)


def test_not_lic():
    with pytest.raises(NotLicFileError):
        container.unpack(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(NotLicFileError):
        container.unpack(b"")


def test_future_version():
    data = bytearray(sample())
    data[4] = 9
    with pytest.raises(UnsupportedVersionError):
        container.unpack(bytes(data))


@pytest.mark.parametrize("cut", [5, 10, 30, 60, -1])
def test_truncated(cut):
    with pytest.raises(TruncatedFileError):
        container.unpack(sample()[:cut])


def test_trailing_bytes_and_bitflips_are_corruption():
    with pytest.raises(CorruptFileError):
        container.unpack(sample() + b"\0")
    data = bytearray(sample())
    data[-10] ^= 1
    with pytest.raises(CorruptFileError):
        container.unpack(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_any_single_bitflip_is_detected(pos, bit):
    data = bytearray(sample())
    pos %= len(data)
    data[pos] ^= 1 << bit
    with pytest.raises(FormatError):
        container.unpack(bytes(data))
