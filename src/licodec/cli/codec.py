"""``lic compress``, ``lic decompress``, ``lic info``, ``lic models`` and ``lic demo``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import click

from licodec.cli.console import one_line, warnings_to_stderr
from licodec.errors import InvalidOptionError, LicError


def _plan(sources: tuple[str, ...], given: str | None, suffix: str, force: bool) -> list[tuple[Path, Path]]:
    """(source, output) for each source. ``-o`` names the output file of a single source, or an
    existing folder the outputs go to (required with several sources). An output named after its
    source (its name with ``suffix``) never replaces a file without ``--force``; every output is
    checked before any source is coded."""
    srcs = [Path(s) for s in sources]
    if given and len(srcs) == 1 and not Path(given).is_dir():
        return [(srcs[0], Path(given))]
    if given and not Path(given).is_dir():
        raise InvalidOptionError(f"with several sources, -o must be an existing folder: {given}")
    outs = [Path(given) / (s.stem + suffix) if given else s.with_suffix(suffix) for s in srcs]
    claimed: dict[str, Path] = {}
    for src, out in zip(srcs, outs):
        if out.exists() and not force:
            raise InvalidOptionError(f"{out} exists; choose another name with -o or pass --force")
        other = claimed.setdefault(os.path.abspath(out), src)
        if other != src:
            raise InvalidOptionError(f"{other} and {src} would both be written to {out}")
    return list(zip(srcs, outs))


def _for_each(pairs: list[tuple[Path, Path]], code: Callable[[Path, Path], None]) -> None:
    """``code(source, output)`` for each pair. A single source's error is the command's. With
    several, a source that fails gets its own error line and the others go on; the command then
    fails (exit 2) and names how many failed."""
    if len(pairs) == 1:
        code(*pairs[0])
        return
    failed = 0
    for src, out in pairs:
        try:
            code(src, out)
        except (LicError, ValueError, OSError) as exc:
            failed += 1
            click.echo(f"lic: error: {src}: {one_line(exc)}", err=True)
    if failed:
        raise LicError(f"{failed} of {len(pairs)} files failed")


@click.command("compress")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="SOURCE...")
@click.option("-o", "--output", help="Output .lic file, or a folder for the outputs (default: each SOURCE with .lic suffix).")
@click.option("--model", default=None, help="Model name (see `lic models`); default: the shipped default.")
@click.option("--quality", type=float, default=None, help="Quality knob, any real value in the model's range.")
@click.option("--bpp", "target_bpp", type=float, default=None, help="Rate control: largest quality at or under this bpp.")
@click.option("--size", "target_size", type=int, default=None, help="Rate control: file size in bytes, never exceeded.")
@click.option("--psnr", "target_psnr", type=float, default=None, help="Rate control: smallest file reaching this PSNR (dB).")
@click.option("--refine", type=click.IntRange(0, 10_000), default=0, show_default=True, metavar="STEPS",
              help="Optimize the image's latents for STEPS iterations before coding (e.g. 50): smaller files, "
                   "slower encoding, same decoder. Hyperprior models without a context model.")
@click.option("--orient", is_flag=True,
              help="Try the image's 8 rotations and mirror images and code the one with the lowest rate-distortion "
                   "cost: about 1 % smaller files (BD-rate), 8 more passes of the model per encode, same decoder.")
@click.option("--postfilter/--no-postfilter", default=True, show_default=True,
              help="Fit a filter for the decoder's output and send it in the file when it pays for its bytes: "
                   "about 2.5 % smaller files (BD-rate on Kodak) for one more synthesis pass and a least-squares fit "
                   "per encode.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Use these safetensors weights.")
@click.option("-f", "--force", is_flag=True, help="Overwrite output files named after their sources.")
def compress_cmd(sources, output, model, quality, target_bpp, target_size, target_psnr, refine, orient, postfilter,
                 weights, force):
    """Compress images (PNG, JPEG, WebP, BMP, TIFF, ...) to .lic files."""
    from licodec import api
    from licodec.image_io import load_image, write_atomic

    targets = [t for t in (quality, target_bpp, target_size, target_psnr) if t is not None]
    if len(targets) > 1:
        raise InvalidOptionError("give at most one of --quality, --bpp, --size, --psnr")
    pairs = _plan(sources, output, ".lic", force)
    api.get_model(model, weights)  # a bad model or weights file fails once, not once per source

    def code(src: Path, out: Path) -> None:
        with warnings_to_stderr():
            arr, channels = load_image(src)
        image = arr[..., 0] if channels == 1 else arr
        t0 = time.perf_counter()
        if target_bpp is not None or target_size is not None or target_psnr is not None:
            from licodec.rate_control import compress_to_target

            data = compress_to_target(image, model=model, weights=weights, bpp=target_bpp, size=target_size,
                                      psnr=target_psnr, refine=refine, orient=orient, postfilter=postfilter)
        else:
            data = api.compress(image, model=model, quality=quality, weights=weights, refine=refine, orient=orient,
                                postfilter=postfilter)
        elapsed = time.perf_counter() - t0
        write_atomic(out, data)
        header = api.read_header(data)
        bpp = 8 * len(data) / (arr.shape[0] * arr.shape[1])
        click.echo(f"{out}: {len(data)} bytes, {bpp:.4f} bpp, {header.model} q={header.quality:g}, {elapsed:.2f} s")

    _for_each(pairs, code)


@click.command("decompress")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="SOURCE...")
@click.option("-o", "--output", help="Output image (format from the suffix), or a folder for the outputs "
                                     "(default: each SOURCE with .png).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Decode with these safetensors weights.")
@click.option("-f", "--force", is_flag=True, help="Overwrite output files named after their sources.")
def decompress_cmd(sources, output, weights, force):
    """Decode .lic files to images."""
    from licodec import api
    from licodec.errors import FormatError
    from licodec.image_io import save_image_atomic

    pairs = _plan(sources, output, ".png", force)

    def code(src: Path, out: Path) -> None:
        if not src.is_file():
            raise FormatError(f"no such file: {src}")
        t0 = time.perf_counter()
        image = api.decompress(src.read_bytes(), weights=weights)
        elapsed = time.perf_counter() - t0
        save_image_atomic(image, out)
        click.echo(f"{out}: {image.width}x{image.height} {image.mode}, {elapsed:.2f} s")

    _for_each(pairs, code)


@click.command("info")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_cmd(source, as_json):
    """Show a .lic file's header: model, weights digest, size, quality, bytes per stream, bpp."""
    from licodec import api
    from licodec.errors import FormatError
    from licodec.orientation import describe
    from licodec.postfilter import PostFilter

    src = Path(source)
    if not src.is_file():
        raise FormatError(f"no such file: {src}")
    data = src.read_bytes()
    h = api.read_header(data)
    pixels = h.height * h.width
    info = {
        "file": str(src), "bytes": len(data), "bpp": 8 * len(data) / pixels, "model": h.model,
        "weights_digest": h.digest.hex(), "height": h.height, "width": h.width, "channels": h.channels,
        "quality": h.quality, "orientation": h.orientation, "latent_shape": list(h.shape), "header_bytes": h.header_bytes + 4,
        "postfilter_bytes": len(h.postfilter),
        "streams": [{"index": i, "bytes": n, "bpp": 8 * n / pixels} for i, n in enumerate(h.stream_lengths)],
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"file          {src}")
    click.echo(f"model         {h.model} (weights {h.digest.hex()})")
    click.echo(f"image         {h.width}x{h.height}, {'grayscale' if h.channels == 1 else 'RGB'}")
    click.echo(f"quality       {h.quality:g}")
    if h.orientation:
        click.echo(f"orientation   {h.orientation} (coded {describe(h.orientation)})")
    if h.postfilter:
        pf = PostFilter.from_bytes(h.postfilter)
        knots = f"tone knots {', '.join(map(str, pf.knots))}" if pf.knots else "no tone knots"
        click.echo(f"post-filter   {len(h.postfilter)} bytes (radius {pf.radius}, {knots})")
    click.echo(f"latent shape  {h.shape[0]}x{h.shape[1]}")
    click.echo(f"size          {len(data)} bytes, {info['bpp']:.4f} bpp (header + checksum {info['header_bytes']} bytes)")
    for s in info["streams"]:
        click.echo(f"stream {s['index']}      {s['bytes']} bytes, {s['bpp']:.4f} bpp")


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models_cmd(as_json):
    """List the models, their quality range and whether trained weights ship."""
    from licodec import models

    rows = []
    for name in models.available():
        path = models.shipped_weights(name)
        cls = models.model_class(name)
        levels = len(models.LAMBDAS_MSE)
        if path is not None:
            from licodec.models.weights import read_weights

            _, meta = read_weights(path)
            levels = len(meta["config"].get("lambdas", models.LAMBDAS_MSE))
        rows.append({"name": name, "default": name == models.DEFAULT, "qualities": [1.0, float(levels)],
                     "trained_weights": path is not None, "paper": cls.paper})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        mark = "*" if r["default"] else " "
        trained = "trained weights" if r["trained_weights"] else "architecture only"
        click.echo(f"{mark} {r['name']:<{width}}  quality {r['qualities'][0]:g}-{r['qualities'][1]:g}  {trained:<17}  {r['paper']}")


