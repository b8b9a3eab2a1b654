"""Integer arithmetic coding: exact decoding and length <= -log2 P + 2 + N·δ (see module doc)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.info import (
    AdaptiveArithmeticCode,
    AdaptiveModel,
    StaticArithmeticCode,
    StaticModel,
    precision_slack,
)

SETTINGS = settings(max_examples=50, deadline=None)

# (precision, max_total): the default, and narrow registers with T up to the WNC limit
# 2**(precision-2), where truncation and underflow handling matter most
CONFIGS = [(32, 1 << 16), (16, 1 << 12), (12, 1 << 10), (10, 1 << 8)]


def _static_ideal(freqs: dict, message: list) -> float:
    total = sum(freqs.values())
    return sum(math.log2(total / freqs[s]) for s in message)


def _adaptive_ideal(alphabet: list, message: list, increment: int, max_total: int) -> float:
    """-log2 of the adaptive model's probability of the message, replayed naively."""
    counts = {s: 1 for s in alphabet}
    bits = 0.0
    for s in message:
        total = sum(counts.values())
        bits += math.log2(total / counts[s])
        counts[s] += increment
        if sum(counts.values()) > max_total:
            counts = {k: (c + 1) // 2 for k, c in counts.items()}
    return bits


@st.composite
def static_cases(draw):
    precision, max_total = draw(st.sampled_from(CONFIGS))
    n_sym = draw(st.integers(1, 8))
    freqs = draw(
        st.lists(st.integers(1, max(1, max_total // n_sym)), min_size=n_sym, max_size=n_sym)
    )
    weights = {f"s{i}": f for i, f in enumerate(freqs)}
    message = draw(st.lists(st.sampled_from(sorted(weights)), min_size=1, max_size=150))
    return precision, max_total, weights, message


@SETTINGS
@given(static_cases())
def test_static_round_trip_and_length_bound(case):
    precision, max_total, weights, message = case
    coder = StaticArithmeticCode(weights, precision=precision, max_total=max_total)
    bits = coder.encode(message)
    assert set(bits) <= {"0", "1"}
    assert coder.decode(bits, len(message)) == message
    ideal = _static_ideal(weights, message)  # the counts are used exactly
    assert coder.ideal_bits(message) == pytest.approx(ideal, abs=1e-9)
    slack = precision_slack(precision, max_total)
    assert len(bits) <= ideal + 2 + len(message) * slack + 1e-9


@st.composite
def adaptive_cases(draw):
    alphabet = [f"a{i}" for i in range(draw(st.integers(1, 10)))]
    increment = draw(st.sampled_from([1, 4, 32]))
    max_total = draw(st.sampled_from([64, 1 << 10, 1 << 16]))
    weights = draw(st.lists(st.integers(1, 20), min_size=len(alphabet), max_size=len(alphabet)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    message = rng.choices(alphabet, weights=weights, k=draw(st.integers(1, 300)))
    return alphabet, increment, max_total, message


@SETTINGS
@given(adaptive_cases())
def test_adaptive_round_trip_and_length_bound(case):
    alphabet, increment, max_total, message = case
    if increment > max_total or len(alphabet) > max_total:
        return
    coder = AdaptiveArithmeticCode(alphabet, increment=increment, max_total=max_total)
    bits = coder.encode(message)
    assert coder.decode(bits, len(message)) == message
    ideal = _adaptive_ideal(alphabet, message, increment, max_total)
    assert coder.ideal_bits(message) == pytest.approx(ideal, abs=1e-6)
    assert len(bits) <= ideal + 2 + len(message) * precision_slack(32, max_total) + 1e-9
    # the same coder object can be used again: every call starts from fresh counts
    assert coder.encode(message) == bits


def test_long_skewed_message_exercises_underflow():
    rng = random.Random(1)
    message = rng.choices("ab", weights=[999, 1], k=20000)
    weights = {"a": 999, "b": 1}
    coder = StaticArithmeticCode(weights)
    result = coder.report(message)
    assert result.ideal_bits == pytest.approx(_static_ideal(weights, message))
    assert result.total_bits <= coder.length_bound(result.ideal_bits, len(message))
    # far below one bit per symbol, which no prefix code can do
    assert result.mean_length < 0.05
    adaptive = AdaptiveArithmeticCode("ab").report(message)
    assert adaptive.total_bits <= adaptive.ideal_bits + 2 + 20000 * precision_slack()


def test_straddling_the_midpoint_for_many_symbols():
    # p(mid) = 1 - 2/T keeps the interval around the midpoint: long runs of pending bits
    weights = {"lo": 1, "mid": 254, "hi": 1}
    message = ["mid"] * 3000 + ["lo"] + ["mid"] * 3000 + ["hi"]
    for precision, max_total in CONFIGS:
        coder = StaticArithmeticCode(weights, precision=precision, max_total=max_total)
        bits = coder.encode(message)
        assert coder.decode(bits, len(message)) == message


def test_float_probabilities_are_quantized():
    probs = {"a": 0.7, "b": 0.2, "c": 0.1}
    model = StaticModel.from_weights(probs)
    assert model.total <= 1 << 16 and all(f >= 1 for f in model.frequencies.values())
    assert float(model.probability("a")) == pytest.approx(0.7, abs=1e-4)
    coder = StaticArithmeticCode(probs)
    message = random.Random(0).choices("abc", weights=[7, 2, 1], k=500)
    result = coder.report(message)
    assert result.total_bits <= coder.length_bound(result.ideal_bits, 500)
    # large integer counts are quantized as well
    big = StaticModel.from_weights({"x": 10**9, "y": 1}, max_total=1 << 16)
    assert big.frequencies["y"] == 1 and big.total <= 1 << 16


def test_single_symbol_model_costs_two_bits():
    coder = StaticArithmeticCode({"only": 3})
    bits = coder.encode(["only"] * 100)
    assert len(bits) == 2
    assert coder.decode(bits, 100) == ["only"] * 100


def test_adaptive_model_fenwick_tree():
    model = AdaptiveModel(range(10), increment=3)
    rng = random.Random(5)
    for _ in range(500):
        model.update(rng.randrange(10))
        for i in range(11):
            assert model.cumulative(i) == sum(model.freq[:i])
    for target in range(model.total):
        i, lo = model.find(target)
        assert lo == model.cumulative(i) <= target < lo + model.freq[i]


def test_precision_slack_value():
    assert precision_slack() == pytest.approx(-math.log2(1 - 2**16 / (2**30 + 2)))
    assert precision_slack() < 8.81e-5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: StaticArithmeticCode({"a": 1, "z": 0}).encode(["z"]), "probability 0"),
        (lambda: StaticArithmeticCode({"a": 1}).encode(["q"]), "not in the model"),
        (lambda: StaticArithmeticCode({"a": 1}).encode([]), "empty message"),
        (lambda: StaticArithmeticCode({}), "empty alphabet"),
        (lambda: StaticArithmeticCode({"a": -1, "b": 2}), "negative"),
        (lambda: StaticArithmeticCode({"a": float("nan")}), "finite"),
        (lambda: StaticArithmeticCode({"a": 0}), "zero"),
        (lambda: StaticArithmeticCode({"a": 1}, precision=4), "precision"),
        (lambda: StaticArithmeticCode({"a": 1}, precision=16, max_total=1 << 15), "max_total"),
        (lambda: StaticModel({"a": 1.5}), "non-negative integer"),
        (lambda: StaticArithmeticCode({"a": 1}).decode("01", 0), "positive integer"),
        (lambda: StaticArithmeticCode({"a": 1}).decode("0x", 1), "only '0' and '1'"),
        (lambda: StaticArithmeticCode({"a": 1, "b": 1}).decode("", 100), "end too early"),
        (lambda: AdaptiveArithmeticCode([]), "empty alphabet"),
        (lambda: AdaptiveArithmeticCode("ab").encode("abc"), "not in the model"),
        (lambda: AdaptiveArithmeticCode("ab", increment=0), "increment"),
        (lambda: AdaptiveArithmeticCode(range(100), max_total=64), "does not fit"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
