"""Agreement of two methods measuring the same quantity: Bland–Altman limits, Lin's CCC, absolute
differences. Pure functions on 1-D arrays of paired values (mm for cervical length)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Interval", "BlandAltman", "Concordance", "bland_altman", "bland_altman_replicates", "concordance", "paired"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval (same unit as the estimate)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class BlandAltman:
    """Bland–Altman agreement of ``a - b``, in the unit of the data (mm).

    ``sd`` is the standard deviation of single differences; with replicates it is corrected for the
    averaging (``form`` says which). ``slope`` is the regression of the difference on the pair mean:
    a slope whose interval excludes 0 is proportional bias.
    """

    n: int
    form: str
    bias: Interval
    sd: float
    lower: Interval
    upper: Interval
    slope: Interval
    slope_p: float


@dataclass(frozen=True)
class Concordance:
    """Lin's concordance correlation coefficient with its precision (Pearson r) and accuracy (C_b)."""

    n: int
    ccc: Interval
    pearson_r: float
    bias_correction: float


def paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check two 1-D arrays of paired readings: equal length, at least 3 pairs, finite."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"paired readings must be two 1-D arrays of one length, got shapes {a.shape} and {b.shape}")
    if a.size < 3:
        raise ValueError(f"at least 3 pairs are needed, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired readings must be finite numbers")
    return a, b


def _limits(bias: float, sd: float, n: int, *, k: float, level: float, form: str, means: np.ndarray, diffs: np.ndarray) -> BlandAltman:
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    half_bias = t * sd / np.sqrt(n)
    # Bland & Altman (1986): SE of bias +/- k*SD is about SD * sqrt((1 + k**2 / 2) / n), their
    # sqrt(3 s**2 / n) for k = 2; kept in this form so the paper's worked example is reproduced.
    half_limit = t * sd * np.sqrt((1 + k * k / 2) / n)
    lower, upper = bias - k * sd, bias + k * sd
    if np.ptp(means) > 0:
        fit = stats.linregress(means, diffs)
        half_slope = stats.t.ppf(0.5 + level / 2, n - 2) * fit.stderr
        slope, slope_p = Interval(fit.slope, fit.slope - half_slope, fit.slope + half_slope), float(fit.pvalue)
    else:  # every pair has the same mean: the difference has no slope on it
        slope, slope_p = Interval(math.nan, math.nan, math.nan), math.nan
    return BlandAltman(
        n=n,
        form=form,
        bias=Interval(bias, bias - half_bias, bias + half_bias),
        sd=sd,
        lower=Interval(lower, lower - half_limit, lower + half_limit),
        upper=Interval(upper, upper - half_limit, upper + half_limit),
        slope=slope,
        slope_p=slope_p,
    )


def bland_altman(a: np.ndarray, b: np.ndarray, *, k: float = 1.96, level: float = 0.95) -> BlandAltman:
    """Bias, SD and limits of agreement (bias +/- k SD) of the differences ``a - b``, with
    ``level`` confidence intervals (Bland & Altman 1986, Lancet i:307-310).

    a, b : (N,) float arrays of paired readings, N >= 3, in one unit (mm).
    """
    a, b = paired(a, b)
    diffs = a - b
    return _limits(float(diffs.mean()), float(diffs.std(ddof=1)), a.size, k=k, level=level, form="single readings",
                   means=(a + b) / 2, diffs=diffs)


def _within_variance(groups: list[np.ndarray]) -> tuple[float, float]:
    """Pooled within-subject variance of replicate groups and the harmonic mean of their sizes."""
    sizes = np.array([g.size for g in groups], dtype=float)
    dof = float((sizes - 1).sum())
    variance = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / dof if dof else 0.0
    return variance, float(sizes.size / (1 / sizes).sum())


def bland_altman_replicates(a: list[np.ndarray], b: list[np.ndarray], *, k: float = 1.96, level: float = 0.95) -> BlandAltman:
    """Limits of agreement when each subject has several readings by either method and the true
    value does not change between them (Bland & Altman 1999, Stat Methods Med Res 8:135-160, §5.1).

    The differences of subject means underestimate the spread of single differences; the SD is
    corrected: s**2 = s_dbar**2 + (1 - 1/m_a) s_wa**2 + (1 - 1/m_b) s_wb**2, with m the harmonic mean
    number of replicates and s_w the within-subject SD of each method.

    a, b : one (m_i,) float array of replicate readings per subject, in the same subject order.
    """
    if len(a) != len(b):
        raise ValueError(f"both methods need readings for the same subjects, got {len(a)} and {len(b)}")
    if any(g.size == 0 for g in (*a, *b)):
        raise ValueError("every subject needs at least one reading by each method")
    means_a = np.array([g.mean() for g in a])
    means_b = np.array([g.mean() for g in b])
    means_a, means_b = paired(means_a, means_b)
    diffs = means_a - means_b
    var_a, m_a = _within_variance([np.asarray(g, dtype=float) for g in a])
    var_b, m_b = _within_variance([np.asarray(g, dtype=float) for g in b])
    sd = float(np.sqrt(diffs.var(ddof=1) + (1 - 1 / m_a) * var_a + (1 - 1 / m_b) * var_b))
    return _limits(float(diffs.mean()), sd, diffs.size, k=k, level=level, form="replicates (Bland & Altman 1999 §5.1)",
                   means=(means_a + means_b) / 2, diffs=diffs)


def concordance(a: np.ndarray, b: np.ndarray, *, level: float = 0.95) -> Concordance:
    """Lin's concordance correlation coefficient (Lin 1989, Biometrics 45:255-268) with the
    confidence interval on Fisher's z scale from the asymptotic variance of Lin (2000, Biometrics
    56:324-325).

    a, b : (N,) float arrays of paired readings, N >= 3.
    """
    a, b = paired(a, b)
    n = a.size
    var_a, var_b = a.var(), b.var()  # Lin's estimator uses the 1/n moments
    covariance = float(((a - a.mean()) * (b - b.mean())).mean())
    shift2 = float((a.mean() - b.mean()) ** 2)
    rho_c = 2 * covariance / (var_a + var_b + shift2)
    r = covariance / np.sqrt(var_a * var_b)
    u2 = shift2 / np.sqrt(var_a * var_b)
    variance = ((1 - r**2) * rho_c**2 * (1 - rho_c**2) / r**2 + 2 * rho_c**3 * (1 - rho_c) * u2 / r - rho_c**4 * u2**2 / (2 * r**2)) / (n - 2)
    z = np.arctanh(rho_c)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(variance) / (1 - rho_c**2)
    return Concordance(n, Interval(float(rho_c), float(np.tanh(z - half)), float(np.tanh(z + half))), float(r), float(rho_c / r))
