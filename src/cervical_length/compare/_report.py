"""The comparison as a methods-comparison paper reports it: ``comparison.json`` (every number),
``comparison.csv`` (one row per statistic) and ``comparison.md`` (tables and a sentence per result)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

from ._agreement import Interval
from ._analysis import Comparison, PairComparison
from ._tables import TOOL

__all__ = ["comparison_dict", "statistic_rows", "markdown", "write_tables"]

CSV_COLUMNS = ("a", "b", "statistic", "form", "n", "estimate", "ci_low", "ci_high")


def _finite(value: object) -> object:
    """JSON has no NaN or infinity: such values become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def comparison_dict(comparison: Comparison) -> dict:
    """Every number of the comparison, JSON-ready (non-finite numbers as None)."""
    readings = comparison.readings
    return _finite({
        "level": readings.level,
        "raters": list(readings.values),
        "readings": {name: len(by_key) for name, by_key in readings.values.items()},
        "not_measured_by_tool": ["/".join(k) for k in readings.not_measured],
        "manual_only": ["/".join(k) for k in readings.manual_only],
        "tool_only": ["/".join(k) for k in readings.tool_only],
        "pairs": [{**dataclasses.asdict(p), "a_mm": list(p.a_mm), "b_mm": list(p.b_mm)} for p in comparison.pairs],
        "observers": dataclasses.asdict(comparison.observers) if comparison.observers else None,
        "observers_and_tool": dataclasses.asdict(comparison.observers_and_tool) if comparison.observers_and_tool else None,
    })


def _row(a: str, b: str, n: int, statistic: str, form: str, value: Interval | float | None) -> dict:
    if isinstance(value, Interval):
        estimate, low, high = value.estimate, value.low, value.high
    else:
        estimate, low, high = value, None, None
    return {"a": a, "b": b, "statistic": statistic, "form": form, "n": n, "estimate": estimate, "ci_low": low, "ci_high": high}


def _pair_rows(pair: PairComparison) -> list[dict]:
    def row(statistic: str, form: str, value: Interval | float | None) -> dict:
        return _row(pair.a, pair.b, pair.n, statistic, form, value)

    rows = []
    for ba in filter(None, (pair.bland_altman, pair.bland_altman_replicates)):
        rows += [
            row("bias_mm", ba.form, ba.bias),
            row("sd_of_differences_mm", ba.form, ba.sd),
            row("lower_limit_of_agreement_mm", ba.form, ba.lower),
            row("upper_limit_of_agreement_mm", ba.form, ba.upper),
            row("proportional_bias_slope", f"{ba.form}; difference on mean", ba.slope),
        ]
    rows += [row("icc", f"{icc.form} {icc.model}", icc.value) for icc in pair.icc]
    if pair.ccc:
        rows += [
            row("lin_ccc", "Lin 1989, z-transform CI", pair.ccc.ccc),
            row("mean_abs_difference_mm", "", pair.mean_abs_diff_mm),
            row("median_abs_difference_mm", "", pair.median_abs_diff_mm),
        ]
    for line in filter(None, (pair.deming, pair.passing_bablok)):
        rows.append(row("slope", f"{line.method}; {pair.a} on {pair.b}", line.slope))
        rows.append(row("intercept_mm", f"{line.method}; {pair.a} on {pair.b}", line.intercept))
    for d in pair.decisions:
        form = f"CL <= {d.threshold_mm:g} mm; reference {pair.b}"
        rows += [
            row("decision_agreement", form, d.agreement),
            row("cohen_kappa", form, d.kappa),
            row("sensitivity", form, d.sensitivity),
            row("specificity", form, d.specificity),
        ]
    return rows


