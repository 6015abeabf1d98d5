"""measurements.csv written and read back."""

from __future__ import annotations

import csv

import pytest

from cervical_length.engine import FrameResult
from cervical_length.outputs import MEASUREMENT_COLUMNS, MeasurementsCsvWriter, csv_cell


def test_required_columns_present_in_order():
    required = ["file", "sop_instance_uid", "frame", "mm_per_pixel_x", "mm_per_pixel_y", "calibration_source", "status", "error"]
    assert [c for c in MEASUREMENT_COLUMNS if c in required] == required


def test_written_and_read_back(tmp_path):
    rows = [
        FrameResult("a.dcm", "1.2.3", "1.2", 1, 0.1, 0.125, "us_region", "read"),
        FrameResult("b.txt", "", "", None, None, None, "none", "failed", "NotDicomError: not a DICOM file"),
    ]
    path = tmp_path / "measurements.csv"
    with MeasurementsCsvWriter(path) as out:
        for row in rows:
            out.write(row)
    with open(path, newline="", encoding="utf-8") as handle:
        back = list(csv.DictReader(handle))
    assert back[0]["mm_per_pixel_y"] == "0.125" and back[0]["frame"] == "1"
    assert back[1]["frame"] == "" and back[1]["error"] == "NotDicomError: not a DICOM file"


@pytest.mark.parametrize(
    "value,expected",
    [(None, ""), (0.1, "0.1"), (1 / 3, "0.3333333333"), (3, "3"), ("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("@x", "'@x"), ("a=b", "a=b")],
)
def test_csv_cell(value, expected):
    assert csv_cell(value) == expected
