"""elic2022: uneven channel groups × checkerboard, exact decoding, one batch per half-group."""

import math

import pytest
import torch

from exactness import check_cross_process, check_roundtrip, random_model, test_image
from licodec import models
from licodec.layers.masked import anchor_mask
from licodec.train.loss import rd_loss

NAME = "elic2022"


def lively_model(seed: int = 0):
    """Random weights give |y| < 1 and σ at the floor: scale y and ẑ up and spread the predicted
    σ over ~0.1–20 so real symbols (and a few escapes) get coded."""
    net = random_model(NAME, seed=seed)
    with torch.no_grad():
        net.gain.log_enc.add_(math.log(20.0))
        net.h_a[-1].weight.mul_(20)
        for k, c in enumerate(net.groups):
            net.param_aggregation[k][-1].bias[:c] += torch.linspace(0.0, 6.0, c)
    return net


def test_structure():
    net = random_model(NAME)
    assert net.downsample == 64 and (net.N, net.M) == (192, 320)
    assert net.groups == (16, 16, 32, 64, 192)
    # group k's channel context reads all earlier groups; aggregation sees [spatial, channel, ψ]
    assert [cc[0].in_channels for cc in net.channel_context] == [16, 32, 64, 128]
    assert [cc[-1].out_channels for cc in net.channel_context] == [32, 64, 128, 384]
    assert net.param_aggregation[0][0].in_channels == 2 * 16 + 2 * 320
    assert net.param_aggregation[4][0].in_channels == 4 * 192 + 2 * 320
    assert all(sc.mask_type == "checkerboard" for sc in net.spatial_context)
    with pytest.raises(ValueError, match="multiples of 64"):
        net.compress(torch.rand(1, 3, 64, 96), 1.0)
    out = net(torch.rand(2, 3, 64, 128), torch.tensor([1.0, 2.0]))  # eval forward, per-sample quality
    assert out["x_hat"].shape == (2, 3, 64, 128) and out["likelihoods"]["y"].shape == (2, 320, 4, 8)


def test_roundtrip_exact_and_rate_honest():
    net = lively_model()
    enc = check_roundtrip(net, test_image(64, 128), quality=2.5)  # non-square, non-integer quality
    assert enc["y_hat"].shape == (1, 320, 4, 8)
    assert enc["y_hat"].abs().max() >= 3


def test_other_orientation_and_plain_random_weights():
    net = random_model(NAME, seed=1)
    check_roundtrip(net, test_image(128, 64, seed=2), quality=7.3)


def test_decodes_in_fresh_process_one_thread_no_onednn(tmp_path):
    net = lively_model(seed=3)
    check_cross_process(net, test_image(64, 128, seed=1), tmp_path, quality=6.0)


def test_anchors_do_not_depend_on_non_anchors():
    """Group k's parameters see only ψ, groups < k and (non-anchors) the group's own anchors:
    changing non-anchors of groups >= 1 leaves groups 0 and 1 unchanged and changes group 2."""
    net = lively_model()
    x = test_image(64, 128)
    with torch.no_grad():
        y = net.gain.encode(net.g_a(x), net.quality_tensor(3.0, 1))
        y2 = y.clone()
        a = anchor_mask(*y.shape[-2:])
        y2[:, 16:][:, :, ~a] += 7  # non-anchors of groups 1.. and ...
        y2[:, 200:] += 5  # ... everything of the last group
        psi = net.h_s(torch.round(net.h_a(y)))
        seen = {}

        def step(y_src, tag):
            def fn(k, half, pos, scales, means):
                seen[tag, k, half] = (scales.clone(), means.clone())
                return net.gaussian(y_src.flatten(2)[:, net._group_slice(k)][:, :, pos].unsqueeze(2), scales, means)[0]
            return fn

        net._latent(psi, step(y, "a"))
        net._latent(psi, step(y2, "b"))
    for half in (0, 1):
        assert all(torch.equal(p, q) for p, q in zip(seen["a", 0, half], seen["b", 0, half]))
    assert all(torch.equal(p, q) for p, q in zip(seen["a", 1, 0], seen["b", 1, 0]))
    assert all(torch.equal(p, q) for p, q in zip(seen["a", 1, 1], seen["b", 1, 1]))  # its anchors are unchanged
    assert not torch.equal(seen["a", 2, 0][1], seen["b", 2, 0][1])  # group 2 reads all of group 1


def test_training_step_bf16():
    net = models.create(NAME, pretrained=False)
    net.train()
    x = test_image(64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([1.0, 7.5])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x, q)
    assert out["likelihoods"]["y"].dtype == torch.float32
    assert out["likelihoods"]["y"].shape == (2, 320, 4, 4)
    losses = rd_loss(out, x, net.gain.lam(q))
    losses["loss"].backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert all(m[-1].weight.grad.abs().sum() > 0 for m in net.param_aggregation)
    assert all(m.weight.grad.abs().sum() > 0 for m in net.spatial_context)
    assert all(m[0].weight.grad.abs().sum() > 0 for m in net.channel_context)


def test_custom_groups_round_trip_through_weights(tmp_path):
    torch.manual_seed(0)
    net = models.create(NAME, pretrained=False, N=64, M=160, groups=[32, 32, 32, 32, 32])
    assert net.config()["groups"] == [32, 32, 32, 32, 32]
    path = tmp_path / "w.safetensors"
    models.save_weights(net, path)
    again = models.create(NAME, weights=path)
    assert again.groups == (32, 32, 32, 32, 32)
    assert "groups" not in models.create(NAME, pretrained=False, N=64, M=160).config()  # default split
    with pytest.raises(ValueError, match="sum to M"):
        models.create(NAME, pretrained=False, M=320, groups=[16, 16])
