"""Throughput of the reference entropy coders in :mod:`licodec.info` (pure Python).

Draws N symbols (default 100 000) i.i.d. from a skewed source over a 16-letter alphabet
(p_k proportional to 0.7**k, H ≈ 2.9 bits), codes them with each coder built for the true
distribution (the adaptive arithmetic coder learns it), checks the round trip, and prints
encode / decode speed in symbols per second next to the rate in bits per symbol.

    python benchmarks/bench_info_coders.py [--n 100000] [--seed 0] [--repeat 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

from licodec.info import (
    AdaptiveArithmeticCode,
    StaticArithmeticCode,
    entropy,
    huffman_code,
    shannon_code,
    shannon_fano_elias_code,
)


def _best_time(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="symbols to code")
    ap.add_argument("--alphabet", type=int, default=16, help="alphabet size")
    ap.add_argument("--ratio", type=float, default=0.7, help="p_k proportional to ratio**k")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args(argv)

    weights_arr = args.ratio ** np.arange(args.alphabet)
    probs = weights_arr / weights_arr.sum()
    rng = np.random.default_rng(args.seed)
    message = rng.choice(args.alphabet, size=args.n, p=probs).tolist()
    weights = {k: float(p) for k, p in enumerate(probs)}
    h = entropy(probs)

    coders = {
        "shannon": shannon_code(weights),
        "shannon-fano-elias": shannon_fano_elias_code(weights),
        "huffman": huffman_code(weights),
        "arithmetic-static": StaticArithmeticCode(weights),
        "arithmetic-adaptive": AdaptiveArithmeticCode(range(args.alphabet)),
    }
    rows = []
    for name, coder in coders.items():
        t_enc, bits = _best_time(lambda c=coder: c.encode(message), args.repeat)
        t_dec, back = _best_time(lambda c=coder, b=bits: c.decode(b, len(message)), args.repeat)
        if back != message:
            raise SystemExit(f"{name}: round trip failed")
        rows.append(
            {
                "coder": name,
                "encode_symbols_per_s": args.n / t_enc,
                "decode_symbols_per_s": args.n / t_dec,
                "bits_per_symbol": len(bits) / args.n,
            }
        )
    report = {
        "n_symbols": args.n,
        "alphabet": args.alphabet,
        "entropy_bits_per_symbol": h,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "coders": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{args.n} symbols, alphabet {args.alphabet}, p_k ∝ {args.ratio}^k, "
        f"H = {h:.4f} bits/symbol (Python {platform.python_version()}, {platform.machine()})"
    )
    print(f"{'coder':<22}{'encode sym/s':>14}{'decode sym/s':>14}{'bits/sym':>10}")
    for r in rows:
        print(
            f"{r['coder']:<22}{r['encode_symbols_per_s']:>14,.0f}"
            f"{r['decode_symbols_per_s']:>14,.0f}{r['bits_per_symbol']:>10.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
