"""The breakfast example of seed 000, with the numbers recomputed independently here."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from licodec.info import (
    AdaptiveArithmeticCode,
    StaticArithmeticCode,
    binary_expansion,
    entropy,
    huffman_code,
    shannon_code,
    shannon_fano_elias_code,
)
from licodec.info import examples as ex

COUNTS = {"貝果": 6, "蛋餅": 5, "吐司": 2, "漢堡": 1}
N = 14


def test_example_data_is_the_seed_table():
    assert ex.BREAKFAST_WEIGHTS == COUNTS
    assert len(ex.BREAKFAST_MESSAGE) == N
    assert {s: ex.BREAKFAST_MESSAGE.count(s) for s in COUNTS} == COUNTS


def test_entropy_by_hand():
    # H = log2 14 - (6 log2 6 + 5 log2 5 + 2 log2 2 + 1 log2 1) / 14
    h = math.log2(14) - (6 * math.log2(6) + 5 * math.log2(5) + 2) / 14
    assert h == pytest.approx(1.7273967, abs=1e-7)
    assert entropy([c / N for c in COUNTS.values()]) == pytest.approx(h, abs=1e-12)
    assert ex.BREAKFAST_ENTROPY_BITS == pytest.approx(h, abs=1e-7)
    assert N * h == pytest.approx(24.1836, abs=1e-4)


def test_shannon_lengths_and_codewords():
    code = shannon_code(COUNTS)
    # -log2 p = 1.222, 1.485, 2.807, 3.807  ->  lengths 2, 2, 3, 4
    assert code.lengths == {"貝果": 2, "蛋餅": 2, "吐司": 3, "漢堡": 4}
    assert code.codewords == {"貝果": "00", "蛋餅": "01", "吐司": "110", "漢堡": "1110"}
    assert code.codewords == ex.BREAKFAST_SHANNON
    assert code.mean_length() == Fraction(32, 14)
    assert code.report(ex.BREAKFAST_MESSAGE).total_bits == 32  # 6*2 + 5*2 + 2*3 + 1*4


def test_seed_typos_are_typos():
    # cumulative probabilities before each symbol: 0, 6/14, 11/14, 13/14
    assert float(Fraction(6, 14)) == pytest.approx(0.4286, abs=5e-5)  # seed: "0.427" in the log
    assert float(Fraction(11, 14)) == pytest.approx(0.786, abs=5e-4)
    assert float(Fraction(13, 14)) == pytest.approx(0.929, abs=5e-4)  # seed: "0.857" (= 12/14)
    assert binary_expansion(Fraction(13, 14), 4) == "1110"  # the seed's codeword for 漢堡
    assert binary_expansion(Fraction(12, 14), 4) == "1101"  # what 0.857 would have given
    # the seed's 0.427 does not change the length: ceil(-log2 0.427) = 2 as well
    assert math.ceil(-math.log2(0.427)) == 2


def test_shannon_fano_elias():
    code = shannon_fano_elias_code(COUNTS)
    # midpoints 3/14, 17/28, 12/14, 27/28; lengths ceil(-log2 p) + 1 = 3, 3, 4, 5
    assert code.codewords == {"貝果": "001", "蛋餅": "100", "吐司": "1101", "漢堡": "11110"}
    assert code.codewords == ex.BREAKFAST_SFE
    assert code.report(ex.BREAKFAST_MESSAGE).total_bits == 46


def test_huffman():
    code = huffman_code(COUNTS)
    # merges: 1+2 = 3, 3+5 = 8, 6+8 = 14  ->  lengths 1, 2, 3, 3
    assert code.codewords == {"貝果": "0", "蛋餅": "10", "吐司": "110", "漢堡": "111"}
    assert code.codewords == ex.BREAKFAST_HUFFMAN
    result = code.report(ex.BREAKFAST_MESSAGE)
    assert result.total_bits == 25
    assert result.mean_length == pytest.approx(25 / 14)
    assert result.n_entropy_bits == pytest.approx(24.1836, abs=1e-4)
    assert result.n_entropy_bits <= result.total_bits < result.n_entropy_bits + N


def test_arithmetic_on_the_breakfast_message():
    static = StaticArithmeticCode(COUNTS).report(ex.BREAKFAST_MESSAGE)
    # the model is the exact counts, so -log2 P(message) = N·H
    assert static.ideal_bits == pytest.approx(static.n_entropy_bits)
    assert static.total_bits <= math.floor(static.ideal_bits + 2 + 14 * 1e-4)  # <= 26
    adaptive = AdaptiveArithmeticCode(COUNTS).report(ex.BREAKFAST_MESSAGE)
    assert adaptive.total_bits <= adaptive.ideal_bits + 2 + 1e-3
