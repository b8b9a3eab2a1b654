"""The evaluation runner (licodec.eval.runner): real files, parallel workers, outputs, lic path."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licodec.eval import metrics
from licodec.eval.classical import CLASSICAL
from licodec.eval.codecs import parse_codecs, resolve_specs
from licodec.eval.results import SCHEMA, load_curves, write_csv, write_json
from licodec.eval import runner
from licodec.eval.runner import evaluate, list_images, load_rgb


def synthetic(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / (11.0 + seed)) * np.cos(yy / 19.0)
    g = 255 * yy / h
    b = np.where((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(h, w) / 3) ** 2, 210.0, 50.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 5, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    Image.fromarray(synthetic(176, 200, 1)).save(d / "a.png")
    Image.fromarray(synthetic(168, 192, 2)).save(d / "b.png")
    (d / "notes.txt").write_text("not an image")
    return d


CODECS = "jpeg@30,70,webp@50,jpeg2000@0.5,jpegxl@3"  # AVIF (slow) is covered elsewhere


@pytest.fixture(scope="module")
def results_2w(image_dir):
    specs = resolve_specs(parse_codecs(CODECS))
    return evaluate(list_images(image_dir), specs, workers=2, progress=False)


def test_list_images(image_dir, tmp_path):
    assert [p.name for p in list_images(image_dir)] == ["a.png", "b.png"]
    assert [p.name for p in list_images(image_dir, limit=1)] == ["a.png"]


def test_every_point_is_a_real_file(results_2w, image_dir):
    r = results_2w
    assert r["schema"] == SCHEMA
    assert r["run"]["workers"] == 2 and r["run"]["threads_per_worker"] == 1
    assert r["dataset"]["images"] == ["a.png", "b.png"]
    assert len(r["points"]) == 2 * (2 + 2 + 1 + 1 + 1)
    for p in r["points"]:
        rgb = load_rgb(image_dir / p["image"])
        codec = CLASSICAL[p["codec"]]
        data = codec.encode(rgb, p["setting"], 1)  # deterministic encoders
        assert p["bytes"] == len(data)
        assert p["bpp"] == pytest.approx(8 * len(data) / (p["width"] * p["height"]))
        decoded = codec.decode(data, 1)
        assert p["psnr"] == pytest.approx(metrics.psnr(rgb, decoded))
        assert p["ms_ssim"] == pytest.approx(metrics.ms_ssim(rgb, decoded))
        assert p["ms_ssim_scales"] == 5
        assert p["enc_s"] > 0 and p["dec_s"] > 0


def test_curves_are_means_per_setting(results_2w):
    r = results_2w
    assert list(r["curves"]) == ["jpeg444", "jpeg420", "webp", "jpeg2000", "jpegxl"]
    c = r["curves"]["jpeg444"]
    assert c["setting"] == [30.0, 70.0] and c["n_images"] == [2, 2]
    pts = [p for p in r["points"] if p["codec"] == "jpeg444" and p["setting"] == 70.0]
    assert c["bpp"][1] == pytest.approx(np.mean([p["bpp"] for p in pts]))
    assert c["psnr"][1] == pytest.approx(np.mean([p["psnr"] for p in pts]))
    assert c["bpp"][0] < c["bpp"][1] and c["psnr"][0] < c["psnr"][1]
    assert c["ms_ssim_db"][1] == pytest.approx(-10 * np.log10(1 - c["ms_ssim"][1]))
    assert r["codecs"]["jpegxl"]["setting_name"] == "distance"


def test_one_worker_gives_the_same_numbers(results_2w, image_dir):
    specs = resolve_specs(parse_codecs("jpeg@30,70,jpegxl@3"))
    r1 = evaluate(list_images(image_dir), specs, workers=1, progress=False)
    key = lambda p: (p["codec"], p["image"], p["setting"])  # noqa: E731
    two = {key(p): p for p in results_2w["points"]}
    for p in r1["points"]:
        q = two[key(p)]
        assert (p["bytes"], p["psnr"]) == (q["bytes"], q["psnr"])


def test_json_and_csv_round_trip(results_2w, tmp_path):
    out = tmp_path / "r.json"
    write_json(out, results_2w)
    data = json.loads(out.read_text())
    assert data["schema"] == SCHEMA and len(data["points"]) == len(results_2w["points"])
    curves = load_curves(out)
    assert set(curves) == set(results_2w["curves"])
    assert curves["webp"].label == "WebP"
    assert np.allclose(curves["jpeg444"].bpp, results_2w["curves"]["jpeg444"]["bpp"])
    write_csv(tmp_path / "r.csv", results_2w["points"])
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results_2w["points"])
    assert float(rows[0]["bpp"]) == pytest.approx(results_2w["points"][0]["bpp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]  # no temp leftovers


def test_non_finite_numbers_become_null(tmp_path):
    write_json(tmp_path / "x.json", {"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32(2.5)})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [1.0, None], "c": 2.5}


def test_plot_file_created(results_2w, tmp_path):
    from licodec.eval.anchors import select_anchors
    from licodec.eval.plots import save_rd_plot
    from licodec.eval.results import curves_from_results

    measured = curves_from_results({"curves": results_2w["curves"]})
    save_rd_plot(tmp_path / "rd.png", measured, select_anchors("default"))
    png = (tmp_path / "rd.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    with Image.open(tmp_path / "rd.png") as im:
        assert im.size[0] > 1000  # two panels


# --- the lic codec through the public API -----------------------------------------------------

def _prime_untrained(name):
    """Untrained weights (no trained weights need to ship), primed by one compress call."""
    import licodec
    from licodec import models

    net = models.create(name, pretrained=False)
    licodec.compress(np.zeros((32, 32, 3), np.uint8), model=name, net=net)
    return net


def test_lic_round_trip_untrained_weights(image_dir, monkeypatch):
    import licodec
    from licodec.eval import codecs, lic

    monkeypatch.setattr(lic, "model_loader", _prime_untrained)
    monkeypatch.setattr(lic, "_NETS", {})
    monkeypatch.setattr(codecs, "_CACHE", {})
    specs = resolve_specs(parse_codecs("lic:bmshj2018-hyperprior@2,6"))
    r = evaluate(list_images(image_dir, limit=1), specs, workers=1, progress=False)
    pts = r["points"]
    assert [p["codec"] for p in pts] == ["lic:bmshj2018-hyperprior"] * 2
    rgb = load_rgb(image_dir / "a.png")
    net = lic._NETS["bmshj2018-hyperprior"]
    for p in pts:
        data = licodec.compress(rgb, model="bmshj2018-hyperprior", quality=p["setting"], net=net)
        assert p["bytes"] == len(data)  # the whole .lic file, header included
        assert licodec.read_header(data).model == "bmshj2018-hyperprior"
        assert np.isfinite(p["psnr"]) and p["enc_s"] > 0 and p["dec_s"] > 0
    assert r["codecs"]["lic:bmshj2018-hyperprior"]["label"] == "licodec bmshj2018-hyperprior"


def test_lic_weights_file(image_dir, tmp_path, monkeypatch):
    """lic:FILE.safetensors evaluates a weights file with the architecture it names."""
    import licodec
    from licodec import models
    from licodec.errors import InvalidOptionError
    from licodec.eval import codecs

    monkeypatch.setattr(codecs, "_CACHE", {})
    path = tmp_path / "my run" / "w.safetensors"
    path.parent.mkdir()
    net = _prime_untrained("bmshj2018-hyperprior")
    models.save_weights(net, path)
    specs = resolve_specs(parse_codecs(f"lic:{path}@3,jpeg420@50"))
    assert specs[0].name == f"lic:{path}"
    r = evaluate(list_images(image_dir, limit=1), specs, workers=2, progress=False)
    assert r["codecs"][f"lic:{path}"]["label"] == "licodec w"
    (p,) = [p for p in r["points"] if p["codec"] == f"lic:{path}"]
    data = licodec.compress(load_rgb(image_dir / "a.png"), model="bmshj2018-hyperprior", quality=3, weights=path)
    assert p["bytes"] == len(data) and licodec.read_header(data).digest == models.state_digest(net)
    with pytest.raises(InvalidOptionError, match="not found"):
        resolve_specs(parse_codecs(f"lic:{tmp_path}/missing.safetensors"))


def test_lic_default_model_two_workers(image_dir):
    """A real evaluation of the shipped default model."""
    from licodec import models

    specs = resolve_specs(parse_codecs("lic:default@2,6"))
    r = evaluate(list_images(image_dir), specs, workers=2, progress=False)
    name = f"lic:{models.DEFAULT}"
    c = r["curves"][name]
    assert c["n_images"] == [2, 2]
    assert c["bpp"][0] < c["bpp"][1] and c["psnr"][0] < c["psnr"][1]
    assert all(np.isfinite(c["ms_ssim"]))
    import licodec

    for p in r["points"]:  # each size is the whole .lic file the API writes for that image
        data = licodec.compress(load_rgb(image_dir / p["image"]), quality=p["setting"])
        assert p["bytes"] == len(data) and p["codec"] == name
        assert licodec.read_header(data).model == models.DEFAULT


def test_worker_errors_propagate(image_dir, tmp_path):
    from licodec.errors import ImageReadError

    bad = tmp_path / "bad"
    bad.mkdir()
    Image.open(image_dir / "a.png").save(bad / "a.png")
    (bad / "z.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    specs = resolve_specs(parse_codecs("jpeg420@50"))
    with pytest.raises(ImageReadError, match="z.png"):
        evaluate(list_images(bad), specs, workers=2, progress=False)


def test_lic_quality_outside_the_model_range_is_rejected_early(image_dir, monkeypatch):
    from licodec.errors import InvalidOptionError
    from licodec.eval import codecs, lic

    monkeypatch.setattr(lic, "model_loader", _prime_untrained)
    monkeypatch.setattr(lic, "_NETS", {})
    monkeypatch.setattr(codecs, "_CACHE", {})
    specs = resolve_specs(parse_codecs("lic:bmshj2018-hyperprior@2,9"))
    with pytest.raises(InvalidOptionError, match="outside"):
        evaluate(list_images(image_dir), specs, workers=2, progress=False)


def initial_environment() -> dict[str, str]:
    """The environment this process started with: what numpy's OpenBLAS saw when it loaded."""
    items = Path("/proc/self/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in items if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a Linux process's initial environment")
def test_workers_start_single_threaded(monkeypatch):
    """Setting the thread counts in a worker once it runs is too late for OpenBLAS: two workers
    would each run two BLAS threads on two cores (the post-filter fit's matrix products)."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    with runner._single_threaded_pool(1) as pool:
        env = pool.submit(initial_environment).result()
    assert all(env[var] == "1" for var in runner._THREAD_VARIABLES)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"  # the parent's own setting is restored
