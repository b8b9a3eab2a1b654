"""The HTML report, loaded in a real headless Chromium (no console errors, every image shown).

Needs ``/usr/bin/chromium`` (Debian/Ubuntu: ``apt-get install -y chromium``) or a browser named by
``LIC_CHROMIUM``. A missing browser fails these tests with that message; it never skips them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from licodec.cli import main

CHROMIUM = os.environ.get("LIC_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars"]


def chromium() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        pytest.fail(f"headless Chromium not found at {CHROMIUM}: install it "
                    "(apt-get install -y chromium) or set LIC_CHROMIUM", pytrace=False)
    return path


def load_in_chromium(page: Path, tmp: Path) -> tuple[dict[str, str], list[str]]:
    """Load ``page``; return the <html> data-* attributes after the load event and the
    browser's console messages (any message counts: the report logs nothing)."""
    profile = tmp / f"profile-{page.stem}"
    profile.mkdir()
    proc = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r"<html([^>]*)>", proc.stdout)
    assert m, proc.stdout[:500]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1)))
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    return attrs, console


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    images = tmp / "imgs"
    images.mkdir()
    rng = np.random.default_rng(5)
    for i in range(2):
        yy, xx = np.mgrid[0:168, 0:184].astype(np.float64)
        img = np.stack([128 + 90 * np.sin(xx / (7 + i)) * np.cos(yy / 13), 255 * yy / 168,
                        np.where((xx - 92) ** 2 + (yy - 84) ** 2 < 2500, 220.0, 40.0)], axis=-1)
        Image.fromarray(np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)).save(
            images / f"im{i}.png")
    out = tmp / "out"
    out.mkdir()
    res = CliRunner().invoke(main, [
        "eval", str(images), "--codecs", "jpeg@20,60,webp@20,70,avif@30,70,jpeg2000@0.3,1,jpegxl@6,2",
        "--workers", "1", "--no-progress", "--out", str(out / "r.json"), "--report", str(out / "report.html"),
        "--crop-size", "96", "--crop-bpp", "0.8"])
    assert res.exit_code == 0, res.output
    return out / "report.html"


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text
    assert not re.search(r'(src|href)="(?!data:)', text), "external resource referenced"
    assert text.count('src="data:image/png;base64,') == 1 + 1 + 6  # plot, original crop, 6 codecs
    for heading in ("Rate&ndash;distortion", "BD-rate", "Speed", "Crops at matched bpp"):
        assert heading in text
    for label in ("JPEG 4:4:4", "JPEG 4:2:0", "WebP", "AVIF 4:4:4", "JPEG 2000", "JPEG XL", "VTM"):
        assert label in text


def test_report_loads_in_chromium_without_errors(report, tmp_path):
    attrs, console = load_in_chromium(report, tmp_path)
    assert attrs.get("report-ready") == "1", attrs
    assert console == [], console
    assert attrs.get("errors") == "0", attrs
    assert int(attrs["images-total"]) == 8
    assert attrs["images-ok"] == attrs["images-total"], attrs


def test_the_browser_check_catches_broken_pages(tmp_path):
    """Negative control: the same check flags a broken image and a script error."""
    import base64
    import io

    from licodec.eval.report import _SELF_CHECK

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    good = base64.b64encode(buf.getvalue()).decode()
    page = tmp_path / "broken.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><script>{_SELF_CHECK}</script></head><body>"
        f'<img src="data:image/png;base64,{good}"><img src="data:image/png;base64,AAAA">'
        "<script>undefinedFunction();</script></body></html>", encoding="utf-8")
    attrs, console = load_in_chromium(page, tmp_path)
    assert (attrs["images-total"], attrs["images-ok"]) == ("2", "1")
    assert int(attrs["errors"]) >= 1
    assert any("undefinedFunction" in line for line in console)
