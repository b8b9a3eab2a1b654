"""The discretized Gaussian mixture of Cheng et al. 2020 and its bit-reproducible coding tables."""

import hashlib
import math

import numpy as np
import pytest
import torch

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models.gaussian import SCALE_TABLE
from licodec.entropy_models.mixture import (
    TOTAL, GaussianMixtureConditional, MixtureParams, coded_probability, decode_unit, det_exp, det_ndtr,
    encode_unit, escape_bits, mixture_weights, table_freqs, table_support,
)


def _params(rng, n, spread=5.0, log_scale=(-2.0, 3.0)) -> MixtureParams:
    """Random coding parameters on the 2^-8 grid, like the exact entropy-parameter net gives."""
    grid = lambda a: np.round(a * 256) / 256  # noqa: E731
    return MixtureParams.from_raw(grid(rng.normal(size=(n, 3)) * 2), grid(rng.normal(size=(n, 3)) * spread),
                                  grid(np.exp(rng.uniform(*log_scale, size=(n, 3)))))


def _mixture_tensor(logits, means, scales):
    """(1, 9, 1, 1)-style params tensor for C = 1 channel and one position per column."""
    n = logits.shape[0]
    blocks = [torch.tensor(a, dtype=torch.float32).T.reshape(3, 1, n, 1) for a in (logits, means, scales)]
    return torch.cat(blocks, 0).reshape(1, 9, n, 1)


def test_deterministic_exp_and_ndtr_are_accurate():
    x = np.linspace(-700, 700, 20001)
    assert np.max(np.abs(det_exp(x) / np.exp(x) - 1)) < 1e-14
    t = np.linspace(-20, 0, 20001)
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in t])
    assert np.max(np.abs(det_ndtr(t) / ref - 1)) < 1.3e-7
    assert np.array_equal(det_ndtr(-t[:-1]), 1.0 - det_ndtr(t[:-1]))  # Φ(x) = 1 − Φ(−x) for x != 0
    w = mixture_weights(np.array([[0.0, 1.0, -2.0]]))
    assert np.allclose(w, np.exp([0.0, 1.0, -2.0]) / np.exp([0.0, 1.0, -2.0]).sum(), rtol=1e-14)


def test_tables_are_a_fixed_function_of_the_parameters():
    """Golden digest: the tables may only change with a deliberate format change. The maths uses
    IEEE basic operations only, so this digest must be the same on every machine."""
    rng = np.random.default_rng(7)
    p = _params(rng, 300)
    lo, width = table_support(p)
    h = hashlib.sha256(lo.astype("<i8").tobytes() + width.astype("<i8").tobytes())
    for w in np.unique(width):
        sel = np.flatnonzero(width == w)
        h.update(table_freqs(p.take(sel), lo[sel], int(w)).astype("<f8").tobytes())
    assert h.hexdigest()[:16] == GOLDEN


GOLDEN = "886bc26440ed5edb"  # computed once; identical on any IEEE-754 machine


def test_pmf_rows_sum_to_one_and_are_positive(rng):
    p = _params(rng, 500)
    lo, width = table_support(p)
    assert set(np.unique(width)) <= {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}
    for w in np.unique(width):
        sel = np.flatnonzero(width == w)
        f = table_freqs(p.take(sel), lo[sel], int(w))
        assert np.all(f >= 0) and np.all(f == np.round(f))
        assert np.all(f.sum(1) == TOTAL - w)  # exactly: the 24-bit table sums to 2^24
        pmf = (f + 1) / TOTAL
        assert np.allclose(pmf.sum(1), 1.0, rtol=0, atol=1e-12)


def test_window_covers_every_component(rng):
    p = _params(rng, 500, spread=20.0)
    lo, width = table_support(p)
    heavy = p.weights >= 2.0**-16
    inside = (p.means - 3 * p.scales >= lo[:, None]) & (p.means + 3 * p.scales <= (lo + width - 1)[:, None])
    assert np.all(inside | ~heavy | (width == 4096)[:, None])


def test_likelihood_is_the_coded_table_probability(rng):
    n = 400
    logits = np.round(rng.normal(size=(n, 3)) * 512) / 256
    means = np.round(rng.normal(size=(n, 3)) * 1024) / 256
    scales = np.round(np.exp(rng.uniform(-1, 2, size=(n, 3))) * 256) / 256
    params = _mixture_tensor(logits, means, scales)
    y = torch.from_numpy(rng.normal(size=(1, 1, n, 1)) * 4).float()
    y[0, 0, :3, 0] = torch.tensor([300.0, -5000.0, 0.4])  # two escapes
    gmm = GaussianMixtureConditional().eval()
    y_hat, lik = gmm(y, params)
    mp = gmm.coding_params(params)
    values = y_hat.to(torch.int64).numpy().ravel()
    lo, width = table_support(mp)
    for i in range(n):
        f = table_freqs(mp.take([i]), lo[[i]], int(width[i]))[0]
        j = min(max(values[i] - lo[i], 0), width[i] - 1)
        expect = (f[j] + 1) / TOTAL * 2.0 ** -int(escape_bits(values[[i]], lo[[i]], width[[i]])[0])
        assert lik[0, 0, i, 0].item() == pytest.approx(expect, rel=1e-7)
    # ... and the coder spends exactly that (up to the ANS coder's final state)
    enc = SymbolEncoder()
    encode_unit(enc, values, mp)
    data = enc.finish()
    est = float(-np.log2(lik.double().numpy()).sum())
    assert abs(8 * len(data) - est) <= 8 * 12 + 0.001 * est
    assert np.array_equal(decode_unit(SymbolDecoder(data), mp), values)


