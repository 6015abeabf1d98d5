"""The shipped sample exports: their calibration gives back the scale they were drawn with."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from cervical_length.dicom import iter_dicom_paths, read_frames, read_source
from cervical_length.phantom import SAMPLES, write_samples

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_dicoms"


def _truth() -> dict[tuple[str, int], dict[str, str]]:
    with open(SAMPLE_DIR / "ground_truth.csv", newline="") as handle:
        return {(row["file"], int(row["frame"])): row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("spec", SAMPLES, ids=lambda s: s.name)
def test_calibration_gives_back_the_drawn_scale(spec):
    source = read_source(SAMPLE_DIR / spec.name)
    truth_mm = float(_truth()[(spec.name, 1)]["mm_per_pixel"])
    cal = source.calibration
    expected_source = {"region": "us_region", "dual": "us_region", "pixel_spacing": "pixel_spacing", "none": "none"}[spec.calibration]
    assert cal.source == expected_source
    if spec.calibration == "none":
        assert not cal.calibrated
    elif spec.calibration == "dual":
        left = cal.region_at(source.rows / 2, source.cols / 4)
        right = cal.region_at(source.rows / 2, 3 * source.cols / 4)
        assert left is not None and right is not None and left is not right
        assert left.mm_per_pixel_x == pytest.approx(truth_mm, abs=1e-6)
        assert right.mm_per_pixel_x != pytest.approx(left.mm_per_pixel_x)
    else:
        assert cal.mm_per_pixel_x == pytest.approx(truth_mm, abs=1e-6)
        assert cal.mm_per_pixel_y == pytest.approx(truth_mm, abs=1e-6)
    assert source.modality == "US" and source.photometric_interpretation == spec.photometric


def test_every_frame_has_ground_truth():
    truth = _truth()
    for spec in SAMPLES:
        frames = list(read_frames(SAMPLE_DIR / spec.name))
        assert len(frames) == spec.frames
        assert all((spec.name, f.frame_number) in truth for f in frames)


def test_sample_set_covers_the_required_kinds():
    truth = _truth()
    assert any(float(r["cl_mm"]) <= 25 and r["measurable"] == "1" for r in truth.values())
    assert any(r["funnel"] == "1" for r in truth.values())
    assert any(r["measurable"] == "0" for r in truth.values())
    assert sum(p.stat().st_size for p in SAMPLE_DIR.iterdir()) < 10 * 2**20


def test_csv_companions_are_ignored_in_a_scan():
    names = {p.name for p in iter_dicom_paths([SAMPLE_DIR])}
    assert names == {s.name for s in SAMPLES}


def test_manual_calipers_two_observers_twice_each():
    with open(SAMPLE_DIR / "manual_calipers.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["observer"] for r in rows} == {"A", "B"}
    per_exam = {}
    for r in rows:
        per_exam.setdefault((r["study_instance_uid"], r["observer"]), []).append(float(r["cl_mm"]))
    assert all(len(v) == 2 for v in per_exam.values())


def test_regeneration_is_byte_for_byte(tmp_path):
    first, second = write_samples(tmp_path / "a"), write_samples(tmp_path / "b")
    for a, b in zip(first, second):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), a.name
    assert (tmp_path / "a" / "ground_truth.csv").read_bytes() == (tmp_path / "b" / "ground_truth.csv").read_bytes()
