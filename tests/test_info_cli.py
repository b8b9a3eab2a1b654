"""``lic codes`` and ``lic entropy``."""

from __future__ import annotations

import bz2
import json
import lzma
import math
import os
import random
import subprocess
import sys
import zlib

import pytest
from click.testing import CliRunner

from licodec.cli import main
from licodec.info import byte_entropy, precision_slack

BREAKFAST = ["貝果=6", "蛋餅=5", "吐司=2", "漢堡=1"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_codes_breakfast_table(runner):
    result = runner.invoke(main, ["codes", *BREAKFAST])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "symbol", "weight", "p", "-log2", "p", "Shannon", "L", "Shannon", "Huffman", "L", "Huffman",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert rows["貝果"] == ["貝果", "6", "0.428571", "1.2224", "2", "00", "1", "0"]
    assert rows["蛋餅"] == ["蛋餅", "5", "0.357143", "1.4854", "2", "01", "2", "10"]
    assert rows["吐司"] == ["吐司", "2", "0.142857", "2.8074", "3", "110", "3", "110"]
    assert rows["漢堡"] == ["漢堡", "1", "0.071429", "3.8074", "4", "1110", "3", "111"]
    assert "entropy H = 1.7274 bits/symbol" in result.stdout
    assert "N = 14: N·H = 24.18 bits" in result.stdout
    assert "Shannon 32 bits, Huffman 25 bits" in result.stdout


def test_codes_json(runner):
    result = runner.invoke(main, ["codes", *BREAKFAST, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["symbols"]) == ["貝果", "蛋餅", "吐司", "漢堡"]
    assert {s: v["shannon"] for s, v in data["symbols"].items()} == {
        "貝果": "00", "蛋餅": "01", "吐司": "110", "漢堡": "1110",
    }  # fmt: skip
    assert {s: v["huffman"] for s, v in data["symbols"].items()} == {
        "貝果": "0", "蛋餅": "10", "吐司": "110", "漢堡": "111",
    }  # fmt: skip
    assert data["symbols"]["貝果"]["p"] == pytest.approx(6 / 14)
    h = -sum(c / 14 * math.log2(c / 14) for c in (6, 5, 2, 1))
    assert data["entropy_bits"] == pytest.approx(h)
    assert data["n"] == 14
    assert data["n_entropy_bits"] == pytest.approx(14 * h)
    assert data["total_bits"] == {"shannon": 32, "shannon_fano_elias": 46, "huffman": 25}


def test_codes_float_and_fraction_weights(runner):
    result = runner.invoke(main, ["codes", "a=0.5", "b=1/4", "c=2.5e-1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] is None and data["total_bits"]["huffman"] is None
    assert data["entropy_bits"] == pytest.approx(1.5)
    assert [v["p"] for v in data["symbols"].values()] == [0.5, 0.25, 0.25]
    # the symbol is split off at the last '='
    result = runner.invoke(main, ["codes", "x=y=3", "z=1", "--json"])
    assert list(json.loads(result.stdout)["symbols"]) == ["x=y", "z"]


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "no symbols given"),
        (["a=-1", "b=2"], "negative"),
        (["a=nan", "b=2"], "not a finite number"),
        (["a=inf", "b=2"], "not a finite number"),
        (["a=0", "b=2"], "is 0"),
        (["a", "b=2"], "expected SYMBOL=WEIGHT"),
        (["=3"], "empty symbol"),
        (["a=1", "a=2"], "given twice"),
        (["a=x"], "not a finite number"),
    ],
)
def test_codes_bad_input_exits_2(runner, args, message):
    result = runner.invoke(main, ["codes", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("lic: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _sample_bytes(n: int = 3000) -> bytes:
    rng = random.Random(7)
    words = [b"entropy ", b"code ", b"huffman ", b"shannon ", b"\x00\xff", b"bit "]
    return b"".join(rng.choices(words, weights=[5, 4, 2, 2, 1, 6], k=n // 6))[:n]


def test_entropy_json(runner, tmp_path):
    data = _sample_bytes()
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    result = runner.invoke(main, ["entropy", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    n = len(data)
    assert report["n_bytes"] == n
    h0 = report["entropy_order0_bits_per_byte"]
    h1 = report["entropy_order1_bits_per_byte"]
    assert h0 == pytest.approx(byte_entropy(data))
    assert h1 == pytest.approx(byte_entropy(data, order=1))
    assert 0 <= h1 <= h0 <= 8
    coders = report["coders"]
    assert set(coders) == {"huffman", "arithmetic_static", "arithmetic_adaptive"}
    assert all(c["roundtrip"] for c in coders.values())
    # Huffman cannot beat the order-0 entropy of the histogram it was built from
    assert n * h0 <= coders["huffman"]["payload_bits"] < n * (h0 + 1)
    # static arithmetic uses the exact counts here (n <= 65535)
    assert coders["arithmetic_static"]["payload_bits"] <= n * h0 + 2 + n * precision_slack()
    for c in coders.values():
        assert c["total_bytes"] == c["payload_bytes"] + c["side_bytes"]
        assert c["payload_bytes"] == math.ceil(c["payload_bits"] / 8)
    comp = report["compressors"]
    assert comp["zlib"]["bytes"] == len(zlib.compress(data, 9))
    assert comp["bz2"]["bytes"] == len(bz2.compress(data, 9))
    assert comp["lzma"]["bytes"] == len(lzma.compress(data, preset=9))
    assert isinstance(comp["zstd"]["bytes"], int) and comp["zstd"]["bytes"] > 0


def test_entropy_text(runner, tmp_path):
    path = tmp_path / "sample.bin"
    path.write_bytes(_sample_bytes(600))
    result = runner.invoke(main, ["entropy", str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "order-0 entropy H(X)" in out and "order-1 entropy H(X_i|X_i-1)" in out
    names = ("huffman", "arithmetic static", "arithmetic adaptive", "zlib", "bz2", "lzma", "zstd")
    for name in names:
        assert f"\n{name} " in out
    one = tmp_path / "one.bin"
    one.write_bytes(b"z")
    result = runner.invoke(main, ["entropy", str(one)])
    assert result.exit_code == 0, result.output
    assert "0.0000 bits/byte" in result.stdout and "n/a" in result.stdout


def test_entropy_bad_input_exits_2(runner, tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = runner.invoke(main, ["entropy", str(empty)])
    assert result.exit_code == 2 and "lic: error: empty input" in result.stderr
    result = runner.invoke(main, ["entropy", str(tmp_path / "missing.bin")])
    assert result.exit_code == 2 and "lic: error:" in result.stderr


def _run_module(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "licodec.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
    )


def test_subprocess_bad_weight_exits_2():
    proc = _run_module("codes", "貝果=6", "蛋餅=-5")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == "lic: error: weight of '蛋餅' is negative: -5"


def test_subprocess_breakfast_json():
    proc = _run_module("codes", *BREAKFAST, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["symbols"]["漢堡"]["shannon"] == "1110"
