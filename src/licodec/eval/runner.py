"""The evaluation loop: images x codecs x settings, every point a real file.

For each point the runner encodes the 8-bit RGB image to bytes, writes them to a file in a
temporary folder, takes the size from the file system, reads the file back and decodes it, then
measures PSNR and MS-SSIM (:mod:`licodec.eval.metrics`) against the original. ``enc_s`` is the wall
time of the encode call (array to bytes), ``dec_s`` of the decode call (bytes to array); file
I/O is not timed. Each process makes one untimed warm-up round trip per codec first (library
initialisation, model loading), so timings describe steady-state coding.

Work is split in tasks of one point (image x codec x setting), most expensive codecs first, and
spread over ``workers`` processes (``spawn`` start method, so no thread pool or torch state is
inherited). With more than
one worker every process is single-threaded (torch, OpenMP, MKL and OpenBLAS, one encoder
thread), so the timings are per core and the workers do not fight over the cores.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import multiprocessing
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from licodec.errors import ImageReadError, InvalidOptionError
from licodec.eval import metrics
from licodec.eval.codecs import CodecSpec, get_codec
from licodec.eval.results import SCHEMA, aggregate

__all__ = ["IMAGE_SUFFIXES", "list_images", "load_rgb", "round_trip", "evaluate", "default_workers"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pnm", ".bmp", ".tif", ".tiff", ".webp")


def default_workers() -> int:
    """Number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def list_images(directory: str | os.PathLike, limit: int | None = None) -> list[Path]:
    """Image files (by suffix, sorted by name) directly inside ``directory``."""
    folder = Path(directory)
    if not folder.is_dir():
        raise InvalidOptionError(f"{folder}: no such directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InvalidOptionError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    if limit is not None:
        if limit < 1:
            raise InvalidOptionError("--limit must be at least 1")
        files = files[:limit]
    return files


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as an H x W x 3 uint8 RGB array (alpha dropped, gray replicated)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc})") from None
    return np.asarray(rgb, dtype=np.uint8)


def round_trip(codec_name: str, rgb: np.ndarray, setting: float, folder: str | os.PathLike,
               stem: str = "image", threads: int = 1) -> tuple[dict[str, Any], np.ndarray]:
    """Encode ``rgb`` at ``setting``, write the file into ``folder``, read it back and decode.

    Returns the point (bytes, bpp, psnr, ms_ssim, times) and the decoded array.
    """
    codec = get_codec(codec_name)
    h, w = rgb.shape[:2]
    t0 = time.perf_counter()
    data = codec.encode(rgb, setting, threads)
    enc_s = time.perf_counter() - t0
    safe = codec.name.replace(":", "_").replace("/", "_")
    path = Path(folder) / f"{stem}.{safe}.{setting:g}.{codec.suffix}"
    with open(path, "wb") as f:
        f.write(data)
    nbytes = os.path.getsize(path)
    with open(path, "rb") as f:
        stored = f.read()
    t0 = time.perf_counter()
    decoded = codec.decode(stored, threads)
    dec_s = time.perf_counter() - t0
    decoded = np.asarray(decoded)
    if decoded.shape != rgb.shape or decoded.dtype != np.uint8:
        raise RuntimeError(f"{codec.name} decoded {stem} to {decoded.shape} {decoded.dtype}, "
                           f"expected {rgb.shape} uint8")
    ms = metrics.ms_ssim(rgb, decoded)
    point = {
        "codec": codec.name, "setting": float(setting), "image": stem, "width": w, "height": h,
        "bytes": int(nbytes), "bpp": 8.0 * nbytes / (w * h), "psnr": metrics.psnr(rgb, decoded),
        "ms_ssim": ms, "ms_ssim_scales": metrics.ms_ssim_scales(h, w), "enc_s": enc_s, "dec_s": dec_s,
    }
    return point, decoded


@dataclass(frozen=True)
class _Task:
    image: str
    codec: str
    settings: tuple[float, ...]
    threads: int


_WARM: set[str] = set()


def _warm_up(codec_name: str, rgb: np.ndarray, setting: float, threads: int) -> None:
    if codec_name in _WARM:
        return
    crop = np.ascontiguousarray(rgb[:64, :64])
    codec = get_codec(codec_name)
    codec.decode(codec.encode(crop, setting, threads), threads)
    _WARM.add(codec_name)


