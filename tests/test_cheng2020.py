"""cheng2020-anchor / cheng2020-attn: exact autoregressive decoding of a K = 3 Gaussian mixture."""

import math

import numpy as np
import pytest
import torch

from exactness import check_cross_process, check_roundtrip, random_model, test_image
from licodec import models
from licodec.entropy_models.mixture import table_support
from licodec.models.cheng2020 import wavefront
from licodec.train.loss import rd_loss

NAMES = ["cheng2020-anchor", "cheng2020-attn"]


def lively_model(name: str, seed: int = 0):
    """Random weights give |y| < 1 (all-zero latents) and σ at the scale floor. Scale the latent
    and the hyper-latent up and the predicted σ towards 1–10 so the test codes real symbols
    with multi-entry tables, escapes included."""
    net = random_model(name, seed=seed)
    with torch.no_grad():
        net.gain.log_enc.add_(math.log(20.0))
        net.h_a[-1].weight.mul_(20)
        net.entropy_parameters[-1].bias[2 * net.K * net.M:] += torch.linspace(0.0, 6.0, net.K * net.M)
    return net


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_exact_and_rate_honest(name):
    net = lively_model(name)
    x = test_image(64, 128)
    enc = check_roundtrip(net, x, quality=2.5)  # non-square, non-integer quality
    y_hat = enc["y_hat"]
    assert y_hat.shape == (1, net.M, 4, 8)
    assert y_hat.abs().max() >= 3  # real symbols were coded
    # tables of several widths were used
    with torch.no_grad():
        q = net.quality_tensor(2.5, 1)
        y = net.gain.encode(net.g_a(x), q)
        params = net._entropy_params(net.h_s(torch.round(net.h_a(y))), torch.round(y))
    assert len(np.unique(table_support(net.mixture.coding_params(params))[1])) >= 2


def test_other_orientation_and_plain_random_weights():
    net = random_model("cheng2020-anchor", seed=1)  # untouched random weights: σ at the floor
    check_roundtrip(net, test_image(128, 64, seed=2), quality=7.3)


@pytest.mark.parametrize("name", NAMES)
def test_decodes_in_fresh_process_one_thread_no_onednn(name, tmp_path):
    net = lively_model(name, seed=3)
    check_cross_process(net, test_image(64, 128, seed=1), tmp_path, quality=6.0)


@pytest.mark.parametrize("name", NAMES)
def test_training_step(name):
    net = models.create(name, pretrained=False)
    net.train()
    x = test_image(64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([1.0, 7.5])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=name.endswith("attn")):
        out = net(x, q)
    assert out["likelihoods"]["y"].dtype == torch.float32
    losses = rd_loss(out, x, net.gain.lam(q))
    losses["loss"].backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    # the mixture weights, means and scales, the context model and the hyper-synthesis learn
    last = net.entropy_parameters[-1].weight.grad
    assert last is not None and last.abs().sum() > 0
    assert net.context_prediction.weight.grad.abs().sum() > 0
    assert net.gain.log_enc.grad[6:8].abs().sum() > 0


def test_downsample_and_sizes():
    net = random_model("cheng2020-anchor")
    assert net.downsample == 64 and net.N == 128 and net.M == 128 and net.K == 3
    with pytest.raises(ValueError, match="multiples of 64"):
        net.compress(torch.rand(1, 3, 64, 96), 1.0)
    out = net(torch.rand(2, 3, 64, 128), torch.tensor([1.0, 2.0]))
    assert out["x_hat"].shape == (2, 3, 64, 128)
    assert out["likelihoods"]["y"].shape == (2, 128, 4, 8)


def test_wavefront_is_a_causal_order():
    h, w, c = 5, 7, 2
    step_of = np.empty(h * w, dtype=int)
    steps = wavefront(h, w, c)
    assert len(steps) == w + (c + 1) * (h - 1)
    for t, pos in enumerate(steps):
        step_of[pos] = t
    for i in range(h):
        for j in range(w):
            for di in range(-c, 1):
                for dj in range(-c, c + 1):
                    if (di < 0 or dj < 0) and 0 <= i + di < h and 0 <= j + dj < w:
                        assert step_of[(i + di) * w + j + dj] < step_of[i * w + j]
