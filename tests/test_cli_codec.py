"""CLI and API round trips, odd inputs, and every kind of bad input (exit 2, no output file)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import licodec
from exactness import random_model
from licodec import models
from licodec.cli import main
from licodec.errors import CorruptFileError, NotLicFileError, TruncatedFileError, WeightsMismatchError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random (untrained) weights for a fast model, saved like shipped weights."""
    path = tmp_path_factory.mktemp("w") / "bmshj.safetensors"
    models.save_weights(random_model("bmshj2018-hyperprior", seed=7), path)
    return path


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("w2") / "other.safetensors"
    models.save_weights(random_model("bmshj2018-hyperprior", seed=8), path)
    return path


def photo(h=64, w=96, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(xx / 7 + c) * np.cos(yy / 9) for c in range(3)], axis=2)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_roundtrip_and_info(tmp_path, weights):
    src = tmp_path / "in.png"
    Image.fromarray(photo()).save(src)
    r = run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights, "--quality", 3.5)
    assert r.exit_code == 0, r.output
    lic = tmp_path / "in.lic"
    assert lic.is_file() and "bpp" in r.output
    r = run("info", lic, "--json")
    assert r.exit_code == 0 and '"model": "bmshj2018-hyperprior"' in r.output and '"quality": 3.5' in r.output
    r = run("decompress", lic, "-o", tmp_path / "out.png", "--weights", weights)
    assert r.exit_code == 0, r.output
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (64, 96, 3)
    # decoding is deterministic: the API gives the same pixels
    assert np.array_equal(out, np.asarray(licodec.decompress(lic.read_bytes(), weights=weights)))


def test_default_output_never_clobbers(tmp_path, weights):
    src = tmp_path / "a.png"
    Image.fromarray(photo()).save(src)
    assert run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights).exit_code == 0
    # decompressing a.lic would write a.png, the original: refused
    r = run("decompress", tmp_path / "a.lic", "--weights", weights)
    assert r.exit_code == 2 and "exists" in r.output
    assert np.array_equal(np.asarray(Image.open(src)), photo())


def test_several_sources_code_each_like_one(tmp_path, weights):
    """``lic compress a b c`` writes what three single calls write; ``-o`` names a folder for them."""
    srcs = []
    for i in range(3):
        srcs.append(tmp_path / f"img{i}.png")
        Image.fromarray(photo(seed=i)).save(srcs[-1])
    opts = ("--model", "bmshj2018-hyperprior", "--weights", weights, "--quality", 2.5)
    r = run("compress", *srcs, *opts)
    assert r.exit_code == 0, r.output
    single = licodec.compress(photo(seed=1), model="bmshj2018-hyperprior", weights=weights, quality=2.5)
    assert (tmp_path / "img1.lic").read_bytes() == single
    (tmp_path / "out").mkdir()
    lics = [s.with_suffix(".lic") for s in srcs]
    r = run("decompress", *lics, "-o", tmp_path / "out", "--weights", weights)
    assert r.exit_code == 0, r.output
    r = run("compress", srcs[1], "-o", tmp_path / "out", *opts)  # one source into a folder
    assert r.exit_code == 0 and (tmp_path / "out" / "img1.lic").read_bytes() == single
    for i in range(3):
        decoded = np.asarray(Image.open(tmp_path / "out" / f"img{i}.png"))
        assert np.array_equal(decoded, np.asarray(licodec.decompress(lics[i].read_bytes(), weights=weights)))


def test_several_sources_one_bad(tmp_path, weights):
    """A source that fails gets its own error line; the others are still coded; exit 2."""
    Image.fromarray(photo()).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    Image.fromarray(photo(seed=3)).save(tmp_path / "c.png")
    r = run("compress", tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png",
            "--model", "bmshj2018-hyperprior", "--weights", weights)
    assert r.exit_code == 2
    errors = [line for line in r.output.splitlines() if line.startswith("lic: error:")]
    assert len(errors) == 2 and "b.png: cannot read image" in errors[0] and "1 of 3 files failed" in errors[1]
    assert (tmp_path / "a.lic").is_file() and (tmp_path / "c.lic").is_file() and not (tmp_path / "b.lic").exists()


