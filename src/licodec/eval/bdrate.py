"""Bjøntegaard delta rate and delta PSNR between two rate-distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", ITU-T SG16/Q6
VCEG-M33, Austin, 2001, defines the measures; "Improvements of the BD-PSNR model", VCEG-AL22,
2008, and later JCT-VC/JVET practice replace the single cubic polynomial by a piecewise cubic
interpolation, which stays monotone and does not overshoot between points.

Definitions implemented here, for an *anchor* (reference) curve A and a *test* curve B:

* **BD-rate**: express log-rate as a function of quality, ``r(D) = ln R(D)``, for each curve;
  average the difference over the quality interval both curves cover,
  ``ΔR = (1 / (D_hi - D_lo)) ∫_{D_lo}^{D_hi} (r_B(D) - r_A(D)) dD``, and report
  ``(exp(ΔR) - 1) * 100`` percent. Negative: B needs fewer bits for the same quality.
* **BD-PSNR** (BD-metric): quality as a function of log-rate, averaged over the overlapping
  log-rate interval, ``ΔD = (1 / (r_hi - r_lo)) ∫ (D_B(r) - D_A(r)) dr`` in dB.

Interpolation is ``method="pchip"`` (default: shape-preserving piecewise cubic Hermite, Fritsch &
Carlson, ``scipy.interpolate.PchipInterpolator``, integrated exactly) or ``method="cubic"`` (the
original VCEG-M33 least-squares cubic polynomial, needs 4 points). Before interpolating, each
curve is sorted by rate and points that do not raise the quality (dominated points) are dropped,
so both functions are strictly increasing. The integrals cover only the overlapping range, never
an extrapolation; with no overlap an :class:`~licodec.errors.InvalidOptionError` is raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from licodec.errors import InvalidOptionError

__all__ = ["BDResult", "bjontegaard", "bd_rate", "bd_psnr", "monotone_points"]

METHODS = ("pchip", "cubic")


@dataclass(frozen=True)
class BDResult:
    """BD-rate (percent) and BD-metric (dB) of a test curve against an anchor curve."""

    bd_rate: float
    bd_metric: float
    metric_range: tuple[float, float]  # overlapping quality interval used for BD-rate
    rate_range: tuple[float, float]  # overlapping rate interval (bpp) used for BD-metric
    n_anchor: int
    n_test: int
    method: str


def monotone_points(rate: ArrayLike, metric: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Sort by rate and keep only points that strictly raise both rate and quality.

    Non-finite values and non-positive rates raise :class:`InvalidOptionError`.
    """
    r = np.asarray(rate, dtype=np.float64).ravel()
    d = np.asarray(metric, dtype=np.float64).ravel()
    if r.shape != d.shape:
        raise InvalidOptionError(f"rate and metric lengths differ ({r.size} vs {d.size})")
    keep = np.isfinite(r) & np.isfinite(d)
    r, d = r[keep], d[keep]
    if np.any(r <= 0):
        raise InvalidOptionError("rates must be positive for BD-rate (log-rate)")
    order = np.lexsort((d, r))
    r, d = r[order], d[order]
    out_r: list[float] = []
    out_d: list[float] = []
    for ri, di in zip(r, d):
        if out_r and ri == out_r[-1]:  # same rate: keep the better quality (sorted last)
            out_d[-1] = max(out_d[-1], float(di))
        elif not out_r or di > out_d[-1]:
            out_r.append(float(ri))
            out_d.append(float(di))
    return np.asarray(out_r), np.asarray(out_d)


def _avg_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Mean of the interpolant of y(x) over [lo, hi]."""
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(x, y, extrapolate=False).integrate(lo, hi)) / (hi - lo)
    poly = np.polyint(np.polyfit(x, y, 3))
    return float(np.polyval(poly, hi) - np.polyval(poly, lo)) / (hi - lo)


def bjontegaard(anchor_rate: ArrayLike, anchor_metric: ArrayLike, test_rate: ArrayLike,
                test_metric: ArrayLike, *, method: str = "pchip") -> BDResult:
    """BD-rate (%) and BD-metric (dB) of the test curve relative to the anchor curve.

    Rates in bits per pixel (any positive unit works: only ratios matter); metric in dB (PSNR or
    MS-SSIM in dB). See the module docstring for the definitions (VCEG-M33, VCEG-AL22).
    """
    if method not in METHODS:
        raise InvalidOptionError(f"unknown BD interpolation '{method}' (use {' or '.join(METHODS)})")
    need = 2 if method == "pchip" else 4
    ra, da = monotone_points(anchor_rate, anchor_metric)
    rb, db = monotone_points(test_rate, test_metric)
    for label, n in (("anchor", ra.size), ("test", rb.size)):
        if n < need:
            raise InvalidOptionError(
                f"{label} curve has {n} usable points; {method} BD needs at least {need}")
    la, lb = np.log(ra), np.log(rb)

    d_lo, d_hi = max(da[0], db[0]), min(da[-1], db[-1])
    r_lo, r_hi = max(la[0], lb[0]), min(la[-1], lb[-1])
    if not (d_hi > d_lo) or not (r_hi > r_lo):
        raise InvalidOptionError(
            f"curves do not overlap (anchor {ra[0]:.3g}-{ra[-1]:.3g} bpp / {da[0]:.2f}-{da[-1]:.2f} dB, "
            f"test {rb[0]:.3g}-{rb[-1]:.3g} bpp / {db[0]:.2f}-{db[-1]:.2f} dB)")

    delta_log_rate = (_avg_integral(db, lb, d_lo, d_hi, method)
                      - _avg_integral(da, la, d_lo, d_hi, method))
    delta_metric = (_avg_integral(lb, db, r_lo, r_hi, method)
                    - _avg_integral(la, da, r_lo, r_hi, method))
    return BDResult(
        bd_rate=(math.exp(delta_log_rate) - 1.0) * 100.0, bd_metric=delta_metric,
        metric_range=(float(d_lo), float(d_hi)), rate_range=(math.exp(r_lo), math.exp(r_hi)),
        n_anchor=int(ra.size), n_test=int(rb.size), method=method)


def bd_rate(anchor_rate: ArrayLike, anchor_metric: ArrayLike, test_rate: ArrayLike,
            test_metric: ArrayLike, *, method: str = "pchip") -> float:
    """BD-rate in percent of test vs anchor (negative: test saves bits). See :func:`bjontegaard`."""
    return bjontegaard(anchor_rate, anchor_metric, test_rate, test_metric, method=method).bd_rate


def bd_psnr(anchor_rate: ArrayLike, anchor_metric: ArrayLike, test_rate: ArrayLike,
            test_metric: ArrayLike, *, method: str = "pchip") -> float:
    """BD-PSNR (BD-metric) in dB of test vs anchor (positive: test is better). See :func:`bjontegaard`."""
    return bjontegaard(anchor_rate, anchor_metric, test_rate, test_metric, method=method).bd_metric
