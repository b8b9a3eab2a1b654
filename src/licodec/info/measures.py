"""Information measures of discrete distributions, from probability tables or from samples.

All results are in bits unless another logarithm ``base`` is given (``math.e`` gives nats).
Definitions follow Shannon (1948), Part I §6, and Cover & Thomas, *Elements of Information
Theory*, 2nd ed., chapter 2:

* entropy            H(X)    = -sum_x p(x) log p(x)                       (C&T §2.1, eq. 2.1)
* joint entropy      H(X,Y)  = -sum_{x,y} p(x,y) log p(x,y)               (C&T §2.2, eq. 2.8)
* conditional        H(Y|X)  = -sum_{x,y} p(x,y) log p(y|x)               (C&T §2.2, eq. 2.12)
* mutual information I(X;Y)  = sum_{x,y} p(x,y) log p(x,y)/(p(x)p(y))     (C&T §2.3, eq. 2.28)
* relative entropy   D(p||q) = sum_x p(x) log p(x)/q(x)                   (C&T §2.3, eq. 2.26)
* cross-entropy      H(p,q)  = -sum_x p(x) log q(x) = H(p) + D(p||q)      (C&T §5.4, Thm 5.4.3:
  the expected length of a code built for q when the data follow p)

Each function evaluates its own definition directly (not via the others), so the identities
H(X,Y) = H(X) + H(Y|X) = H(Y) + H(X|Y) and I(X;Y) = H(X) + H(Y) - H(X,Y) (C&T §2.4-2.5) are
genuine numerical checks in the tests. Terms with p = 0 contribute 0 (0 log 0 = 0).

Tables are array-likes of probabilities (non-negative, finite, summing to 1 within 1e-9);
:func:`normalize` turns non-negative weights into such a table. For two variables the table is
2-D with X along axis 0 (rows) and Y along axis 1 (columns): ``conditional_entropy(pxy)`` is
H(Y|X) and ``conditional_entropy(pxy.T)`` is H(X|Y).

The ``*_from_samples`` functions are plug-in (maximum-likelihood) estimates: the measure of
the empirical distribution of the samples. They are biased low for entropy on small samples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "normalize",
    "entropy",
    "joint_entropy",
    "conditional_entropy",
    "mutual_information",
    "cross_entropy",
    "kl_divergence",
    "empirical_distribution",
    "joint_table",
    "entropy_from_samples",
    "joint_entropy_from_samples",
    "conditional_entropy_from_samples",
    "mutual_information_from_samples",
    "cross_entropy_from_samples",
    "kl_divergence_from_samples",
    "byte_entropy",
]

_SUM_TOL = 1e-9


# --------------------------------------------------------------------------- helpers
def _log_scale(base: float) -> float:
    """Divisor turning log2 values into log_base values."""
    try:
        b = float(base)
    except (TypeError, ValueError):
        raise ValueError(f"log base must be a number, got {base!r}") from None
    if not math.isfinite(b) or b <= 0 or b == 1:
        raise ValueError(f"log base must be a finite number > 0 and != 1, got {base!r}")
    return math.log2(b)


def _weights_array(weights: Any, what: str = "weights") -> np.ndarray:
    if isinstance(weights, Mapping):
        weights = list(weights.values())
    try:
        arr = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers") from None
    if arr.size == 0:
        raise ValueError(f"{what} are empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite (found nan or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{what} must be non-negative (found {arr.min():g})")
    return arr


def _prob_table(p: Any, what: str = "probabilities") -> np.ndarray:
    arr = _weights_array(p, what)
    total = float(arr.sum())
    if abs(total - 1.0) > _SUM_TOL:
        raise ValueError(f"{what} must sum to 1, got {total:.12g} (use normalize() for weights)")
    return arr


def _plogp_sum(p: np.ndarray) -> float:
    """-sum p log2 p over p > 0."""
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def normalize(weights: Any) -> np.ndarray:
    """Non-negative finite weights (array-like or mapping values) divided by their sum."""
    arr = _weights_array(weights)
    total = float(arr.sum())
    if total <= 0:
        raise ValueError("weights sum to 0: at least one weight must be positive")
    return arr / total


# --------------------------------------------------------------------------- tables
def entropy(p: Any, base: float = 2) -> float:
    """Entropy H(X) = -sum p log p of a probability table (Shannon 1948 §6; C&T §2.1).

    ``p`` may have any shape (a joint table gives the joint entropy) or be a mapping whose
    values are the probabilities.
    """
    scale = _log_scale(base)
    return _plogp_sum(_prob_table(p).ravel()) / scale


def joint_entropy(pxy: Any, base: float = 2) -> float:
    """Joint entropy H(X,Y) of a 2-D (or n-D) joint probability table (C&T §2.2, eq. 2.8)."""
    table = _prob_table(pxy, "joint probabilities")
    if table.ndim < 2:
        raise ValueError(f"a joint table needs at least 2 dimensions, got shape {table.shape}")
    return _plogp_sum(table.ravel()) / _log_scale(base)


def _joint_2d(pxy: Any) -> np.ndarray:
    table = _prob_table(pxy, "joint probabilities")
    if table.ndim != 2:
        raise ValueError(f"a joint table of (X, Y) must be 2-D, got shape {table.shape}")
    return table


def conditional_entropy(pxy: Any, base: float = 2) -> float:
    """Conditional entropy H(Y|X) = -sum p(x,y) log p(y|x), X along axis 0 (C&T §2.2, eq. 2.12).

    For H(X|Y) pass the transposed table.
    """
    scale = _log_scale(base)
    table = _joint_2d(pxy)
    px = table.sum(axis=1, keepdims=True)
    mask = table > 0
    cond = np.divide(table, px, out=np.ones_like(table), where=px > 0)  # p(y|x)
    return float(-(table[mask] * np.log2(cond[mask])).sum()) / scale + 0.0


def mutual_information(pxy: Any, base: float = 2) -> float:
    """Mutual information I(X;Y) = sum p(x,y) log p(x,y)/(p(x)p(y)) (C&T §2.3, eq. 2.28).

    It is 0 exactly when X and Y are independent. Floating-point noise below 0 is clipped to 0.
    """
    scale = _log_scale(base)
    table = _joint_2d(pxy)
    px = table.sum(axis=1, keepdims=True)
    py = table.sum(axis=0, keepdims=True)
    mask = table > 0
    ratio = table[mask] / (px * py)[mask]
    return max(float((table[mask] * np.log2(ratio)).sum()) / scale, 0.0)


def _pq(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    pa = _prob_table(p, "p")
    qa = _prob_table(q, "q")
    if pa.shape != qa.shape:
        raise ValueError(f"p and q must have the same shape, got {pa.shape} and {qa.shape}")
    return pa.ravel(), qa.ravel()


def cross_entropy(p: Any, q: Any, base: float = 2) -> float:
    """Cross-entropy H(p, q) = -sum p log q: bits per symbol of an ideal code for q used on p.

    Equals H(p) + D(p||q) (C&T §5.4, Theorem 5.4.3). ``inf`` if q(x) = 0 where p(x) > 0.
    """
    scale = _log_scale(base)
    pa, qa = _pq(p, q)
    mask = pa > 0
    if np.any(qa[mask] == 0):
        return math.inf
    return float(-(pa[mask] * np.log2(qa[mask])).sum()) / scale


def kl_divergence(p: Any, q: Any, base: float = 2) -> float:
    """Relative entropy D(p||q) = sum p log p/q >= 0 (C&T §2.3, eq. 2.26; Thm 2.6.3).

    ``inf`` if q(x) = 0 where p(x) > 0. Floating-point noise below 0 is clipped to 0.
    """
    scale = _log_scale(base)
    pa, qa = _pq(p, q)
    mask = pa > 0
    if np.any(qa[mask] == 0):
        return math.inf
    return max(float((pa[mask] * np.log2(pa[mask] / qa[mask])).sum()) / scale, 0.0)


# --------------------------------------------------------------------------- samples
def _as_list(samples: Iterable[Hashable], what: str = "samples") -> list:
    if isinstance(samples, np.ndarray):
        if samples.ndim != 1:
            raise ValueError(f"{what} must be 1-D, got shape {samples.shape}")
        items = samples.tolist()
    elif isinstance(samples, (bytes, bytearray, memoryview)):
        items = list(bytes(samples))
    else:
        items = list(samples)
    if not items:
        raise ValueError(f"{what} are empty: at least one sample is needed")
    return items


def empirical_distribution(samples: Iterable[Hashable]) -> dict[Hashable, float]:
    """Relative frequencies of the samples, keyed by value in order of first appearance."""
    items = _as_list(samples)
    n = len(items)
    return {k: c / n for k, c in Counter(items).items()}


def joint_table(
    xs: Iterable[Hashable], ys: Iterable[Hashable]
) -> tuple[np.ndarray, list[Hashable], list[Hashable]]:
    """Empirical joint table of paired samples: ``(pxy, x_values, y_values)``, X along axis 0."""
    xl = _as_list(xs, "x samples")
    yl = _as_list(ys, "y samples")
    if len(xl) != len(yl):
        raise ValueError(f"x and y samples differ in length ({len(xl)} vs {len(yl)})")
    xv = list(dict.fromkeys(xl))
    yv = list(dict.fromkeys(yl))
    xi = {v: i for i, v in enumerate(xv)}
    yi = {v: i for i, v in enumerate(yv)}
    table = np.zeros((len(xv), len(yv)), dtype=np.float64)
    for (x, y), c in Counter(zip(xl, yl)).items():
        table[xi[x], yi[y]] = c
    return table / len(xl), xv, yv


def entropy_from_samples(samples: Iterable[Hashable], base: float = 2) -> float:
    """Plug-in estimate of H(X): the entropy of the empirical distribution."""
    return entropy(list(empirical_distribution(samples).values()), base)


def joint_entropy_from_samples(
    xs: Iterable[Hashable], ys: Iterable[Hashable], base: float = 2
) -> float:
    """Plug-in estimate of H(X,Y) from paired samples."""
    return joint_entropy(joint_table(xs, ys)[0], base)


def conditional_entropy_from_samples(
    xs: Iterable[Hashable], ys: Iterable[Hashable], base: float = 2
) -> float:
    """Plug-in estimate of H(Y|X) from paired samples (note the order: condition first)."""
    return conditional_entropy(joint_table(xs, ys)[0], base)


def mutual_information_from_samples(
    xs: Iterable[Hashable], ys: Iterable[Hashable], base: float = 2
) -> float:
    """Plug-in estimate of I(X;Y) from paired samples (biased upward on small samples)."""
    return mutual_information(joint_table(xs, ys)[0], base)


def _model_probs(q: Mapping[Hashable, float]) -> dict:
    if not isinstance(q, Mapping):
        raise ValueError("the model q must be a mapping from symbol to probability")
    qa = _prob_table(q, "model probabilities q")
    return dict(zip(q.keys(), qa.tolist()))


def cross_entropy_from_samples(
    samples: Iterable[Hashable], q: Mapping[Hashable, float], base: float = 2
) -> float:
    """-(1/N) sum_i log q(x_i): bits per sample of an ideal code for the model ``q``.

    Equals the plug-in entropy plus ``kl_divergence_from_samples``. ``inf`` if a sample has
    model probability 0 (or is missing from ``q``).
    """
    scale = _log_scale(base)
    emp = empirical_distribution(samples)
    qd = _model_probs(q)
    total = 0.0
    for x, px in emp.items():
        qx = qd.get(x, 0.0)
        if qx == 0:
            return math.inf
        total -= px * math.log2(qx)
    return total / scale


def kl_divergence_from_samples(
    samples: Iterable[Hashable], q: Mapping[Hashable, float], base: float = 2
) -> float:
    """D(p_hat || q) of the empirical distribution of the samples from the model ``q``."""
    scale = _log_scale(base)
    emp = empirical_distribution(samples)
    qd = _model_probs(q)
    total = 0.0
    for x, px in emp.items():
        qx = qd.get(x, 0.0)
        if qx == 0:
            return math.inf
        total += px * math.log2(px / qx)
    return max(total / scale, 0.0)


def byte_entropy(data: bytes | bytearray | memoryview, order: int = 0, base: float = 2) -> float:
    """Plug-in entropy of a byte string, per byte.

    ``order=0``: H(X) of the byte histogram. ``order=1``: the conditional entropy
    H(X_i | X_{i-1}) of a byte given the previous one, from the histogram of the N-1 adjacent
    pairs (needs at least 2 bytes). Both are the rates of ideal codes for memoryless resp.
    first-order Markov models fitted to the data itself (C&T §4.2 for entropy rates).
    """
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if buf.size == 0:
        raise ValueError("empty input: entropy of zero bytes is undefined")
    if order == 0:
        counts = np.bincount(buf, minlength=256).astype(np.float64)
        return entropy(counts / buf.size, base)
    if order == 1:
        if buf.size < 2:
            raise ValueError("order-1 entropy needs at least 2 bytes")
        pairs = buf[:-1].astype(np.int64) * 256 + buf[1:]
        counts = np.bincount(pairs, minlength=65536).astype(np.float64).reshape(256, 256)
        return conditional_entropy(counts / (buf.size - 1), base)
    raise ValueError(f"order must be 0 or 1, got {order}")
