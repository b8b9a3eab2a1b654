"""The ``.lic`` container, versions 1 to 4 (byte layout documented in ``docs/format.md``).

All integers little endian::

    magic      4   89 4C 49 43  ("\\x89LIC")
    version    1   1; 2 when the image was coded in another orientation; 3 with a post-filter;
                   4 with a post-filter that has tone knots
    flags      1   version 1: 0; versions 2 to 4: bits 0–2 the orientation (version 2: 1–7), bits 3–7 zero
    name_len   1   n
    model      n   registry name, ASCII
    digest     8   first 8 bytes of the weights' SHA-256 state digest
    height     4   u32, image height in pixels
    width      4   u32, image width in pixels
    channels   1   1 (grayscale) or 3 (RGB) — the channel count to decode to
    quality    4   f32, the quality knob the image was coded at
    latent_h   2   u16 ┐ the ``shape`` of the model's compress() output
    latent_w   2   u16 ┘ (the lowest-resolution latent)
    n_streams  1   k
    lengths    4k  u32 each
    pf_len     2   versions 3 and 4: u16 length m ≥ 2 of the post-filter
    postfilter m   versions 3 and 4: the post-filter's payload (:mod:`licodec.postfilter`)
    streams    Σ   the entropy-coded streams, in order
    crc32      4   CRC-32 (zlib) of every preceding byte

The orientation k (:mod:`licodec.orientation`) says which of the eight rotations and mirror
images of the picture the streams hold; a writer uses version 1 when k = 0, so files coded
in the picture's own orientation stay readable by every version-1 reader. Likewise a writer uses
version 3 only for a file that holds a post-filter, which older readers must not decode without,
and version 4 only when that filter has tone knots (the high nibble of its first byte), which a
version-3 reader cannot apply.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

from licodec.errors import CorruptFileError, NotLicFileError, TruncatedFileError, UnsupportedVersionError

MAGIC = b"\x89LIC"
VERSION = 4  # the newest version this module reads and writes
_FIXED = struct.Struct("<IIBfHHB")  # height, width, channels, quality, latent_h, latent_w, n_streams


@dataclass(frozen=True)
class Header:
    model: str
    digest: bytes
    height: int
    width: int
    channels: int
    quality: float
    shape: tuple[int, int]
    stream_lengths: tuple[int, ...]
    orientation: int = 0
    postfilter: bytes = b""

    @property
    def version(self) -> int:
        return _version(self.orientation, self.postfilter)

    @property
    def header_bytes(self) -> int:
        extra = 2 + len(self.postfilter) if self.postfilter else 0
        return 4 + 3 + len(self.model) + 8 + _FIXED.size + 4 * len(self.stream_lengths) + extra

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + sum(self.stream_lengths) + 4


def _version(orientation: int, postfilter: bytes) -> int:
    """The lowest version that holds a file with this orientation and post-filter."""
    if postfilter:
        return 4 if postfilter[0] >> 4 else 3
    return 2 if orientation else 1


def pack(header_fields: dict, streams: list[bytes]) -> bytes:
    """Serialize a header (fields of :class:`Header` except ``stream_lengths``; ``orientation``
    and ``postfilter`` optional) and its streams, in the lowest version that holds them."""
    name = header_fields["model"].encode("ascii")
    orientation = int(header_fields.get("orientation", 0))
    postfilter = bytes(header_fields.get("postfilter", b""))
    if (len(name) > 255 or len(streams) > 255 or len(header_fields["digest"]) != 8 or not 0 <= orientation < 8
            or len(postfilter) == 1 or len(postfilter) > 0xFFFF):
        raise ValueError("header field out of range")
    quality = float(header_fields["quality"])
    if not math.isfinite(quality):
        raise ValueError("quality must be finite")
    h, w = header_fields["shape"]
    body = bytearray(MAGIC)
    body += bytes([_version(orientation, postfilter), orientation, len(name)]) + name + header_fields["digest"]
    body += _FIXED.pack(header_fields["height"], header_fields["width"], header_fields["channels"], quality, h, w, len(streams))
    body += b"".join(struct.pack("<I", len(s)) for s in streams)
    if postfilter:
        body += struct.pack("<H", len(postfilter)) + postfilter
    body += b"".join(streams)
    return bytes(body) + struct.pack("<I", zlib.crc32(body))


def without_postfilter(data: bytes) -> bytes:
    """The same file without its post-filter: the streams do not depend on it."""
    header, streams = unpack(data)
    if not header.postfilter:
        return data
    fields = {f: getattr(header, f) for f in ("model", "digest", "height", "width", "channels", "quality", "shape",
                                              "orientation")}
    return pack(fields, streams)


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse and verify a ``.lic`` file; raises a specific :class:`~licodec.errors.FormatError`."""
    header = parse_header(data)
    if len(data) < header.total_bytes:
        raise TruncatedFileError(f"file is truncated: {len(data)} of {header.total_bytes} bytes")
    if len(data) > header.total_bytes:
        raise CorruptFileError(f"file has {len(data) - header.total_bytes} unexpected trailing bytes")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise CorruptFileError("checksum mismatch: the file is corrupted")
    pos = header.header_bytes
    streams = []
    for n in header.stream_lengths:
        streams.append(bytes(data[pos : pos + n]))
        pos += n
    return header, streams


def parse_header(data: bytes) -> Header:
    """Read the header fields only (no checksum verification)."""
    data = bytes(data)
    if len(data) < 4 or data[:4] != MAGIC:
        raise NotLicFileError("not a .lic file (bad magic bytes)")
    if len(data) < 7:
        raise TruncatedFileError("file is truncated inside the header")
    if not 1 <= data[4] <= VERSION:
        raise UnsupportedVersionError(f"unsupported .lic format version {data[4]} (this licodec reads versions 1 to {VERSION})")
    version, flags = data[4], data[5]
    if (version == 1 and flags) or flags > 7 or (version == 2 and not flags):
        raise CorruptFileError("header is corrupted (flags)")
    n = data[6]
    pos = 7 + n + 8
    if len(data) < pos + _FIXED.size:
        raise TruncatedFileError("file is truncated inside the header")
    try:
        model = data[7 : 7 + n].decode("ascii")
    except UnicodeDecodeError:
        raise CorruptFileError("header is corrupted (model name)") from None
    digest = data[7 + n : pos]
    height, width, channels, quality, lh, lw, k = _FIXED.unpack_from(data, pos)
    pos += _FIXED.size
    if len(data) < pos + 4 * k:
        raise TruncatedFileError("file is truncated inside the header")
    lengths = struct.unpack_from(f"<{k}I", data, pos)
    if channels not in (1, 3) or height == 0 or width == 0 or not math.isfinite(quality):
        raise CorruptFileError("header is corrupted (image fields)")
    postfilter = b""
    if version >= 3:
        pos += 4 * k
        if len(data) < pos + 2:
            raise TruncatedFileError("file is truncated inside the header")
        (m,) = struct.unpack_from("<H", data, pos)
        if m < 2:
            raise CorruptFileError("header is corrupted (post-filter length)")
        if len(data) < pos + 2 + m:
            raise TruncatedFileError("file is truncated inside the header")
        postfilter = data[pos + 2 : pos + 2 + m]
        if (version == 4) != bool(postfilter[0] >> 4):  # tone knots come with version 4, and only with it
            raise CorruptFileError("header is corrupted (post-filter version)")
    return Header(model, digest, height, width, channels, quality, (lh, lw), tuple(lengths), flags, postfilter)
