"""``lic eval`` (measure codecs on a folder of images) and ``lic bdrate`` (compare RD curves).

See ``docs/evaluation.md`` for codec settings, the results schema and the BD-rate method.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import click

from licodec.errors import InvalidOptionError

_CODECS_HELP = ("Comma list: lic:MODEL[@q1,q2,...] (lic:default = the default model; lic:FILE.safetensors = "
                "a weights file, e.g. a training run's; suffixes +refineN, e.g. lic:default+refine50, refine the latents, +orient searches the "
                "orientation, +nofilter codes without the post-filter), jpeg "
                "(= jpeg444 + jpeg420), jpeg444, jpeg420, webp, avif (4:4:4), jpeg2000, jpegxl; any "
                "codec takes @s1,s2,... to override its default settings.")


def _check_writable(path: str | None, option: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise InvalidOptionError(f"{option} {p}: is a directory")
    if not (p.parent if str(p.parent) else Path(".")).is_dir():
        raise InvalidOptionError(f"{option} {p}: folder {p.parent} does not exist")
    return p


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec)


def _summary(results: dict[str, Any], reference: str | None, anchors: dict) -> str:
    from licodec.eval.report import bd_rows
    from licodec.eval.results import curves_from_results

    lines = []
    for name, c in results["curves"].items():
        lines.append(f"{name}  ({results['codecs'][name]['setting_name']})")
        lines.append(f"  {'setting':>8} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8} {'enc ms':>8} {'dec ms':>8}")
        for i in range(len(c["bpp"])):
            lines.append(f"  {_fmt(c['setting'][i], 'g'):>8} {_fmt(c['bpp'][i], '.4f'):>7} "
                         f"{_fmt(c['psnr'][i], '.2f'):>7} {_fmt(c['ms_ssim'][i], '.5f'):>8} "
                         f"{_fmt(c['enc_s'][i] * 1000, '.1f'):>8} {_fmt(c['dec_s'][i] * 1000, '.1f'):>8}")
    if reference is not None:
        measured = curves_from_results({"curves": results["curves"]}, "results")
        pool = {**anchors, **measured}
        if reference in pool:
            lines.append(f"BD-rate vs {pool[reference].label} (PSNR, piecewise cubic):")
            for row in bd_rows({k: v for k, v in measured.items() if k != reference}, pool[reference]):
                r = row["psnr"]
                lines.append(f"  {row['name']:<28} " + (
                    f"{r.bd_rate:+7.1f} %  {r.bd_metric:+.2f} dB" if r is not None
                    else f"n/a ({row.get('psnr_why', '')})"))
    run = results["run"]
    lines.append(f"{results['dataset']['n_images']} images, {run['n_points']} points, "
                 f"{run['workers']} worker(s): wall time {run['wall_s']:.1f} s")
    return "\n".join(lines)


@click.command("eval")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--codecs", default="lic:default,jpeg,webp,avif,jpeg2000,jpegxl", show_default=True,
              help=_CODECS_HELP)
@click.option("-o", "--out", "out", default=None, help="Results JSON (a CSV of all points is written beside it).")
@click.option("--csv", "csv_path", default=None, help="Per-image CSV (default: --out with .csv suffix).")
@click.option("--plot", default=None, help="RD plot (.png, .svg or .pdf): PSNR and MS-SSIM vs bpp with anchors.")
@click.option("--report", default=None, help="Self-contained HTML report.")
@click.option("-j", "--workers", type=int, default=None,
              help="Worker processes (default: all CPU cores); each is single-threaded when > 1.")
@click.option("--limit", type=int, default=None, help="Only the first N images (by name).")
@click.option("--anchors", "anchor_names", default="default", show_default=True,
              help="Published curves for plot/report: comma list of keys, 'all' or 'none'.")
@click.option("--reference", default="vtm", show_default=True,
              help="BD-rate reference: a measured codec (e.g. jpeg420) or an anchor key.")
@click.option("--crop-image", default=None, help="Image (file name in DIRECTORY) for the report crops; default: the first.")
@click.option("--crop-bpp", type=float, default=0.5, show_default=True, help="Target bpp of the report crops.")
@click.option("--crop-size", type=int, default=192, show_default=True, help="Crop size in pixels.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def eval_cmd(directory, codecs, out, csv_path, plot, report, workers, limit, anchor_names, reference,
             crop_image, crop_bpp, crop_size, progress):
    """Measure rate, distortion and speed of codecs on the images in DIRECTORY.

    Every point is a file written and read back (bpp from its size, headers included); PSNR and
    MS-SSIM on the decoded 8-bit RGB image; encode/decode wall times. Prints the mean curves.
    """
    from licodec.eval.anchors import load_anchors, select_anchors
    from licodec.eval.codecs import parse_codecs, resolve_specs
    from licodec.eval.runner import default_workers, evaluate, list_images

    specs = resolve_specs(parse_codecs(codecs))
    images = list_images(directory, limit)
    out_p = _check_writable(out, "--out")
    csv_p = _check_writable(csv_path, "--csv") or (out_p.with_suffix(".csv") if out_p else None)
    plot_p = _check_writable(plot, "--plot")
    report_p = _check_writable(report, "--report")
    if plot_p is not None and plot_p.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InvalidOptionError(f"--plot {plot_p}: use a .png, .svg or .pdf file name")
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise InvalidOptionError("--workers must be at least 1")
    anchors = select_anchors(anchor_names)
    measured_names = [s.name for s in specs]
    if reference not in measured_names and reference not in load_anchors():
        raise InvalidOptionError(f"unknown --reference '{reference}' (measured: {', '.join(measured_names)};"
                                 " or an anchor key such as vtm)")
    crop_path = None
    if report_p is not None:
        names = {p.name: p for p in images}
        if crop_image is not None and crop_image not in names:
            raise InvalidOptionError(f"--crop-image {crop_image}: not among the evaluated images")
        crop_path = names[crop_image] if crop_image else images[0]
        if crop_bpp <= 0 or crop_size < 8:
            raise InvalidOptionError("--crop-bpp must be positive and --crop-size at least 8")

    results = evaluate(images, specs, workers=workers, progress=progress)

    from licodec.eval.results import curves_from_results, write_csv, write_json

    if out_p is not None:
        write_json(out_p, results)
    if csv_p is not None:
        write_csv(csv_p, results["points"])
    measured = curves_from_results({"curves": results["curves"]}, "results")
    if plot_p is not None:
        from licodec.eval.plots import save_rd_plot

        save_rd_plot(plot_p, measured, anchors)
    if report_p is not None:
        from licodec.eval.report import matched_crops, write_report

        t0 = time.perf_counter()
        crops = matched_crops(results, crop_path, crop_bpp, crop_size)
        write_report(report_p, results, anchors=anchors, reference=reference, crops=crops)
        if progress:
            click.echo(f"report built in {time.perf_counter() - t0:.1f} s", err=True)
    click.echo(_summary(results, reference, load_anchors()))
    for label, path in (("results", out_p), ("csv", csv_p), ("plot", plot_p), ("report", report_p)):
        if path is not None:
            click.echo(f"{label}: {path}")


def _pool(files: tuple[str, ...], with_anchors: bool) -> tuple[dict, list[str]]:
    """All curves by (qualified) name, and the names in file order (anchors excluded)."""
    from licodec.eval.anchors import load_anchors
    from licodec.eval.results import load_curves

    loaded = [(Path(f), load_curves(f)) for f in files]
    counts: dict[str, int] = {}
    for _, curves in loaded:
        for name in curves:
            counts[name] = counts.get(name, 0) + 1
    pool: dict = {}
    order: list[str] = []
    for i, (path, curves) in enumerate(loaded):
        for name, curve in curves.items():
            key = f"{i + 1}:{path.stem}/{name}" if counts[name] > 1 else name
            curve.label = key if counts[name] > 1 else curve.label
            pool[key] = curve
            order.append(key)
    if with_anchors:
        for key, curve in load_anchors().items():
            pool.setdefault(key, curve)
    return pool, order


def _lookup(pool: dict, name: str, option: str) -> str:
    if name in pool:
        return name
    matches = [k for k in pool if k.endswith("/" + name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidOptionError(f"{option} '{name}' is ambiguous: {', '.join(matches)}")
    raise InvalidOptionError(f"{option} '{name}': no such curve (have: {', '.join(pool)})")


@click.command("bdrate")
@click.argument("files", nargs=-1, required=True)
@click.option("--ref", "reference", default=None,
              help="Reference (anchor) curve; default: the first curve of the first file.")
@click.option("--test", "tests", multiple=True,
              help="Curve(s) to compare (repeatable); default: every other curve in the files.")
@click.option("--metric", type=click.Choice(["psnr", "ms-ssim"]), default="psnr", show_default=True,
              help="Quality axis (MS-SSIM is used in dB).")
@click.option("--method", type=click.Choice(["pchip", "cubic"]), default="pchip", show_default=True,
              help="pchip: piecewise cubic (VCEG-AL22 / JVET practice); cubic: VCEG-M33 polynomial.")
@click.option("--anchors/--no-anchors", "with_anchors", default=False,
              help="Also offer the shipped published Kodak curves (vtm, bpg444, elic2022-paper, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bdrate(files, reference, tests, metric, method, with_anchors, as_json):
    """Bjøntegaard BD-rate and BD-PSNR between RD curves in results/anchor JSON files.

    `lic bdrate A.json B.json`: B against A. `lic bdrate results.json --ref jpeg420`: every curve
    in the file against jpeg420. Names that occur in several files become N:STEM/NAME.
    """
    from licodec.eval.bdrate import bjontegaard

    pool, order = _pool(files, with_anchors)
    if not order:
        raise InvalidOptionError("no curves in the given files")
    ref = _lookup(pool, reference, "--ref") if reference else order[0]
    test_names = [_lookup(pool, t, "--test") for t in tests] or [k for k in order if k != ref]
    if not test_names:
        raise InvalidOptionError("nothing to compare: give a second curve (file or --test)")
    if pool[ref].metric(metric) is None:
        raise InvalidOptionError(f"reference '{ref}' has no {metric} values")
    rows = []
    for name in test_names:
        curve = pool[name]
        row: dict[str, Any] = {"test": name, "reference": ref, "metric": metric, "method": method}
        try:
            if curve.metric(metric) is None:
                raise InvalidOptionError(f"'{name}' has no {metric} values")
            r = bjontegaard(pool[ref].bpp, pool[ref].metric(metric), curve.bpp, curve.metric(metric),
                            method=method)
            row.update(bd_rate_percent=r.bd_rate, bd_metric_db=r.bd_metric,
                       overlap_bpp=list(r.rate_range), overlap_db=list(r.metric_range))
        except InvalidOptionError as exc:
            if len(test_names) == 1:
                raise
            row["error"] = str(exc)
        rows.append(row)
    if all("error" in r for r in rows):
        raise InvalidOptionError(f"no curve overlaps the reference: {rows[0]['error']}")
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    unit = "BD-PSNR" if metric == "psnr" else "BD-MS-SSIM"
    click.echo(f"reference: {ref}  ({metric}, {method})")
    width = max(len(r["test"]) for r in rows)
    for r in rows:
        if "error" in r:
            click.echo(f"{r['test']:<{width}}  n/a ({r['error']})")
        else:
            click.echo(f"{r['test']:<{width}}  BD-rate {r['bd_rate_percent']:+8.2f} %   "
                       f"{unit} {r['bd_metric_db']:+.3f} dB   overlap {r['overlap_bpp'][0]:.3f}-"
                       f"{r['overlap_bpp'][1]:.3f} bpp")


COMMANDS = [eval_cmd, bdrate]
