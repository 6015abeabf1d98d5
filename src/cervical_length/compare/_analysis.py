"""The whole method comparison: every statistic for the tool against each observer and for each
pair of observers, and the multi-observer summary."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ._agreement import BlandAltman, Concordance, bland_altman, bland_altman_replicates, concordance
from ._decisions import Decision, decision_agreement, fleiss
from ._regression import Line, deming, passing_bablok
from ._reliability import ICC, intraclass
from ._tables import TOOL, Readings

__all__ = ["PairComparison", "GroupAgreement", "Comparison", "compare_readings", "THRESHOLDS_MM", "MIN_PAIRS"]

#: Decision thresholds (mm): short cervix (<= 25 mm) and the vaginal progesterone trials' 20 mm.
THRESHOLDS_MM = (25.0, 20.0)
#: Fewest paired readings for which the statistics are computed.
MIN_PAIRS = 3


@dataclass(frozen=True)
class PairComparison:
    """Rater ``a`` against rater ``b`` on the keys both measured; differences are ``a - b`` (mm).

    Readings with replicates enter as their mean; ``bland_altman_replicates`` then gives limits for
    single readings (None without replicates). Everything but ``n`` is None when n < MIN_PAIRS.
    """

    a: str
    b: str
    n: int
    a_mm: tuple[float, ...]
    b_mm: tuple[float, ...]
    bland_altman: BlandAltman | None = None
    bland_altman_replicates: BlandAltman | None = None
    icc: tuple[ICC, ...] = ()
    ccc: Concordance | None = None
    mean_abs_diff_mm: float | None = None
    median_abs_diff_mm: float | None = None
    deming: Line | None = None
    passing_bablok: Line | None = None
    decisions: tuple[Decision, ...] = ()

    @property
    def limits(self) -> BlandAltman | None:
        """The limits that describe single readings: the replicate form when there are replicates."""
        return self.bland_altman_replicates or self.bland_altman


@dataclass(frozen=True)
class GroupAgreement:
    """Agreement across several raters on the keys all of them measured."""

    raters: tuple[str, ...]
    n: int
    icc: tuple[ICC, ...]
    fleiss_kappa: dict[float, float | None]  #: threshold (mm) -> kappa (None: one class only)


@dataclass(frozen=True)
class Comparison:
    """Everything ``compare`` reports: the joined readings (their ``level`` is 'frame' or 'exam'), each pair, and the groups."""

    readings: Readings
    pairs: tuple[PairComparison, ...]
    observers: GroupAgreement | None
    observers_and_tool: GroupAgreement | None


def _pair(readings: Readings, a: str, b: str) -> PairComparison:
    va, vb = readings.values[a], readings.values[b]
    keys = sorted(set(va) & set(vb))
    a_mm = np.array([np.mean(va[k]) for k in keys])
    b_mm = np.array([np.mean(vb[k]) for k in keys])
    base = PairComparison(a, b, len(keys), tuple(a_mm.tolist()), tuple(b_mm.tolist()))
    if len(keys) < MIN_PAIRS:
        return base
    replicated = any(len(va[k]) > 1 or len(vb[k]) > 1 for k in keys)
    abs_diff = np.abs(a_mm - b_mm)
    return PairComparison(
        a, b, len(keys), base.a_mm, base.b_mm,
        bland_altman=bland_altman(a_mm, b_mm),
        bland_altman_replicates=bland_altman_replicates([np.array(va[k]) for k in keys], [np.array(vb[k]) for k in keys]) if replicated else None,
        icc=tuple(intraclass(np.column_stack([a_mm, b_mm]))),
        ccc=concordance(a_mm, b_mm),
        mean_abs_diff_mm=float(abs_diff.mean()),
        median_abs_diff_mm=float(np.median(abs_diff)),
        deming=deming(b_mm, a_mm),
        passing_bablok=passing_bablok(b_mm, a_mm),
        decisions=tuple(decision_agreement(a_mm, b_mm, threshold_mm=t) for t in THRESHOLDS_MM),
    )


def _group(readings: Readings, raters: list[str]) -> GroupAgreement | None:
    if len(raters) < 2:
        return None
    keys = sorted(set.intersection(*(set(readings.values[r]) for r in raters)))
    if len(keys) < MIN_PAIRS:
        return None
    table = np.array([[np.mean(readings.values[r][k]) for r in raters] for k in keys])
    return GroupAgreement(tuple(raters), len(keys), tuple(intraclass(table)), {t: fleiss(table, threshold_mm=t) for t in THRESHOLDS_MM})


def compare_readings(readings: Readings) -> Comparison:
    """Compare the tool with each observer (differences tool - observer, the observer on the x axis
    of the regressions) and each pair of observers (first given - second)."""
    observers = readings.observers
    pairs = [_pair(readings, TOOL, name) for name in observers]
    pairs += [_pair(readings, a, b) for a, b in combinations(observers, 2)]
    return Comparison(
        readings=readings,
        pairs=tuple(pairs),
        observers=_group(readings, observers),
        observers_and_tool=_group(readings, [TOOL, *observers]) if observers else None,
    )
