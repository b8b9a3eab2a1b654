"""Results files: schema, JSON/CSV writers, and a tolerant curve reader.

JSON schema ``licodec.eval/1`` (written by ``lic eval --out``)::

    {
      "schema": "licodec.eval/1",
      "created": "2025-01-01T12:00:00+00:00",         # UTC, ISO 8601
      "dataset": {"dir": "...", "images": ["kodim01.png", ...], "n_images": 24},
      "run": {"workers": 2, "threads_per_worker": 1, "wall_s": 512.3},
      "environment": {"python": ..., "platform": ..., "cpu_count": ..., "licodec": ...,
                      "pillow": ..., "libjpeg": ..., "libwebp": ..., "libavif": ...,
                      "openjpeg": ..., "imagecodecs": ..., "libjxl": ..., "torch": ...},
      "codecs": {NAME: {"label": ..., "setting_name": ..., "settings": [...],
                        "description": ..., "suffix": ...}},
      "curves": {NAME: {"label": ..., "setting": [...], "bpp": [...], "psnr": [...],
                        "ms_ssim": [...], "ms_ssim_db": [...], "enc_s": [...], "dec_s": [...],
                        "n_images": [...]}},
      "points": [{"codec": ..., "setting": ..., "image": ..., "width": ..., "height": ...,
                  "bytes": ..., "bpp": ..., "psnr": ..., "ms_ssim": ..., "ms_ssim_scales": ...,
                  "enc_s": ..., "dec_s": ...}, ...]
    }

* ``points``: one per image x codec x setting. ``bytes`` is the size of the file written to disk
  (headers and container included), ``bpp = 8 * bytes / (width * height)``; ``psnr`` in dB on the
  decoded 8-bit RGB; ``ms_ssim`` linear in [0, 1]; ``enc_s``/``dec_s`` wall seconds of one encode
  (array to bytes) and one decode (bytes to array).
* ``curves``: per codec, one entry per setting sorted by increasing mean bpp; each value is the
  arithmetic mean over the images (PSNR: mean of per-image PSNR, the usual Kodak convention);
  ``ms_ssim_db = -10 log10(1 - mean MS-SSIM)``.
* Non-finite numbers are written as ``null``.

CSV (``--csv``, or beside ``--out``): the ``points`` table, one row per point, header
``codec,setting,image,width,height,bytes,bpp,psnr,ms_ssim,ms_ssim_scales,enc_s,dec_s``.

:func:`load_curves` reads these files and also plain curve files (``{name: {"bpp": [...],
"psnr": [...]}}`` as in the published anchors, CompressAI's ``{"name", "results": {...}}``, or a
single ``{"bpp", "psnr"}`` object), so ``lic bdrate`` accepts all of them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from licodec.errors import InvalidOptionError
from licodec.image_io import write_atomic

__all__ = [
    "SCHEMA", "POINT_FIELDS", "Curve", "aggregate", "atomic_write", "write_json", "write_csv",
    "read_json", "load_curves", "curves_from_results", "sanitize",
]

SCHEMA = "licodec.eval/1"
POINT_FIELDS = ("codec", "setting", "image", "width", "height", "bytes", "bpp", "psnr", "ms_ssim",
                "ms_ssim_scales", "enc_s", "dec_s")

_ALIASES = {
    "bpp": ("bpp", "rate", "bits_per_pixel"),
    "psnr": ("psnr", "psnr-rgb", "psnr_rgb"),
    "ms_ssim": ("ms_ssim", "ms-ssim", "ms-ssim-rgb", "ms_ssim_rgb"),
    "ms_ssim_db": ("ms_ssim_db", "ms-ssim-db", "ms-ssim-db-rgb"),
    "enc_s": ("enc_s", "encoding_time"),
    "dec_s": ("dec_s", "decoding_time"),
}


@dataclass
class Curve:
    """A rate-distortion curve: mean bpp and quality per setting, sorted by rate.

    ``ms_ssim`` is linear; ``ms_ssim_db`` is ``-10 log10(1 - ms_ssim)`` (derived when absent).
    """

    name: str
    bpp: np.ndarray
    psnr: np.ndarray | None = None
    ms_ssim: np.ndarray | None = None
    ms_ssim_db: np.ndarray | None = None
    label: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bpp = np.asarray(self.bpp, dtype=np.float64)
        n = len(self.bpp)
        for key in ("psnr", "ms_ssim", "ms_ssim_db"):
            value = getattr(self, key)
            if value is not None:
                arr = np.asarray([np.nan if v is None else v for v in value], dtype=np.float64)
                if len(arr) != n:
                    raise InvalidOptionError(
                        f"curve '{self.name}': {key} has {len(arr)} values but bpp has {n}")
                setattr(self, key, arr)
        if self.ms_ssim_db is None and self.ms_ssim is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                self.ms_ssim_db = -10.0 * np.log10(1.0 - self.ms_ssim)
        if not self.label:
            self.label = self.name

    def metric(self, metric: str) -> np.ndarray | None:
        """``"psnr"`` (dB) or ``"ms-ssim"`` (in dB, as used for BD numbers)."""
        if metric == "psnr":
            return self.psnr
        if metric in ("ms-ssim", "ms_ssim", "ms-ssim-db", "ms_ssim_db"):
            return self.ms_ssim_db
        raise InvalidOptionError(f"unknown metric '{metric}' (use psnr or ms-ssim)")


def sanitize(obj: Any) -> Any:
    """Copy ``obj`` with numpy scalars/arrays as Python values and non-finite floats as ``None``."""
    if isinstance(obj, Mapping):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return sanitize(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidOptionError(f"cannot write {path}: folder {folder} does not exist")
    write_atomic(path, data)


def _nanmean(values: Iterable[float]) -> float:
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if arr.size == 0 or np.all(np.isnan(arr)):
        return float("nan")
    return float(np.nanmean(arr))


def aggregate(points: list[dict[str, Any]], order: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Mean per codec and setting (see module docstring); curves sorted by increasing bpp."""
    groups: dict[str, dict[float, list[dict[str, Any]]]] = {}
    for p in points:
        groups.setdefault(p["codec"], {}).setdefault(float(p["setting"]), []).append(p)
    names = list(order) if order is not None else list(groups)
    names = [n for n in names if n in groups] + [n for n in groups if n not in names]
    curves: dict[str, dict[str, Any]] = {}
    for name in names:
        rows = []
        for setting, pts in groups[name].items():
            ms = _nanmean(p.get("ms_ssim") for p in pts)
            rows.append({
                "setting": setting,
                "bpp": _nanmean(p["bpp"] for p in pts),
                "psnr": _nanmean(p["psnr"] for p in pts),
                "ms_ssim": ms,
                "ms_ssim_db": (-10.0 * math.log10(1.0 - ms)) if math.isfinite(ms) and ms < 1 else float("nan"),
                "enc_s": _nanmean(p["enc_s"] for p in pts),
                "dec_s": _nanmean(p["dec_s"] for p in pts),
                "n_images": len(pts),
            })
        rows.sort(key=lambda r: (r["bpp"], r["setting"]))
        curves[name] = {key: [r[key] for r in rows] for key in
                        ("setting", "bpp", "psnr", "ms_ssim", "ms_ssim_db", "enc_s", "dec_s", "n_images")}
    return curves


