"""A self-contained HTML evaluation report.

One file, no external resources (a Content-Security-Policy forbids any), images embedded as
``data:`` URIs: RD plots beside published anchors, a BD-rate table against a reference curve
(Bjøntegaard, see :mod:`licodec.eval.bdrate`), a speed table, side-by-side crops of every codec
at matched bpp, the per-setting means and the software versions.

Matched bpp: for each codec, the setting whose bpp *on the crop image* is closest (in log ratio)
to the target is re-encoded through a real file round trip, and the same region of every decoded
image is shown beside the original. The region defaults to the window with the most detail.

A small inline script checks, once the page has loaded, that every ``<img>`` decoded
(``naturalWidth > 0``) and records counts and script errors on the ``<html>`` element
(``data-images-ok``, ``data-images-total``, ``data-errors``), which headless-browser tests read.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from licodec.errors import InvalidOptionError
from licodec.eval.bdrate import bjontegaard
from licodec.eval.results import Curve, atomic_write, curves_from_results

__all__ = ["CropPanel", "detail_box", "matched_crops", "bd_rows", "speed_rows", "build_report",
           "write_report"]


@dataclass(frozen=True)
class CropPanel:
    """One crop shown in the report (``codec`` is ``""`` for the original)."""

    label: str
    codec: str
    setting: float | None
    bpp: float | None
    psnr: float | None
    ms_ssim: float | None
    png: bytes


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def detail_box(rgb: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the ``size`` x ``size`` window with most gradient energy."""
    h, w = rgb.shape[:2]
    sh, sw = min(size, h), min(size, w)
    gray = rgb.astype(np.float64).mean(axis=2)
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, min(sh, sw) // 4)
    best, box = -1.0, (0, 0, sh, sw)
    for top in range(0, h - sh + 1, step):
        for left in range(0, w - sw + 1, step):
            s = (integral[top + sh, left + sw] - integral[top, left + sw]
                 - integral[top + sh, left] + integral[top, left])
            if s > best:
                best, box = s, (top, left, sh, sw)
    return box


def _closest_setting(points: Sequence[Mapping[str, Any]], target_bpp: float) -> Mapping[str, Any]:
    return min(points, key=lambda p: (abs(math.log(max(p["bpp"], 1e-9) / target_bpp)), p["bpp"]))


def matched_crops(results: Mapping[str, Any], image_path: str | os.PathLike, target_bpp: float = 0.5,
                  size: int = 192, box: tuple[int, int, int, int] | None = None) -> list[CropPanel]:
    """Crops of the original and of every codec in ``results`` at the setting closest to ``target_bpp``.

    Each codec's chosen setting is encoded again, written to a file, read back and decoded; the
    numbers shown are from that round trip.
    """
    from licodec.eval.runner import load_rgb, round_trip

    if target_bpp <= 0:
        raise InvalidOptionError("--crop-bpp must be positive")
    image_path = Path(image_path)
    rgb = load_rgb(image_path)
    top, left, bh, bw = box if box is not None else detail_box(rgb, size)

    def cut(a: np.ndarray) -> np.ndarray:
        return a[top: top + bh, left: left + bw]

    panels = [CropPanel(f"original ({image_path.name}, {left},{top} {bw}x{bh})", "", None, None,
                        None, None, _png(cut(rgb)))]
    by_codec: dict[str, list[Mapping[str, Any]]] = {}
    for p in results.get("points", []):
        if p["image"] == image_path.name:
            by_codec.setdefault(p["codec"], []).append(p)
    labels = {k: v.get("label", k) for k, v in results.get("codecs", {}).items()}
    with tempfile.TemporaryDirectory(prefix="lic-report-") as folder:
        for codec, points in by_codec.items():
            chosen = _closest_setting(points, target_bpp)
            point, decoded = round_trip(codec, rgb, chosen["setting"], folder, image_path.name)
            panels.append(CropPanel(labels.get(codec, codec), codec, point["setting"], point["bpp"],
                                    point["psnr"], point["ms_ssim"], _png(cut(decoded))))
    return panels


