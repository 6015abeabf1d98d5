"""Per-file work over folders: one result per frame, one recorded failure per bad file."""

from __future__ import annotations

import pytest

from cervical_length.engine import iter_frame_results

from .conftest import gradient_rgb


def test_good_corrupt_and_text_files(make_dicom, tmp_path):
    good = make_dicom("exam/good.dcm", frames_rgb=gradient_rgb(frames=3), photometric="MONOCHROME2")
    corrupt = make_dicom("exam/corrupt.dcm", photometric="YBR_FULL_422", compression="jpeg_baseline")
    corrupt.write_bytes(corrupt.read_bytes()[:900])
    (tmp_path / "exam" / "readme.txt").write_text("not an image")
    results = list(iter_frame_results([tmp_path / "exam"]))
    by_file = {}
    for r in results:
        by_file.setdefault(r.file.rsplit("/", 1)[-1], []).append(r)
    assert [r.frame for r in by_file["good.dcm"]] == [1, 2, 3]
    assert {r.status for r in by_file["good.dcm"]} == {"read"}
    assert by_file["good.dcm"][0].mm_per_pixel_x == pytest.approx(0.1)
    (bad,) = by_file["corrupt.dcm"]
    assert bad.status == "failed" and bad.frame is None and bad.error.startswith("CorruptDicomError: ")
    (text,) = by_file["readme.txt"]
    assert text.status == "failed" and "NotDicomError: not a DICOM file" in text.error
    assert str(good) in by_file["good.dcm"][0].file


def test_uncalibrated_and_user_scale(make_dicom):
    path = make_dicom(regions=[])
    (plain,) = iter_frame_results([path])
    assert (plain.status, plain.calibration_source, plain.mm_per_pixel_x) == ("uncalibrated", "none", None)
    (scaled,) = iter_frame_results([path], user_mm_per_pixel=(0.2, 0.25))
    assert (scaled.status, scaled.calibration_source, scaled.mm_per_pixel_y) == ("read", "user", 0.25)


def test_header_warnings_become_notes_not_output(make_dicom, recwarn):
    from cervical_length.dicom import RegionSpec

    path = make_dicom(regions=[RegionSpec((0, 0, 999, 999), 0.01, 0.01)], modality="OT")
    (result,) = iter_frame_results([path])
    assert "clipped" in result.notes and "Modality is OT" in result.notes
    assert str(path) not in result.notes  # the file is its own column
    assert len(recwarn) == 0


def test_output_folder_inside_input_is_skipped(make_dicom, tmp_path):
    make_dicom("a.dcm")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "measurements.csv").write_text("file\n")
    files = {r.file for r in iter_frame_results([tmp_path], exclude=[tmp_path / "results"])}
    assert files == {str(tmp_path / "a.dcm")}
