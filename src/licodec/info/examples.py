"""Worked examples as data.

**Breakfast** (the Shannon-coding example of the lecture notes in seed 000): 14 breakfasts,
貝果 (bagel) 6 times, 蛋餅 (egg crepe) 5, 吐司 (toast) 2, 漢堡 (hamburger) 1. The numbers below
were computed by hand with exact fractions and are checked by ``tests/test_info_breakfast.py``.
The seed gets the lengths and codewords right but two numbers wrong: it writes
-log2 0.427 for 貝果 (p = 6/14 = 0.4286) and C(漢堡) = 0.857 (that is 12/14); the cumulative
probability of the symbols before 漢堡 is 6/14 + 5/14 + 2/14 = 13/14 = 0.9286, whose first four
bits 1110 are the codeword the seed prints.

=======  ======  ========  ==========  ==========  =====  ======  =====  ==========
symbol   count   p         -log2 p     F (before)  L      Shannon  SFE   Huffman
=======  ======  ========  ==========  ==========  =====  ======  =====  ==========
貝果      6       0.428571  1.222392    0           2      00       001    0
蛋餅      5       0.357143  1.485427    0.428571    2      01       100    10
吐司      2       0.142857  2.807355    0.785714    3      110      1101   110
漢堡      1       0.071429  3.807355    0.928571    4      1110     11110  111
=======  ======  ========  ==========  ==========  =====  ======  =====  ==========

H = 1.727397 bits/symbol, N·H = 24.18 bits for N = 14. Totals b = mean(L)·N:
Shannon 32 bits (mean 2.2857), Shannon–Fano–Elias 46 bits (3.2857), Huffman 25 bits (1.7857).
"""

from __future__ import annotations

__all__ = [
    "BREAKFAST_WEIGHTS",
    "BREAKFAST_GLOSS",
    "BREAKFAST_MESSAGE",
    "BREAKFAST_ENTROPY_BITS",
    "BREAKFAST_SHANNON",
    "BREAKFAST_SFE",
    "BREAKFAST_HUFFMAN",
]

#: counts out of N = 14 breakfasts, in the seed's order (decreasing probability)
BREAKFAST_WEIGHTS: dict[str, int] = {"貝果": 6, "蛋餅": 5, "吐司": 2, "漢堡": 1}

BREAKFAST_GLOSS: dict[str, str] = {
    "貝果": "bagel",
    "蛋餅": "egg crepe (danbing)",
    "吐司": "toast",
    "漢堡": "hamburger",
}

#: two weeks of breakfasts with exactly those counts
BREAKFAST_MESSAGE: tuple[str, ...] = (
    "貝果", "蛋餅", "貝果", "吐司", "蛋餅", "貝果", "漢堡",
    "貝果", "蛋餅", "蛋餅", "吐司", "貝果", "蛋餅", "貝果",
)  # fmt: skip

#: H = -(6/14 log2 6/14 + 5/14 log2 5/14 + 2/14 log2 2/14 + 1/14 log2 1/14)
BREAKFAST_ENTROPY_BITS = 1.7273967

BREAKFAST_SHANNON: dict[str, str] = {"貝果": "00", "蛋餅": "01", "吐司": "110", "漢堡": "1110"}
BREAKFAST_SFE: dict[str, str] = {"貝果": "001", "蛋餅": "100", "吐司": "1101", "漢堡": "11110"}
BREAKFAST_HUFFMAN: dict[str, str] = {"貝果": "0", "蛋餅": "10", "吐司": "110", "漢堡": "111"}
