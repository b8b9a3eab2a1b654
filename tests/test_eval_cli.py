"""`lic eval` end to end and its exit codes for bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from licodec.cli import main


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(3)
    for i in range(2):
        yy, xx = np.mgrid[0:120, 0:150].astype(np.float64)
        img = np.stack([128 + 90 * np.sin(xx / (9 + i)), 255 * yy / 120, (xx + yy) % 256], axis=-1)
        img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"img{i}.png")
    return d


def _run(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)])


def test_eval_writes_json_csv_plot(image_dir, tmp_path):
    out = tmp_path / "res.json"
    res = _run(image_dir, "--codecs", "jpeg@20,60,90,webp@30,80", "--out", out, "--plot",
               tmp_path / "rd.png", "--workers", 1, "--no-progress", "--reference", "jpeg420")
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["schema"] == "licodec.eval/1"
    assert set(data["curves"]) == {"jpeg444", "jpeg420", "webp"}
    with open(tmp_path / "res.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 2 * (3 + 3 + 2)
    assert (tmp_path / "rd.png").read_bytes().startswith(b"\x89PNG")
    assert "wall time" in res.output and "BD-rate vs JPEG 4:2:0" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rd.png", "res.csv", "res.json"]
    # the results file feeds `lic bdrate`
    bd = CliRunner().invoke(main, ["bdrate", str(out), "--ref", "jpeg420", "--test", "jpeg444", "--json"])
    assert bd.exit_code == 0, bd.output
    assert json.loads(bd.output)[0]["test"] == "jpeg444"


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "no such directory"),
    (["{empty}"], "no images"),
    (["{dir}", "--codecs", "jpeg,nosuch"], "unknown codec"),
    (["{dir}", "--codecs", "jpeg@"], "malformed --codecs"),
    (["{dir}", "--codecs", "3,jpeg"], "malformed --codecs"),
    (["{dir}", "--codecs", "lic:nomodel"], "unknown model"),
    (["{dir}", "--codecs", "jpeg@500"], "outside"),
    (["{dir}", "--codecs", "jpeg", "--workers", "0"], "--workers"),
    (["{dir}", "--codecs", "jpeg", "--out", "{tmp}/nodir/r.json"], "does not exist"),
    (["{dir}", "--codecs", "jpeg", "--plot", "{tmp}/rd.gif"], ".png, .svg or .pdf"),
    (["{dir}", "--codecs", "jpeg", "--reference", "nothing"], "unknown --reference"),
    (["{dir}", "--codecs", "jpeg", "--anchors", "vtm,nothing"], "unknown anchor"),
    (["{dir}", "--codecs", "jpeg", "--report", "{tmp}/r.html", "--crop-image", "x.png"], "--crop-image"),
])
def test_bad_input_exits_2(image_dir, tmp_path, args, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    subst = {"{missing}": str(tmp_path / "missing"), "{empty}": str(empty), "{dir}": str(image_dir)}
    argv = [subst.get(a, a.replace("{tmp}", str(tmp_path))) for a in args]
    res = _run(*argv)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("lic: error:"), res.output
    assert message in lines[0]
    assert not (tmp_path / "nodir").exists()


def test_click_usage_errors_exit_2(image_dir):
    assert _run(image_dir, "--workers", "two").exit_code == 2
    assert CliRunner().invoke(main, ["bdrate"]).exit_code == 2
