"""Encoder-side latent refinement: lower RD cost, unchanged decoder, clear errors where unsupported."""

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import licodec
from exactness import random_model
from licodec import models, refine
from licodec.cli import main
from licodec.errors import InvalidOptionError
from licodec.eval.codecs import parse_codecs, resolve_specs
from licodec.eval.metrics import psnr
from licodec.image_io import image_to_tensor, load_image
from licodec.refine import soft_round, temperature
from test_default_model import kodak_or_sample


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    arr, _ = load_image(kodak_or_sample())
    return np.ascontiguousarray(arr[:128, :192])


def rd_cost(image: np.ndarray, data: bytes, lam: float) -> float:
    """Coded bits per pixel + λ·255²·MSE of the decoded image: the loss refinement lowers."""
    bpp = 8 * len(data) / (image.shape[0] * image.shape[1])
    return bpp + lam * 255**2 * 10 ** (-psnr(image, np.asarray(licodec.decompress(data))) / 10)


def test_soft_round_tends_to_rounding_and_has_gradients():
    v = torch.tensor([-1.8, -0.3, 0.2, 0.7, 2.45], requires_grad=True)
    soft = soft_round(v, 0.5, torch.Generator().manual_seed(0))
    assert torch.all(soft >= torch.floor(v)) and torch.all(soft <= torch.ceil(v))
    soft.sum().backward()
    assert v.grad is not None and torch.all(v.grad != 0)
    cold = soft_round(v.detach(), 1e-3, torch.Generator().manual_seed(0))
    assert torch.allclose(cold, torch.round(v.detach()), atol=1e-3)
    assert temperature(0, 50) == 0.5 and temperature(49, 50) < 0.01


def test_refined_file_is_smaller_at_lower_rd_cost_and_decodes_exactly(crop):
    net = models.create(models.DEFAULT)
    for q in (1.0, 8.0):
        lam = net.lam(q)
        plain = licodec.compress(crop, quality=q)
        refined = licodec.compress(crop, quality=q, refine=30)
        assert licodec.read_header(refined).quality == q
        assert rd_cost(crop, refined, lam) < 0.99 * rd_cost(crop, plain, lam)
    x = image_to_tensor(crop)
    with torch.no_grad():
        enc = net.compress(x, 4.0, refine=10)
        dec = net.decompress(enc["strings"], enc["shape"], 4.0)
    assert torch.equal(enc["y_hat"], dec["y_hat"])  # the decoder reproduces the refined latents bit for bit


def test_refinement_changes_only_the_latents():
    net = random_model("bmshj2018-hyperprior", seed=3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        enc = net.compress(x, 2.0, refine=3)
        plain = net.compress(x, 2.0)
    assert enc["strings"][1] == plain["strings"][1]  # the hyper-latent stays at h_a(g_a(x))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters()) and not net.training
    assert torch.equal(net.decompress(enc["strings"], enc["shape"], 2.0)["y_hat"], enc["y_hat"])


@pytest.mark.parametrize("native", [True, False])
def test_refinement_runs_in_bf16_only_where_the_hardware_has_it(monkeypatch, native):
    """Emulated bf16 is several times slower than fp32, so refinement uses it only on bf16 hardware."""
    net = random_model("bmshj2018-hyperprior", seed=3)
    synthesis, dtypes = net._synthesis, []

    def recorded(*args, **kwargs):
        out = synthesis(*args, **kwargs)
        dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(net, "_synthesis", recorded)
    monkeypatch.setattr(refine, "native_bf16", lambda device: native)
    with torch.no_grad():
        net.compress(torch.rand(1, 3, 64, 64), 2.0, refine=2)
    assert dtypes == [torch.bfloat16 if native else torch.float32] * 2


def test_unsupported_models_and_bad_step_counts_are_rejected(tmp_path, crop):
    path = tmp_path / "ctx.safetensors"
    models.save_weights(random_model("mbt2018", seed=1), path)
    with pytest.raises(InvalidOptionError, match="context model"):
        licodec.compress(crop[:64, :64], weights=path, refine=5)
    for steps in (-1, 1.5, math.inf):
        with pytest.raises(InvalidOptionError):
            licodec.compress(crop[:64, :64], refine=steps)
    src = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(crop[:64, :64]).save(src)
    r = CliRunner().invoke(main, ["compress", str(src), "-o", str(tmp_path / "a.lic"), "--weights", str(path), "--refine", "5"])
    assert r.exit_code == 2 and "context model" in r.output and not (tmp_path / "a.lic").exists()
    r = CliRunner().invoke(main, ["compress", str(src), "-o", str(tmp_path / "b.lic"), "--refine", "-3"])
    assert r.exit_code == 2 and not (tmp_path / "b.lic").exists()
    r = CliRunner().invoke(main, ["compress", str(src), "-o", str(tmp_path / "c.lic"), "--refine", "2"])
    assert r.exit_code == 0 and licodec.decompress((tmp_path / "c.lic").read_bytes()).size == (64, 64)


def test_eval_codec_spec_with_refinement():
    specs = resolve_specs(parse_codecs("lic:default+refine20@1,4"))
    assert [(s.name, s.settings) for s in specs] == [(f"lic:{models.DEFAULT}+refine20", (1.0, 4.0))]
    with pytest.raises(InvalidOptionError):
        resolve_specs(parse_codecs("lic:nosuchmodel+refine20"))
