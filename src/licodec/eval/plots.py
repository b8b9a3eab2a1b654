"""Rate-distortion plots (matplotlib, Agg backend): PSNR and MS-SSIM (dB) against bpp.

Measured curves are drawn solid with markers, published anchors dashed and thinner; the x axis
covers the measured range (anchors are clipped to it).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence

import numpy as np

from licodec.errors import InvalidOptionError
from licodec.eval.results import Curve, atomic_write

__all__ = ["rd_figure", "rd_png", "save_rd_plot", "PANELS"]

#: The panels a figure can hold: key -> (axis label, curve metric).
PANELS = {"psnr": ("PSNR (dB, RGB)", "psnr"), "ms-ssim": ("MS-SSIM (dB) = -10 log10(1 - MS-SSIM)", "ms-ssim")}


def _matplotlib():
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _x_limit(curves: Mapping[str, Curve], x_max: float | None) -> float:
    if x_max is not None:
        return float(x_max)
    highs = [float(np.nanmax(c.bpp)) for c in curves.values() if c.bpp.size]
    return min(3.0, max(highs)) * 1.05 if highs else 2.0


def rd_figure(measured: Mapping[str, Curve], anchors: Mapping[str, Curve] | None = None, *,
              panels: Sequence[str] = ("psnr", "ms-ssim"), title: str | None = None,
              x_max: float | None = None):
    """A matplotlib figure with one RD panel per metric in ``panels``."""
    plt = _matplotlib()
    anchors = dict(anchors or {})
    xlim = _x_limit(measured or anchors, x_max)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.8), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, panel in zip(axes[0], panels):
        ylabel, metric = PANELS[panel]
        lows: list[float] = []
        highs: list[float] = []
        for i, curve in enumerate(measured.values()):
            y = curve.metric(metric)
            if y is None or not np.any(np.isfinite(y)):
                continue
            order = np.argsort(curve.bpp)
            ax.plot(curve.bpp[order], y[order], "o-", color=cmap(i % 10), lw=1.8, ms=4,
                    label=curve.label)
            inside = curve.bpp <= xlim
            if np.any(inside & np.isfinite(y)):
                lows.append(float(np.nanmin(y[inside])))
                highs.append(float(np.nanmax(y[inside])))
        grey = ("0.2", "0.45", "0.6", "0.35", "0.5", "0.7")
        styles = ("--", "-.", ":", (0, (5, 2, 1, 2)), (0, (3, 1)), (0, (1, 1)))
        for j, curve in enumerate(anchors.values()):
            y = curve.metric(metric)
            if y is None or not np.any(np.isfinite(y)):
                continue
            order = np.argsort(curve.bpp)
            x, yy = curve.bpp[order], y[order]
            keep = x <= xlim * 1.02
            if keep.sum() < 2:
                continue
            ax.plot(x[keep], yy[keep], linestyle=styles[j % len(styles)], color=grey[j % len(grey)],
                    lw=1.3, marker=".", ms=3, label=curve.label)
            lows.append(float(np.nanmin(yy[keep])))
            highs.append(float(np.nanmax(yy[keep])))
        ax.set_xlim(0, xlim)
        if lows and highs:
            pad = 0.04 * (max(highs) - min(lows) or 1.0)
            ax.set_ylim(min(lows) - pad, max(highs) + pad)
        ax.set_xlabel("bits per pixel (file size incl. headers)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower right")
        if title:
            ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def rd_png(measured: Mapping[str, Curve], anchors: Mapping[str, Curve] | None = None, *,
           dpi: int = 110, **kwargs) -> bytes:
    """The RD figure rendered to PNG bytes."""
    plt = _matplotlib()
    fig = rd_figure(measured, anchors, **kwargs)
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()
    finally:
        plt.close(fig)


def save_rd_plot(path: str | os.PathLike, measured: Mapping[str, Curve],
                 anchors: Mapping[str, Curve] | None = None, *, dpi: int = 110, **kwargs) -> None:
    """Write the RD figure to ``path`` (format from the suffix: png, svg or pdf), atomically."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise InvalidOptionError(f"{path}: plot format must be .png, .svg or .pdf")
    plt = _matplotlib()
    fig = rd_figure(measured, anchors, **kwargs)
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    atomic_write(path, buf.getvalue())
