"""Arithmetic coding with finite-precision integer arithmetic, static and adaptive models.

The coder follows Witten, Neal & Cleary (1987), "Arithmetic coding for data compression",
Comm. ACM 30(6): the current interval is a pair of ``precision``-bit integers [low, high];
coding a symbol with cumulative frequencies [c_lo, c_hi) out of a total T narrows it to

    high = low + (R * c_hi) // T - 1,   low = low + (R * c_lo) // T,   R = high - low + 1,

and the interval is renormalized (doubled) while it lies in the lower half (emit 0), the upper
half (emit 1) or straddles the midpoint inside the middle half (underflow: remember one
"opposite" bit to follow the next emitted bit — the carry handling of WNC's
``bits_to_follow``). Encoding ends with two bits (plus pending ones) that select a point inside
the final interval; the decoder reads zeros past the end of the bits. The symbol count N is
side information: ``decode(bits, n)``. The idea itself is Elias's (C&T, 2nd ed., §5.9) and
the analysis is in C&T §13.3.

**Length bound.** After renormalization R >= 2**(precision-2) + 2, so with T <= ``max_total``
each symbol loses less than

    δ = -log2(1 - max_total / (2**(precision-2) + 2))   bits

to the integer truncation (R' > R·f/T - 1). Counting one bit per renormalization shift plus
the two final bits gives, for a message x_1..x_N,

    len(bits) <= -log2 Q(x_1..x_N) + 2 + N·δ,

where Q is the model as coded (integer frequencies; for the adaptive model the product of its
predictive probabilities). With the defaults (precision 32, max_total 2**16), δ < 8.81e-5 bits
per symbol. :func:`precision_slack` returns δ. For a static model built from integer counts
with total <= max_total, Q is exactly the model P; otherwise :meth:`StaticModel.from_weights`
quantizes P to frequencies (each >= 1) and the additional cost is D(P||Q) per symbol.

Models:

* :class:`StaticModel` — fixed integer frequencies (symbols of frequency 0 cannot be coded).
* :class:`AdaptiveModel` — counts start at ``initial`` (Laplace's rule with the default 1) for
  every symbol of a fixed alphabet and grow by ``increment`` after each coded symbol; when the
  total exceeds ``max_total`` all counts are halved (rounding up), as in WNC. Cumulative counts
  are kept in a Fenwick tree (Fenwick 1994), so each step costs O(log alphabet size).

Bits are a ``str`` of ``'0'``/``'1'`` (see :mod:`licodec.info.bits`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction

from licodec.info.bits import check_bits
from licodec.info.prefix import exact_probabilities
from licodec.info.result import CodingResult, message_entropy_bits

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_MAX_TOTAL",
    "precision_slack",
    "StaticModel",
    "AdaptiveModel",
    "StaticArithmeticCode",
    "AdaptiveArithmeticCode",
]

DEFAULT_PRECISION = 32
DEFAULT_MAX_TOTAL = 1 << 16


def precision_slack(
    precision: int = DEFAULT_PRECISION, max_total: int = DEFAULT_MAX_TOTAL
) -> float:
    """δ, the most bits per symbol the integer coder can lose to truncation (see module doc)."""
    _check_precision(precision, max_total)
    return -math.log2(1.0 - max_total / ((1 << (precision - 2)) + 2))


def _check_precision(precision: int, max_total: int) -> None:
    if not isinstance(precision, int) or not 8 <= precision <= 64:
        raise ValueError(f"precision must be an integer in [8, 64], got {precision!r}")
    if not isinstance(max_total, int) or not 1 <= max_total <= 1 << (precision - 2):
        raise ValueError(
            f"max_total must be in [1, 2**(precision-2)] = [1, {1 << (precision - 2)}], "
            f"got {max_total!r}"
        )


# --------------------------------------------------------------------------- models
class StaticModel:
    """Fixed integer frequencies. ``frequencies`` maps symbol -> count (>= 0)."""

    def __init__(self, frequencies: Mapping[Hashable, int]) -> None:
        if not isinstance(frequencies, Mapping) or not frequencies:
            raise ValueError("empty alphabet: at least one symbol with a positive frequency needed")
        for s, f in frequencies.items():
            if isinstance(f, bool) or not isinstance(f, int) or f < 0:
                raise ValueError(f"frequency of {s!r} must be a non-negative integer, got {f!r}")
        self.frequencies: dict[Hashable, int] = dict(frequencies)
        self.symbols: list[Hashable] = [s for s, f in self.frequencies.items() if f > 0]
        if not self.symbols:
            raise ValueError("all frequencies are zero: at least one must be positive")
        self.cum: list[int] = [0]
        for s in self.symbols:
            self.cum.append(self.cum[-1] + self.frequencies[s])
        self.total: int = self.cum[-1]
        self.index: dict[Hashable, int] = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def from_weights(
        cls, weights: Mapping[Hashable, object], max_total: int = DEFAULT_MAX_TOTAL
    ) -> "StaticModel":
        """A model for arbitrary non-negative weights (counts, floats, fractions).

        Integer weights summing to at most ``max_total`` are used exactly. Otherwise the
        probabilities p are quantized to f = max(1, round(p·(max_total - k))) for the k
        symbols with p > 0, which keeps the total <= ``max_total`` and every f >= 1.
        """
        probs = exact_probabilities(weights)  # validates: finite, >= 0, not all zero
        raw = list(weights.values())
        integers = all(isinstance(w, int) and not isinstance(w, bool) for w in raw)
        if integers and sum(raw) <= max_total:
            return cls(dict(weights))  # type: ignore[arg-type]
        k = sum(1 for p in probs.values() if p > 0)
        budget = max_total - k
        if budget < 0:
            raise ValueError(f"{k} symbols do not fit in a total frequency of {max_total}")
        return cls({s: (max(1, round(p * budget)) if p > 0 else 0) for s, p in probs.items()})

    def probability(self, symbol: Hashable) -> Fraction:
        """Q(symbol) = f / T as coded."""
        return Fraction(self.frequencies.get(symbol, 0), self.total)

    def __repr__(self) -> str:
        return f"StaticModel({self.frequencies!r})"


class AdaptiveModel:
    """Count-based adaptive model over a fixed alphabet (a fresh state per message)."""

    def __init__(
        self,
        alphabet: Iterable[Hashable],
        increment: int = 1,
        max_total: int = DEFAULT_MAX_TOTAL,
        initial: int = 1,
    ) -> None:
        self.alphabet: list[Hashable] = list(dict.fromkeys(alphabet))
        if not self.alphabet:
            raise ValueError("empty alphabet: at least one symbol is needed")
        for name, value in (("increment", increment), ("initial", initial)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if len(self.alphabet) * initial > max_total or increment > max_total:
            raise ValueError(
                f"alphabet of {len(self.alphabet)} symbols x initial count {initial} "
                f"(or increment {increment}) does not fit max_total={max_total}"
            )
        self.increment = increment
        self.max_total = max_total
        self.initial = initial
        self.index: dict[Hashable, int] = {s: i for i, s in enumerate(self.alphabet)}
        self.reset()

    def reset(self) -> None:
        """Back to the initial counts."""
        n = len(self.alphabet)
        self.freq: list[int] = [self.initial] * n
        self.total: int = self.initial * n
        self._build()

    def _build(self) -> None:
        n = len(self.freq)
        tree = [0] * (n + 1)
        for i, f in enumerate(self.freq, start=1):
            tree[i] += f
            j = i + (i & -i)
            if j <= n:
                tree[j] += tree[i]
        self._tree = tree
        self._top = 1 << (n.bit_length() - 1) if n else 0

    def cumulative(self, i: int) -> int:
        """Sum of the counts of symbols 0..i-1 (Fenwick prefix sum)."""
        tree, total = self._tree, 0
        while i > 0:
            total += tree[i]
            i &= i - 1
        return total

    def find(self, target: int) -> tuple[int, int]:
        """``(i, cumulative(i))`` with cumulative(i) <= target < cumulative(i + 1).

        Requires 0 <= target < total (Fenwick tree descent).
        """
        tree, n = self._tree, len(self.freq)
        pos, step, below = 0, self._top, 0
        while step:
            nxt = pos + step
            if nxt <= n and below + tree[nxt] <= target:
                pos = nxt
                below += tree[nxt]
            step >>= 1
        return pos, below

    def update(self, i: int) -> None:
        """Count one more occurrence of symbol index ``i``; halve all counts past max_total."""
        inc = self.increment
        self.freq[i] += inc
        self.total += inc
        if self.total > self.max_total:
            self.freq = [(f + 1) // 2 for f in self.freq]
            self.total = sum(self.freq)
            self._build()
            return
        tree, n, j = self._tree, len(self.freq), i + 1
        while j <= n:
            tree[j] += inc
            j += j & -j


# --------------------------------------------------------------------------- coders
class _ArithmeticCode:
    name = "arithmetic"

    def __init__(self, precision: int, max_total: int) -> None:
        _check_precision(precision, max_total)
        self.precision = precision
        self.max_total = max_total

    @property
    def slack_per_symbol(self) -> float:
        """δ for this coder's precision and max_total."""
        return precision_slack(self.precision, self.max_total)

    def length_bound(self, ideal_bits: float, n_symbols: int) -> float:
        """The documented bound -log2 Q + 2 + N·δ on the coded length."""
        return ideal_bits + 2 + n_symbols * self.slack_per_symbol

    # hooks: (lo, hi, total) of a symbol / of a target; model update; ideal length
    def _start(self) -> None:
        raise NotImplementedError

    def _interval(self, symbol: Hashable) -> tuple[int, int, int]:
        raise NotImplementedError

    def _lookup(self, target: int) -> tuple[Hashable, int, int]:
        raise NotImplementedError

    def _total(self) -> int:
        raise NotImplementedError

    def ideal_bits(self, message: Sequence[Hashable]) -> float:
        """-log2 Q(message) under the model as coded."""
        self._start()
        bits = 0.0
        for s in message:
            lo, hi, total = self._interval(s)
            bits += math.log2(total) - math.log2(hi - lo)
        return bits

    def encode(self, message: Iterable[Hashable]) -> str:
        """Code the message into a bit string (N is not included; pass it to :meth:`decode`)."""
        b = self.precision
        half, quarter = 1 << (b - 1), 1 << (b - 2)
        three_q = half + quarter
        low, high, pending = 0, (1 << b) - 1, 0
        out: list[str] = []
        emit = out.append
        interval = self._interval
        self._start()
        count = 0
        for s in message:
            c_lo, c_hi, total = interval(s)
            rng = high - low + 1
            high = low + (rng * c_hi) // total - 1
            low = low + (rng * c_lo) // total
            while True:
                if high < half:
                    emit("0" + "1" * pending if pending else "0")
                    pending = 0
                elif low >= half:
                    emit("1" + "0" * pending if pending else "1")
                    pending = 0
                    low -= half
                    high -= half
                elif low >= quarter and high < three_q:
                    pending += 1
                    low -= quarter
                    high -= quarter
                else:
                    break
                low <<= 1
                high = (high << 1) | 1
            count += 1
        if count == 0:
            raise ValueError("empty message: nothing to encode")
        pending += 1
        emit("0" + "1" * pending if low < quarter else "1" + "0" * pending)
        return "".join(out)

    def decode(self, bits: str, n: int) -> list[Hashable]:
        """Decode ``n`` symbols from ``bits``."""
        check_bits(bits)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"number of symbols must be a positive integer, got {n!r}")
        b = self.precision
        half, quarter = 1 << (b - 1), 1 << (b - 2)
        three_q = half + quarter
        padded = bits + "0" * b  # the decoder reads at most b - 2 bits past the end
        value, pos = int(padded[:b], 2), b
        low, high = 0, (1 << b) - 1
        lookup = self._lookup
        total_of = self._total
        self._start()
        out: list[Hashable] = []
        emit = out.append
        try:
            for _ in range(n):
                total = total_of()
                rng = high - low + 1
                symbol, c_lo, c_hi = lookup(((value - low + 1) * total - 1) // rng)
                emit(symbol)
                high = low + (rng * c_hi) // total - 1
                low = low + (rng * c_lo) // total
                while True:
                    if high < half:
                        pass
                    elif low >= half:
                        value -= half
                        low -= half
                        high -= half
                    elif low >= quarter and high < three_q:
                        value -= quarter
                        low -= quarter
                        high -= quarter
                    else:
                        break
                    low <<= 1
                    high = (high << 1) | 1
                    value = (value << 1) | (padded[pos] == "1")
                    pos += 1
        except IndexError:
            raise ValueError(f"bits end too early to hold {n} symbols") from None
        return out

    def report(self, message: Sequence[Hashable]) -> CodingResult:
        """Encode, check the round trip, and report b beside N·H and -log2 Q(message)."""
        message = list(message)
        bits = self.encode(message)
        if self.decode(bits, len(message)) != message:  # pragma: no cover - would be a bug
            raise RuntimeError(f"{self.name} code did not round-trip")
        return CodingResult(
            self.name, bits, len(message), self.ideal_bits(message), message_entropy_bits(message)
        )


class StaticArithmeticCode(_ArithmeticCode):
    """Arithmetic code for a fixed model.

    Args:
        model: a :class:`StaticModel`, or a weights mapping passed to
            :meth:`StaticModel.from_weights` with this ``max_total``.
        precision: bits of the integer interval registers (default 32).
        max_total: largest total frequency allowed (<= 2**(precision-2)).
    """

    name = "arithmetic-static"

    def __init__(
        self,
        model: StaticModel | Mapping[Hashable, object],
        *,
        precision: int = DEFAULT_PRECISION,
        max_total: int = DEFAULT_MAX_TOTAL,
    ) -> None:
        super().__init__(precision, max_total)
        if not isinstance(model, StaticModel):
            model = StaticModel.from_weights(model, max_total)
        if model.total > max_total:
            raise ValueError(f"model total {model.total} exceeds max_total {max_total}")
        self.model = model

    def _start(self) -> None:
        pass

    def _interval(self, symbol: Hashable) -> tuple[int, int, int]:
        m = self.model
        try:
            i = m.index[symbol]
        except (KeyError, TypeError):
            if symbol in m.frequencies:
                raise ValueError(
                    f"symbol {symbol!r} has probability 0 and cannot be coded"
                ) from None
            raise ValueError(f"symbol {symbol!r} is not in the model's alphabet") from None
        return m.cum[i], m.cum[i + 1], m.total

    def _total(self) -> int:
        return self.model.total

    def _lookup(self, target: int) -> tuple[Hashable, int, int]:
        m = self.model
        i = bisect_right(m.cum, target) - 1
        return m.symbols[i], m.cum[i], m.cum[i + 1]


class AdaptiveArithmeticCode(_ArithmeticCode):
    """Arithmetic code with an adaptive count model; every call starts from fresh counts.

    Args:
        alphabet: every symbol that may occur (order fixes the cumulative layout).
        increment, initial: count added per occurrence / starting count of each symbol.
        precision, max_total: as for :class:`StaticArithmeticCode`; counts are halved when
            their total would exceed ``max_total``.
    """

    name = "arithmetic-adaptive"

    def __init__(
        self,
        alphabet: Iterable[Hashable],
        *,
        increment: int = 1,
        initial: int = 1,
        precision: int = DEFAULT_PRECISION,
        max_total: int = DEFAULT_MAX_TOTAL,
    ) -> None:
        super().__init__(precision, max_total)
        self.model = AdaptiveModel(
            alphabet, increment=increment, max_total=max_total, initial=initial
        )

    def _start(self) -> None:
        self.model.reset()

    def _interval(self, symbol: Hashable) -> tuple[int, int, int]:
        m = self.model
        try:
            i = m.index[symbol]
        except (KeyError, TypeError):
            raise ValueError(f"symbol {symbol!r} is not in the model's alphabet") from None
        lo = m.cumulative(i)
        hi = lo + m.freq[i]
        total = m.total
        m.update(i)
        return lo, hi, total

    def _total(self) -> int:
        return self.model.total

    def _lookup(self, target: int) -> tuple[Hashable, int, int]:
        m = self.model
        i, lo = m.find(target)
        hi = lo + m.freq[i]
        m.update(i)
        return m.alphabet[i], lo, hi
