"""``lic import-compressai``: CompressAI checkpoints made by the real ``compressai`` package.

The fixtures in ``tests/fixtures/compressai/`` were written by ``make_fixtures.py`` there (run by
hand with compressai 1.2.8): for each architecture, a checkpoint as CompressAI users save it
(xz-compressed for the repository) and CompressAI's eval-mode results on a fixed 64×64 image —
the decoded latent ŷ, x̂ = g_s(ŷ) and the likelihoods of the coded ŷ and ẑ.

What is compared, and how closely (measured worst cases in brackets):

* g_s on CompressAI's own ŷ: float transforms, GDN converted by value — 1e-4 relative [1e-7].
* ŷ: every symbol equal (no latent quantizes differently); ŷ itself within 0.01 [2.4e-3],
  because μ comes from licodec's exact fixed-point entropy-parameter path (weights on a 2^-14
  grid, activations on 2^-8), not CompressAI's float one.
* x̂ from our own forward pass: 5e-3 absolute [1.2e-3], the μ offsets above through g_s.
* ẑ's likelihoods: float path with medians — 1e-5 [6e-8].
* ŷ's likelihoods with continuous scales (licodec's eval ``forward`` snaps σ to its 64-entry
  coding table; here the table is bypassed to compare like with like): 5e-3 absolute per symbol
  [2.1e-3] and the total bits within 1.5 % [0.7 %] — σ carries the fixed-point error above, and
  a Gaussian bin's probability is steep in σ for small σ.
* the rate licodec actually codes with (table scales) within 3 % of CompressAI's estimate [1.1 %].

Then a real compress/decompress round trip of every imported model (bit-exact ŷ,
:mod:`exactness`), and the CLI with its failure modes (exit 2, no output written).
"""

from __future__ import annotations

import lzma
import pickle
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from exactness import check_cross_process, check_roundtrip
from licodec import models
from licodec.cli import main
from licodec.convert.compressai import ARCHS, convert_state_dict, guess_arch, import_compressai, read_checkpoint
from licodec.entropy_models import FactorizedDensity
from licodec.entropy_models.gaussian import GaussianConditional
from licodec.errors import InvalidOptionError, WeightsError
from licodec.layers.exact import ExactConv2d, ExactLeakyReLU
from licodec.layers.masked import IntegerPointwise, to_grid
from licodec.ops import lower_bound

FIXTURES = Path(__file__).parent / "fixtures" / "compressai"
AUTOREGRESSIVE = ("mbt2018", "cheng2020-anchor", "cheng2020-attn")


def unpack(arch: str, folder: Path) -> Path:
    path = folder / f"{arch}.pth.tar"
    if not path.exists():
        path.write_bytes(lzma.decompress((FIXTURES / f"{arch}.pth.tar.xz").read_bytes()))
    return path


def fixture_input() -> torch.Tensor:
    return load_file(str(FIXTURES / "input.safetensors"))["x"].float() / 255


