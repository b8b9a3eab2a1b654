"""``lic codes`` and ``lic entropy``: the information theory of :mod:`licodec.info`, made visible.

``lic codes 貝果=6 蛋餅=5 吐司=2 漢堡=1`` prints, per symbol, p, -log2 p, the Shannon length
⌈-log2 p⌉ and codeword, and the canonical Huffman codeword, then H, the mean lengths and,
for integer weights (counts, N = their sum), the totals b = mean(L)·N next to N·H.

``lic entropy FILE`` prints the byte-level order-0 entropy and order-1 conditional entropy of
a file and the file's size when actually coded (and decoded back) by the Huffman and
arithmetic coders, beside zlib, bz2, lzma and zstd.
"""

from __future__ import annotations

import json
import unicodedata
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from licodec.errors import InvalidOptionError
from licodec.info.byte_report import COUNT_BYTES, byte_coding_report
from licodec.info.huffman import huffman_code
from licodec.info.prefix import neg_log2
from licodec.info.shannon import shannon_code, shannon_fano_elias_code

__all__ = ["codes", "entropy", "analyze", "parse_weights", "COMMANDS"]


# --------------------------------------------------------------------------- helpers
def parse_weights(pairs: tuple[str, ...] | list[str]) -> dict[str, tuple[str, Fraction]]:
    """Parse ``SYMBOL=WEIGHT`` arguments into ``{symbol: (weight text, exact weight)}``.

    The split is at the last ``=``, so symbols may contain ``=``. Weights may be integers,
    decimals (``0.25``, ``1e-3``) or fractions (``1/3``); they must be finite and positive.
    """
    if not pairs:
        raise InvalidOptionError("no symbols given: pass SYMBOL=WEIGHT pairs, e.g. a=3 b=1")
    out: dict[str, tuple[str, Fraction]] = {}
    for pair in pairs:
        symbol, sep, text = pair.rpartition("=")
        if not sep:
            raise InvalidOptionError(f"expected SYMBOL=WEIGHT, got {pair!r}")
        if not symbol:
            raise InvalidOptionError(f"empty symbol in {pair!r}")
        text = text.strip()
        try:
            weight = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise InvalidOptionError(
                f"weight of {symbol!r} is not a finite number: {text!r}"
            ) from None
        if weight < 0:
            raise InvalidOptionError(f"weight of {symbol!r} is negative: {text}")
        if weight == 0:
            raise InvalidOptionError(
                f"weight of {symbol!r} is 0: a zero-probability symbol cannot be coded "
                "(-log2 0 is infinite)"
            )
        if symbol in out:
            raise InvalidOptionError(f"symbol {symbol!r} is given twice")
        out[symbol] = (text, weight)
    return out


