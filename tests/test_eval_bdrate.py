"""BD-rate / BD-PSNR (licodec.eval.bdrate) against published pairs, plus `lic bdrate`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from licodec.errors import InvalidOptionError
from licodec.eval.anchors import DEFAULT_PLOT_ANCHORS, anchor_document, load_anchors, select_anchors
from licodec.eval.bdrate import bd_psnr, bd_rate, bjontegaard, monotone_points

RATE = np.array([0.12, 0.2, 0.33, 0.5, 0.75, 1.1])
PSNR = np.array([28.0, 29.8, 31.7, 33.5, 35.4, 37.2])


@pytest.fixture(scope="module")
def anchors():
    return load_anchors()


def test_elic_paper_vs_vtm_is_about_minus_7_percent(anchors):
    vtm, elic = anchors["vtm"], anchors["elic2022-paper"]
    value = bd_rate(vtm.bpp, vtm.psnr, elic.bpp, elic.psnr)
    assert -9.0 < value < -5.0, value
    assert bd_psnr(vtm.bpp, vtm.psnr, elic.bpp, elic.psnr) > 0


def test_hyperprior_vs_vtm_is_about_plus_30_percent(anchors):
    vtm = anchors["vtm"]
    for key in ("bmshj2018-hyperprior", "bmshj2018-hyperprior-paper"):
        hp = anchors[key]
        value = bd_rate(vtm.bpp, vtm.psnr, hp.bpp, hp.psnr)
        assert 28.0 < value < 36.0, (key, value)


def test_other_published_pairs_match_the_guide(anchors):
    vtm = anchors["vtm"]
    expected = {"bpg444": 22.0, "cheng2020-anchor": 3.7, "minnen2020-paper": 0.5, "mbt2018-paper": 11.0}
    for key, ref in expected.items():
        c = anchors[key]
        assert bd_rate(vtm.bpp, vtm.psnr, c.bpp, c.psnr) == pytest.approx(ref, abs=2.0), key


def test_curve_against_itself_is_zero():
    r = bjontegaard(RATE, PSNR, RATE, PSNR)
    assert r.bd_rate == pytest.approx(0.0, abs=1e-9)
    assert r.bd_metric == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_rate_scaled_by_0_9_gives_minus_10_percent(method):
    assert bd_rate(RATE, PSNR, 0.9 * RATE, PSNR, method=method) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(RATE, PSNR, 1.25 * RATE, PSNR, method=method) == pytest.approx(25.0, abs=1e-6)


def test_quality_shift_gives_bd_psnr():
    assert bd_psnr(RATE, PSNR, RATE, PSNR + 0.5) == pytest.approx(0.5, abs=1e-9)
    # a better curve saves rate
    assert bd_rate(RATE, PSNR, RATE, PSNR + 0.5) < 0


def test_only_the_overlap_counts():
    # the test curve reaches further than the anchor: integrals stop at the anchor's end
    r = bjontegaard(RATE, PSNR, np.r_[0.9 * RATE, 3.0], np.r_[PSNR, 45.0])
    assert r.metric_range == (PSNR[0], PSNR[-1])
    assert r.rate_range == pytest.approx((RATE[0], RATE[-1]))
    assert r.bd_rate == pytest.approx(-10.0, abs=0.5)  # only the end slope changes slightly


def test_dominated_points_are_dropped_and_order_ignored():
    r, d = monotone_points([0.5, 0.2, 0.3, 0.4, 0.45], [33.0, 30.0, 31.0, 30.5, 32.0])
    assert list(r) == [0.2, 0.3, 0.45, 0.5]
    assert np.all(np.diff(d) > 0)
    shuffled = np.random.default_rng(1).permutation(len(RATE))
    assert bd_rate(RATE[shuffled], PSNR[shuffled], 0.9 * RATE, PSNR) == pytest.approx(-10.0, abs=1e-6)


def test_errors():
    with pytest.raises(InvalidOptionError, match="overlap"):
        bjontegaard(RATE, PSNR, RATE * 10, PSNR + 20)
    with pytest.raises(InvalidOptionError, match="points"):
        bjontegaard(RATE, PSNR, RATE[:3], PSNR[:3], method="cubic")
    with pytest.raises(InvalidOptionError, match="positive"):
        bjontegaard(np.r_[0.0, RATE[1:]], PSNR, RATE, PSNR)
    with pytest.raises(InvalidOptionError):
        bjontegaard(RATE, PSNR, RATE, PSNR, method="spline")


def test_anchor_file_documents_its_sources(anchors):
    doc = anchor_document()
    assert "compressai" in doc["_sources"]
    for key, curve in doc["curves"].items():
        assert curve["source"], key
        assert len(curve["bpp"]) == len(curve["psnr"]) >= 4, key
    assert set(DEFAULT_PLOT_ANCHORS) <= set(anchors)
    assert anchors["vtm"].ms_ssim is not None
    assert list(select_anchors("none")) == []
    with pytest.raises(InvalidOptionError):
        select_anchors("vtm,nope")


def _write(path, curves):
    path.write_text(json.dumps(curves))
    return str(path)


def test_cli_bdrate_two_files(tmp_path):
    from licodec.cli import main

    a = _write(tmp_path / "a.json", {"curves": {"x": {"bpp": RATE.tolist(), "psnr": PSNR.tolist()}}})
    b = _write(tmp_path / "b.json", {"curves": {"x": {"bpp": (0.9 * RATE).tolist(), "psnr": PSNR.tolist()}}})
    res = CliRunner().invoke(main, ["bdrate", a, b, "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 1 and rows[0]["reference"].startswith("1:a/")
    assert rows[0]["bd_rate_percent"] == pytest.approx(-10.0, abs=1e-6)


def test_cli_bdrate_named_curves_and_anchors(tmp_path):
    from licodec.cli import main

    f = _write(tmp_path / "r.json", {"curves": {
        "ref": {"bpp": RATE.tolist(), "psnr": PSNR.tolist()},
        "better": {"bpp": (0.8 * RATE).tolist(), "psnr": PSNR.tolist()}}})
    res = CliRunner().invoke(main, ["bdrate", f, "--ref", "ref", "--test", "better"])
    assert res.exit_code == 0, res.output
    assert "-20.00 %" in res.output
    res = CliRunner().invoke(main, ["bdrate", f, "--anchors", "--ref", "vtm", "--test", "elic2022-paper", "--json"])
    assert res.exit_code == 0, res.output
    assert -9 < json.loads(res.output)[0]["bd_rate_percent"] < -5


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"curves": {"a": {"psnr": [1, 2]}}}', "no rate-distortion curves"),
    ('[1, 2, 3]', "JSON object"),
])
def test_cli_bdrate_bad_json_exits_2(tmp_path, content, message):
    from licodec.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text(content)
    res = CliRunner().invoke(main, ["bdrate", str(bad), str(bad)])
    assert res.exit_code == 2
    assert message in res.output and "lic: error:" in res.output and "Traceback" not in res.output


def test_cli_bdrate_missing_file_and_unknown_curve(tmp_path):
    from licodec.cli import main

    res = CliRunner().invoke(main, ["bdrate", str(tmp_path / "none.json")])
    assert res.exit_code == 2 and "no such file" in res.output
    f = _write(tmp_path / "r.json", {"curves": {"ref": {"bpp": RATE.tolist(), "psnr": PSNR.tolist()}}})
    res = CliRunner().invoke(main, ["bdrate", f, "--ref", "nope"])
    assert res.exit_code == 2 and "no such curve" in res.output
    res = CliRunner().invoke(main, ["bdrate", f])
    assert res.exit_code == 2 and "nothing to compare" in res.output
