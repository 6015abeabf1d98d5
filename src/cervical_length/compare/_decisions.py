"""Agreement on the clinical decision "cervical length at or below a threshold" (25 mm: short
cervix; 20 mm: the progesterone trials' cut-off): 2x2 table, Cohen's and Fleiss' kappa,
sensitivity and specificity."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from ._agreement import Interval, paired

__all__ = ["Decision", "decision_agreement", "fleiss", "proportion_interval"]


@dataclass(frozen=True)
class Decision:
    """Agreement of two raters on ``value <= threshold_mm``.

    ``table`` is ((both short, only a short), (only b short, neither short)). ``agreement`` is the
    share of cases called alike (0-1, Wilson interval). Sensitivity and specificity take ``b`` as
    the reference; they are None when the reference has no positive (or no negative) case.
    """

    n: int
    threshold_mm: float
    table: tuple[tuple[int, int], tuple[int, int]]
    agreement: Interval
    kappa: Interval | None
    sensitivity: Interval | None
    specificity: Interval | None


def proportion_interval(hits: int, total: int, *, level: float = 0.95) -> Interval | None:
    """The share ``hits / total`` with its Wilson score interval at ``level`` (statsmodels); None
    when ``total`` is 0. Wilson's interval stays inside 0-1 and keeps its coverage near 0 and 1,
    where a rate of agreement sits."""
    return None if total == 0 else _wilson(hits, total, level)


def _wilson(hits: int, total: int, level: float) -> Interval:
    low, high = proportion_confint(hits, total, alpha=1 - level, method="wilson")
    return Interval(hits / total, float(low), float(high))


def decision_agreement(a_mm: np.ndarray, b_mm: np.ndarray, *, threshold_mm: float, level: float = 0.95) -> Decision:
    """Agreement of ``a`` and ``b`` on CL <= ``threshold_mm``; Cohen's kappa (statsmodels) with the
    normal interval from its asymptotic standard error, Wilson intervals for the proportions. Kappa is None when both raters put every
    case in one class (it is undefined there); its interval's bounds are NaN when the raters agree
    on every case, where that standard error is 0 (an interval of no width would claim a certainty
    that a handful of cases cannot give: the agreement's Wilson interval says how sure it is)."""
    a_mm, b_mm = paired(a_mm, b_mm)
    a_short, b_short = a_mm <= threshold_mm, b_mm <= threshold_mm
    both, only_a = int((a_short & b_short).sum()), int((a_short & ~b_short).sum())
    only_b, neither = int((~a_short & b_short).sum()), int((~a_short & ~b_short).sum())
    table = np.array([[both, only_a], [only_b, neither]])
    expected = (table.sum(axis=0) * table.sum(axis=1)).sum() / table.sum() ** 2
    kappa = None
    if expected < 1:
        result = cohens_kappa(table)
        se = float(result["std_kappa"])
        half = norm.ppf(0.5 + level / 2) * se if se > 0 else math.nan
        kappa = Interval(float(result["kappa"]), float(result["kappa"]) - half, float(result["kappa"]) + half)
    return Decision(
        n=a_mm.size,
        threshold_mm=threshold_mm,
        table=((both, only_a), (only_b, neither)),
        agreement=_wilson(both + neither, a_mm.size, level),
        kappa=kappa,
        sensitivity=proportion_interval(both, both + only_b, level=level),
        specificity=proportion_interval(neither, neither + only_a, level=level),
    )


def fleiss(readings_mm: np.ndarray, *, threshold_mm: float) -> float | None:
    """Fleiss' kappa of several raters on CL <= ``threshold_mm``.

    readings_mm : (subjects, raters) float array. None when every reading falls in one class.
    """
    readings_mm = np.asarray(readings_mm, dtype=float)
    if readings_mm.ndim != 2 or readings_mm.shape[1] < 2:
        raise ValueError(f"readings must be (subjects, raters) with at least 2 raters, got shape {readings_mm.shape}")
    short = (readings_mm <= threshold_mm).astype(int)
    if short.min() == short.max():
        return None
    counts, _ = aggregate_raters(short)
    return float(fleiss_kappa(counts, method="fleiss"))
