"""Asymmetric numeral systems coding of integer symbols (Duda 2009), through ``constriction``
(Bamler, "Understanding entropy coding with asymmetric numeral systems", 2022).

:class:`SymbolEncoder` collects batches of symbols, each with its own entropy model, and
:class:`SymbolDecoder` reads them back *in the same order* (the ANS stack is filled in
reverse at :meth:`SymbolEncoder.finish`, so the stack's last-in-first-out order is hidden).
Three model kinds cover the lineage:

* :meth:`~SymbolEncoder.categorical` — one probability table for a whole batch (factorized priors);
* :meth:`~SymbolEncoder.tables` — one table per symbol (Gaussian mixtures, per-symbol pmfs);
* :meth:`~SymbolEncoder.gaussian` — zero-mean quantized Gaussians with per-symbol std.

Every table has an *edge* symbol at each end. A value at or beyond an edge is coded as that
edge plus an Elias-gamma escape (:mod:`licodec.coding.escape`), so any integer round-trips.

Stream layout: ``varint(len(ans)) | ans (uint32 words, little endian) | escape bits``.
"""

from __future__ import annotations

from typing import Callable

import constriction
import numpy as np

from licodec.coding.escape import BitReader, BitWriter
from licodec.errors import CorruptFileError

_model = constriction.stream.model
GAUSSIAN_RANGE = 255  # symbols of a quantized Gaussian live in [-255, 255]; beyond: escape
_GAUSSIAN = _model.QuantizedGaussian(-GAUSSIAN_RANGE, GAUSSIAN_RANGE)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CorruptFileError("stream header is malformed")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _split_escapes(values: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int, escapes: BitWriter) -> np.ndarray:
    """Clip ``values`` to [lo, hi] and write the overshoot of edge symbols to ``escapes``."""
    values = np.asarray(values, dtype=np.int64)
    clipped = np.clip(values, lo, hi)
    at_edge = np.flatnonzero((values <= lo) | (values >= hi))
    lo_b = np.broadcast_to(lo, values.shape)
    hi_b = np.broadcast_to(hi, values.shape)
    for i in at_edge:
        v = int(values[i])
        escapes.write_gamma(int(lo_b[i]) - v if v <= lo_b[i] else v - int(hi_b[i]))
    return clipped


def _join_escapes(symbols: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int, escapes: BitReader) -> np.ndarray:
    symbols = symbols.astype(np.int64)
    lo_b = np.broadcast_to(lo, symbols.shape)
    hi_b = np.broadcast_to(hi, symbols.shape)
    for i in np.flatnonzero((symbols <= lo_b) | (symbols >= hi_b)):
        n = escapes.read_gamma()
        symbols[i] += -n if symbols[i] <= lo_b[i] else n
    return symbols


def _as_probs(pmf: np.ndarray) -> np.ndarray:
    pmf = np.ascontiguousarray(pmf, dtype=np.float64)
    if pmf.shape[-1] < 2:
        raise ValueError("a probability table needs at least two entries (two edges)")
    return pmf


class SymbolEncoder:
    """Collects symbol batches; :meth:`finish` returns the stream bytes."""

    def __init__(self) -> None:
        self._batches: list[Callable[[constriction.stream.stack.AnsCoder], None]] = []
        self._escapes = BitWriter()

    def categorical(self, values: np.ndarray, pmf: np.ndarray, offset: int) -> None:
        """Code integers ``values`` with one table ``pmf`` over ``offset .. offset+len(pmf)-1``."""
        pmf = _as_probs(pmf)
        idx = _split_escapes(np.ravel(values) - offset, 0, len(pmf) - 1, self._escapes).astype(np.int32)
        model = _model.Categorical(pmf, perfect=False)
        self._batches.append(lambda coder: coder.encode_reverse(idx, model))

    def tables(self, values: np.ndarray, pmfs: np.ndarray, offsets: np.ndarray) -> None:
        """Code ``values[i]`` with its own table ``pmfs[i]`` over ``offsets[i] ..``."""
        pmfs = _as_probs(pmfs)
        idx = np.ravel(values) - np.ravel(offsets)
        idx = _split_escapes(idx, 0, pmfs.shape[1] - 1, self._escapes).astype(np.int32)
        model = _model.Categorical(perfect=False)
        self._batches.append(lambda coder: coder.encode_reverse(idx, model, pmfs))

    def gaussian(self, values: np.ndarray, stds: np.ndarray) -> None:
        """Code integers ``values`` under zero-mean quantized Gaussians with per-symbol ``stds``."""
        sym = _split_escapes(np.ravel(values), -GAUSSIAN_RANGE, GAUSSIAN_RANGE, self._escapes).astype(np.int32)
        stds = np.ascontiguousarray(np.ravel(stds), dtype=np.float64)
        means = np.zeros_like(stds)
        self._batches.append(lambda coder: coder.encode_reverse(sym, _GAUSSIAN, means, stds))

    def finish(self) -> bytes:
        coder = constriction.stream.stack.AnsCoder()
        for batch in reversed(self._batches):
            batch(coder)
        words = coder.get_compressed().astype("<u4").tobytes()
        return _varint(len(words)) + words + self._escapes.getvalue()


class SymbolDecoder:
    """Reads back, batch by batch and in the same order, what a :class:`SymbolEncoder` wrote."""

    def __init__(self, data: bytes) -> None:
        n, pos = _read_varint(data, 0)
        if n % 4 or pos + n > len(data):
            raise CorruptFileError("stream is truncated or malformed")
        words = np.frombuffer(data[pos : pos + n], dtype="<u4").astype(np.uint32)
        self._coder = constriction.stream.stack.AnsCoder(words)
        self._escapes = BitReader(data[pos + n :])

    def _decode(self, *args) -> np.ndarray:
        try:
            return np.asarray(self._coder.decode(*args))
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CorruptFileError(f"entropy decoding failed: {exc}") from None

    def categorical(self, count: int, pmf: np.ndarray, offset: int) -> np.ndarray:
        pmf = _as_probs(pmf)
        idx = self._decode(_model.Categorical(pmf, perfect=False), count)
        return _join_escapes(idx, 0, len(pmf) - 1, self._escapes) + offset

    def tables(self, pmfs: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        pmfs = _as_probs(pmfs)
        idx = self._decode(_model.Categorical(perfect=False), pmfs)
        return _join_escapes(idx, 0, pmfs.shape[1] - 1, self._escapes) + np.ravel(offsets)

    def gaussian(self, stds: np.ndarray) -> np.ndarray:
        stds = np.ascontiguousarray(np.ravel(stds), dtype=np.float64)
        sym = self._decode(_GAUSSIAN, np.zeros_like(stds), stds)
        return _join_escapes(sym, -GAUSSIAN_RANGE, GAUSSIAN_RANGE, self._escapes)