def write_json(path: str | os.PathLike, results: Mapping[str, Any]) -> None:
    """Write a results mapping as JSON (atomically, non-finite numbers as null)."""
    atomic_write(path, json.dumps(sanitize(results), indent=1, allow_nan=False) + "\n")


def csv_text(points: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=POINT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for p in points:
        row = sanitize(dict(p))
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in POINT_FIELDS})
    return buf.getvalue()


def write_csv(path: str | os.PathLike, points: Iterable[Mapping[str, Any]]) -> None:
    """Write the per-image points as CSV (atomically)."""
    atomic_write(path, csv_text(points))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; :class:`InvalidOptionError` (one line) if missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InvalidOptionError(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidOptionError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None


def _pick(d: Mapping[str, Any], key: str) -> Any:
    for alias in _ALIASES[key]:
        if alias in d:
            return d[alias]
    return None


def _is_curve(d: Any) -> bool:
    return isinstance(d, Mapping) and _pick(d, "bpp") is not None and any(
        _pick(d, k) is not None for k in ("psnr", "ms_ssim", "ms_ssim_db"))


def _curve(name: str, d: Mapping[str, Any], where: str) -> Curve:
    bpp = _pick(d, "bpp")
    if not isinstance(bpp, list) or not bpp:
        raise InvalidOptionError(f"{where}: curve '{name}' has no bpp list")
    try:
        extra = {}
        for key in ("setting", "enc_s", "dec_s", "n_images"):
            value = _pick(d, key) if key in _ALIASES else d.get(key)
            if value is not None:
                extra[key] = value
        return Curve(
            name=name, bpp=[float(v) for v in bpp],
            psnr=_pick(d, "psnr"), ms_ssim=_pick(d, "ms_ssim"), ms_ssim_db=_pick(d, "ms_ssim_db"),
            label=str(d.get("label", name)), source=str(d.get("source", "")), extra=extra)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(f"{where}: curve '{name}' is malformed ({exc})") from None


def curves_from_results(data: Any, where: str = "results") -> dict[str, Curve]:
    """Curves from a parsed results/anchor mapping (formats listed in the module docstring)."""
    if not isinstance(data, Mapping):
        raise InvalidOptionError(f"{where}: expected a JSON object with RD curves")
    if isinstance(data.get("curves"), Mapping):
        table = data["curves"]
    elif isinstance(data.get("results"), Mapping) and _is_curve(data["results"]):
        table = {str(data.get("name", Path(where).stem)): data["results"]}
    elif _is_curve(data):
        table = {Path(where).stem: data}
    else:
        table = {k: v for k, v in data.items() if not str(k).startswith("_")}
    curves = {str(k): _curve(str(k), v, where) for k, v in table.items() if _is_curve(v)}
    if not curves:
        raise InvalidOptionError(f"{where}: no rate-distortion curves (bpp + psnr/ms-ssim) found")
    return curves


def load_curves(path: str | os.PathLike) -> dict[str, Curve]:
    """All curves in a results or anchor JSON file, by name."""
    return curves_from_results(read_json(path), str(path))
