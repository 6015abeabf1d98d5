"""Figures for a methods-comparison paper, as PNG and SVG: Bland–Altman with the limits and their
confidence intervals, scatter with identity and regression lines, histogram of differences."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._analysis import Comparison, PairComparison  # noqa: E402
from ._tables import TOOL  # noqa: E402

__all__ = ["write_plots"]

_FIGSIZE = (5.5, 4.2)  # inches: one journal column at 300 dpi


def _label(rater: str) -> str:
    return "Tool" if rater == TOOL else f"Observer {rater}"


def _stem(pair: PairComparison) -> str:
    # Names are checked to [A-Za-z0-9 ._-] when read; spaces would be awkward in file names.
    return f"{pair.a}_vs_{pair.b}".replace(" ", "_")


def _bland_altman(pair: PairComparison, ax: plt.Axes) -> None:
    a, b = np.array(pair.a_mm), np.array(pair.b_mm)
    ba = pair.limits
    ax.scatter((a + b) / 2, a - b, s=18, color="black", zorder=3)
    for name, line, style in (("bias", ba.bias, "-"), ("lower limit", ba.lower, "--"), ("upper limit", ba.upper, "--")):
        ax.axhline(line.estimate, color="tab:blue", linestyle=style, linewidth=1)
        ax.axhspan(line.low, line.high, color="tab:blue", alpha=0.12, linewidth=0)
        ax.annotate(f"{name} {line.estimate:.1f}", (1, line.estimate), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="tab:blue")
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel(f"Mean of {_label(pair.a)} and {_label(pair.b)} (mm)")
    ax.set_ylabel(f"{_label(pair.a)} - {_label(pair.b)} (mm)")
    ax.set_title(f"Bland-Altman, n = {pair.n} (shaded: 95 % CIs)", fontsize=10)


def _scatter(pair: PairComparison, ax: plt.Axes) -> None:
    a, b = np.array(pair.a_mm), np.array(pair.b_mm)
    low, high = min(a.min(), b.min()) - 2, max(a.max(), b.max()) + 2
    grid = np.array([low, high])
    ax.scatter(b, a, s=18, color="black", zorder=3)
    ax.plot(grid, grid, color="grey", linewidth=0.8, label="identity")
    for line, colour in ((pair.passing_bablok, "tab:orange"), (pair.deming, "tab:green")):
        ax.plot(grid, line.intercept.estimate + line.slope.estimate * grid, color=colour, linewidth=1,
                label=f"{line.method.split(',')[0]}: y = {line.intercept.estimate:.1f} + {line.slope.estimate:.2f} x")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{_label(pair.b)} (mm)")
    ax.set_ylabel(f"{_label(pair.a)} (mm)")
    ax.set_title(f"Cervical length, n = {pair.n}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")


def _histogram(pair: PairComparison, ax: plt.Axes) -> None:
    diffs = np.array(pair.a_mm) - np.array(pair.b_mm)
    ax.hist(diffs, bins=max(5, min(30, pair.n // 3)), color="tab:blue", edgecolor="white")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"{_label(pair.a)} - {_label(pair.b)} (mm)")
    ax.set_ylabel("Count")
    ax.set_title(f"Differences, n = {pair.n}", fontsize=10)


def write_plots(comparison: Comparison, out_dir: Path) -> list[Path]:
    """Write ``bland_altman_A_vs_B``, ``scatter_A_vs_B`` and ``differences_A_vs_B`` as .png (300 dpi)
    and .svg into ``out_dir`` for every pair with enough readings; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for pair in comparison.pairs:
        if pair.limits is None:
            continue
        for kind, draw in (("bland_altman", _bland_altman), ("scatter", _scatter), ("differences", _histogram)):
            figure, ax = plt.subplots(figsize=_FIGSIZE, layout="constrained")
            try:
                draw(pair, ax)
                for ext in ("png", "svg"):
                    path = out_dir / f"{kind}_{_stem(pair)}.{ext}"
                    figure.savefig(path, dpi=300 if ext == "png" else None, metadata={"Date": None} if ext == "svg" else None)
                    written.append(path)
            finally:
                plt.close(figure)
    return written
