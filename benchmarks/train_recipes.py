"""Training recipes compared on this machine: Kodak RD against training wall-clock hours.

Each variant trains the variable-rate mbt2018-mean from scratch for the same training time
(``lic train --hours``), validating with real coding on the first 6 Kodak images at qualities 1, 4
and 8. A run already in ``--runs`` resumes where it stopped if it has trained for less than
``--hours``, and is only collected otherwise. Writes one CSV row
per validation (variant, step, hours, quality, bpp, psnr) and a plot of PSNR against hours.

    python benchmarks/train_recipes.py --data ../shared/data/train --val ../shared/data/kodak \\
        --hours 0.25 --csv docs/results/train_recipes.csv --plot docs/results/train_recipes.png

With ``--from RUN`` the continuation variants (crop sizes, a final learning-rate decay) each resume a copy of RUN's checkpoint
for ``--hours`` more training time instead: which recipe to switch a long run to. RUN is not
changed.

    python benchmarks/train_recipes.py --from runs/mbt2018-mean-vr --hours 0.2 --data ../shared/data/train \\
        --val ../shared/data/kodak --csv docs/results/crop_continuation.csv --plot docs/results/crop_continuation.png
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

# name: (lic train options, validation interval in steps — about every 2.5 minutes of training)
VARIANTS: dict[str, tuple[list[str], int]] = {
    "base: lr 5e-4, 128² crops, batch 16": (["--lr", "5e-4", "--patch", "128", "--batch", "16"], 400),
    "lr 1e-3": (["--lr", "1e-3", "--patch", "128", "--batch", "16"], 400),
    "64² crops": (["--lr", "5e-4", "--patch", "64", "--batch", "16"], 1600),
}
# Continuations of a trained run (--from): only the last validation, at the stop, is recorded.
DECAY = 1000
CONTINUATIONS: dict[str, tuple[list[str], int]] = {
    "128² crops, batch 16 (unchanged)": (["--lr", "5e-4", "--patch", "128", "--batch", "16"], 10**6),
    "64² crops, batch 16": (["--lr", "5e-4", "--patch", "64", "--batch", "16"], 10**6),
    "256² crops, batch 8": (["--lr", "5e-4", "--patch", "256", "--batch", "8"], 10**6),
    # A decayed fork trains --decay-steps more steps, the last of them at a falling rate.
    f"256² × 8, lr decay to 1e-5 over {DECAY} steps": (["--lr", "5e-4", "--patch", "256", "--batch", "8",
                                                       "--decay-steps", str(DECAY)], 10**6),
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.split(":")[0].lower()).strip("-")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--hours", type=float, default=0.25, help="training time per variant")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default=None, help="comma-separated slugs (default: all)")
    ap.add_argument("--from", dest="start", default=None, help="continue copies of this run instead of training from scratch")
    ap.add_argument("--runs", default="runs/recipes")
    ap.add_argument("--csv", default="docs/results/train_recipes.csv")
    ap.add_argument("--plot", default="docs/results/train_recipes.png")
    args = ap.parse_args()
    variants, runs, until = VARIANTS, Path(args.runs), args.hours
    if args.start:
        start = json.loads((Path(args.start) / "checkpoint.json").read_text())
        variants, runs = CONTINUATIONS, runs / f"from-step-{start['step']}"
        until += start["elapsed_s"] / 3600
    wanted = args.variants.split(",") if args.variants else [slug(n) for n in variants]
    rows = []
    for name, (opts, val_every) in variants.items():
        if slug(name) not in wanted:
            continue
        run = runs / slug(name)
        info = run / "checkpoint.json"
        if args.start and not info.is_file():
            run.mkdir(parents=True, exist_ok=True)
            for f in ("checkpoint.safetensors", "checkpoint.json"):
                shutil.copy(Path(args.start) / f, run / f)
        done = json.loads(info.read_text())["elapsed_s"] / 3600 if info.is_file() else 0.0
        steps = 300000
        if "--decay-steps" in opts:
            steps = start["step"] + int(opts[opts.index("--decay-steps") + 1])
        if done < until:
            cmd = [sys.executable, "-m", "licodec.cli", "train", "--model", "mbt2018-mean", "--data", args.data,
                   "--val", args.val, "--steps", str(steps), "--warmup", "500", "--hours", str(until),
                   "--val-every", str(val_every), "--threads", str(args.threads), "--checkpoint-minutes", "1000",
                   "--quiet", "--out", str(run), *opts, *(["--resume"] if info.is_file() else [])]
            print(" ".join(cmd[2:]), flush=True)
            subprocess.run(cmd, check=True)
        with (run / "val.csv").open() as f:
            for r in csv.DictReader(f):
                rows.append({"variant": name, **({"from_step": start["step"]} if args.start else {}), **r})
                print(f"{name:<38} step {r['step']:>6} {float(r['hours']):6.3f} h  q{float(r['quality']):g}: "
                      f"{float(r['bpp']):.3f} bpp {float(r['psnr']):.2f} dB", flush=True)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        for ax, q in zip(axes, ("1.0", "4.0", "8.0")):
            pts = [(float(r["hours"]), float(r["psnr"])) for r in mine if r["quality"] == q]
            ax.plot(*zip(*pts), "o-", label=name)
            ax.set_title(f"quality {float(q):g}: PSNR vs training hours")
            ax.set_xlabel("training hours (2 CPU cores)")
            ax.set_ylabel("Kodak PSNR (dB)")
        last = max(float(r["step"]) for r in mine)
        end = sorted((float(r["bpp"]), float(r["psnr"])) for r in mine if float(r["step"]) == last)
        axes[3].plot(*zip(*end), "o-", label=name)
    axes[3].set_title("RD at the end of each run")
    axes[3].set_xlabel("bpp (real .lic files)")
    axes[3].set_ylabel("PSNR (dB)")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"wrote {args.csv} and {args.plot}")


if __name__ == "__main__":
    main()