def test_training_likelihood_matches_the_formula_and_the_tables(rng):
    """Train mode evaluates Σ_k w_k [Φ(..+½) − Φ(..−½)]; with σ on the scale table, the coded
    probabilities agree with it to the 24-bit table resolution."""
    n = 300
    logits = np.round(rng.normal(size=(n, 3)) * 256) / 256
    means = np.round(rng.normal(size=(n, 3)) * 512) / 256
    scales = SCALE_TABLE[rng.integers(10, 40, size=(n, 3))]
    params = _mixture_tensor(logits, means, scales)
    values = torch.from_numpy(np.round(rng.normal(size=(1, 1, n, 1)) * 2)).float()
    gmm = GaussianMixtureConditional()
    cont = gmm.continuous_likelihood(values, params).double().numpy().ravel()
    w = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    v = values.numpy().ravel()[:, None]
    phi = lambda t: 0.5 * np.vectorize(math.erfc)(-t / math.sqrt(2))  # noqa: E731
    formula = (w * (phi((v + 0.5 - means) / scales) - phi((v - 0.5 - means) / scales))).sum(1)
    assert np.allclose(cont, formula, rtol=1e-4, atol=1e-7)
    coded = gmm.eval().coded_likelihood(values, params).double().numpy().ravel()
    big = formula > 1e-3
    assert np.allclose(coded[big], formula[big], rtol=1e-3)


def test_all_three_components_shape_the_table(rng):
    base_logits = np.array([[0.0, 0.0, 0.0]])
    means = np.array([[-6.0, 0.0, 6.0]])
    scales = SCALE_TABLE[[[20, 20, 20]]]  # σ ≈ 1.5
    ref = MixtureParams.from_raw(base_logits, means, scales)
    lo, width = table_support(ref)
    f0 = table_freqs(ref, lo, int(width[0]))
    for k in range(3):
        logits = base_logits.copy()
        logits[0, k] += 1.0  # more weight on component k
        p = MixtureParams.from_raw(logits, means, scales)
        assert np.array_equal(table_support(p)[0], lo)
        f = table_freqs(p, lo, int(width[0]))
        assert not np.array_equal(f, f0)
        # the mass moved towards component k's mean
        centre = int(round(means[0, k])) - lo[0]
        assert f[0, centre] > f0[0, centre]
    # a trimodal table really has three modes
    pmf = f0[0]
    peaks = [i for i in range(1, len(pmf) - 1) if pmf[i] > pmf[i - 1] and pmf[i] >= pmf[i + 1]]
    assert len(peaks) == 3


def test_extreme_values_escape_and_round_trip(rng):
    n = 64
    p = _params(rng, n, spread=2.0, log_scale=(-2.0, -1.0))
    values = np.round(rng.normal(size=n)).astype(np.int64)
    values[::8] = [10**6, -(10**6), 4097, -4097, 2**31 - 1, -(2**31), 123456, 0][: len(values[::8])]
    enc = SymbolEncoder()
    encode_unit(enc, values[: n // 2], p.take(slice(0, n // 2)))
    encode_unit(enc, values[n // 2 :], p.take(slice(n // 2, n)))
    data = enc.finish()
    dec = SymbolDecoder(data)
    out = np.concatenate([decode_unit(dec, p.take(slice(0, n // 2))), decode_unit(dec, p.take(slice(n // 2, n)))])
    assert np.array_equal(out, values)
    lo, width = table_support(p)
    assert np.all(escape_bits(values[::8], lo[::8], width[::8])[:7] > 0)
    est = float(-np.log2(coded_probability(values, p)).sum())
    assert abs(8 * len(data) - est) <= 8 * 16


def test_wide_and_separated_mixtures_are_cut_honestly():
    """Spans beyond the widest table are cut around their centre; the tails go through escapes."""
    logits = np.zeros((4, 3))
    means = np.array([[-3000.0, 0.0, 3000.0]] * 4)
    scales = np.full((4, 3), SCALE_TABLE[-1])
    p = MixtureParams.from_raw(logits, means, scales)
    lo, width = table_support(p)
    assert np.all(width == 4096)
    values = np.array([-3000, 0, 3000, 10**5])
    enc = SymbolEncoder()
    encode_unit(enc, values, p)
    assert np.array_equal(decode_unit(SymbolDecoder(enc.finish()), p), values)
