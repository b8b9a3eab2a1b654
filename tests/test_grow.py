"""Growing a context model from a trained mean-scale hyperprior: it starts out coding exactly like
its source, stays bit-exact once its context is trained, and survives saving and resuming."""

import pytest
import torch

from exactness import check_cross_process, check_roundtrip, liven, random_model, test_image
from init_runs import train_then_resume
from licodec import models
from licodec.errors import WeightsError
from licodec.train.loss import rd_loss

TINY = {"N": 8, "M": 12}


@pytest.fixture
def source(tmp_path):
    """A saved mbt2018-mean whose latents use several symbols (see ``liven``)."""
    net = liven(random_model("mbt2018-mean", **TINY))
    path = tmp_path / "mbt2018-mean.safetensors"
    models.save_weights(net, path)
    return net, path


def test_grown_model_codes_like_its_source(source):
    src, path = source
    net = models.create("he2021-checkerboard", weights=path)
    net.update_tables()
    assert net.config() == {**src.config(), "residual": True}
    x = test_image(64, 128)
    with torch.no_grad():
        a, b = src(x, 3.0), net(x, 3.0)
    assert torch.equal(a["x_hat"], b["x_hat"])
    assert torch.equal(a["likelihoods"]["y"], b["likelihoods"]["y"])
    enc = [m.compress(x, 3.0) for m in (src, net)]
    assert torch.equal(enc[0]["y_hat"], enc[1]["y_hat"])  # the same symbols, in another order
    sizes = [sum(len(s) for s in e["strings"]) for e in enc]
    assert sizes[0] > 150 and abs(sizes[0] - sizes[1]) <= 8


def test_grown_model_with_trained_context_is_exact(source, tmp_path):
    _, path = source
    net = models.create("he2021-checkerboard", weights=path)
    torch.manual_seed(1)
    with torch.no_grad():
        net.entropy_parameters[-1].weight.normal_(0, 0.02)
    net.update_tables()
    check_roundtrip(net, test_image(64, 128), quality=2.5)
    check_cross_process(net, test_image(64, 128, seed=1), tmp_path, quality=6.0)  # reloads residual


def test_grown_model_learns_from_the_first_step(source):
    _, path = source
    net = models.create("he2021-checkerboard", weights=path)
    net.train()
    x = test_image(64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([1.0, 8.0])
    rd_loss(net(x, q), x, net.gain.lam(q))["loss"].backward()
    assert net.entropy_parameters[-1].weight.grad.abs().sum() > 0


def test_only_listed_models_grow(tmp_path):
    path = tmp_path / "bls.safetensors"
    models.save_weights(random_model("bls2017", **TINY), path)
    with pytest.raises(WeightsError, match="holds weights for 'bls2017'"):
        models.create("he2021-checkerboard", weights=path)


def test_training_a_grown_model_records_and_resumes_its_config(source, tmp_path):
    _, path = source
    resumed, run = train_then_resume("he2021-checkerboard", path, tmp_path)  # no --init on resume
    assert resumed.net.residual and resumed.step == 2
    exported = models.load(run / "weights.safetensors")
    assert exported.name == "he2021-checkerboard" and exported.residual and exported.N == TINY["N"]
