"""Byte-level entropy of a file next to what real coders make of it (backs ``lic entropy``).

For a byte string of N bytes this measures the plug-in order-0 entropy H(X) and the order-1
conditional entropy H(X_i | X_{i-1}) (:func:`licodec.info.measures.byte_entropy`), then codes
the bytes with the reference coders — canonical Huffman and static arithmetic coding built on
the file's own byte histogram, and adaptive arithmetic coding (order 0, no table) — decodes
them back, and compares the sizes with zlib, bz2, lzma and zstd at their strongest settings.

Side information counted for the reference coders, so that the totals are comparable with
the general-purpose compressors: 8 bytes for N, plus the model description — Huffman: 256
code lengths of 1 byte each; static arithmetic: 256 frequencies of 2 bytes each (the model
is quantized to a total of at most 65535); adaptive arithmetic: none.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any

import numpy as np

from licodec.info.arithmetic import AdaptiveArithmeticCode, StaticArithmeticCode
from licodec.info.bits import packed_size
from licodec.info.huffman import huffman_code
from licodec.info.measures import byte_entropy

__all__ = ["byte_coding_report", "COUNT_BYTES"]

#: bytes used to transmit N (uint64)
COUNT_BYTES = 8
_HUFFMAN_TABLE_BYTES = 256
_STATIC_TABLE_BYTES = 512
_STATIC_MAX_TOTAL = 0xFFFF


def _coded(name: str, coder: Any, symbols: list[int], side_bytes: int) -> dict[str, Any]:
    bits = coder.encode(symbols)
    if coder.decode(bits, len(symbols)) != symbols:  # pragma: no cover - would be a bug
        raise RuntimeError(f"{name} did not round-trip")
    payload = packed_size(len(bits))
    total = payload + side_bytes
    return {
        "payload_bits": len(bits),
        "payload_bytes": payload,
        "side_bytes": side_bytes,
        "total_bytes": total,
        "bits_per_byte": 8 * total / len(symbols),
        "roundtrip": True,
    }


def _compressors(data: bytes) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, level: int, packed: bytes, unpack: Any) -> None:
        if unpack(packed) != data:  # pragma: no cover - would be a library bug
            raise RuntimeError(f"{name} did not round-trip")
        size = len(packed)
        out[name] = {"level": level, "bytes": size, "bits_per_byte": 8 * size / len(data)}

    add("zlib", 9, zlib.compress(data, 9), zlib.decompress)
    add("bz2", 9, bz2.compress(data, 9), bz2.decompress)
    add("lzma", 9, lzma.compress(data, preset=9), lzma.decompress)
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        out["zstd"] = {"level": 19, "bytes": None, "bits_per_byte": None}
    else:
        add(
            "zstd",
            19,
            zstandard.ZstdCompressor(level=19).compress(data),
            lambda b: zstandard.ZstdDecompressor().decompress(b),
        )
    return out


def byte_coding_report(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Entropies of ``data`` and its size under each coder, as a JSON-ready dict.

    Keys: ``n_bytes``; ``entropy_order0_bits_per_byte`` and ``entropy_order1_bits_per_byte``
    (``None`` for a 1-byte input); ``bound_order0_bytes`` = N·H(X)/8 and
    ``bound_order1_bytes`` = 1 + (N-1)·H(X_i|X_{i-1})/8 (first byte sent raw), the ideal sizes
    without any model description;
    ``coders`` (``huffman``, ``arithmetic_static``, ``arithmetic_adaptive``: payload and side
    sizes, actually coded and decoded); ``compressors`` (``zlib``, ``bz2``, ``lzma``, ``zstd``).
    Raises ``ValueError`` for empty input.
    """
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise ValueError("empty input: the entropy of 0 bytes is undefined")
    h0 = byte_entropy(data, 0)
    h1 = byte_entropy(data, 1) if n >= 2 else None
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    weights = {b: int(c) for b, c in enumerate(counts)}
    symbols = list(data)
    coders = {
        "huffman": _coded(
            "huffman", huffman_code(weights), symbols, COUNT_BYTES + _HUFFMAN_TABLE_BYTES
        ),
        "arithmetic_static": _coded(
            "arithmetic_static",
            StaticArithmeticCode(weights, max_total=_STATIC_MAX_TOTAL),
            symbols,
            COUNT_BYTES + _STATIC_TABLE_BYTES,
        ),
        "arithmetic_adaptive": _coded(
            "arithmetic_adaptive", AdaptiveArithmeticCode(range(256)), symbols, COUNT_BYTES
        ),
    }
    return {
        "n_bytes": n,
        "entropy_order0_bits_per_byte": h0,
        "entropy_order1_bits_per_byte": h1,
        "bound_order0_bytes": n * h0 / 8,
        "bound_order1_bytes": None if h1 is None else (n - 1) * h1 / 8 + 1,
        "coders": coders,
        "compressors": _compressors(data),
    }
