"""The report every reference code returns: N, the total length b = mean(L)·N, N·H beside it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["CodingResult", "message_entropy_bits"]


def message_entropy_bits(message: Sequence[Hashable]) -> float:
    """N·H of a message, with H the plug-in entropy of its own symbol frequencies.

    This is -log2 of the probability of the message under the best memoryless model fitted to
    it, i.e. the order-0 bound the seed's b = mean(L)·N is compared with.
    """
    n = len(message)
    if n == 0:
        return 0.0
    return -sum(c * math.log2(c / n) for c in Counter(message).values())


@dataclass(frozen=True)
class CodingResult:
    """One message coded by one code.

    Attributes:
        code: name of the code (``"shannon"``, ``"huffman"``, ``"arithmetic-adaptive"``, ...).
        bits: the coded message, a ``str`` of ``'0'``/``'1'``.
        n_symbols: N, the number of symbols in the message.
        ideal_bits: -log2 P(message) under the model the code was built for (for the adaptive
            arithmetic coder: under its sequence of predictive distributions).
        n_entropy_bits: N·H with H the plug-in entropy of the message's own frequencies.
    """

    code: str
    bits: str
    n_symbols: int
    ideal_bits: float
    n_entropy_bits: float

    @property
    def total_bits(self) -> int:
        """b = mean(L)·N, the length of the coded message in bits."""
        return len(self.bits)

    @property
    def mean_length(self) -> float:
        """mean(L) = b / N, bits per symbol."""
        return self.total_bits / self.n_symbols if self.n_symbols else 0.0

    @property
    def entropy(self) -> float:
        """H, the plug-in entropy of the message in bits per symbol."""
        return self.n_entropy_bits / self.n_symbols if self.n_symbols else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        """JSON-ready summary (without the bits themselves)."""
        return {
            "code": self.code,
            "n_symbols": self.n_symbols,
            "total_bits": self.total_bits,
            "mean_length": self.mean_length,
            "n_entropy_bits": self.n_entropy_bits,
            "ideal_bits": self.ideal_bits,
        }

    def __str__(self) -> str:
        return (
            f"{self.code}: N={self.n_symbols}, b=mean(L)·N={self.total_bits} bits "
            f"(mean(L)={self.mean_length:.4f}), N·H={self.n_entropy_bits:.2f} bits, "
            f"-log2 P={self.ideal_bits:.2f} bits"
        )
