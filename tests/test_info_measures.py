"""Information measures: known values, the identities of seed 001, plug-in estimates, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.info import (
    byte_entropy,
    conditional_entropy,
    conditional_entropy_from_samples,
    cross_entropy,
    cross_entropy_from_samples,
    empirical_distribution,
    entropy,
    entropy_from_samples,
    joint_entropy,
    joint_entropy_from_samples,
    joint_table,
    kl_divergence,
    kl_divergence_from_samples,
    mutual_information,
    mutual_information_from_samples,
    normalize,
)

SETTINGS = settings(max_examples=60, deadline=None)


def _joint(rows: int, cols: int) -> st.SearchStrategy[np.ndarray]:
    cells = st.lists(st.integers(0, 20), min_size=rows * cols, max_size=rows * cols)
    return cells.filter(lambda c: sum(c) > 0).map(
        lambda c: np.array(c, dtype=float).reshape(rows, cols) / sum(c)
    )


joints = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(lambda rc: _joint(*rc))


def test_known_values():
    assert entropy([0.5, 0.5]) == 1.0
    assert entropy([1.0, 0.0]) == 0.0
    assert entropy([0.25] * 4) == 2.0
    assert entropy([0.5, 0.5], base=math.e) == pytest.approx(math.log(2))
    assert entropy({"a": 0.5, "b": 0.25, "c": 0.25}) == 1.5
    # binary symmetric channel with crossover 0.1 and uniform input: I = 1 - h(0.1)
    h01 = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    pxy = np.array([[0.45, 0.05], [0.05, 0.45]])
    assert mutual_information(pxy) == pytest.approx(1 - h01)
    assert conditional_entropy(pxy) == pytest.approx(h01)
    assert joint_entropy(pxy) == pytest.approx(1 + h01)
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(0.5 / 0.75)
    )


@SETTINGS
@given(joints)
def test_chain_rule_and_mutual_information_identities(pxy):
    hx, hy = entropy(pxy.sum(axis=1)), entropy(pxy.sum(axis=0))
    hxy = joint_entropy(pxy)
    hy_x, hx_y = conditional_entropy(pxy), conditional_entropy(pxy.T)
    i = mutual_information(pxy)
    assert hxy == pytest.approx(hx + hy_x, abs=1e-9)  # H(X,Y) = H(X) + H(Y|X)
    assert hxy == pytest.approx(hy + hx_y, abs=1e-9)  # = H(Y) + H(X|Y)
    assert i == pytest.approx(hx + hy - hxy, abs=1e-9)  # I = H(X) + H(Y) - H(X,Y)
    assert i == pytest.approx(hx - hx_y, abs=1e-9)
    assert i == pytest.approx(hy - hy_x, abs=1e-9)
    assert i >= 0 and hy_x <= hy + 1e-12  # conditioning reduces entropy
    assert max(hx, hy) - 1e-12 <= hxy <= hx + hy + 1e-12


@SETTINGS
@given(
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
)
def test_independent_variables_have_zero_mutual_information(wx, wy):
    px, py = normalize(wx), normalize(wy)
    pxy = np.outer(px, py)
    assert mutual_information(pxy) == pytest.approx(0.0, abs=1e-9)
    assert joint_entropy(pxy) == pytest.approx(entropy(px) + entropy(py), abs=1e-9)
    assert conditional_entropy(pxy) == pytest.approx(entropy(py), abs=1e-9)


@SETTINGS
@given(
    st.lists(st.integers(0, 20), min_size=2, max_size=8).filter(lambda w: sum(w) > 0),
    st.data(),
)
def test_cross_entropy_is_entropy_plus_kl(wp, data):
    wq = data.draw(st.lists(st.integers(1, 20), min_size=len(wp), max_size=len(wp)))
    p, q = normalize(wp), normalize(wq)
    assert cross_entropy(p, q) == pytest.approx(entropy(p) + kl_divergence(p, q), abs=1e-9)
    assert kl_divergence(p, q) >= 0
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert cross_entropy(p, q, base=math.e) == pytest.approx(cross_entropy(p, q) * math.log(2))


def test_zero_model_probability_gives_infinity():
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == 1.0  # 0 log 0/q = 0


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60))
def test_plug_in_estimates_match_the_empirical_table(pairs):
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    pxy, xv, yv = joint_table(xs, ys)
    assert pxy.sum() == pytest.approx(1.0)
    hx, hy = entropy_from_samples(xs), entropy_from_samples(ys)
    hxy = joint_entropy_from_samples(xs, ys)
    assert hxy == pytest.approx(hx + conditional_entropy_from_samples(xs, ys), abs=1e-9)
    assert hxy == pytest.approx(hy + conditional_entropy_from_samples(ys, xs), abs=1e-9)
    assert mutual_information_from_samples(xs, ys) == pytest.approx(hx + hy - hxy, abs=1e-9)
    assert hx == pytest.approx(entropy(pxy.sum(axis=1)), abs=1e-12)


def test_samples_and_models():
    xs = ["a", "a", "b", "c"]
    assert empirical_distribution(xs) == {"a": 0.5, "b": 0.25, "c": 0.25}
    assert entropy_from_samples(xs) == 1.5
    assert entropy_from_samples(np.array([1, 1, 2, 3])) == 1.5
    q = {"a": 0.25, "b": 0.25, "c": 0.5}
    ce = cross_entropy_from_samples(xs, q)
    assert ce == pytest.approx(0.5 * 2 + 0.25 * 2 + 0.25 * 1)
    assert ce == pytest.approx(entropy_from_samples(xs) + kl_divergence_from_samples(xs, q))
    assert cross_entropy_from_samples(xs, {"a": 0.5, "b": 0.5}) == math.inf
    # perfectly dependent: I(X;Y) = H(X)
    assert mutual_information_from_samples(xs, xs) == pytest.approx(1.5)


def test_byte_entropy():
    assert byte_entropy(b"abab") == 1.0
    assert byte_entropy(b"abab", order=1) == 0.0  # the next byte is determined
    data = bytes(range(256)) * 4
    assert byte_entropy(data) == pytest.approx(8.0)
    assert byte_entropy(data, order=1) == pytest.approx(0.0, abs=1e-12)
    assert byte_entropy(b"aaaa") == 0.0 and str(byte_entropy(b"aaaa")) == "0.0"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: entropy([]), "empty"),
        (lambda: entropy([0.5, 0.6]), "sum to 1"),
        (lambda: entropy([1.5, -0.5]), "non-negative"),
        (lambda: entropy([float("nan"), 1.0]), "finite"),
        (lambda: entropy([0.5, 0.5], base=1), "log base"),
        (lambda: normalize([0, 0]), "sum to 0"),
        (lambda: normalize([1, float("inf")]), "finite"),
        (lambda: conditional_entropy([0.5, 0.5]), "2-D"),
        (lambda: kl_divergence([0.5, 0.5], [1.0]), "same shape"),
        (lambda: entropy_from_samples([]), "empty"),
        (lambda: joint_table([1, 2], [1]), "differ in length"),
        (lambda: byte_entropy(b""), "empty"),
        (lambda: byte_entropy(b"a", order=1), "at least 2 bytes"),
        (lambda: byte_entropy(b"ab", order=2), "order"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
