"""Method-comparison regression, both readings carrying error: Deming and Passing–Bablok.

Neither is in scipy, statsmodels or pingouin, so both are written here from their papers and tested
against exact geometry and worked examples (tests/test_compare.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._agreement import Interval, paired

__all__ = ["Line", "deming", "passing_bablok"]


@dataclass(frozen=True)
class Line:
    """``b = intercept + slope * a`` with confidence intervals; ``method`` names the fit."""

    n: int
    method: str
    slope: Interval
    intercept: Interval


def _deming_fit(a: np.ndarray, b: np.ndarray, ratio: float) -> tuple[float, float]:
    saa, sbb = a.var(), b.var()
    sab = float(((a - a.mean()) * (b - b.mean())).mean())
    spread = sbb - ratio * saa
    slope = (spread + np.sqrt(spread**2 + 4 * ratio * sab**2)) / (2 * sab)
    return float(slope), float(b.mean() - slope * a.mean())


def deming(a: np.ndarray, b: np.ndarray, *, ratio: float = 1.0, level: float = 0.95) -> Line:
    """Deming regression of ``b`` on ``a`` (Cornbleet & Gochman 1979, Clin Chem 25:432-438) with
    jackknife confidence intervals (Linnet 1990, Clin Chem 36:1890).

    a, b : (N,) float arrays of paired readings, N >= 3.
    ratio : variance of b's measurement error over a's (1: the two methods are equally precise).
    """
    a, b = paired(a, b)
    if ratio <= 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    slope, intercept = _deming_fit(a, b, ratio)
    keep = ~np.eye(a.size, dtype=bool)
    leave_one_out = np.array([_deming_fit(a[row], b[row], ratio) for row in keep])
    n = a.size
    spread = np.sqrt((n - 1) / n * ((leave_one_out - leave_one_out.mean(axis=0)) ** 2).sum(axis=0))
    t = stats.t.ppf(0.5 + level / 2, n - 2)
    return Line(
        n,
        f"Deming, error-variance ratio {ratio:g}, jackknife CI",
        Interval(slope, slope - t * spread[0], slope + t * spread[0]),
        Interval(intercept, intercept - t * spread[1], intercept + t * spread[1]),
    )


def _pairwise_slopes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(a.size, k=1)
    da, db = a[j] - a[i], b[j] - b[i]
    keep = (da != 0) | (db != 0)  # identical points give no slope
    da, db = da[keep], db[keep]
    slopes = np.where(db > 0, np.inf, -np.inf)  # vertical pairs (db is never 0 there)
    slanted = da != 0
    slopes[slanted] = db[slanted] / da[slanted]
    return np.sort(slopes[slopes != -1])  # the paper drops slopes of exactly -1


def passing_bablok(a: np.ndarray, b: np.ndarray, *, level: float = 0.95) -> Line:
    """Passing–Bablok regression of ``b`` on ``a`` (Passing & Bablok 1983, J Clin Chem Clin
    Biochem 21:709-720): the shifted median of pairwise slopes, with the paper's rank-based
    confidence interval for the slope and the intercepts it implies.

    a, b : (N,) float arrays of paired readings, N >= 3.
    """
    a, b = paired(a, b)
    slopes = _pairwise_slopes(a, b)
    count = slopes.size
    if count == 0:
        raise ValueError("every pair of points is identical: no slope can be estimated")
    shift = int((slopes < -1).sum())  # makes the estimator symmetric in a and b

    def order(rank: int) -> float:
        """The 1-based ``rank``-th slope after the shift, held inside the list."""
        return float(slopes[min(max(rank + shift, 1), count) - 1])

    half = count // 2
    slope = order(half + 1) if count % 2 else (order(half) + order(half + 1)) / 2
    n = a.size
    c = stats.norm.ppf(0.5 + level / 2) * np.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    m1 = int(round((count - c) / 2))
    m2 = count - m1 + 1
    slope_low, slope_high = order(m1), order(m2)

    def intercept(s: float) -> float:
        return float(np.median(b - s * a))

    return Line(
        n,
        "Passing-Bablok 1983, rank-based CI",
        Interval(slope, slope_low, slope_high),
        Interval(intercept(slope), intercept(slope_high), intercept(slope_low)),
    )