def _width(text: str) -> int:
    """Terminal columns of ``text`` (East Asian wide and fullwidth characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def _number(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------- lic codes
@click.command("codes")
@click.argument("pairs", nargs=-1, metavar="SYMBOL=WEIGHT...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def codes(pairs: tuple[str, ...], as_json: bool) -> None:
    """Shannon and Huffman codes for symbols with the given weights.

    Weights are counts or any positive numbers (normalized to probabilities). Example, the
    breakfast example of the lecture notes:

        lic codes 貝果=6 蛋餅=5 吐司=2 漢堡=1
    """
    parsed = parse_weights(pairs)
    weights = {s: w for s, (_, w) in parsed.items()}
    total = sum(weights.values(), Fraction(0))
    probs = {s: w / total for s, w in weights.items()}
    shannon = shannon_code(weights)
    sfe = shannon_fano_elias_code(weights)
    huffman = huffman_code(weights)
    h = huffman.entropy()
    counts = all(w.denominator == 1 for w in weights.values())
    n = int(total) if counts else None

    def total_bits(code: Any) -> int | None:
        if n is None:
            return None
        return sum(int(weights[s]) * len(cw) for s, cw in code.codewords.items())

    if as_json:
        _echo_json(
            {
                "symbols": {
                    s: {
                        "weight": _number(weights[s]),
                        "p": float(p),
                        "info_bits": neg_log2(p),
                        "shannon_length": len(shannon.codewords[s]),
                        "shannon": shannon.codewords[s],
                        "shannon_fano_elias": sfe.codewords[s],
                        "huffman_length": len(huffman.codewords[s]),
                        "huffman": huffman.codewords[s],
                    }
                    for s, p in probs.items()
                },
                "entropy_bits": h,
                "mean_length_bits": {
                    "shannon": float(shannon.mean_length()),
                    "shannon_fano_elias": float(sfe.mean_length()),
                    "huffman": float(huffman.mean_length()),
                },
                "n": n,
                "n_entropy_bits": None if n is None else n * h,
                "total_bits": {
                    "shannon": total_bits(shannon),
                    "shannon_fano_elias": total_bits(sfe),
                    "huffman": total_bits(huffman),
                },
            }
        )
        return

    header = ["symbol", "weight", "p", "-log2 p", "Shannon L", "Shannon", "Huffman L", "Huffman"]
    rows = []
    for s, p in probs.items():
        rows.append(
            [
                s,
                parsed[s][0],
                f"{float(p):.6f}",
                f"{neg_log2(p):.4f}",
                str(len(shannon.codewords[s])),
                shannon.codewords[s],
                str(len(huffman.codewords[s])),
                huffman.codewords[s],
            ]
        )
    for line in _table(header, rows, right={1, 2, 3, 4, 6}):
        click.echo(line)
    click.echo("")
    click.echo(f"entropy H = {h:.4f} bits/symbol")
    click.echo(
        f"mean length: Shannon {float(shannon.mean_length()):.4f}, "
        f"Huffman {float(huffman.mean_length()):.4f} bits/symbol (H <= mean(L) < H + 1)"
    )
    if n is not None:
        click.echo(
            f"N = {n}: N·H = {n * h:.2f} bits; b = mean(L)·N: "
            f"Shannon {total_bits(shannon)} bits, Huffman {total_bits(huffman)} bits"
        )


# --------------------------------------------------------------------------- lic entropy
@click.command("entropy")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def entropy(file: Path, as_json: bool) -> None:
    """Byte entropy of FILE and its size under real coders.

    Order-0 entropy H(X) and order-1 conditional entropy H(X_i|X_i-1) (plug-in, bits/byte);
    the file coded with canonical Huffman and static/adaptive arithmetic coding (pure Python,
    decoded back to check; sizes include 8 bytes for N and the code table) beside zlib -9,
    bz2 -9, lzma -9 and zstd -19.
    """
    data = file.read_bytes()
    if not data:
        raise InvalidOptionError(f"empty input: {file} has 0 bytes, its entropy is undefined")
    report = byte_coding_report(data)
    if as_json:
        _echo_json({"file": str(file), **report})
        return
    n = report["n_bytes"]
    h0, h1 = report["entropy_order0_bits_per_byte"], report["entropy_order1_bits_per_byte"]
    click.echo(f"file: {file} ({n:,} bytes)")
    click.echo(
        f"order-0 entropy H(X)            {h0:.4f} bits/byte   "
        f"N·H/8 = {report['bound_order0_bytes']:,.0f} bytes"
    )
    if h1 is None:
        click.echo("order-1 entropy H(X_i|X_i-1)    n/a (needs 2 bytes)")
    else:
        click.echo(
            f"order-1 entropy H(X_i|X_i-1)    {h1:.4f} bits/byte   "
            f"1 + (N-1)·H/8 = {report['bound_order1_bytes']:,.0f} bytes"
        )
    click.echo("")
    header = ["coder", "bytes", "bits/byte", "note"]
    rows = []
    notes = {
        "huffman": "canonical Huffman, order 0",
        "arithmetic_static": "arithmetic, static order-0 model",
        "arithmetic_adaptive": "arithmetic, adaptive order-0 model",
    }
    for name, r in report["coders"].items():
        side = r["side_bytes"] - COUNT_BYTES
        table = f" + {side} B table" if side else ""
        rows.append(
            [
                name.replace("_", " "),
                f"{r['total_bytes']:,}",
                f"{r['bits_per_byte']:.4f}",
                f"{notes[name]}: {r['payload_bytes']:,} B payload{table} "
                f"+ {COUNT_BYTES} B for N; round trip ok",
            ]
        )
    for name, r in report["compressors"].items():
        if r["bytes"] is None:  # pragma: no cover
            rows.append([name, "n/a", "n/a", "not installed"])
        else:
            size, rate = f"{r['bytes']:,}", f"{r['bits_per_byte']:.4f}"
            rows.append([name, size, rate, f"level {r['level']}"])
    for line in _table(header, rows, right={1, 2}):
        click.echo(line)




# --------------------------------------------------------------------------- analyze
@click.command("analyze")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--model", "model_name", default=None, help="A hyperprior model (default: the shipped default).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Safetensors weights to use.")
@click.option("--quality", type=float, default=None)
@click.option("--heatmap", type=click.Path(dir_okay=False), default=None, help="Write a bits-per-position heatmap (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--channels", "top", type=int, default=12, show_default=True, help="Rows of the per-channel table.")
def analyze(image: str, model_name: str | None, weights: str | None, quality: float | None, heatmap: str | None,
            as_json: bool, top: int) -> None:
    """Bits of ŷ under a factorized fit vs the hyperprior's conditional model, the side
    information ẑ, and the estimate of I(ŷ; ẑ) — conditioning at work on a real image."""
    import warnings

    from licodec.api import get_model
    from licodec.image_io import load_image
    from licodec.info.latent import analyze_latents, save_heatmap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr, _ = load_image(image)
    net, _ = get_model(model_name, weights)
    result = analyze_latents(net, arr, quality)
    summary = result.summary()
    if heatmap:
        save_heatmap(result, arr, heatmap)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    b = summary["bpp"]
    click.echo(f"{Path(image).name}: {net.name} at quality {result.quality:g}, {result.pixels} pixels")
    click.echo(f"  ŷ, factorized fit (plug-in H per channel)  {summary['factorized_bits']:12.0f} bits  {b['factorized']:.4f} bpp")
    click.echo(f"  ŷ | ẑ, hyperprior conditional             {summary['conditional_bits']:12.0f} bits  {b['conditional']:.4f} bpp")
    click.echo(f"  ẑ, side information                        {summary['side_bits']:12.0f} bits  {b['side']:.4f} bpp")
    click.echo(f"  I(ŷ; ẑ) estimate = factorized − conditional {summary['mutual_information_estimate_bits']:11.0f} bits")
    verdict = "saves" if summary["mutual_information_estimate_bits"] > summary["side_bits"] else "does not save"
    click.echo(f"  hyperprior total {b['hyperprior_total']:.4f} bpp vs factorized {b['factorized']:.4f} bpp: conditioning {verdict} bits")
    rows = sorted(summary["channels"], key=lambda r: r["factorized_bits"] - r["conditional_bits"], reverse=True)[:top]
    click.echo(f"  {'channel':>7}  {'factorized':>10}  {'conditional':>11}  {'saved':>8}")
    for r in rows:
        click.echo(f"  {r['channel']:>7}  {r['factorized_bits']:>10.0f}  {r['conditional_bits']:>11.0f}  "
                   f"{r['factorized_bits'] - r['conditional_bits']:>8.0f}")
    if heatmap:
        click.echo(f"  heatmap: {heatmap}")
COMMANDS = [codes, entropy, analyze]
