"""Prefix codes as explicit codeword tables, plus exact handling of symbol weights.

A :class:`PrefixCode` maps each symbol of positive probability to a codeword (a ``str`` of
``'0'``/``'1'``). No codeword is a prefix of another, so a concatenation of codewords decodes
left to right without separators (Cover & Thomas, 2nd ed., §5.1 "instantaneous codes").
:mod:`licodec.info.shannon` and :mod:`licodec.info.huffman` build such tables.

Weights are converted to exact rationals (:class:`fractions.Fraction`) so that lengths
⌈-log2 p⌉ and the binary expansions of cumulative probabilities are computed without rounding.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from licodec.info.bits import check_bits
from licodec.info.result import CodingResult, message_entropy_bits

__all__ = ["exact_probabilities", "neg_log2", "ceil_neg_log2", "PrefixCode"]


def _exact(symbol: Hashable, w: object) -> Fraction:
    if isinstance(w, bool):
        raise ValueError(f"weight of {symbol!r} must be a number, got {w!r}")
    if isinstance(w, numbers.Rational):
        value = Fraction(int(w.numerator), int(w.denominator))
    elif isinstance(w, Decimal):
        if not w.is_finite():
            raise ValueError(f"weight of {symbol!r} is not a finite number ({w})")
        value = Fraction(w)
    elif isinstance(w, numbers.Real):
        f = float(w)
        if not math.isfinite(f):
            raise ValueError(f"weight of {symbol!r} is not a finite number ({f})")
        value = Fraction(f)
    else:
        raise ValueError(f"weight of {symbol!r} must be a number, got {w!r}")
    if value < 0:
        raise ValueError(f"weight of {symbol!r} is negative ({w})")
    return value


def exact_probabilities(weights: Mapping[Hashable, object]) -> dict[Hashable, Fraction]:
    """Normalize non-negative finite weights to exact probabilities, keeping the mapping order.

    Integers, fractions and decimals are taken exactly, floats by their exact binary value.
    Raises ``ValueError`` for an empty mapping, a negative, nan or infinite weight, or weights
    that are all zero. Zero weights are kept (probability 0: such symbols get no codeword).
    """
    if not isinstance(weights, Mapping):
        raise ValueError("weights must be a mapping from symbol to weight")
    if not weights:
        raise ValueError("empty alphabet: at least one symbol with a positive weight is needed")
    exact = {s: _exact(s, w) for s, w in weights.items()}
    total = sum(exact.values(), Fraction(0))
    if total == 0:
        raise ValueError("all weights are zero: at least one must be positive")
    return {s: w / total for s, w in exact.items()}


def neg_log2(p: Fraction) -> float:
    """-log2 p for an exact positive rational (accurate even for tiny p)."""
    return math.log2(p.denominator) - math.log2(p.numerator)


def ceil_neg_log2(p: Fraction) -> int:
    """⌈-log2 p⌉ computed exactly: the smallest L with 2**-L <= p (0 < p <= 1)."""
    if not 0 < p <= 1:
        raise ValueError(f"probability must be in (0, 1], got {p}")
    # 2**L >= 1/p  <=>  2**L >= ceil(1/p) because 2**L is an integer
    m = -(-p.denominator // p.numerator)
    return (m - 1).bit_length()


class PrefixCode:
    """A prefix code: codeword table, encoder and decoder.

    Args:
        name: a label for reports (``"shannon"``, ``"huffman"`` ...).
        probabilities: exact probability of every symbol, in the alphabet's order (zero allowed).
        codewords: codeword of every symbol with positive probability.
    """

    def __init__(
        self,
        name: str,
        probabilities: Mapping[Hashable, Fraction],
        codewords: Mapping[Hashable, str],
    ) -> None:
        self.name = name
        self.probabilities: dict[Hashable, Fraction] = dict(probabilities)
        self.codewords: dict[Hashable, str] = {
            s: codewords[s] for s in self.probabilities if s in codewords
        }
        for s, p in self.probabilities.items():
            if (p > 0) != (s in self.codewords):
                raise ValueError(f"symbol {s!r}: codewords must exist exactly for p > 0")
        for cw in self.codewords.values():
            check_bits(cw)
            if not cw:
                raise ValueError("empty codeword")
        ordered = sorted(self.codewords.values())
        for a, b in zip(ordered, ordered[1:]):
            if b.startswith(a):
                raise ValueError(f"not a prefix code: {a!r} is a prefix of {b!r}")
        self._decode_table = {cw: s for s, cw in self.codewords.items()}
        self._lengths_used = sorted({len(cw) for cw in self.codewords.values()})

    # ------------------------------------------------------------------ properties
    @property
    def lengths(self) -> dict[Hashable, int]:
        """Codeword length L(x) of every codable symbol."""
        return {s: len(cw) for s, cw in self.codewords.items()}

    def mean_length(self) -> Fraction:
        """Expected codeword length sum_x p(x) L(x), exactly."""
        return sum(
            (self.probabilities[s] * len(cw) for s, cw in self.codewords.items()), Fraction(0)
        )

    def kraft_sum(self) -> Fraction:
        """sum_x 2**-L(x); at most 1 for any prefix code (Kraft 1949; C&T §5.2)."""
        return sum((Fraction(1, 2 ** len(cw)) for cw in self.codewords.values()), Fraction(0))

    def entropy(self) -> float:
        """H of the code's probability model, bits per symbol."""
        return sum(float(p) * neg_log2(p) for p in self.probabilities.values() if p > 0)

    def __repr__(self) -> str:
        return f"PrefixCode({self.name!r}, {self.codewords!r})"

    # ------------------------------------------------------------------ coding
    def _missing(self, symbol: Hashable) -> ValueError:
        if symbol in self.probabilities:
            return ValueError(f"symbol {symbol!r} has probability 0 and cannot be coded")
        return ValueError(f"symbol {symbol!r} is not in the code's alphabet")

    def encode(self, message: Iterable[Hashable]) -> str:
        """Concatenate the codewords of the message's symbols."""
        table = self.codewords
        out: list[str] = []
        append = out.append
        for s in message:
            try:
                append(table[s])
            except (KeyError, TypeError):
                raise self._missing(s) from None
        if not out:
            raise ValueError("empty message: nothing to encode")
        return "".join(out)

    def decode(self, bits: str, n: int | None = None) -> list[Hashable]:
        """Split ``bits`` into codewords. If ``n`` is given, exactly ``n`` symbols must result."""
        check_bits(bits)
        table = self._decode_table
        lengths = self._lengths_used
        out: list[Hashable] = []
        append = out.append
        i, end = 0, len(bits)
        while i < end:
            for length in lengths:
                symbol = table.get(bits[i : i + length], table)
                if symbol is not table:
                    append(symbol)
                    i += length
                    break
            else:
                raise ValueError(
                    f"bits do not decode: no codeword starts at bit {i} ({bits[i:i + 24]!r}...)"
                )
        if n is not None and len(out) != n:
            raise ValueError(f"decoded {len(out)} symbols, expected {n}")
        return out

    def report(self, message: Sequence[Hashable]) -> CodingResult:
        """Encode ``message``, check that it decodes back, and report b beside N·H."""
        message = list(message)
        bits = self.encode(message)
        if self.decode(bits) != message:  # pragma: no cover - would be a bug
            raise RuntimeError(f"{self.name} code did not round-trip")
        ideal = 0.0
        cache: dict[Hashable, float] = {}
        for s in message:
            if s not in cache:
                cache[s] = neg_log2(self.probabilities[s])
            ideal += cache[s]
        return CodingResult(self.name, bits, len(message), ideal, message_entropy_bits(message))
