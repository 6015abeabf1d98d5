"""Intraclass correlation in Shrout & Fleiss (1979) forms, computed by pingouin."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pingouin

from ._agreement import Interval

__all__ = ["ICC", "intraclass"]

#: pingouin's row label -> (Shrout & Fleiss name, model in words)
_FORMS = {
    "ICC(1,1)": ("ICC(1,1)", "one-way random effects, single measures"),
    "ICC(A,1)": ("ICC(2,1)", "two-way random effects, absolute agreement, single measures"),
    "ICC(C,1)": ("ICC(3,1)", "two-way mixed effects, consistency, single measures"),
    "ICC(1,k)": ("ICC(1,k)", "one-way random effects, average of k measures"),
    "ICC(A,k)": ("ICC(2,k)", "two-way random effects, absolute agreement, average of k measures"),
    "ICC(C,k)": ("ICC(3,k)", "two-way mixed effects, consistency, average of k measures"),
}


@dataclass(frozen=True)
class ICC:
    """One intraclass correlation: ``form`` as Shrout & Fleiss name it, ``model`` in words, and
    the 95 % confidence interval (pingouin gives its bounds to 2 decimals)."""

    form: str
    model: str
    n: int
    raters: int
    value: Interval


def intraclass(readings: np.ndarray) -> list[ICC]:
    """All six Shrout & Fleiss ICCs of a complete table; the average-measures forms are named with
    the number of raters (ICC(2,4) for four).

    readings : (subjects, raters) float array, no missing values, at least 3 subjects and 2 raters.
    """
    readings = np.asarray(readings, dtype=float)
    if readings.ndim != 2 or readings.shape[0] < 3 or readings.shape[1] < 2:
        raise ValueError(f"readings must be (subjects >= 3, raters >= 2), got shape {readings.shape}")
    if not np.isfinite(readings).all():
        raise ValueError("readings must be finite numbers with none missing")
    subjects, raters = readings.shape
    long = pd.DataFrame({
        "subject": np.repeat(np.arange(subjects), raters),
        "rater": np.tile(np.arange(raters), subjects),
        "value": readings.ravel(),
    })
    # A table without residual variance (raters differing by a constant) makes pingouin divide by
    # zero; its ICCs then come out as NaN or infinity, which the reports print as n/a.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # pingouin 0.7 calls a pandas method pandas 3.1 deprecates; nothing a user can act on.
        warnings.filterwarnings("ignore", message="The inplace keyword", module="pingouin")
        table = pingouin.intraclass_corr(long, targets="subject", raters="rater", ratings="value")
    out = []
    for _, row in table.iterrows():
        form, model = _FORMS[row["Type"]]
        low, high = row["CI95"]
        out.append(ICC(form.replace(",k)", f",{raters})"), model.replace("k measures", f"{raters} measures"), subjects, raters,
                       Interval(float(row["ICC"]), float(low), float(high))))
    return out
