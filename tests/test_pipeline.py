"""The shipped model on the sample exports, end to end, against sample_dicoms/ground_truth.csv."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cervical_length.dicom import RegionSpec, write_us_dicom
from cervical_length.engine import Pipeline, iter_frame_results
from cervical_length.phantom import generate, with_calipers

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


@pytest.fixture(scope="module")
def results():
    pipeline = Pipeline()
    return {(Path(i.result.file).name, i.result.frame): i.result for i in iter_frame_results(pipeline, [SAMPLES])}


@pytest.fixture(scope="module")
def truth():
    with open(SAMPLES / "ground_truth.csv", newline="") as handle:
        return {(r["file"], int(r["frame"])): r for r in csv.DictReader(handle)}


@pytest.mark.slow
def test_every_frame_has_a_result(results, truth):
    assert set(results) == set(truth)


@pytest.mark.slow
def test_lengths_within_the_agreement_target(results, truth):
    """Measured frames agree with the truth within the 95 % limits the issue sets (2 mm; 3 mm for
    the held-out vendor look); at most one truly measurable frame in ten is rejected."""
    measured, rejected = 0, 0
    for key, row in truth.items():
        result = results[key]
        if row["measurable"] == "1" and result.calibration_source != "none":
            if result.status == "measured":
                limit = 3.0 if row["appearance"] == "shifted" else 2.0
                assert abs(result.cl_mm - float(row["cl_mm"])) <= limit, (key, result.cl_mm, row["cl_mm"])
                measured += 1
            else:
                rejected += 1
    assert measured >= 9 and rejected <= measured // 10 + 1


@pytest.mark.slow
def test_not_measurable_and_uncalibrated_are_said(results, truth):
    """Every sample frame built not to be measured is declined, both out-of-plane frames of the cine
    among them (the model of 0.5.x let one through)."""
    for key, row in truth.items():
        if row["measurable"] == "0":
            assert results[key].status == "not_measurable" and results[key].cl_mm is None, key
    (uncalibrated,) = [r for (name, _), r in results.items() if name == "07_uncalibrated.dcm"]
    assert uncalibrated.status == "uncalibrated" and uncalibrated.cl_mm is None


@pytest.mark.slow
def test_auca_only_on_measured_frames_and_near_the_truth(results, truth):
    """Within the 95th percentile of the phantoms' AUCA errors (about 6 degrees, README) where the
    frame shows the wall; at least two sample exports get one."""
    given = 0
    for key, row in truth.items():
        result = results[key]
        if result.auca_deg is None:
            continue
        assert result.status == "measured", key
        if row["auca_visible"] == "1":
            assert abs(result.auca_deg - float(row["auca_deg"])) <= 6.0, (key, result.auca_deg, row["auca_deg"])
            given += 1
    assert given >= 2


@pytest.mark.slow
def test_a_split_screen_is_measured_in_the_view_that_holds_the_cervix(results, truth):
    """05_dual_region's larger view (item 2) is an out-of-plane scan, the other (item 1, at 0.318 mm
    a pixel) the cervix of the truth: the row is item 1's, at its scale, and says what item 2 gave."""
    result, row = results[("05_dual_region.dcm", 1)], truth[("05_dual_region.dcm", 1)]
    assert result.status == "measured" and abs(result.cl_mm - float(row["cl_mm"])) <= 2.0
    assert result.mm_per_pixel_x == pytest.approx(float(row["mm_per_pixel"]), abs=1e-6)
    assert result.notes == (
        "split screen: 2 tissue regions measured apart; this row is ultrasound region item 1 (the shortest measurable); "
        "item 2 not measurable (out-of-plane view: the endocervical canal is not visible)"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("photometric", "status"), [("RGB", "not_measurable"), ("MONOCHROME2", "measured")])
def test_a_caliper_line_on_an_out_of_plane_frame(tmp_path, photometric, status):
    # The examiner's dotted line lies where the canal would be. In colour it is known for a mark and
    # the canal is looked for between its dots; in grey it cannot be told from tissue and passes for
    # the canal (README, "Reading DICOM": the limit of a monochrome export).
    saved = with_calipers(generate(3, case="out_of_plane"))
    truth = saved.truth
    path = tmp_path / "saved.dcm"
    write_us_dicom(path, saved.rgb[None], photometric=photometric, regions=[RegionSpec(truth.sector_bounds_px, truth.mm_per_pixel / 10, truth.mm_per_pixel / 10)])
    (item,) = Pipeline().measure_file(path)
    assert item.result.status == status
    if status == "not_measurable":
        assert item.result.reasons == "out-of-plane view: the endocervical canal is not visible"
        assert re.fullmatch(r"coloured marks \(calipers\) lie on \d+% of the traced canal", item.result.notes)
    else:
        assert "marks" not in item.result.notes  # grey marks are not seen as marks


@pytest.mark.slow
def test_a_frame_without_coloured_marks_notes_none(tmp_path):
    plain = generate(3, case="normal")
    truth = plain.truth
    path = tmp_path / "plain.dcm"
    write_us_dicom(path, plain.rgb[None], photometric="RGB", regions=[RegionSpec(truth.sector_bounds_px, truth.mm_per_pixel / 10, truth.mm_per_pixel / 10)])
    (item,) = Pipeline().measure_file(path)
    assert item.result.status == "measured" and item.result.notes == ""
