"""Shannon, Shannon–Fano–Elias and Huffman codes: optimality, Kraft, exact decoding, errors."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.info import (
    PrefixCode,
    canonical_codewords,
    check_bits,
    exact_probabilities,
    huffman_code,
    huffman_lengths,
    pack_bits,
    packed_size,
    shannon_code,
    shannon_fano_elias_code,
    unpack_bits,
)

SETTINGS = settings(max_examples=60, deadline=None)

small_weights = st.lists(st.integers(1, 30), min_size=2, max_size=6)
weights_with_zeros = st.lists(st.integers(0, 50), min_size=1, max_size=12).filter(
    lambda w: sum(w) > 0
)


def _as_mapping(weights: list[int]) -> dict[str, int]:
    return {f"s{i}": w for i, w in enumerate(weights)}


def _brute_force_optimum(weights: list[int]) -> int:
    """min sum w_i l_i over all length vectors satisfying Kraft's inequality (lengths < n)."""
    n = len(weights)
    big = 1 << n
    best = None
    for lengths in itertools.product(range(1, n), repeat=n):
        if sum(big >> length for length in lengths) <= big:
            cost = sum(w * length for w, length in zip(weights, lengths))
            if best is None or cost < best:
                best = cost
    assert best is not None
    return best


def _entropy(weights: list[int]) -> float:
    total = sum(weights)
    return -sum(w / total * math.log2(w / total) for w in weights if w)


def _is_prefix_free(words: list[str]) -> bool:
    return not any(a != b and b.startswith(a) for a in words for b in words) and len(
        set(words)
    ) == len(words)


@SETTINGS
@given(small_weights)
def test_huffman_is_optimal_by_brute_force(weights):
    lengths = huffman_lengths(_as_mapping(weights))
    cost = sum(w * lengths[f"s{i}"] for i, w in enumerate(weights))
    assert cost == _brute_force_optimum(weights)


@SETTINGS
@given(weights_with_zeros)
def test_huffman_kraft_equality_and_bounds(weights):
    code = huffman_code(_as_mapping(weights))
    positive = [w for w in weights if w]
    if len(positive) >= 2:
        assert code.kraft_sum() == 1  # a full binary tree
    else:
        assert code.kraft_sum() == Fraction(1, 2) and list(code.codewords.values()) == ["0"]
    assert _is_prefix_free(list(code.codewords.values()))
    assert set(code.codewords) == {f"s{i}" for i, w in enumerate(weights) if w}
    h = _entropy(weights)
    if len(positive) >= 2:
        assert h - 1e-12 <= float(code.mean_length()) < h + 1
    # canonical: codewords of equal length are consecutive numbers in alphabet order
    by_len: dict[int, list[str]] = {}
    for cw in code.codewords.values():
        by_len.setdefault(len(cw), []).append(cw)
    for words in by_len.values():
        values = [int(w, 2) for w in words]
        assert values == list(range(values[0], values[0] + len(values)))


@SETTINGS
@given(weights_with_zeros)
def test_shannon_code_lengths_and_bounds(weights):
    code = shannon_code(_as_mapping(weights))
    probs = exact_probabilities(_as_mapping(weights))
    for s, cw in code.codewords.items():
        p = probs[s]
        if p == 1:
            assert cw == "0"
            continue
        # L = ceil(-log2 p)  <=>  2**-L <= p < 2**-(L-1)
        assert Fraction(1, 2 ** len(cw)) <= p < Fraction(1, 2 ** (len(cw) - 1))
    assert _is_prefix_free(list(code.codewords.values()))
    assert code.kraft_sum() <= 1
    h = _entropy(weights)
    if sum(1 for w in weights if w) >= 2:
        assert h - 1e-12 <= float(code.mean_length()) < h + 1
        assert code.mean_length() >= huffman_code(_as_mapping(weights)).mean_length()


@SETTINGS
@given(weights_with_zeros)
def test_shannon_fano_elias_lengths_and_bounds(weights):
    code = shannon_fano_elias_code(_as_mapping(weights))
    probs = exact_probabilities(_as_mapping(weights))
    for s, cw in code.codewords.items():
        p = probs[s]
        # L = ceil(-log2 p) + 1  <=>  2**-(L-1) <= p < 2**-(L-2)
        assert Fraction(1, 2 ** (len(cw) - 1)) <= p < Fraction(4, 2 ** len(cw))
    assert _is_prefix_free(list(code.codewords.values()))
    h = _entropy(weights)
    assert h + 1 - 1e-12 <= float(code.mean_length()) < h + 2


