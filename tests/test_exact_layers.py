"""Exact fixed-point layers: integer results, independent of threads and backends."""

import subprocess
import sys

import torch

from licodec.layers.exact import A_FRAC, ExactConv2d, ExactConvTranspose2d


def _layers():
    torch.manual_seed(0)
    conv = ExactConv2d(64, 96, 5, padding=2).eval()
    deconv = ExactConvTranspose2d(96, 32, 5, stride=2, padding=2, output_padding=1).eval()
    return conv, deconv


def test_outputs_lie_on_the_activation_grid():
    conv, deconv = _layers()
    x = torch.round(torch.randn(1, 64, 9, 11) * 40)
    y = deconv(torch.relu(conv(x)))
    assert torch.equal(y * 2**A_FRAC, torch.round(y * 2**A_FRAC))


def test_matches_integer_arithmetic_exactly():
    conv, _ = _layers()
    x = torch.round(torch.randn(1, 64, 6, 7) * 10)
    wi = torch.round(conv.weight.double() * 2**14).long()
    bi = torch.round(conv.bias.double() * 2**22).long()
    xi = torch.round(x.double() * 2**8).long()
    acc = torch.nn.functional.conv2d(xi.double(), wi.double(), bi.double(), padding=2).long()  # exact: < 2^53
    # compare against a pure-integer reference at one position
    ref = (xi[0, :, 0:5, 0:5] * wi[:, :, :, :]).sum(dim=(1, 2, 3)) + bi
    assert torch.equal(acc[0, :, 2, 2], ref)
    out = conv(x)
    assert torch.equal(torch.round(out.double() * 2**8)[0, :, 2, 2].long(), torch.round(ref.double() / 2**14).long())


_SCRIPT = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
torch.backends.mkldnn.enabled = sys.argv[2] == "1"
sys.path.insert(0, sys.argv[3])
from test_exact_layers import _layers
conv, deconv = _layers()
g = torch.Generator().manual_seed(5)
x = torch.round(torch.randn(1, 64, 24, 20, generator=g) * 60)
y = deconv(torch.relu(conv(x)))
sys.stdout.write(y.double().numpy().tobytes().hex()[:20000])
"""


def test_identical_across_threads_and_onednn():
    import os

    here = os.path.dirname(__file__)
    outs = {subprocess.run([sys.executable, "-c", _SCRIPT, t, m, here], capture_output=True, text=True, check=True).stdout
            for t, m in (("1", "0"), ("2", "1"))}
    assert len(outs) == 1


def test_training_mode_is_differentiable_and_close_to_float():
    conv, _ = _layers()
    conv.train()
    x = torch.randn(2, 64, 8, 8, requires_grad=True)
    y = conv(x)
    y.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    ref = torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=2)
    assert (y - ref).abs().max() < 0.05


def test_integer_weight_cache_follows_parameter_updates():
    conv, _ = _layers()
    x = torch.round(torch.randn(1, 64, 6, 6) * 10)
    before = conv(x)
    assert torch.equal(conv(x), before)  # cached
    with torch.no_grad():
        conv.weight.mul_(2)
    assert not torch.equal(conv(x), before)
    state = {k: v.clone() for k, v in conv.state_dict().items()}
    state["weight"] /= 2
    conv.load_state_dict(state)
    assert torch.equal(conv(x), before)
