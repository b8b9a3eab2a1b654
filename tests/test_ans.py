"""ANS streams: every integer round-trips (escape coding), batches decode in encode order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.coding.escape import BitReader, BitWriter
from licodec.errors import CorruptFileError

ints = st.lists(st.integers(min_value=-(2**40), max_value=2**40), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(ints, st.floats(min_value=0.11, max_value=300))
def test_gaussian_any_integer_roundtrips(values, std):
    enc = SymbolEncoder()
    enc.gaussian(np.array(values), np.full(len(values), std))
    assert SymbolDecoder(enc.finish()).gaussian(np.full(len(values), std)).tolist() == values


@settings(max_examples=60, deadline=None)
@given(ints, st.integers(-20, 20))
def test_categorical_any_integer_roundtrips(values, offset):
    pmf = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    enc = SymbolEncoder()
    enc.categorical(np.array(values), pmf, offset)
    assert SymbolDecoder(enc.finish()).categorical(len(values), pmf, offset).tolist() == values


def test_batches_decode_in_encode_order_with_mixed_models(rng):
    v1 = rng.integers(-3, 4, 500)
    v2 = np.round(rng.normal(0, 3, 800)).astype(np.int64)
    v3 = rng.integers(0, 6, 300)
    pmfs = rng.random((300, 6)) + 0.01
    enc = SymbolEncoder()
    enc.categorical(v1, np.ones(7) / 7, -3)
    enc.gaussian(v2, np.full(800, 3.0))
    enc.tables(v3, pmfs, np.zeros(300, dtype=np.int64))
    dec = SymbolDecoder(enc.finish())
    assert np.array_equal(dec.categorical(500, np.ones(7) / 7, -3), v1)
    assert np.array_equal(dec.gaussian(np.full(800, 3.0)), v2)
    assert np.array_equal(dec.tables(pmfs, np.zeros(300, dtype=np.int64)), v3)


def test_coded_size_close_to_information_content(rng):
    std = 4.0
    v = np.round(rng.normal(0, std, 20000)).astype(np.int64)
    enc = SymbolEncoder()
    enc.gaussian(v, np.full(len(v), std))
    from scipy.stats import norm

    p = norm.cdf(v + 0.5, scale=std) - norm.cdf(v - 0.5, scale=std)
    info_bits = -np.log2(p).sum()
    assert 8 * len(enc.finish()) <= info_bits * 1.005 + 64


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**50), max_size=40))
def test_gamma_code_roundtrip(values):
    w = BitWriter()
    for v in values:
        w.write_gamma(v)
    r = BitReader(w.getvalue())
    assert [r.read_gamma() for _ in values] == values


def test_truncated_stream_raises_specific_error():
    enc = SymbolEncoder()
    enc.gaussian(np.arange(100), np.full(100, 2.0))
    data = enc.finish()
    with pytest.raises(CorruptFileError):
        SymbolDecoder(data[:5])
