"""Training progress of one or more runs: Kodak PSNR and bpp of real files against training hours.

Reads each run's ``val.csv`` (written by ``lic train --val``: step, hours, quality, bpp, psnr) and
draws one panel of PSNR and one of bpp per validated quality, a line per run. A run that forks
another (a learning-rate decay, a recipe variant) shows where it leaves the main line. A CSV with a
``variant`` column (like ``docs/results/lr_decay.csv``) gives one line per variant and fork point
(``from_step``).

    python benchmarks/plot_training.py checkpoints/mbt2018-mean-vr docs/results/lr_decay.csv \\
        --labels "main run" --out docs/results/training_progress.png
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def read_val(run: Path) -> dict[str, list[dict[str, float]]]:
    """Validation points of a run folder or CSV, by variant and fork step (the folder's name when
    there is no variant)."""
    path = run / "val.csv" if run.is_dir() else run
    series: dict[str, list[dict[str, float]]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            point = {k: float(row[k]) for k in ("hours", "quality", "bpp", "psnr")}
            name = row.get("variant", run.name)
            if row.get("from_step"):
                name += f", from step {int(row['from_step']):,}"
            series.setdefault(name, []).append(point)
    return series


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (or val.csv files)")
    ap.add_argument("--labels", default="",
                    help="comma-separated names for the first runs' lines (a run with variants keeps theirs)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    labels = [s for s in args.labels.split(",") if s]
    series: dict[str, list[dict[str, float]]] = {}
    for i, run in enumerate(args.runs):
        by_variant = read_val(run)
        for name, rows in by_variant.items():
            series[labels[i] if i < len(labels) and len(by_variant) == 1 else name] = rows
    qualities = sorted({r["quality"] for rows in series.values() for r in rows})

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(qualities), figsize=(4.5 * len(qualities), 7), squeeze=False)
    for label, rows in series.items():
        for col, q in enumerate(qualities):
            pts = sorted((r["hours"], r["psnr"], r["bpp"]) for r in rows if r["quality"] == q)
            hours, psnr, bpp = zip(*pts)
            fmt, ms = ("o-", 5) if len(pts) > 1 else ("*", 12)  # one point: a fork's end
            axes[0][col].plot(hours, psnr, fmt, ms=ms, label=label)
            axes[1][col].plot(hours, bpp, fmt, ms=ms, label=label)
    for col, q in enumerate(qualities):
        axes[0][col].set_title(f"quality {q:g}")
        axes[0][col].set_ylabel("PSNR (dB), first Kodak images")
        axes[1][col].set_ylabel("bpp (real .lic files)")
        axes[1][col].set_xlabel("training hours (2 CPU cores)")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    rows = (len(names) + 1) // 2
    fig.legend(handles, names, loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout(rect=(0, 0.03 * rows, 1, 1))
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