def _fmt(value: Any, spec: str, na: str = "n/a") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return na
    return format(value, spec)


def bd_rows(curves: Mapping[str, Curve], reference: Curve) -> list[dict[str, Any]]:
    """BD-rate/BD-PSNR (PSNR) and BD-rate (MS-SSIM dB) of each curve against ``reference``."""
    rows = []
    for name, curve in curves.items():
        row: dict[str, Any] = {"name": name, "label": curve.label}
        for metric, key in (("psnr", "psnr"), ("ms-ssim", "msssim")):
            a, b = reference.metric(metric), curve.metric(metric)
            if a is None or b is None:
                row[key] = None
                row[key + "_why"] = "metric not available"
                continue
            try:
                row[key] = bjontegaard(reference.bpp, a, curve.bpp, b)
            except InvalidOptionError as exc:
                row[key] = None
                row[key + "_why"] = str(exc)
        rows.append(row)
    return rows


def speed_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Mean encode/decode seconds per image and megapixels per second, per codec."""
    rows = []
    for name, curve in results.get("curves", {}).items():
        pts = [p for p in results.get("points", []) if p["codec"] == name]
        if not pts:
            continue
        enc = float(np.mean([p["enc_s"] for p in pts]))
        dec = float(np.mean([p["dec_s"] for p in pts]))
        mpx = float(np.mean([p["width"] * p["height"] for p in pts])) / 1e6
        rows.append({
            "name": name, "label": results.get("codecs", {}).get(name, {}).get("label", name),
            "n_points": len(pts), "bpp_min": float(np.nanmin(curve["bpp"])),
            "bpp_max": float(np.nanmax(curve["bpp"])), "enc_s": enc, "dec_s": dec,
            "enc_mpx_s": mpx / enc if enc > 0 else float("nan"),
            "dec_mpx_s": mpx / dec if dec > 0 else float("nan"),
            "enc_s_per_setting": curve.get("enc_s"), "dec_s_per_setting": curve.get("dec_s"),
        })
    return rows


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1320px;
color:#1b1b1b;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d6d6d6;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.anchor td{color:#555;font-style:italic}
.muted{color:#666;font-size:12px}.plot{max-width:100%;height:auto;border:1px solid #eee}
.crops{display:flex;flex-wrap:wrap;gap:12px}.crops figure{margin:0;width:min-content}
.crops img{image-rendering:pixelated;border:1px solid #ccc;display:block}
.crops figcaption{font-size:12px;line-height:1.3;margin-top:3px}
code{background:#f5f5f5;padding:0 3px}details{margin:8px 0}
"""

