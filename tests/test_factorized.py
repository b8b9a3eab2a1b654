"""The factorized density's coding tables: the edge symbols hold only the tails, so the coded size
of ẑ is its information content (no escape bit on values of real probability)."""

import numpy as np
import pytest
import torch

from licodec.coding.ans import SymbolDecoder, SymbolEncoder
from licodec.entropy_models.factorized import FactorizedDensity, _used_length


def coded(density: FactorizedDensity, x: torch.Tensor) -> bytes:
    enc = SymbolEncoder()
    density.compress(x, enc)
    data = enc.finish()
    assert torch.equal(density.decompress(SymbolDecoder(data), tuple(x.shape[-2:])), x)
    return data


def test_a_channel_that_is_almost_always_zero_codes_zeros_for_free():
    """A density with all its mass on 0 (a dead channel of ẑ): zeros cost nothing, and a rare
    outlier still round-trips through the escape code."""
    torch.manual_seed(0)
    density = FactorizedDensity(2, init_scale=0.01)
    with torch.no_grad():
        for b in density.biases:
            b.fill_(0.01)
    density.update_tables()
    pmf, offset = density._tables()
    for ch in range(2):
        n = _used_length(pmf[ch])
        inner = np.arange(1, n - 1) + offset[ch]
        assert 0 in inner  # 0 is not an edge symbol
        assert pmf[ch, 0] < 1e-9 and pmf[ch, n - 1] < 1e-9  # the edges hold only the tails
    x = torch.zeros(1, 2, 20, 50)
    assert len(coded(density, x)) <= 8  # 2,000 zeros: the stream's length and one word
    x[0, 0, 3, 4], x[0, 1, 0, 0] = 5, -300
    assert len(coded(density, x)) <= 40


@pytest.mark.parametrize("scale", [0.3, 3.0, 30.0])
def test_coded_size_is_the_information_content(scale):
    torch.manual_seed(1)
    density = FactorizedDensity(4, init_scale=scale).eval()
    density.update_tables()
    x = torch.round(torch.randn(1, 4, 32, 32) * torch.tensor([0.2, 1.0, 4.0, 20.0]).view(1, 4, 1, 1))
    with torch.no_grad():
        bits = float(-torch.log2(density.likelihood(x)).sum())
    assert 8 * len(coded(density, x)) <= bits * 1.01 + 64