def statistic_rows(comparison: Comparison) -> list[dict]:
    """One row per statistic and pair: a, b, statistic, form, n, estimate, ci_low, ci_high (a group of
    raters has them joined by ' + ' in ``a`` and an empty ``b``)."""
    rows = [row for pair in comparison.pairs for row in _pair_rows(pair)]
    for group in filter(None, (comparison.observers, comparison.observers_and_tool)):
        raters = " + ".join(group.raters)
        rows += [_row(raters, "", group.n, "icc", f"{icc.form} {icc.model}", icc.value) for icc in group.icc]
        rows += [_row(raters, "", group.n, "fleiss_kappa", f"CL <= {t:g} mm", k) for t, k in group.fleiss_kappa.items()]
    return rows


def _mm(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # -0.04 reads 0.0, not -0.0


def _no_interval(value: Interval) -> bool:
    """An estimate without bounds (Cohen's kappa where the two agree on every case)."""
    return math.isfinite(value.estimate) and not (math.isfinite(value.low) or math.isfinite(value.high))


def _ci(value: Interval | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if _no_interval(value):
        return f"{_mm(value.estimate, digits)} (no interval)"
    return f"{_mm(value.estimate, digits)} ({_mm(value.low, digits)} to {_mm(value.high, digits)})"


def _percent(value: Interval) -> str:
    """A share (0-1) with its interval, in per cent: '95% (88 to 98)'."""
    return f"{value.estimate:.0%} ({100 * value.low:.0f} to {100 * value.high:.0f})"


def _name(rater: str) -> str:
    return "the tool" if rater == TOOL else f"observer {rater}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentences(pair: PairComparison, unit: str) -> list[str]:
    if pair.limits is None:
        return [f"{_capital(_name(pair.a))} and {_name(pair.b)} share {pair.n} {unit}s: too few for statistics."]
    ba, ccc = pair.limits, pair.ccc
    icc2 = next(i for i in pair.icc if i.form == "ICC(2,1)")
    short = pair.decisions[0]
    out = [
        f"On {pair.n} {unit}s, {_name(pair.a)} measured on average {abs(ba.bias.estimate):.1f} mm "
        f"{'longer' if ba.bias.estimate >= 0 else 'shorter'} than {_name(pair.b)} (95 % CI {_mm(ba.bias.low)} to {_mm(ba.bias.high)} mm); "
        f"95 % of differences are expected between {_mm(ba.lower.estimate)} and {_mm(ba.upper.estimate)} mm (limits for {ba.form}).",
        f"Absolute agreement ICC(2,1) was {_ci(icc2.value, 2)}; Lin's CCC {_ci(ccc.ccc, 2) if ccc else 'n/a'}.",
        f"On the short-cervix call (CL <= 25 mm) they agreed on {_percent(short.agreement)} of {unit}s"
        + (f", Cohen's kappa {_ci(short.kappa, 2)}." if short.kappa else " (kappa undefined: one class only)."),
    ]
    if ba.slope.low > 0 or ba.slope.high < 0:
        out.append(f"The difference changes with the length (slope {_ci(ba.slope, 2)} per mm): proportional bias.")
    return out


def _tool_among_observers(comparison: Comparison) -> list[str]:
    """Where the tool falls among the human pairs, by the SD of single-reading differences."""
    by_pair = {(p.a, p.b): p for p in comparison.pairs if p.limits}
    out = []
    observers = comparison.readings.observers
    for reference in observers:
        tool = by_pair.get((TOOL, reference))
        for other in observers:
            human = by_pair.get((other, reference)) or by_pair.get((reference, other))
            if other == reference or tool is None or human is None:
                continue
            better = tool.limits.sd <= human.limits.sd
            out.append(
                f"The tool agrees with observer {reference} (SD of differences {tool.limits.sd:.2f} mm) "
                f"{'better than' if better else 'less well than'} observer {other} does ({human.limits.sd:.2f} mm)."
            )
    return out


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown report: tables in the style of a methods-comparison paper."""
    readings = comparison.readings
    unit = readings.level
    lines = [
        "# Cervical length: the tool against manual calipers",
        "",
        f"Readings compared per {unit}. Differences are first rater minus second, in mm; intervals are 95 % CIs. "
        f"The tool declined to measure {len(readings.not_measured)} {unit}(s) the observers measured (left out); "
        f"{len(readings.manual_only)} manual {unit}(s) are not in the tool's results; "
        f"{len(readings.tool_only)} of the tool's {unit}(s) have no manual reading.",
        "",
        "| comparison | n | bias, mm | limits of agreement, mm | ICC(2,1) | ICC(3,1) | Lin's CCC | Passing-Bablok slope | agreement CL <= 25 mm | kappa |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in comparison.pairs:
        if p.limits is None:
            lines.append(f"| {p.a} - {p.b} | {p.n} | too few | | | | | | | |")
            continue
        icc = {i.form: i.value for i in p.icc}
        short = p.decisions[0]
        lines.append(
            f"| {p.a} - {p.b} | {p.n} | {_ci(p.limits.bias)} | {_ci(p.limits.lower)} to {_ci(p.limits.upper)} | "
            f"{_ci(icc['ICC(2,1)'], 2)} | {_ci(icc['ICC(3,1)'], 2)} | {_ci(p.ccc.ccc, 2)} | {_ci(p.passing_bablok.slope, 2)} | "
            f"{_percent(short.agreement)} | {_ci(short.kappa, 2)} |"
        )
    forms = sorted({p.limits.form for p in comparison.pairs if p.limits is not None})
    legend = f"Limits of agreement are for {' and '.join(forms) or 'no pair'}."
    if any(d.kappa is not None and _no_interval(d.kappa) for p in comparison.pairs for d in p.decisions):
        legend += (" Cohen's kappa has no interval where the two agree on every case (its standard error is then 0,"
                   " whatever the number of cases): the agreement's interval says how sure that is.")
    lines += ["", legend, ""]
    for p in comparison.pairs:
        lines += [f"## {_capital(_name(p.a))} against {_name(p.b)}", "", *_sentences(p, unit), ""]
        for d in p.decisions:
            (tp, fp), (fn, tn) = d.table
            lines += [
                f"CL <= {d.threshold_mm:g} mm ({p.b} as reference): sensitivity {_ci(d.sensitivity, 2)}, specificity {_ci(d.specificity, 2)}.",
                "",
                f"| | {p.b} <= {d.threshold_mm:g} | {p.b} > {d.threshold_mm:g} |",
                "|---|---|---|",
                f"| {p.a} <= {d.threshold_mm:g} | {tp} | {fp} |",
                f"| {p.a} > {d.threshold_mm:g} | {fn} | {tn} |",
                "",
            ]
    for title, group in (("Across observers", comparison.observers), ("Across observers and the tool", comparison.observers_and_tool)):
        if group is None:
            continue
        lines += [f"## {title} ({', '.join(group.raters)}; n = {group.n})", "", "| form | model | ICC (95 % CI) |", "|---|---|---|"]
        lines += [f"| {i.form} | {i.model} | {_ci(i.value, 2)} |" for i in group.icc]
        kappas = ", ".join(f"CL <= {t:g} mm: {_mm(k, 2)}" for t, k in group.fleiss_kappa.items())
        lines += ["", f"Fleiss' kappa {kappas}.", ""]
    ranking = _tool_among_observers(comparison)
    if ranking:
        lines += ["## The tool among the observers", "", *ranking, ""]
    return "\n".join(lines)


def write_tables(comparison: Comparison, out_dir: Path) -> list[Path]:
    """Write comparison.json, comparison.csv and comparison.md into ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path, md_path = (out_dir / f"comparison.{ext}" for ext in ("json", "csv", "md"))
    json_path.write_text(json.dumps(comparison_dict(comparison), indent=1), encoding="utf-8")
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(_finite(statistic_rows(comparison)))
    md_path.write_text(markdown(comparison), encoding="utf-8")
    return [json_path, csv_path, md_path]
