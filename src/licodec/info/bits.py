"""Bit strings: the representation every reference code in :mod:`licodec.info` produces.

A coded message is a ``str`` made only of the characters ``'0'`` and ``'1'``, most significant
(first transmitted) bit first. That keeps codewords readable in tables, tests and docs
(``"110"`` is the Shannon codeword of 吐司 in the breakfast example) and makes the length of a
code, in bits, simply ``len(bits)``. :func:`pack_bits` / :func:`unpack_bits` convert to and
from real bytes (zero padded at the end) when a byte count is needed.
"""

from __future__ import annotations

__all__ = ["check_bits", "pack_bits", "unpack_bits", "packed_size"]

_BIT_CHARS = frozenset("01")


def check_bits(bits: str) -> str:
    """Return ``bits`` unchanged if it is a ``str`` of ``'0'``/``'1'``, else raise ``ValueError``."""
    if not isinstance(bits, str):
        raise ValueError(f"bits must be a str of '0'/'1' characters, got {type(bits).__name__}")
    if not _BIT_CHARS.issuperset(bits):
        bad = next(c for c in bits if c not in _BIT_CHARS)
        raise ValueError(f"bits may contain only '0' and '1', found {bad!r}")
    return bits


def packed_size(n_bits: int) -> int:
    """Bytes needed to store ``n_bits`` bits: ``ceil(n_bits / 8)``."""
    if n_bits < 0:
        raise ValueError(f"bit count must be >= 0, got {n_bits}")
    return (n_bits + 7) // 8


def pack_bits(bits: str) -> bytes:
    """Pack a bit string into bytes, first bit in the most significant position, zero padded.

    The bit count is not stored: keep ``len(bits)`` to undo the padding with :func:`unpack_bits`.
    """
    check_bits(bits)
    if not bits:
        return b""
    pad = (-len(bits)) % 8
    return int(bits + "0" * pad, 2).to_bytes((len(bits) + pad) // 8, "big")


def unpack_bits(data: bytes, n_bits: int) -> str:
    """Inverse of :func:`pack_bits`: the first ``n_bits`` bits of ``data`` as a bit string."""
    if n_bits < 0 or n_bits > 8 * len(data):
        raise ValueError(f"cannot take {n_bits} bits from {len(data)} bytes")
    if n_bits == 0:
        return ""
    return format(int.from_bytes(data, "big"), f"0{8 * len(data)}b")[:n_bits]
