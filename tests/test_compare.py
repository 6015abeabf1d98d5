"""Method-comparison statistics against published worked examples and exact geometry; the compare
command's inputs, errors and outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from cervical_length.cli import main
from cervical_length.compare import (
    TOOL,
    bland_altman,
    bland_altman_replicates,
    compare_readings,
    concordance,
    decision_agreement,
    deming,
    fleiss,
    intraclass,
    passing_bablok,
    proportion_interval,
    read_readings,
)
from cervical_length.errors import ComparisonDataError

# Bland & Altman (1986) Lancet i:307-310, Table 1: peak expiratory flow rate (l/min) of 17 people,
# two readings with a Wright and two with a mini Wright meter.
WRIGHT = np.array([494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427], dtype=float)
WRIGHT_2 = np.array([490, 397, 512, 401, 470, 611, 415, 431, 638, 429, 420, 633, 275, 492, 165, 372, 421], dtype=float)
MINI = np.array([512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451], dtype=float)
MINI_2 = np.array([525, 415, 508, 444, 500, 625, 460, 390, 642, 432, 420, 605, 227, 467, 268, 370, 443], dtype=float)

# Shrout & Fleiss (1979) Psychol Bull 86:420-428, Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)


class TestBlandAltman:
    def test_published_pefr_example(self):
        # The paper: mean difference -2.1, SD 38.8, limits (2 SD) -79.7 to 75.5 l/min, and the
        # lower limit's 95 % CI -114.3 to -45.1 (upper 40.9 to 110.1), from rounded intermediates.
        ba = bland_altman(WRIGHT, MINI, k=2)
        assert ba.n == 17
        assert ba.bias.estimate == pytest.approx(-2.1, abs=0.05)
        assert ba.sd == pytest.approx(38.8, abs=0.05)
        assert ba.lower.estimate == pytest.approx(-79.7, abs=0.1)
        assert ba.upper.estimate == pytest.approx(75.5, abs=0.1)
        assert (ba.lower.low, ba.lower.high) == pytest.approx((-114.3, -45.1), abs=0.2)
        assert (ba.upper.low, ba.upper.high) == pytest.approx((40.9, 110.1), abs=0.2)

    def test_default_limits_use_1_96_sd(self):
        # Analyse-it's tutorial on the same data, mini minus Wright: limits -73.9 to 78.1 l/min.
        ba = bland_altman(MINI, WRIGHT)
        assert (ba.lower.estimate, ba.upper.estimate) == pytest.approx((-73.9, 78.1), abs=0.05)
        assert ba.form == "single readings"

    def test_proportional_bias_is_found_and_absent(self):
        x = np.linspace(10, 60, 20)
        assert bland_altman(1.1 * x, x).slope.low > 0  # differences grow with the length
        noise = np.tile([0.5, -0.5], 10)
        flat = bland_altman(x + 2 + noise, x)
        assert flat.bias.estimate == pytest.approx(2.0)
        assert flat.slope.low < 0 < flat.slope.high

    def test_pairs_of_one_mean_have_limits_and_no_slope(self):
        # Readings 29/31, 31/29, 30/30: every pair's mean is 30 mm, so no line can be fitted.
        ba = bland_altman(np.array([29.0, 31.0, 30.0]), np.array([31.0, 29.0, 30.0]))
        assert ba.bias.estimate == 0.0 and ba.sd == pytest.approx(2.0)
        assert (ba.lower.estimate, ba.upper.estimate) == pytest.approx((-3.92, 3.92))
        assert np.isnan(ba.slope.estimate) and np.isnan(ba.slope_p)

    def test_inputs_are_not_modified(self):
        a, b = WRIGHT.copy(), MINI.copy()
        bland_altman(a, b)
        assert np.array_equal(a, WRIGHT) and np.array_equal(b, MINI)

    @pytest.mark.parametrize(
        ("a", "b", "message"),
        [([1.0, 2.0], [1.0, 2.0], "at least 3 pairs"), ([1.0, 2.0, 3.0], [1.0, 2.0], "one length"), ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "finite")],
    )
    def test_bad_input(self, a, b, message):
        with pytest.raises(ValueError, match=message):
            bland_altman(np.array(a), np.array(b))


class TestBlandAltmanReplicates:
    def test_single_readings_give_the_plain_limits(self):
        plain = bland_altman(WRIGHT, MINI)
        replicated = bland_altman_replicates([np.array([v]) for v in WRIGHT], [np.array([v]) for v in MINI])
        assert replicated.sd == pytest.approx(plain.sd)
        assert replicated.lower.estimate == pytest.approx(plain.lower.estimate)

    def test_within_subject_variance_is_added_back(self):
        # Each method's two readings differ by 2 (within-subject variance 2); with m = 2 the
        # correction is (1 - 1/2) * 2 = 1 per method, so s**2 = s_dbar**2 + 2 exactly.
        rng = np.random.default_rng(0)
        truth = rng.uniform(10, 50, 12)
        a = [np.array([t + 0.3 - 1, t + 0.3 + 1]) for t in truth]
        b = [np.array([t - 1 + e, t + 1 + e]) for t, e in zip(truth, rng.normal(0, 0.5, 12))]
        dbar = np.array([x.mean() - y.mean() for x, y in zip(a, b)])
        result = bland_altman_replicates(a, b)
        assert result.sd == pytest.approx(np.sqrt(dbar.var(ddof=1) + 2))
        assert result.bias.estimate == pytest.approx(dbar.mean())
        assert "1999" in result.form

    def test_pefr_replicates_widen_the_limits_of_the_means(self):
        means = bland_altman((WRIGHT + WRIGHT_2) / 2, (MINI + MINI_2) / 2)
        replicated = bland_altman_replicates([np.array(p) for p in zip(WRIGHT, WRIGHT_2)], [np.array(p) for p in zip(MINI, MINI_2)])
        assert replicated.bias.estimate == pytest.approx(means.bias.estimate)
        assert replicated.sd > means.sd

    def test_mismatched_subjects(self):
        with pytest.raises(ValueError, match="same subjects"):
            bland_altman_replicates([np.array([1.0])] * 3, [np.array([1.0])] * 4)


class TestIntraclass:
    def test_shrout_fleiss_published_values(self):
        values = {icc.form: round(icc.value.estimate, 2) for icc in intraclass(SHROUT_FLEISS)}
        assert values["ICC(1,1)"] == 0.17
        assert values["ICC(2,1)"] == 0.29
        assert values["ICC(3,1)"] == 0.71
        assert values["ICC(2,4)"] == 0.62
        assert values["ICC(3,4)"] == 0.91

    def test_forms_are_named_with_their_model(self):
        by_form = {icc.form: icc for icc in intraclass(SHROUT_FLEISS)}
        assert "absolute agreement" in by_form["ICC(2,1)"].model
        assert "consistency" in by_form["ICC(3,1)"].model
        assert by_form["ICC(2,1)"].value.low < 0.29 < by_form["ICC(2,1)"].value.high
        assert by_form["ICC(2,1)"].n == 6 and by_form["ICC(2,1)"].raters == 4

    def test_missing_values_are_refused(self):
        table = SHROUT_FLEISS.copy()
        table[0, 0] = np.nan
        with pytest.raises(ValueError, match="none missing"):
            intraclass(table)


class TestConcordance:
    def test_shift_gives_the_exact_coefficient(self):
        # CCC of x and x + c is 2 s**2 / (2 s**2 + c**2) with the 1/n variance s**2 (Lin 1989).
        x = np.arange(1.0, 11.0)
        result = concordance(x, x + 2)
        assert result.ccc.estimate == pytest.approx(2 * x.var() / (2 * x.var() + 4))
        assert result.pearson_r == pytest.approx(1.0)
        assert result.bias_correction == pytest.approx(result.ccc.estimate)

    def test_pefr_value_and_interval(self):
        # Lin's estimator on the Bland-Altman PEFR data: 1 - mean squared difference over the
        # same for independent readings = 0.9427; the z-transform interval (Lin 2000) holds it.
        result = concordance(WRIGHT, MINI)
        msd = ((WRIGHT - MINI) ** 2).mean()
        assert result.ccc.estimate == pytest.approx(1 - msd / (WRIGHT.var() + MINI.var() + (WRIGHT.mean() - MINI.mean()) ** 2))
        assert result.ccc.estimate == pytest.approx(0.9427, abs=1e-4)
        assert 0.85 < result.ccc.low < 0.9427 < result.ccc.high < 0.99

    def test_symmetric(self):
        assert concordance(WRIGHT, MINI).ccc == concordance(MINI, WRIGHT).ccc


class TestPassingBablok:
    def test_exact_line(self):
        x = np.array([10.0, 15, 20, 30, 45, 50])
        line = passing_bablok(x, 1 + 2 * x)
        assert line.slope.estimate == pytest.approx(2.0)
        assert line.intercept.estimate == pytest.approx(1.0)

    def test_reference_implementation_r_mcr(self):
        # R package mcr (Roche), mcreg(x, y, method.reg = "PaBa", method.ci = "analytical") on this
        # 20-point example gives slope 1.0050 (0.9848 to 1.0266) and intercept 0.0125 (-0.2975 to
        # 0.1393), as recorded in the methcomp project's tests. The point estimates agree exactly;
        # the intervals pick neighbouring order statistics (mcr rounds the ranks differently).
        x = np.arange(1.0, 21.0)
        y = np.array([1.03, 2.05, 2.79, 3.67, 5.00, 5.82, 7.16, 7.69, 8.53, 10.38,
                      11.11, 12.17, 13.47, 13.83, 15.15, 16.12, 16.94, 18.09, 19.13, 19.54])
        line = passing_bablok(x, y)
        assert line.slope.estimate == pytest.approx(1.0050, abs=1e-9)
        assert line.intercept.estimate == pytest.approx(0.0125, abs=1e-9)
        assert (line.slope.low, line.slope.high) == pytest.approx((0.9848, 1.0266), abs=0.002)
        assert (line.intercept.low, line.intercept.high) == pytest.approx((-0.2975, 0.1393), abs=0.015)

    def test_hand_worked_slopes(self):
        # Points (1,1) (2,3) (3,2) (4,4): pairwise slopes 2, 0.5, 1, -1, 0.5, 2; the -1 is
        # dropped, none is below -1 (no shift), the median of 0.5 0.5 1 2 2 is 1; intercept
        # median(y - x) = median(0, 1, -1, 0) = 0.
        line = passing_bablok(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4]))
        assert line.slope.estimate == 1.0
        assert line.intercept.estimate == 0.0

    def test_robust_to_one_outlier(self):
        x = np.linspace(10, 60, 15)
        y = 0.5 + 1.05 * x
        y[3] += 30
        line = passing_bablok(x, y)
        assert line.slope.estimate == pytest.approx(1.05, abs=0.01)
        assert line.slope.low <= 1.05 <= line.slope.high

    def test_swapping_axes_inverts_the_slope(self):
        line, swapped = passing_bablok(MINI, WRIGHT), passing_bablok(WRIGHT, MINI)
        assert line.slope.estimate * swapped.slope.estimate == pytest.approx(1.0, rel=0.02)

    def test_identical_points_only(self):
        with pytest.raises(ValueError, match="identical"):
            passing_bablok(np.ones(4), np.ones(4))


class TestDeming:
    def test_exact_line_has_no_spread(self):
        x = np.array([10.0, 15, 20, 30, 45, 50])
        line = deming(x, 3 + 0.9 * x)
        assert line.slope.estimate == pytest.approx(0.9)
        assert line.intercept.estimate == pytest.approx(3.0)
        assert line.slope.high - line.slope.low == pytest.approx(0.0, abs=1e-9)

    def test_ratio_one_is_the_major_axis(self):
        # With equal error variances Deming's line is the first principal axis of the points.
        eigenvalues, vectors = np.linalg.eigh(np.cov(np.vstack([WRIGHT, MINI])))
        axis = vectors[:, np.argmax(eigenvalues)]
        assert deming(WRIGHT, MINI).slope.estimate == pytest.approx(axis[1] / axis[0])

    def test_bad_ratio(self):
        with pytest.raises(ValueError, match="ratio must be positive"):
            deming(WRIGHT, MINI, ratio=0)


class TestProportionInterval:
    @pytest.mark.parametrize(
        ("hits", "total", "low", "high"),
        # Newcombe (1998) Stat Med 17:857-872, Wilson's score method on his example 81/263; 0/10 and
        # 10/10 from the closed form, z^2 / (n + z^2) and n / (n + z^2).
        [(81, 263, 0.2553, 0.3662), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0)],
    )
    def test_wilson_interval_of_published_examples(self, hits, total, low, high):
        rate = proportion_interval(hits, total)
        assert rate.estimate == pytest.approx(hits / total)
        assert (rate.low, rate.high) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))

    def test_a_narrower_level_gives_a_narrower_interval(self):
        wide, narrow = proportion_interval(81, 263), proportion_interval(81, 263, level=0.5)
        assert wide.low < narrow.low < narrow.high < wide.high

    def test_no_cases_give_no_interval(self):
        assert proportion_interval(0, 0) is None


class TestDecisions:
    def test_table_kappa_sensitivity_specificity(self):
        # 10 both short, 2 only the tool, 3 only the observer, 15 neither: p_o = 25/30,
        # p_e = (13*12 + 17*18)/900, kappa = (p_o - p_e)/(1 - p_e) = 0.6575.
        tool = np.array([20.0] * 10 + [22.0] * 2 + [30.0] * 3 + [35.0] * 15)
        observer = np.array([21.0] * 10 + [28.0] * 2 + [24.0] * 3 + [36.0] * 15)
        d = decision_agreement(tool, observer, threshold_mm=25)
        assert d.table == ((10, 2), (3, 15))
        assert d.agreement.estimate == pytest.approx(25 / 30)
        # Wilson's interval for 25 of 30 (statsmodels' proportion_confint, method='wilson').
        assert (d.agreement.low, d.agreement.high) == pytest.approx((0.66436, 0.92663), abs=1e-5)
        assert d.kappa.estimate == pytest.approx(0.65753, abs=1e-5)
        assert d.sensitivity.estimate == pytest.approx(10 / 13)
        assert d.specificity.estimate == pytest.approx(15 / 17)

    def test_threshold_is_inclusive(self):
        d = decision_agreement(np.array([25.0, 25.1, 10.0]), np.array([25.0, 30.0, 10.0]), threshold_mm=25)
        assert d.table == ((2, 0), (0, 1))

    def test_one_class_has_no_kappa(self):
        d = decision_agreement(np.array([30.0, 31, 40]), np.array([33.0, 35, 41]), threshold_mm=25)
        assert d.kappa is None and d.sensitivity is None and d.agreement.estimate == 1.0

    def test_agreement_on_every_case_gives_kappa_no_interval(self):
        # Kappa's asymptotic standard error is 0 at perfect agreement: 1.00 (1.00 to 1.00) from
        # 7 cases would claim certainty; the agreement's Wilson interval, 7 of 7, is 0.646-1.
        tool = np.array([10.0, 15, 20, 30, 35, 40, 45])
        d = decision_agreement(tool, tool + 1.0, threshold_mm=25)
        assert d.kappa.estimate == 1.0 and np.isnan(d.kappa.low) and np.isnan(d.kappa.high)
        assert (d.agreement.estimate, round(d.agreement.low, 3), round(d.agreement.high, 9)) == (1.0, 0.646, 1.0)

    def test_fleiss_two_raters_is_scotts_pi(self):
        # Two raters, 4 subjects: short/short, short/long, long/long, long/long. Observed
        # agreement 3/4; pooled short proportion 3/8, expected (3/8)**2 + (5/8)**2 = 34/64;
        # kappa = (48/64 - 34/64) / (30/64) = 14/30.
        readings = np.array([[20.0, 21], [22, 30], [35, 36], [40, 41]])
        assert fleiss(readings, threshold_mm=25) == pytest.approx(14 / 30)


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, Path, list[float]]:
    """A tool results file and a manual file: 8 frames, two observers twice each, one frame the
    tool declined (quality gate) and one the tool measured that no observer did."""
    truth = [12.0, 18.5, 24.0, 26.0, 31.0, 38.5, 44.0, 52.0]
    tool_rows = [
        {"study_instance_uid": f"1.2.{k}", "sop_instance_uid": f"1.2.{k}.1", "frame": 1, "cl_mm": f"{t + 0.2:.1f}", "measurable": 1, "status": "measured"}
        for k, t in enumerate(truth)
    ]
    tool_rows[5].update(cl_mm="", measurable=0, status="not_measurable")
    # Files that gave no frame: their one row has no study, image or frame, and is passed over.
    tool_rows += [{"study_instance_uid": "", "sop_instance_uid": "", "frame": "", "cl_mm": "", "measurable": "", "status": status} for status in ("failed", "not_an_image")]
    tool_rows.append({"study_instance_uid": "1.2.99", "sop_instance_uid": "1.2.99.1", "frame": 1, "cl_mm": "30.0", "measurable": 1, "status": "measured"})
    manual_rows = [
        {"study_instance_uid": f"1.2.{k}", "sop_instance_uid": f"1.2.{k}.1", "frame": 1, "observer": observer, "repeat": repeat,
         "cl_mm": f"{t + offset + (0.4 if repeat == 2 else -0.4):.1f}"}
        for k, t in enumerate(truth) for observer, offset in (("A", 0.0), ("B", 0.8)) for repeat in (1, 2)
    ]
    auto = _write_csv(tmp_path / "measurements.csv", tool_rows)
    manual = _write_csv(tmp_path / "manual.csv", manual_rows)
    return auto, manual, truth


class TestReadReadings:
    def test_join_by_frame(self, study):
        auto, manual, truth = study
        readings = read_readings(auto, [manual])
        assert readings.level == "frame"
        assert readings.observers == ["A", "B"]
        assert readings.values["A"][("1.2.0", "1.2.0.1", "1")] == (11.6, 12.4)
        assert readings.not_measured == [("1.2.5", "1.2.5.1", "1")]
        assert readings.tool_only == [("1.2.99", "1.2.99.1", "1")]
        assert readings.manual_only == []
        assert len(readings.values[TOOL]) == 8

    def test_an_image_in_two_files_is_compared_once_if_measured_alike(self, study, tmp_path):
        auto, manual, _ = study
        with auto.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        copied = _write_csv(tmp_path / "copied.csv", [*rows, dict(rows[0])])  # its row again, from the copy
        assert read_readings(copied, [manual]).values == read_readings(auto, [manual]).values
        other = _write_csv(tmp_path / "other.csv", [*rows, {**rows[0], "cl_mm": "40.0"}])  # one UID, two images
        with pytest.raises(ComparisonDataError, match=rf"other\.csv, row {len(rows) + 2}: duplicate of row 2 \(1\.2\.0/1\.2\.0\.1/1\)"):
            read_readings(other, [manual])

    def test_exam_level_reads_exams_csv_of_a_directory(self, tmp_path):
        _write_csv(tmp_path / "exams.csv", [{"study_instance_uid": f"9.{k}", "cl_mm": 20 + k, "status": "measured"} for k in range(4)])
        manual = _write_csv(tmp_path / "exam_manual.csv", [{"study_instance_uid": f"9.{k}", "cl_mm": 21 + k} for k in range(5)])
        readings = read_readings(tmp_path, [manual])
        assert readings.level == "exam"
        assert readings.observers == ["exam_manual"]  # no observer column: the file's name
        assert readings.manual_only == [("9.4",)]

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            ([{"study_instance_uid": "1", "length": 30}], r"manual\.csv: missing column\(s\) cl_mm"),
            ([{"study_instance_uid": "1", "cl_mm": "3O"}], r"manual\.csv, row 2, column cl_mm: '3O' is not a number"),
            ([{"study_instance_uid": "1", "cl_mm": "350"}], r"row 2, column cl_mm: 350 mm is outside 0-100 mm"),
            ([{"study_instance_uid": f"{k}", "cl_mm": v} for k, v in enumerate([3.1, 2.4, 4.0, 1.2])], r"column cl_mm: values look like centimetres"),
            ([{"study_instance_uid": "1", "cl_mm": 30}, {"study_instance_uid": "1", "cl_mm": 31}], r"row 3: duplicate of row 2 .*repeat column"),
            ([{"study_instance_uid": "1", "cl_mm": 30, "observer": "tool"}], r"row 2, column observer: 'tool' is the tool's own name"),
            ([{"study_instance_uid": "1", "cl_mm": 30, "observer": "<b>x</b>"}], r"row 2, column observer: '<b>x</b>' is not a usable name"),
            ([{"study_instance_uid": "", "cl_mm": 30}], r"row 2, column study_instance_uid: empty"),
            ([{"study_instance_uid": "1", "frame": 2, "cl_mm": 30}], r"column frame needs column sop_instance_uid"),
        ],
    )
    def test_bad_manual_file(self, study, tmp_path, rows, message):
        auto, _, _ = study
        bad = _write_csv(tmp_path / "manual.csv", rows)
        with pytest.raises(ComparisonDataError, match=message):
            read_readings(auto, [bad])

    def test_a_decimal_comma_is_named_not_read_as_a_whole_number(self, study, tmp_path):
        auto, _, _ = study
        bad = tmp_path / "manual.csv"
        bad.write_text("study_instance_uid,cl_mm\n1,25,5\n", encoding="utf-8")
        with pytest.raises(ComparisonDataError, match=r"manual\.csv: row 2 has 3 fields, the header 2: .*write 25\.5, not 25,5"):
            read_readings(auto, [bad])

    def test_bad_frame_number(self, study, tmp_path):
        auto, _, _ = study
        bad = _write_csv(tmp_path / "frames.csv", [{"study_instance_uid": "1", "sop_instance_uid": "1.1", "frame": "x", "cl_mm": 30}])
        with pytest.raises(ComparisonDataError, match=r"frames\.csv, row 2, column frame: 'x' is not a frame number"):
            read_readings(auto, [bad])

    def test_frame_manual_against_exam_only_results(self, study, tmp_path):
        _, manual, _ = study
        exams = _write_csv(tmp_path / "exams.csv", [{"study_instance_uid": "1", "cl_mm": 30}])
        with pytest.raises(ComparisonDataError, match=r"exams\.csv: missing column\(s\) sop_instance_uid, frame, measurable"):
            read_readings(exams, [manual])

    def test_same_observer_in_two_files(self, study, tmp_path):
        auto, manual, _ = study
        again = tmp_path / "again.csv"
        again.write_bytes(manual.read_bytes())
        with pytest.raises(ComparisonDataError, match=r"again\.csv, column observer: observer 'A' already appears in .*manual\.csv"):
            read_readings(auto, [manual, again])

    def test_missing_file_is_named(self, study, tmp_path):
        auto, _, _ = study
        with pytest.raises(ComparisonDataError, match=r"nowhere\.csv: cannot be read"):
            read_readings(auto, [tmp_path / "nowhere.csv"])


class TestCompareReadings:
    def test_pairs_and_known_offsets(self, study):
        auto, manual, truth = study
        comparison = compare_readings(read_readings(auto, [manual]))
        pairs = {(p.a, p.b): p for p in comparison.pairs}
        assert list(pairs) == [(TOOL, "A"), (TOOL, "B"), ("A", "B")]
        tool_a = pairs[(TOOL, "A")]
        assert tool_a.n == 7  # the frame the tool declined is left out
        assert tool_a.bland_altman.bias.estimate == pytest.approx(0.2)
        assert pairs[("A", "B")].bland_altman.bias.estimate == pytest.approx(-0.8)
        # Observers' repeats differ by 0.8 mm: within variance 0.32, corrected SD sqrt(0 + 0.16) = 0.4.
        assert tool_a.bland_altman_replicates.sd == pytest.approx(0.4, abs=1e-9)
        assert tool_a.decisions[0].table == ((3, 0), (0, 4))
        assert comparison.observers.raters == ("A", "B") and comparison.observers.n == 8
        assert comparison.observers_and_tool.n == 7


@pytest.mark.parametrize("value, text", [(-0.04, "0.0"), (-0.05, "-0.1"), (0.04, "0.0"), (-1.25, "-1.2"), (float("nan"), "n/a"), (None, "n/a")])
def test_report_numbers_have_no_negative_zero(value, text):
    from cervical_length.compare._report import _mm

    assert _mm(value) == text


class TestCommand:
    def test_writes_every_output(self, study, tmp_path, capsys):
        auto, manual, _ = study
        before = manual.read_bytes()
        out = tmp_path / "out"
        assert main(["compare", "--auto", str(auto), "--manual", str(manual), "--out", str(out)]) == 0
        assert manual.read_bytes() == before
        printed = capsys.readouterr().out
        assert "tool - A: n = 7 frames, bias +0.20 mm" in printed
        report = json.loads((out / "comparison.json").read_text())
        assert report["level"] == "frame" and report["not_measured_by_tool"] == ["1.2.5/1.2.5.1/1"]
        with open(out / "comparison.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        bias = next(r for r in rows if r["a"] == "tool" and r["b"] == "A" and r["statistic"] == "bias_mm" and r["form"] == "single readings")
        assert float(bias["estimate"]) == pytest.approx(report["pairs"][0]["bland_altman"]["bias"]["estimate"])
        assert {r["statistic"] for r in rows} >= {"icc", "lin_ccc", "slope", "cohen_kappa", "fleiss_kappa", "sensitivity"}
        md = (out / "comparison.md").read_text()
        assert "| tool - A | 7 |" in md and "The tool agrees with observer A" in md
        # 7 of 7 calls alike: the agreement's Wilson interval, and no zero-width interval for kappa.
        assert "| 100% (65 to 100) | 1.00 (no interval) |" in md
        assert "they agreed on 100% (65 to 100) of frames, Cohen's kappa 1.00 (no interval)." in md
        assert "Limits of agreement are for replicates (Bland & Altman 1999 §5.1). Cohen's kappa has no interval where" in md
        for kind in ("bland_altman", "scatter", "differences"):
            for ext in ("png", "svg"):
                assert (out / "plots" / f"{kind}_tool_vs_A.{ext}").stat().st_size > 1000
        assert (out / "plots" / "bland_altman_tool_vs_A.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def test_bad_input_exits_2_naming_the_file(self, study, tmp_path, capsys):
        auto, _, _ = study
        bad = _write_csv(tmp_path / "cm.csv", [{"study_instance_uid": f"{k}", "cl_mm": v} for k, v in enumerate([3.1, 2.4, 4.0])])
        assert main(["compare", "--auto", str(auto), "--manual", str(bad), "--out", str(tmp_path / "o")]) == 2
        assert "cm.csv, column cl_mm: values look like centimetres" in capsys.readouterr().err
        assert not (tmp_path / "o").exists()