@click.command("demo")
@click.option("--model", default=None, help="Model name; default: the shipped default.")
@click.option("--quality", type=float, default=None)
@click.option("--image", type=click.Path(dir_okay=False), default=None, help="Use this image instead of the bundled sample.")
def demo_cmd(model, quality, image):
    """Compress and decompress the bundled sample image; print bytes, bpp, PSNR and timings."""
    from importlib import resources

    from licodec import api
    from licodec.eval.metrics import psnr
    from licodec.image_io import load_image

    path = Path(image) if image else Path(str(resources.files("licodec") / "data" / "sample.png"))
    with warnings_to_stderr():
        arr, _ = load_image(path)
    api.get_model(model)  # load once, outside the timings
    t0 = time.perf_counter()
    data = api.compress(arr, model=model, quality=quality)
    t1 = time.perf_counter()
    rec, header = api.decode_array(data)
    t2 = time.perf_counter()
    pixels = arr.shape[0] * arr.shape[1]
    click.echo(f"image       {path.name} {arr.shape[1]}x{arr.shape[0]}")
    click.echo(f"model       {header.model} quality {header.quality:g}")
    click.echo(f"bytes       {len(data)}")
    click.echo(f"bpp         {8 * len(data) / pixels:.4f}")
    click.echo(f"PSNR        {psnr(arr, rec):.2f} dB")
    click.echo(f"compress    {t1 - t0:.3f} s")
    click.echo(f"decompress  {t2 - t1:.3f} s")


COMMANDS = [compress_cmd, decompress_cmd, info_cmd, models_cmd, demo_cmd]
