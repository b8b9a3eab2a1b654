"""Wall time of a full Kodak evaluation: the default licodec model and the five classical codecs.

Runs ``lic eval KODAK --codecs lic:default,jpeg,webp,avif,jpeg2000,jpegxl --workers 2`` in a
fresh process (so start-up and model loading count), with JSON, CSV, RD plot and HTML report,
and prints the wall time and the mean curves. The Kodak folder comes from ``--kodak``, else
``$LIC_KODAK``, else ``../shared/data/kodak`` beside the repository.

    python benchmarks/bench_eval_kodak.py [--kodak DIR] [--workers 2] [--out-dir runs/eval-kodak]
                                          [--classical-only] [--limit N]

If no trained weights ship for the default model yet, the lic codec is left out with a note
(``--require-lic`` makes that an error). The machine is shared: note concurrent load (printed
as the load average before and after) when quoting the time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CLASSICAL = "jpeg,webp,avif,jpeg2000,jpegxl"


def _default_kodak() -> Path:
    env = os.environ.get("LIC_KODAK")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kodak", type=Path, default=None, help="folder with kodim01.png ... kodim24.png")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out-dir", type=Path, default=Path("runs/eval-kodak"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N images (smoke test)")
    ap.add_argument("--classical-only", action="store_true", help="leave the lic codec out")
    ap.add_argument("--require-lic", action="store_true", help="fail if the default model has no weights")
    args = ap.parse_args(argv)

    kodak = args.kodak or _default_kodak()
    if not kodak.is_dir():
        print(f"bench_eval_kodak: Kodak folder {kodak} not found (use --kodak or LIC_KODAK)", file=sys.stderr)
        return 2
    codecs = CLASSICAL
    if not args.classical_only:
        from licodec import models

        if models.shipped_weights(models.DEFAULT) is None:
            if args.require_lic:
                print(f"bench_eval_kodak: no trained weights ship for '{models.DEFAULT}'", file=sys.stderr)
                return 2
            print(f"note: no trained weights ship for '{models.DEFAULT}': classical codecs only")
        else:
            codecs = "lic:default," + CLASSICAL
    args.out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "licodec.cli", "eval", str(kodak), "--codecs", codecs,
           "--workers", str(args.workers), "--out", str(args.out_dir / "results.json"),
           "--plot", str(args.out_dir / "rd.png"), "--report", str(args.out_dir / "report.html")]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    print("$ " + " ".join(cmd), flush=True)
    print(f"load average before: {_loadavg()}  (cores: {os.cpu_count()})", flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    print(f"load average after:  {_loadavg()}")
    print(f"wall time of the full evaluation (incl. start-up, plot and report): {wall:.1f} s  [rc={rc}]")
    return rc


if __name__ == "__main__":
    sys.exit(main())
