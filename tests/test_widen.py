"""Widening a trained model (more N and M channels): the wide model reconstructs exactly what its
source did, its new units learn from the first step, it codes bit-exactly, and training records
and resumes its width."""

import pytest
import torch

from exactness import check_roundtrip, liven, random_model, test_image
from init_runs import train_then_resume
from licodec import models
from licodec.errors import WeightsError
from licodec.train.loss import rd_loss

NARROW = {"N": 8, "M": 12}
WIDE = {"N": 12, "M": 16}


@pytest.fixture(params=["bmshj2018-hyperprior", "mbt2018-mean"])
def source(request, tmp_path):
    net = liven(random_model(request.param, **NARROW))
    path = tmp_path / "narrow.safetensors"
    models.save_weights(net, path)
    return net, path


def test_wide_model_reconstructs_like_its_source(source):
    src, path = source
    net = models.create(src.name, weights=path, **WIDE)
    assert (net.N, net.M) == (WIDE["N"], WIDE["M"])
    x = test_image(64, 128)
    with torch.no_grad():
        a, b = src(x, 3.0), net(x, 3.0)
    assert torch.equal(a["x_hat"], b["x_hat"])
    # the old latent channels and their entropy parameters are unchanged, the new ones cost little
    assert torch.equal(a["likelihoods"]["y"], b["likelihoods"]["y"][:, :NARROW["M"]])
    bits = [sum(-torch.log2(v).sum().item() for v in o["likelihoods"].values()) for o in (a, b)]
    assert bits[1] < 1.05 * bits[0], bits
    state, old = net.state_dict(), src.state_dict()
    assert torch.equal(state["gain.log_enc"][:, :NARROW["M"]], old["gain.log_enc"])
    assert torch.allclose(state["gain.log_enc"][:, -1], old["gain.log_enc"].mean(1))


def test_wide_model_codes_exactly(source):
    _, path = source
    net = models.create(source[0].name, weights=path, **WIDE)
    check_roundtrip(net, test_image(64, 128), quality=5.0)


def test_new_units_learn_from_the_first_step(source):
    src, path = source
    net = models.create(src.name, weights=path, **WIDE)
    m = NARROW["M"]
    with torch.no_grad():  # as liven did to the old channels: trained features give |y| >> 1
        net.g_a[-1].weight[m:] *= 100.0
    net.train()
    x = test_image(64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([1.0, 8.0])
    rd_loss(net(x, q), x, net.gain.lam(q))["loss"].backward()
    assert net.g_s[0].weight.grad[m:].abs().sum() > 0  # from the new latent channels
    assert net.g_a[-1].weight.grad[m:].abs().sum() > 0  # into them


def test_what_cannot_widen_is_refused(source, tmp_path):
    src, path = source
    with pytest.raises(WeightsError, match="not inside"):
        models.create(src.name, weights=path, N=6, M=16)
    ctx = tmp_path / "ctx.safetensors"
    models.save_weights(random_model("mbt2018", **NARROW), ctx)
    with pytest.raises(WeightsError, match="cannot start from"):
        models.create("mbt2018", weights=ctx, **WIDE)


def test_training_a_wide_model_records_and_resumes_its_width(source, tmp_path):
    src, path = source
    resumed, run = train_then_resume(src.name, path, tmp_path, **WIDE)
    assert (resumed.net.N, resumed.net.M) == (WIDE["N"], WIDE["M"]) and resumed.step == 2
    assert models.load(run / "weights.safetensors").M == WIDE["M"]
