"""The Shannon code and the Shannon–Fano–Elias code.

**Shannon code** (Shannon 1948, Part I §9, the encoding used for the fundamental theorem for a
noiseless channel; Cover & Thomas, 2nd ed., §5.4 for the lengths ⌈log 1/p⌉):
sort the symbols by decreasing probability p_1 >= p_2 >= ... , let
F_s = p_1 + ... + p_{s-1} be the cumulative probability of the symbols before s, and give s
the first L_s = ⌈-log2 p_s⌉ bits of the binary expansion of F_s. Because every later F
exceeds F_s by at least p_s >= 2**-L_s, no codeword is a prefix of another. The mean length
satisfies H <= mean(L) < H + 1.

**Shannon–Fano–Elias code** (C&T §5.9): keep the symbols in their given order, take the
midpoint F̄(x) = F(x-) + p(x)/2 of each symbol's interval and give x the first
L(x) = ⌈-log2 p(x)⌉ + 1 bits of F̄(x). No sorting is needed; the price is one extra bit,
H + 1 <= mean(L) < H + 2. It is the one-symbol version of arithmetic coding.

Ties in probability keep the input order (Python's sort is stable), so codes are deterministic.
All arithmetic is on exact rationals. Symbols of probability 0 get no codeword. A one-symbol
alphabet (p = 1, so ⌈-log2 p⌉ = 0) is given the 1-bit Shannon codeword ``"0"`` so that the
bitstream still says how many symbols it holds.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from fractions import Fraction

from licodec.info.prefix import PrefixCode, ceil_neg_log2, exact_probabilities

__all__ = ["shannon_code", "shannon_fano_elias_code", "binary_expansion"]


def binary_expansion(x: Fraction, n_bits: int) -> str:
    """The first ``n_bits`` bits after the binary point of ``0 <= x < 1`` (truncated, exact)."""
    if not 0 <= x < 1:
        raise ValueError(f"binary expansion needs 0 <= x < 1, got {x}")
    if n_bits <= 0:
        return ""
    value = (x.numerator << n_bits) // x.denominator  # floor(x * 2**n_bits)
    return format(value, f"0{n_bits}b")


def shannon_code(weights: Mapping[Hashable, object]) -> PrefixCode:
    """Shannon code for symbol weights (normalized to probabilities).

    >>> shannon_code({"貝果": 6, "蛋餅": 5, "吐司": 2, "漢堡": 1}).codewords
    {'貝果': '00', '蛋餅': '01', '吐司': '110', '漢堡': '1110'}
    """
    probs = exact_probabilities(weights)
    order = sorted((s for s in probs if probs[s] > 0), key=lambda s: -probs[s])
    codewords: dict[Hashable, str] = {}
    cumulative = Fraction(0)
    for s in order:
        p = probs[s]
        length = max(ceil_neg_log2(p), 1)
        codewords[s] = binary_expansion(cumulative, length)
        cumulative += p
    return PrefixCode("shannon", probs, codewords)


def shannon_fano_elias_code(weights: Mapping[Hashable, object]) -> PrefixCode:
    """Shannon–Fano–Elias code for symbol weights, symbols in the given order (C&T §5.9).

    >>> shannon_fano_elias_code({"貝果": 6, "蛋餅": 5, "吐司": 2, "漢堡": 1}).codewords
    {'貝果': '001', '蛋餅': '100', '吐司': '1101', '漢堡': '11110'}
    """
    probs = exact_probabilities(weights)
    codewords: dict[Hashable, str] = {}
    cumulative = Fraction(0)
    for s, p in probs.items():
        if p == 0:
            continue
        codewords[s] = binary_expansion(cumulative + p / 2, ceil_neg_log2(p) + 1)
        cumulative += p
    return PrefixCode("shannon-fano-elias", probs, codewords)