def test_several_sources_checked_before_any_is_coded(tmp_path, weights):
    """Outputs that would collide, exist, or need a folder that is not there: exit 2, nothing written."""
    Image.fromarray(photo()).save(tmp_path / "a.png")
    Image.fromarray(photo()).save(tmp_path / "a.bmp")
    Image.fromarray(photo()).save(tmp_path / "b.png")
    opts = ("--model", "bmshj2018-hyperprior", "--weights", weights)
    r = run("compress", tmp_path / "a.png", tmp_path / "a.bmp", *opts)
    assert r.exit_code == 2 and "both be written to" in r.output
    r = run("compress", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "nodir", *opts)
    assert r.exit_code == 2 and "existing folder" in r.output
    (tmp_path / "b.lic").write_bytes(b"keep")
    r = run("compress", tmp_path / "a.png", tmp_path / "b.png", *opts)
    assert r.exit_code == 2 and "b.lic exists" in r.output
    assert not (tmp_path / "a.lic").exists() and (tmp_path / "b.lic").read_bytes() == b"keep"
    r = run("compress", tmp_path / "a.png", tmp_path / "b.png", "--force", *opts)
    assert r.exit_code == 0 and (tmp_path / "b.lic").read_bytes() != b"keep"


@pytest.mark.parametrize("shape", [(1, 1), (17, 33), (4000, 3), (3, 4000)])
def test_any_size(shape, weights):
    img = photo(*shape)
    data = licodec.compress(img, model="bmshj2018-hyperprior", weights=weights, quality=8)
    out = licodec.decompress(data, weights=weights)
    assert out.size == (shape[1], shape[0]) and out.mode == "RGB"
    assert licodec.read_header(data).height == shape[0]


def test_grayscale_stays_grayscale(weights):
    gray = Image.fromarray(photo()[..., 0])
    out = licodec.decompress(licodec.compress(gray, model="bmshj2018-hyperprior", weights=weights), weights=weights)
    assert out.mode == "L" and out.size == gray.size


def test_rgba_warns_and_drops_alpha(tmp_path, weights):
    rgba = np.concatenate([photo(), np.full((64, 96, 1), 128, np.uint8)], axis=2)
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(src)
    r = CliRunner().invoke(main, ["compress", str(src), "--model", "bmshj2018-hyperprior", "--weights", str(weights)])
    assert r.exit_code == 0 and "alpha channel dropped" in r.output


def test_exif_rotated_photo_decodes_upright(tmp_path, weights):
    src = tmp_path / "phone.jpg"
    image = Image.fromarray(photo())  # 96 wide, 64 high as stored
    exif = image.getexif()
    exif[0x0112] = 6  # shown turned 90° clockwise: 64 wide, 96 high
    image.save(src, exif=exif.tobytes(), quality=95)
    assert run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights).exit_code == 0
    assert licodec.read_header((tmp_path / "phone.lic").read_bytes()).width == 64
    out = licodec.decompress((tmp_path / "phone.lic").read_bytes(), weights=weights)
    assert out.size == (64, 96)


def test_16bit_png_is_scaled_with_warning(tmp_path, weights):
    arr = (np.arange(64 * 96, dtype=np.uint16).reshape(64, 96) * 10).astype(np.uint16)
    src = tmp_path / "deep.png"
    Image.fromarray(arr).save(src)
    r = run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights)
    assert r.exit_code == 0 and "scaled to 8 bits" in r.output


def _compressed(tmp_path, weights) -> Path:
    src = tmp_path / "x.png"
    Image.fromarray(photo()).save(src)
    assert run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights).exit_code == 0
    return tmp_path / "x.lic"


