"""The context-model lineage (mbt2018, he2021-checkerboard, ms2020): exact decoding through real
bitstreams, honest rates, masks that never see the future, local context == full convolution,
and a training step."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from exactness import check_cross_process, check_roundtrip, liven, random_model, test_image
from licodec import models
from licodec.entropy_models.gaussian import scale_indices
from licodec.layers.masked import (
    GRID, IntegerPointwise, MaskedExactConv2d, anchor_mask, checkerboard_mask, raster_mask, to_grid,
)
from licodec.models.ms2020 import LRP_BOUND, lrp_clamp
from licodec.train.loss import rd_loss

CONTEXT_MODELS = ["mbt2018", "he2021-checkerboard", "ms2020"]


@functools.cache
def lively_model(name: str, seed: int = 0) -> models.CompressionModel:
    return liven(random_model(name, seed=seed))


@functools.cache
def _encoded(name: str) -> tuple[models.CompressionModel, torch.Tensor, dict]:
    net = lively_model(name)
    x = test_image(64, 128)  # not square; latent 4×8
    return net, x, check_roundtrip(net, x, quality=2.5)


# -- the contract: exact, honest, on real bitstreams --------------------------------------------
@pytest.mark.parametrize("name", CONTEXT_MODELS)
def test_roundtrip_exact_and_rate_honest(name):
    net, x, enc = _encoded(name)
    y_hat = enc["y_hat"]
    assert y_hat.shape == (1, net.M, 4, 8)
    assert net.downsample == 64
    # the latents are not trivially zero: the check above exercised real symbols
    assert y_hat.abs().max() > 2 and len(enc["strings"][0]) > 1000
    # every decoded value (symbol + μ, + LRP for ms2020) lies on the exact activation grid
    assert torch.equal(y_hat * GRID, torch.round(y_hat * GRID))


@pytest.mark.parametrize("name", CONTEXT_MODELS)
def test_eval_forward_quantizes_like_the_coder(name):
    """forward() in eval mode (full-image convolutions) gives the coder's ŷ bit for bit, so its
    likelihoods are those of the coded symbols — for mbt2018 this is the sequential quantization
    against the full masked convolution."""
    net, x, enc = _encoded(name)
    with torch.no_grad():
        out = net(x, 2.5)
    assert torch.equal(out["y_hat"], enc["y_hat"])


@pytest.mark.parametrize("name", CONTEXT_MODELS)
def test_decodes_in_fresh_process_one_thread_no_onednn(name, tmp_path):
    net = lively_model(name)
    check_cross_process(net, test_image(64, 128, seed=1), tmp_path, quality=6.0)


def test_eval_forward_batch_with_per_sample_quality():
    net = lively_model("mbt2018")
    x = torch.cat([test_image(64, 64, seed=2), test_image(64, 64, seed=3)])
    q = torch.tensor([1.5, 7.0])
    with torch.no_grad():
        both = net(x, q)["y_hat"]
        single = [net(x[i : i + 1], float(q[i]))["y_hat"] for i in range(2)]
    assert torch.equal(both, torch.cat(single))


def test_serial_loop_restores_the_thread_count():
    net, x, _ = _encoded("mbt2018")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        net.compress(x, 2.5)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_quality_changes_rate():
    net, x, _ = _encoded("he2021-checkerboard")
    sizes = [len(net.compress(x, q)["strings"][0]) for q in (1.0, 8.0)]
    assert sizes[0] < sizes[1]


# -- masks ----------------------------------------------------------------------------------------
def test_raster_mask_type_a_hides_the_centre_and_the_future():
    expected = torch.tensor([[1, 1, 1, 1, 1],
                             [1, 1, 1, 1, 1],
                             [1, 1, 0, 0, 0],
                             [0, 0, 0, 0, 0],
                             [0, 0, 0, 0, 0]], dtype=torch.float32)
    assert torch.equal(raster_mask(5, "A"), expected)
    b = expected.clone()
    b[2, 2] = 1
    assert torch.equal(raster_mask(5, "B"), b)


def test_checkerboard_mask_sees_only_the_other_colour():
    m = checkerboard_mask(5)
    for dy in range(5):
        for dx in range(5):
            assert m[dy, dx] == ((dy + dx) % 2 == 1)
    assert m[2, 2] == 0 and m.sum() == 12
    a = anchor_mask(5, 6)
    assert a[0, 0] and not a[0, 1] and a.sum() == 15


def _future_after(i: int, j: int, h: int, w: int) -> torch.Tensor:
    idx = torch.arange(h * w).view(h, w)
    return idx >= i * w + j  # the position itself and everything after it in raster order


def test_raster_context_ignores_the_current_and_future_positions():
    torch.manual_seed(0)
    conv = MaskedExactConv2d(6, 10, 5, mask="A").eval()
    with torch.no_grad():
        conv.weight.normal_(0, 0.3)  # masked taps get weight too: the mask must still zero them
    x = torch.round(torch.randn(1, 6, 7, 9) * 3)
    base = conv(x)
    for i, j in [(0, 0), (3, 4), (6, 8), (2, 0)]:
        future = _future_after(i, j, 7, 9)
        x2 = torch.where(future, torch.round(torch.randn_like(x) * 50), x)
        assert torch.equal(conv(x2)[:, :, i, j], base[:, :, i, j])


def test_checkerboard_context_of_non_anchors_reads_anchors_only():
    torch.manual_seed(1)
    conv = MaskedExactConv2d(6, 10, 5, mask="checkerboard").eval()
    with torch.no_grad():
        conv.weight.normal_(0, 0.3)
    anchors = anchor_mask(6, 8)
    x = torch.round(torch.randn(1, 6, 6, 8) * 3)
    x2 = torch.where(anchors, x, torch.round(torch.randn_like(x) * 50))  # change every non-anchor
    assert torch.equal(conv(x2)[:, :, ~anchors], conv(x)[:, :, ~anchors])
    x3 = torch.where(anchors, x + 1, x)  # anchors do matter
    assert not torch.equal(conv(x3)[:, :, ~anchors], conv(x)[:, :, ~anchors])


def test_masked_taps_get_no_gradient():
    conv = MaskedExactConv2d(4, 8, 5, mask="A").train()
    conv(torch.randn(2, 4, 6, 6)).square().sum().backward()
    assert conv.weight.grad[:, :, raster_mask(5) == 0].abs().sum() == 0
    assert conv.weight.grad[:, :, raster_mask(5) == 1].abs().sum() > 0


def test_mask_is_not_part_of_the_weights():
    net = models.create("mbt2018", pretrained=False)
    assert not any(k.endswith("mask") for k in net.state_dict())


# -- local evaluation == full convolution, exactly ------------------------------------------------
@pytest.mark.parametrize("mask", ["A", "checkerboard"])
def test_local_context_equals_full_convolution(mask):
    torch.manual_seed(2)
    conv = MaskedExactConv2d(16, 24, 5, mask=mask).eval()
    x = torch.round(torch.randn(2, 16, 5, 7) * 400) / GRID  # grid values, like ŷ
    rows, cols = torch.meshgrid(torch.arange(5), torch.arange(7), indexing="ij")
    full = conv(x)
    local = conv.at(x, rows.flatten(), cols.flatten())
    assert torch.equal(local, full.flatten(2))
    one = conv.at(x, torch.tensor([3]), torch.tensor([6]))  # a single position on the border
    assert torch.equal(one[:, :, 0], full[:, :, 3, 6])


def test_integer_pointwise_equals_the_module():
    net = models.create("mbt2018", pretrained=False)
    ep = net.entropy_parameters
    x = torch.round(torch.randn(1, ep[0].in_channels, 3, 5) * 200) / GRID
    full = ep(x)
    rows = to_grid(x).permute(0, 2, 3, 1).reshape(15, -1)
    plan = IntegerPointwise(ep)
    assert torch.equal(plan(rows) / GRID, full.double().permute(0, 2, 3, 1).reshape(15, -1))
    k = ep[0].in_channels // 2  # split first layer: head precomputed, tail per step
    assert torch.equal(plan(rows[:, k:], plan.partial(rows[:, :k])), plan(rows))


def test_mbt2018_sequential_parameters_equal_the_full_masked_convolution():
    net, x, _ = _encoded("mbt2018")
    with torch.no_grad():
        y = net.gain.encode(net.g_a(x), net.quality_tensor(2.5, 1))
        psi = net.h_s(torch.round(net.h_a(y)))
        y_grid, symbols, indices = net._sequential(psi, y=y)
        y_hat = y_grid.float() / GRID
        scales, means = net._entropy_params(psi, y_hat)  # full-image masked conv + g_ep
    # ŷ = round(y − μ) + μ with the full-image μ; the coded symbols and scale indices agree too
    assert torch.equal(y_hat, torch.round(y - means) + means)
    order = np.concatenate(net.schedule(4, 8))
    full_sym = torch.round(y - means)[0].flatten(1).T[order].numpy().ravel()
    assert np.array_equal(full_sym, symbols)
    assert np.array_equal(scale_indices(scales[0].flatten(1).T[order]), indices)


def test_mbt2018_wavefront_is_a_causal_order():
    net = models.create("mbt2018", pretrained=False)
    h, w = 6, 11
    steps = net.schedule(h, w)
    step_of = np.empty(h * w, dtype=int)
    for t, pos in enumerate(steps):
        step_of[pos] = t
    assert sorted(np.concatenate(steps)) == list(range(h * w))
    taps = np.argwhere(raster_mask(5).numpy() > 0) - 2
    for p in range(h * w):
        i, j = divmod(p, w)
        for di, dj in taps:
            if 0 <= i + di < h and 0 <= j + dj < w:
                assert step_of[(i + di) * w + j + dj] < step_of[p]
    assert len(steps) == w + 3 * (h - 1)


def test_ms2020_lrp_is_exact_and_bounded():
    """The LRP residual (exact clamp standing in for ½·tanh) is on the activation grid, within
    ±½, and actually used: decoding reproduces it, since ŷ matched bit for bit above."""
    net, x, _ = _encoded("ms2020")
    raw: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: raw.append(out)) for m in net.lrp]
    try:
        net.compress(x, 2.5)
    finally:
        for h in hooks:
            h.remove()
    assert len(raw) == net.num_slices
    r = torch.cat([lrp_clamp(t) for t in raw])
    assert r.abs().max() <= LRP_BOUND and r.abs().sum() > 0
    assert torch.equal(r * GRID, torch.round(r * GRID))
    assert torch.equal(lrp_clamp(torch.tensor([-3.0, -0.25, 0.5, 0.75])), torch.tensor([-0.5, -0.25, 0.5, 0.5]))


def test_ms2020_limited_support_conditions_on_the_first_slices():
    """max_support_slices=K conditions slice s on slices 0..min(s, K)−1 (paper appendix C.1, as in
    TFC); the setting travels in the weights' config and still decodes exactly."""
    net = random_model("ms2020", M=64, num_slices=4, max_support_slices=2)
    assert [t[0].in_channels for t in net.cc_mean] == [64, 80, 96, 96]
    assert [t[0].in_channels for t in net.lrp] == [80, 96, 112, 112]
    assert net.config()["max_support_slices"] == 2
    check_roundtrip(liven(net), test_image(64, 64), quality=3.0)


# -- training -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONTEXT_MODELS)
def test_training_step(name):
    torch.manual_seed(0)
    net = models.create(name, pretrained=False)
    net.train()
    x = test_image(64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([1.0, 7.5])
    out = net(x, q)
    assert out["likelihoods"]["y"].shape == (2, net.M, 4, 4)
    losses = rd_loss(out, x, net.gain.lam(q))
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert net.gain.log_enc.grad[6:8].abs().sum() > 0
    # the context path learns: the masked conv, resp. the last slice's conditioning on earlier slices
    context = net.cc_mean[-1][0] if name == "ms2020" else net.context_prediction
    assert context.weight.grad is not None and context.weight.grad.abs().sum() > 0