def _run_task(task: _Task) -> list[dict[str, Any]]:
    rgb = load_rgb(task.image)
    name = Path(task.image).name
    _warm_up(task.codec, rgb, task.settings[0], task.threads)
    with tempfile.TemporaryDirectory(prefix="lic-eval-") as folder:
        return [round_trip(task.codec, rgb, s, folder, name, task.threads)[0] for s in task.settings]


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


@contextlib.contextmanager
def _single_threaded_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """``workers`` spawned processes with one thread each. The thread-count variables must be in
    a process's environment when it starts: numpy's OpenBLAS reads them when it loads, which
    happens before a pool initializer runs."""
    saved = {var: os.environ.get(var) for var in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker) as pool:
            yield pool
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


_COST = {"avif444": 6.0, "jpegxl": 1.5, "webp": 1.2, "jpeg2000": 1.2}


def _cost(codec: str) -> float:
    return 20.0 if codec.startswith("lic:") else _COST.get(codec, 1.0)


def _environment() -> dict[str, Any]:
    from licodec.eval.classical import library_versions

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "machine": platform.machine(), "cpu_count": os.cpu_count()}
    try:
        import licodec

        env["licodec"] = getattr(licodec, "__version__", "unknown")
    except Exception:  # pragma: no cover
        pass
    env.update(library_versions())
    try:
        import torch

        env["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    return env


def evaluate(images: Sequence[str | os.PathLike], specs: Sequence[CodecSpec], *, workers: int = 1,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate resolved codec specs on images; returns a ``licodec.eval/1`` results mapping.

    ``specs`` must be resolved (:func:`licodec.eval.codecs.resolve_specs`). ``workers`` > 1 runs
    tasks in that many single-threaded ``spawn`` processes; 1 runs them here with the codecs'
    default threading. ``progress`` shows a tqdm bar on stderr.
    """
    if workers < 1:
        raise InvalidOptionError("--workers must be at least 1")
    paths = [str(Path(p)) for p in images]
    if not paths:
        raise InvalidOptionError("no images to evaluate")
    codecs = {spec.name: get_codec(spec.name) for spec in specs}  # validates names, loads models
    for spec in specs:
        if not spec.settings:
            raise InvalidOptionError(f"{spec.name}: no settings to evaluate")
        for value in spec.settings:
            codecs[spec.name].check_setting(value)  # e.g. a lic quality outside the model's range
    threads = 1 if workers > 1 else default_workers()
    tasks = [_Task(p, spec.name, (float(v),), threads) for spec in specs for p in paths
             for v in spec.settings]
    n_points = sum(len(t.settings) for t in tasks)
    order = {spec.name: i for i, spec in enumerate(specs)}
    schedule = sorted(tasks, key=lambda t: -_cost(t.codec))

    from tqdm.auto import tqdm

    points: list[dict[str, Any]] = []
    start = time.perf_counter()
    with tqdm(total=n_points, unit="pt", desc="lic eval", disable=not progress, dynamic_ncols=True) as bar:
        def done(result: list[dict[str, Any]]) -> None:
            points.extend(result)
            bar.update(len(result))
            if result:
                bar.set_postfix_str(f"{result[-1]['codec']} {result[-1]['image']}", refresh=False)

        if workers == 1:
            for task in schedule:
                done(_run_task(task))
        else:
            with _single_threaded_pool(min(workers, len(tasks))) as pool:
                futures = [pool.submit(_run_task, t) for t in schedule]
                try:
                    for fut in as_completed(futures):
                        done(fut.result())  # re-raises a worker's exception here
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    wall_s = time.perf_counter() - start

    curves = aggregate(points, order=[s.name for s in specs])
    for name, curve in curves.items():
        curves[name] = {"label": codecs[name].label, **curve}
    image_order = {Path(p).name: i for i, p in enumerate(paths)}
    points.sort(key=lambda p: (order[p["codec"]], image_order[p["image"]], p["setting"]))
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "dataset": {"dir": str(Path(paths[0]).parent.resolve()), "images": [Path(p).name for p in paths],
                    "n_images": len(paths)},
        "run": {"workers": workers, "threads_per_worker": threads, "wall_s": wall_s,
                "n_points": len(points)},
        "environment": _environment(),
        "codecs": {name: {"label": c.label, "setting_name": c.setting_name,
                          "settings": list(next(s.settings for s in specs if s.name == name)),
                          "description": c.description, "suffix": c.suffix}
                   for name, c in codecs.items()},
        "curves": curves,
        "points": points,
    }