_SELF_CHECK = """
(function(){
  var root=document.documentElement, errors=0;
  window.addEventListener('error', function(){ errors++; root.setAttribute('data-errors', String(errors)); }, true);
  window.addEventListener('load', function(){
    var imgs=document.images, ok=0;
    for (var i=0;i<imgs.length;i++){ if (imgs[i].complete && imgs[i].naturalWidth>0) ok++; }
    root.setAttribute('data-images-total', String(imgs.length));
    root.setAttribute('data-images-ok', String(ok));
    root.setAttribute('data-errors', String(errors));
    root.setAttribute('data-report-ready', '1');
  });
})();
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1,
           row_classes: Sequence[str] | None = None) -> str:
    out = ["<table><thead><tr>"]
    out += [f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        out.append(f"<tr{cls}>" + "".join(
            f'<td class="{"l" if i < left else ""}">{cell}</td>' for i, cell in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _bd_cell(res: Any, why: str | None, field: str, spec: str) -> str:
    if res is None:
        return f'<span title="{html.escape(why or "")}">n/a</span>'
    return html.escape(format(getattr(res, field), spec))


def build_report(results: Mapping[str, Any], *, anchors: Mapping[str, Curve] | None = None,
                 reference: str = "vtm", plot_png: bytes | None = None,
                 crops: Sequence[CropPanel] | None = None, crop_scale: int = 2,
                 title: str = "licodec evaluation") -> str:
    """The report as one HTML string (see module docstring).

    ``reference`` names the BD-rate reference: a measured curve or an anchor key (default VTM).
    ``plot_png`` is the RD figure (rendered here when ``None``).
    """
    from licodec.eval.anchors import load_anchors

    measured = curves_from_results({"curves": results.get("curves", {})}, "results")
    anchors = dict(anchors or {})
    pool = {**load_anchors(), **anchors, **measured}
    if reference not in pool:
        raise InvalidOptionError(f"unknown BD-rate reference '{reference}' "
                                 f"(measured: {', '.join(measured)}; or an anchor such as vtm)")
    ref = pool[reference]
    if plot_png is None:
        from licodec.eval.plots import rd_png

        plot_png = rd_png(measured, anchors)

    e = html.escape
    ds = results.get("dataset", {})
    run = results.get("run", {})
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style>",
        f"<script>{_SELF_CHECK}</script></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="muted">{e(str(ds.get("n_images", "?")))} images from <code>{e(str(ds.get("dir", "?")))}</code>; '
        f'{e(str(run.get("n_points", len(results.get("points", [])))))} points; {e(str(run.get("workers", "?")))} '
        f'worker(s), {e(str(run.get("threads_per_worker", "?")))} thread(s) each; wall time '
        f'{e(_fmt(run.get("wall_s"), ".1f"))} s; created {e(str(results.get("created", "?")))}.</p>',
        "<p>Every point is a real file written to disk and read back: bpp counts the whole file "
        "(container and headers); PSNR is measured on the decoded 8-bit RGB image; MS-SSIM "
        "(Wang et al. 2003) on RGB, shown in dB as &minus;10&thinsp;log<sub>10</sub>(1&minus;MS-SSIM). "
        "Curve values are means over the images per setting.</p>",
        "<h2>Rate&ndash;distortion</h2>",
        f'<img class="plot" alt="RD curves: PSNR and MS-SSIM against bpp" src="{_data_uri(plot_png)}">',
        '<p class="muted">Solid: measured here. Dashed/grey: published anchors (sources in the '
        'anchor table below).</p>',
    ]

    # BD-rate table
    rows, classes = [], []
    bd_curves = {k: v for k, v in measured.items() if k != reference}
    bd_curves.update({k: v for k, v in anchors.items() if k != reference and k not in measured})
    for row in bd_rows(bd_curves, ref):
        is_anchor = row["name"] not in measured
        p, m = row["psnr"], row["msssim"]
        rows.append([
            e(row["label"]) + (" (published)" if is_anchor and "published" not in row["label"]
                               and "paper" not in row["label"] else ""),
            _bd_cell(p, row.get("psnr_why"), "bd_rate", "+.1f"),
            _bd_cell(p, row.get("psnr_why"), "bd_metric", "+.2f"),
            _bd_cell(m, row.get("msssim_why"), "bd_rate", "+.1f"),
            e(f"{p.rate_range[0]:.3f}–{p.rate_range[1]:.3f}") if p is not None else "",
            e(f"{p.metric_range[0]:.2f}–{p.metric_range[1]:.2f}") if p is not None else "",
        ])
        classes.append("anchor" if is_anchor else "")
    parts += [
        "<h2>BD-rate</h2>",
        f"<p>Against <b>{e(ref.label)}</b>. Bjøntegaard delta (VCEG-M33, 2001; piecewise cubic "
        "interpolation of log-rate as in VCEG-AL22 / JVET practice) over the range both curves "
        "cover. Negative BD-rate = fewer bits for the same quality.</p>",
        _table(["codec", "BD-rate PSNR (%)", "BD-PSNR (dB)", "BD-rate MS-SSIM (%)",
                "overlap (bpp)", "overlap (PSNR dB)"], rows, row_classes=classes),
    ]

    # speed table
    srows = []
    for r in speed_rows(results):
        srows.append([e(r["label"]), str(r["n_points"]), e(f"{r['bpp_min']:.3f}–{r['bpp_max']:.3f}"),
                      e(_fmt(r["enc_s"] * 1000, ".1f")), e(_fmt(r["dec_s"] * 1000, ".1f")),
                      e(_fmt(r["enc_mpx_s"], ".2f")), e(_fmt(r["dec_mpx_s"], ".2f"))])
    env = results.get("environment", {})
    parts += [
        "<h2>Speed</h2>",
        f'<p class="muted">Wall time of one encode (array&rarr;bytes) and one decode (bytes&rarr;array) '
        f'per image, mean over all images and settings, {e(str(run.get("threads_per_worker", "?")))} '
        f'thread(s) per process, {e(str(env.get("cpu_count", "?")))} CPU(s) on '
        f'{e(str(env.get("machine", "")))}. File I/O and metrics are not timed.</p>',
        _table(["codec", "points", "bpp range", "encode (ms/img)", "decode (ms/img)",
                "encode (MPx/s)", "decode (MPx/s)"], srows),
    ]

    # crops
    if crops:
        figs = []
        for c in crops:
            h, w = _png_size(c.png)
            cap = e(c.label)
            if c.codec:
                cap += (f"<br>{e(_fmt(c.bpp, '.3f'))} bpp, {e(_fmt(c.psnr, '.2f'))} dB, "
                        f"MS-SSIM {e(_fmt(c.ms_ssim, '.4f'))}<br>"
                        f'<span class="muted">setting {e(_fmt(c.setting, "g"))}</span>')
            figs.append(f'<figure><img alt="{e(c.label)}" width="{w * crop_scale}" '
                        f'height="{h * crop_scale}" src="{_data_uri(c.png)}"><figcaption>{cap}'
                        "</figcaption></figure>")
        parts += ["<h2>Crops at matched bpp</h2>",
                  f'<p class="muted">For each codec, the setting whose bpp on this image is closest to '
                  f'the target; shown at {crop_scale}&times; with nearest-neighbour scaling.</p>',
                  '<div class="crops">' + "".join(figs) + "</div>"]

    # per-setting means and settings
    parts.append("<h2>Measured curves</h2>")
    codecs = results.get("codecs", {})
    for name, curve in results.get("curves", {}).items():
        info = codecs.get(name, {})
        crow = []
        for i in range(len(curve["bpp"])):
            crow.append([e(_fmt(curve["setting"][i], "g")), e(_fmt(curve["bpp"][i], ".4f")),
                         e(_fmt(curve["psnr"][i], ".3f")), e(_fmt(curve["ms_ssim"][i], ".5f")),
                         e(_fmt(curve["ms_ssim_db"][i], ".3f")), e(_fmt(curve["enc_s"][i] * 1000, ".1f")),
                         e(_fmt(curve["dec_s"][i] * 1000, ".1f"))])
        parts.append(
            f"<details><summary><b>{e(info.get('label', name))}</b> <code>{e(name)}</code> &mdash; "
            f"{e(info.get('description', ''))}</summary>"
            + _table([info.get("setting_name", "setting"), "bpp", "PSNR (dB)", "MS-SSIM", "MS-SSIM (dB)",
                      "encode (ms)", "decode (ms)"], crow) + "</details>")

    used = {**({reference: ref} if reference not in measured else {}), **anchors}
    if used:
        arows = [[e(k), e(c.label), e(c.source)] for k, c in used.items()]
        parts += ["<h2>Published anchors</h2>", _table(["key", "curve", "source"], arows, left=3)]
    parts += ["<h2>Software</h2>",
              _table(["component", "version"], [[e(k), e(str(v))] for k, v in env.items()], left=2),
              "</body></html>"]
    return "\n".join(parts) + "\n"


def _png_size(png: bytes) -> tuple[int, int]:
    """(height, width) from a PNG's IHDR chunk."""
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return height, width


def write_report(path: str | os.PathLike, results: Mapping[str, Any], **kwargs: Any) -> None:
    """Build the report (see :func:`build_report`) and write it atomically to ``path``."""
    atomic_write(path, build_report(results, **kwargs))
