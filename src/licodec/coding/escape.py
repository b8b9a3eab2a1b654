"""Bit-level side channel for values outside an entropy model's table (escape coding).

An entropy model's table covers a finite range of symbols. A value beyond it is coded as the
range's edge symbol plus its distance from the edge, written here with the Elias gamma code
(Elias, "Universal codeword sets and representations of the integers", IEEE Trans. IT 1975):
``n >= 0`` is sent as gamma(n + 1) — ``floor(log2(n+1))`` zeros, then ``n + 1`` in binary.
So the round trip is exact for *any* integer; nothing is clipped.
"""

from __future__ import annotations

from licodec.errors import CorruptFileError


class BitWriter:
    def __init__(self) -> None:
        self._bits: list[int] = []

    def write_gamma(self, n: int) -> None:
        if n < 0:
            raise ValueError("gamma code takes non-negative integers")
        v = n + 1
        width = v.bit_length()
        self._bits.extend([0] * (width - 1))
        self.write_bits(v, width)

    def write_bits(self, value: int, width: int) -> None:
        """``value``'s ``width`` low bits, most significant first."""
        self._bits.extend((value >> i) & 1 for i in range(width - 1, -1, -1))

    def getvalue(self) -> bytes:
        bits = self._bits + [0] * (-len(self._bits) % 8)
        return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))


class BitReader:
    def __init__(self, data: bytes, what: str = "escape stream") -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _bit(self) -> int:
        byte = self._pos >> 3
        if byte >= len(self._data):
            raise CorruptFileError(f"{self._what} ended early")
        bit = (self._data[byte] >> (7 - (self._pos & 7))) & 1
        self._pos += 1
        return bit

    def read_gamma(self) -> int:
        zeros = 0
        while self._bit() == 0:
            zeros += 1
            if zeros > 64:
                raise CorruptFileError(f"malformed code in {self._what}")
        return self.read_bits(zeros, 1) - 1

    def read_bits(self, width: int, value: int = 0) -> int:
        """``width`` more bits appended to ``value``, most significant first."""
        for _ in range(width):
            value = (value << 1) | self._bit()
        return value

    def at_end(self) -> bool:
        """Whether only zero padding, less than a byte of it, is left."""
        rest = len(self._data) * 8 - self._pos
        return rest == 0 or (rest < 8 and self._data[-1] & ((1 << rest) - 1) == 0)