def reference(arch: str) -> dict[str, torch.Tensor]:
    return load_file(str(FIXTURES / f"{arch}.outputs.safetensors"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """arch -> (model loaded back from the written weights file, weights path)."""
    folder = tmp_path_factory.mktemp("compressai")
    cache: dict[str, tuple[models.CompressionModel, Path]] = {}

    def get(arch: str):
        if arch not in cache:
            out = folder / f"{arch}.safetensors"
            import_compressai(unpack(arch, folder), arch, out)
            cache[arch] = (models.load(out), out)
        return cache[arch]

    return get


def continuous_scales(monkeypatch):
    """Make GaussianConditional's eval likelihood use σ itself (bounded below by 0.11, as
    CompressAI's) instead of the nearest coding-table scale."""
    monkeypatch.setattr(GaussianConditional, "table_scales", lambda self, s: lower_bound(s, self.scale_bound))


def bits(lik: torch.Tensor) -> float:
    return float(-torch.log2(lik.double()).sum())


# -- the imported model computes what CompressAI computes -------------------------------------------------
@pytest.mark.parametrize("arch", list(ARCHS))
def test_matches_compressai(arch, imported, monkeypatch):
    net, path = imported(arch)
    ref = reference(arch)
    x = fixture_input()
    assert net.name == ARCHS[arch]
    assert net.config()["compat"] == "compressai"
    assert net.quality_range == (1.0, 1.0)
    assert not net.training

    with torch.no_grad():
        # the synthesis transform alone, on CompressAI's latent
        x_ref = ref["x_hat"]
        assert (net.g_s(ref["y_hat"]) - x_ref).abs().max() <= 1e-4 * max(1.0, float(x_ref.abs().max()))
        out = net(x)
        with monkeypatch.context() as m:
            continuous_scales(m)
            cont = net(x)

    dy = (out["y_hat"] - ref["y_hat"]).abs()
    flips = int((dy > 0.25).sum())
    assert flips == 0, f"{flips} latents quantize differently from CompressAI"
    assert dy.max() <= 0.01
    assert (out["x_hat"] - x_ref).abs().max() <= 5e-3

    if "lik_z" in ref:
        assert (out["likelihoods"]["z"] - ref["lik_z"]).abs().max() <= 1e-5
    lik = cont["likelihoods"]["y"]
    assert (lik - ref["lik_y"]).abs().max() <= 5e-3
    assert bits(lik) == pytest.approx(bits(ref["lik_y"]), rel=0.015)
    ours = sum(bits(v) for v in out["likelihoods"].values())
    theirs = sum(bits(ref[k]) for k in ("lik_y", "lik_z") if k in ref)
    assert ours == pytest.approx(theirs, rel=0.03)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_imported_model_codes_exactly(arch, imported):
    net, _ = imported(arch)
    x = fixture_input()
    enc = check_roundtrip(net, x)  # bit-exact ŷ through real bitstreams, honest rate
    with torch.no_grad():
        out = net(x)
    assert torch.equal(enc["y_hat"], out["y_hat"])  # eval forward = the coded path
    dec = net.decompress(enc["strings"], enc["shape"])
    assert (dec["x_hat"] - reference(arch)["x_hat"].clamp(0, 1)).abs().max() <= 5e-3


@pytest.mark.parametrize("arch", ["mbt2018", "elic2022"])
def test_imported_model_decodes_in_fresh_process(arch, imported, tmp_path):
    net, _ = imported(arch)
    check_cross_process(net, fixture_input(), tmp_path)


def test_weights_file_records_source_and_compat(imported):
    from licodec.models.weights import read_weights

    net, path = imported("mbt2018-mean")
    tensors, meta = read_weights(path)
    assert meta["model"] == "mbt2018-mean"
    assert meta["config"] == {"N": 8, "M": 12, "lambdas": [0.013], "compat": "compressai"}
    assert meta["source"] == "compressai" and meta["source_arch"] == "mbt2018-mean"
    assert tensors["gain.log_enc"].abs().max() == 0 and tensors["gain.log_dec"].abs().max() == 0
    assert tensors["z_density.medians"].abs().max() > 0  # CompressAI's medians, not zeros
    assert any(isinstance(m, ExactLeakyReLU) for m in net.h_s)


# -- reading checkpoints ------------------------------------------------------------------------------
def test_checkpoint_layouts_are_found(tmp_path):
    """Bare state dict (zoo), {"state_dict": ...} (training script), "module." prefixes
    (DataParallel), "model"/"network" nesting, safetensors, and CompressAI's old key names."""
    bare = read_checkpoint(unpack("bmshj2018-factorized", tmp_path))
    prefixed = read_checkpoint(unpack("cheng2020-anchor", tmp_path))
    assert not any(k.startswith("module.") for k in prefixed)
    assert "entropy_bottleneck.matrices.0" in bare
    state = read_checkpoint(unpack("bmshj2018-hyperprior", tmp_path))
    for wrap in ("model", "network"):
        p = tmp_path / f"{wrap}.pth"
        torch.save({wrap: {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, p)
        assert read_checkpoint(p).keys() == state.keys()
    p = tmp_path / "state.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(p))
    assert read_checkpoint(p).keys() == state.keys()
    # CompressAI < 1.1 named the entropy bottleneck's parameters _matrix0, _bias0, _factor0
    old = {k.replace("matrices.", "_matrix").replace("biases.", "_bias").replace("factors.", "_factor"): v
           for k, v in state.items()}
    assert any("._matrix0" in k for k in old)
    a = convert_state_dict(old, "bmshj2018-hyperprior").state_dict()
    b = convert_state_dict(state, "bmshj2018-hyperprior").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_architecture_is_recognised(tmp_path):
    for arch in ARCHS:
        assert guess_arch(read_checkpoint(unpack(arch, tmp_path))) == arch


def test_pickled_code_is_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pth.tar"
    torch.save({"state_dict": {"g_a.0.weight": torch.zeros(1)}, "hook": Payload()}, path)
    with pytest.raises(WeightsError, match="refusing to unpickle"):
        read_checkpoint(path)
    assert not marker.exists()


def test_unreadable_checkpoints(tmp_path):
    path = tmp_path / "bad.pth.tar"
    for content, message in [(b"not a checkpoint at all", "not a readable PyTorch checkpoint"),
                             (pickle.dumps({"state_dict": {}}, protocol=2), "not a readable PyTorch checkpoint"),
                             (b"", "not a readable PyTorch checkpoint")]:
        path.write_bytes(content)
        with pytest.raises(WeightsError, match=message):
            read_checkpoint(path)
    for obj in ({"epoch": 3, "loss": torch.tensor(1.0)}, {"state_dict": {}}, [torch.zeros(2)]):
        torch.save(obj, path)
        with pytest.raises(WeightsError, match="no state dict"):
            read_checkpoint(path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"{}")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        read_checkpoint(bad)


def test_wrong_architecture_is_rejected_with_a_hint(tmp_path):
    state = read_checkpoint(unpack("mbt2018", tmp_path))
    with pytest.raises(WeightsError, match=r"unexpected.*context_prediction.*looks like a 'mbt2018'"):
        convert_state_dict(state, "mbt2018-mean")
    with pytest.raises(WeightsError, match="looks like a 'mbt2018'"):
        convert_state_dict(state, "cheng2020-anchor")
    hyper = read_checkpoint(unpack("bmshj2018-hyperprior", tmp_path))
    with pytest.raises(WeightsError, match=r"shape.*looks like a 'bmshj2018-hyperprior'"):
        convert_state_dict(hyper, "mbt2018-mean")
    with pytest.raises(InvalidOptionError, match="unknown architecture"):
        convert_state_dict(hyper, "cheng2021")
    del hyper["h_s.0.weight"]
    with pytest.raises(WeightsError, match=r"1 tensors missing .*h_s\.0\.weight"):
        convert_state_dict(hyper, "bmshj2018-hyperprior")


# -- the CLI ---------------------------------------------------------------------------------------------------
def test_cli_imports_and_the_weights_code_images(tmp_path):
    import licodec

    ckpt = unpack("mbt2018-mean", tmp_path)
    out = tmp_path / "imported.safetensors"
    res = CliRunner().invoke(main, ["import-compressai", str(ckpt), "--arch", "mbt2018-mean", "-o", str(out),
                                    "--lambda", "0.0067"])
    assert res.exit_code == 0, res.output
    assert "mbt2018-mean" in res.output and out.is_file()
    net = models.load(out)
    assert net.config()["lambdas"] == [0.0067]
    image = (fixture_input()[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    data = licodec.compress(image, weights=out)
    assert licodec.decompress(data, weights=out).size == (64, 64)


@pytest.mark.parametrize("case", ["garbage", "missing", "wrong-arch", "unknown-arch", "no-state-dict"])
def test_cli_failures_exit_2_without_output(tmp_path, case):
    ckpt = unpack("bmshj2018-hyperprior", tmp_path)
    arch = "bmshj2018-hyperprior"
    if case == "garbage":
        ckpt = tmp_path / "garbage.pth.tar"
        ckpt.write_bytes(b"\x00\x01garbage" * 10)
    elif case == "missing":
        ckpt = tmp_path / "nope.pth.tar"
    elif case == "wrong-arch":
        arch = "elic2022"
    elif case == "unknown-arch":
        arch = "bmshj2099"
    else:
        ckpt = tmp_path / "meta.pth.tar"
        torch.save({"epoch": 1, "loss": 0.5}, ckpt)
    out = tmp_path / "out.safetensors"
    res = CliRunner().invoke(main, ["import-compressai", str(ckpt), "--arch", arch, "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert "lic: error:" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()
    assert not any(p.name.startswith(".out.safetensors") for p in tmp_path.iterdir())


# -- the compatibility building blocks ---------------------------------------------------------------
def test_exact_leaky_relu_is_on_grid_and_matches_integer_path():
    torch.manual_seed(0)
    act = ExactLeakyReLU()
    x = torch.round(torch.randn(4, 6, 5, 5) * 3 * 256) / 256  # on the activation grid
    y = act.eval()(x)
    assert torch.equal(y[x >= 0], x[x >= 0])
    assert torch.equal(y * 256, torch.round(y * 256))  # on the grid
    assert (y[x < 0] - 0.01 * x[x < 0]).abs().max() <= 2**-9
    # IntegerPointwise (the per-position decoding path) gives the same numbers
    stack = torch.nn.Sequential(ExactConv2d(6, 5, 1), ExactLeakyReLU(), ExactConv2d(5, 4, 1)).eval()
    full = stack(x)
    rows = IntegerPointwise(stack)(to_grid(x).permute(0, 2, 3, 1).reshape(-1, 6))
    assert torch.equal(rows / 256, full.permute(0, 2, 3, 1).reshape(-1, 4).double())
    # training: fake quantization with the slope as gradient
    xt = torch.tensor([-1.0, 2.0], requires_grad=True)
    act.train()(xt).sum().backward()
    assert xt.grad.tolist() == pytest.approx([0.01, 1.0])


def test_median_centred_factorized_density():
    torch.manual_seed(0)
    plain = FactorizedDensity(3)
    assert "medians" not in plain.state_dict()  # existing weight files are unaffected
    density = FactorizedDensity(3, medians=True).eval()
    with torch.no_grad():
        density.medians.copy_(torch.tensor([0.3, -1.25, 0.0]))
        density.update_tables()
        x = torch.randn(1, 3, 6, 7) * 3
        x_hat, lik = density(x)
        m = density.medians.view(1, 3, 1, 1)
        assert torch.equal(x_hat, torch.round(x - m) + m)
        from licodec.coding.ans import SymbolDecoder, SymbolEncoder

        enc = SymbolEncoder()
        density.compress(x_hat, enc)
        data = enc.finish()
        assert torch.equal(density.decompress(SymbolDecoder(data), (6, 7)), x_hat)
        assert 8 * len(data) <= bits(lik) * 1.01 + 8 * 16  # the tables follow the medians