@SETTINGS
@given(weights_with_zeros, st.data())
def test_every_prefix_code_decodes_exactly(weights, data):
    mapping = _as_mapping(weights)
    alphabet = [s for s, w in mapping.items() if w]
    message = data.draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=80))
    for make in (shannon_code, shannon_fano_elias_code, huffman_code):
        code = make(mapping)
        bits = code.encode(message)
        assert set(bits) <= {"0", "1"}
        assert len(bits) == sum(len(code.codewords[s]) for s in message)
        assert code.decode(bits) == message
        assert code.decode(bits, n=len(message)) == message
        result = code.report(message)
        assert result.total_bits == len(bits) and result.n_symbols == len(message)
        assert result.mean_length == pytest.approx(len(bits) / len(message))


def test_float_weights_are_normalized():
    code = huffman_code({"a": 0.5, "b": 0.25, "c": 0.25})
    assert code.codewords == {"a": "0", "b": "10", "c": "11"}
    assert shannon_code({"x": 3.0, "y": 1.0}).codewords == {"x": "0", "y": "11"}
    # y (2/3) first: length 1, F = 0 -> "0"; x (1/3): length 2, F = 2/3 = 0.1010... -> "10"
    assert shannon_code({"x": Fraction(1, 3), "y": Fraction(2, 3)}).codewords == {
        "x": "10",
        "y": "0",
    }


def test_huffman_tie_breaking_is_deterministic():
    weights = {"a": 2, "b": 2, "c": 1, "d": 1}  # both {1,2,3,3} and {2,2,2,2} are optimal
    first = huffman_code(weights).codewords
    assert first == {"a": "00", "b": "01", "c": "10", "d": "11"}
    for _ in range(3):
        assert huffman_code(dict(weights)).codewords == first
    assert huffman_code({"a": 1, "b": 1, "c": 1}).codewords == {"a": "10", "b": "11", "c": "0"}


def test_canonical_codewords():
    assert canonical_codewords({"a": 2, "b": 1, "c": 3, "d": 3}) == {
        "a": "10",
        "b": "0",
        "c": "110",
        "d": "111",
    }
    with pytest.raises(ValueError, match="Kraft"):
        canonical_codewords({"a": 1, "b": 1, "c": 1})


def test_single_symbol_alphabet():
    for make in (shannon_code, huffman_code, shannon_fano_elias_code):
        code = make({"only": 5, "never": 0})
        assert len(code.codewords["only"]) == 1
        assert code.decode(code.encode(["only"] * 3)) == ["only"] * 3


@pytest.mark.parametrize("make", [shannon_code, shannon_fano_elias_code, huffman_code])
@pytest.mark.parametrize(
    "weights, message",
    [
        ({}, "empty alphabet"),
        ({"a": -1, "b": 2}, "negative"),
        ({"a": float("nan"), "b": 1}, "finite"),
        ({"a": float("inf"), "b": 1}, "finite"),
        ({"a": 0, "b": 0}, "all weights are zero"),
        ({"a": "1"}, "must be a number"),
    ],
)
def test_bad_weights_raise_value_error(make, weights, message):
    with pytest.raises(ValueError, match=message):
        make(weights)


@pytest.mark.parametrize("make", [shannon_code, shannon_fano_elias_code, huffman_code])
def test_bad_messages_and_bits_raise_value_error(make):
    code = make({"a": 3, "b": 1, "c": 1, "z": 0})
    with pytest.raises(ValueError, match="probability 0"):
        code.encode(["a", "z"])
    with pytest.raises(ValueError, match="not in the code's alphabet"):
        code.encode(["a", "q"])
    with pytest.raises(ValueError, match="empty message"):
        code.encode([])
    with pytest.raises(ValueError, match="only '0' and '1'"):
        code.decode("01x")
    bits = code.encode(["b"])
    assert len(bits) >= 2
    with pytest.raises(ValueError, match="do not decode"):
        code.decode(bits[:-1])  # a truncated codeword
    with pytest.raises(ValueError, match="expected 2"):
        code.decode(code.encode(["a"]), n=2)


def test_prefix_code_rejects_non_prefix_tables():
    with pytest.raises(ValueError, match="not a prefix code"):
        PrefixCode("bad", {"a": Fraction(1, 2), "b": Fraction(1, 2)}, {"a": "0", "b": "01"})


@SETTINGS
@given(st.text(alphabet="01", max_size=70))
def test_pack_unpack_round_trip(bits):
    packed = pack_bits(bits)
    assert len(packed) == packed_size(len(bits))
    assert unpack_bits(packed, len(bits)) == bits


def test_bits_helpers_reject_garbage():
    with pytest.raises(ValueError):
        check_bits("0120")
    with pytest.raises(ValueError):
        check_bits(b"01")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        unpack_bits(b"\x00", 9)