def _bad(tmp_path, name, data, weights, capsys=None):
    bad = tmp_path / name
    bad.write_bytes(data)
    out = tmp_path / f"{name}.png"
    proc = subprocess.run([sys.executable, "-m", "licodec.cli", "decompress", str(bad), "-o", str(out), "--weights", str(weights)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("lic: error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    return proc.stderr


def test_bad_lic_files_exit_2_without_output(tmp_path, weights, other_weights):
    data = _compressed(tmp_path, weights).read_bytes()
    assert "truncated" in _bad(tmp_path, "trunc.lic", data[: len(data) // 2], weights)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    assert "corrupt" in _bad(tmp_path, "flip.lic", bytes(flipped), weights)
    assert "not a .lic" in _bad(tmp_path, "png.lic", (Path(__file__).parent / "test_cli_codec.py").read_bytes(), weights)
    assert "other" in _bad(tmp_path, "wrongw.lic", data, other_weights)


def test_api_raises_specific_exceptions(tmp_path, weights, other_weights):
    data = _compressed(tmp_path, weights).read_bytes()
    with pytest.raises(TruncatedFileError):
        licodec.decompress(data[:-3], weights=weights)
    with pytest.raises(CorruptFileError):
        licodec.decompress(data[:-1] + bytes([data[-1] ^ 1]), weights=weights)
    with pytest.raises(NotLicFileError):
        licodec.decompress(b"GIF89a....", weights=weights)
    with pytest.raises(WeightsMismatchError):
        licodec.decompress(data, weights=other_weights)


def test_bad_inputs_to_compress(tmp_path, weights):
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    r = run("compress", tmp_path / "junk.png", "--model", "bmshj2018-hyperprior", "--weights", weights)
    assert r.exit_code == 2 and "cannot read image" in r.output and not (tmp_path / "junk.lic").exists()
    src = tmp_path / "ok.png"
    Image.fromarray(photo()).save(src)
    for args, msg in [(("--quality", 42), "outside"), (("--model", "nope"), "unknown model"),
                      (("--quality", 2, "--bpp", 1), "at most one")]:
        r = run("compress", src, "--weights", weights, *args) if "nope" not in args else run("compress", src, *args)
        assert r.exit_code == 2 and msg in r.output, r.output
        assert not (tmp_path / "ok.lic").exists()
    (tmp_path / "w.safetensors").write_bytes(b"\x00" * 64)
    r = run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", tmp_path / "w.safetensors")
    assert r.exit_code == 2 and "not a valid safetensors" in r.output
    r = run("compress", tmp_path / "missing.png")
    assert r.exit_code == 2


def test_weights_for_another_architecture_are_rejected(tmp_path, weights):
    src = tmp_path / "ok.png"
    Image.fromarray(photo()).save(src)
    r = run("compress", src, "--model", "mbt2018-mean", "--weights", weights)
    assert r.exit_code == 2 and "bmshj2018-hyperprior" in r.output


def test_no_partial_output_when_writing_fails(tmp_path, weights):
    src = tmp_path / "ok.png"
    Image.fromarray(photo()).save(src)
    r = run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights, "-o", tmp_path / "nodir" / "x.lic")
    assert r.exit_code == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_outputs_get_normal_permissions(tmp_path, weights):
    """Atomic writes go through a private temporary file; the result must not stay 0600."""
    src = tmp_path / "in.png"
    Image.fromarray(photo()).save(src)
    old = os.umask(0o022)
    try:
        assert run("compress", src, "--model", "bmshj2018-hyperprior", "--weights", weights).exit_code == 0
        assert run("decompress", tmp_path / "in.lic", "-o", tmp_path / "out.png", "--weights", weights).exit_code == 0
    finally:
        os.umask(old)
    for name in ("in.lic", "out.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_fresh_model_without_tables_codes_decodable_files():
    net = models.create("bmshj2018-hyperprior", pretrained=False)  # no coding tables yet
    data = licodec.compress(photo(), net=net, quality=5)
    assert licodec.decompress(data, net=net).size == (96, 64)
