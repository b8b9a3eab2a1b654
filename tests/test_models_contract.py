"""The shared contract for the hyperprior-family models: exact decoding, honest rates, training."""

import pytest
import torch

from exactness import check_cross_process, check_roundtrip, random_model, test_image
from licodec import models
from licodec.errors import UnknownModelError
from licodec.train.loss import rd_loss

BASE_MODELS = ["bls2017", "bmshj2018-hyperprior", "mbt2018-mean"]


@pytest.mark.parametrize("name", BASE_MODELS)
def test_roundtrip_exact_and_rate_honest(name):
    net = random_model(name)
    x = test_image(128, 192)
    enc = check_roundtrip(net, x, quality=2.5)
    assert enc["y_hat"].shape[1] == net.M


@pytest.mark.parametrize("name", BASE_MODELS)
def test_decodes_in_fresh_process_one_thread_no_onednn(name, tmp_path):
    net = random_model(name, seed=3)
    check_cross_process(net, test_image(128, 128, seed=1), tmp_path, quality=6.0)


@pytest.mark.parametrize("name", BASE_MODELS)
def test_training_step_reduces_nothing_to_nan(name):
    net = models.create(name, pretrained=False)
    net.train()
    x = test_image(64, 64)
    q = torch.tensor([1.0, 7.5])
    out = net(x.repeat(2, 1, 1, 1), q)
    losses = rd_loss(out, x.repeat(2, 1, 1, 1), net.gain.lam(q))
    losses["loss"].backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    # the gains of the two interpolation endpoints used by q=7.5 got gradient
    assert net.gain.log_enc.grad[6:8].abs().sum() > 0


def test_quality_changes_rate():
    net = random_model("mbt2018-mean")
    x = test_image(128, 128)
    sizes = [sum(len(s) for s in net.compress(x, q)["strings"]) for q in (1.0, 8.0)]
    assert sizes[0] < sizes[1]


def test_quality_out_of_range_is_rejected():
    net = random_model("bmshj2018-hyperprior")
    with pytest.raises(ValueError, match="outside"):
        net.compress(test_image(64, 64), 9.0)


def test_input_size_must_match_downsampling():
    net = random_model("mbt2018-mean")
    with pytest.raises(ValueError, match="multiples of 64"):
        net.compress(torch.rand(1, 3, 64, 80), 1.0)


def test_compress_needs_eval_mode():
    net = models.create("bls2017", pretrained=False)
    net.train()
    with pytest.raises(RuntimeError, match="eval"):
        net.compress(test_image(64, 64))


def test_registry_errors():
    with pytest.raises(UnknownModelError):
        models.create("no-such-model", pretrained=False)
