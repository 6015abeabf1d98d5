"""Outputs written and read back: CSV rows, overlay images and their names."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from cervical_length.engine import FrameResult
from cervical_length.measure import measure_cervix
from cervical_length.outputs import CsvWriter, csv_cell, overlay_image, overlay_name, write_png

from .test_measure import grey_for, straight_lips


def test_required_columns_present_in_order():
    required = ["file", "sop_instance_uid", "frame", "mm_per_pixel_x", "mm_per_pixel_y", "calibration_source", "status", "cl_mm", "cl_straight_mm", "error"]
    columns = [f for f in FrameResult.__dataclass_fields__]
    assert [c for c in columns if c in required] == required


def test_written_and_read_back(tmp_path):
    rows = [
        FrameResult("a.dcm", "1.2.3", "1.2", "", 1, 0.1, 0.125, "us_region", "measured", measurable=1, cl_mm=31.25),
        FrameResult("b.txt", "", "", "", None, None, None, "none", "failed", error="NotDicomError: not a DICOM file"),
    ]
    path = tmp_path / "measurements.csv"
    with CsvWriter(path, FrameResult) as out:
        for row in rows:
            out.write(row)
    with open(path, newline="", encoding="utf-8") as handle:
        back = list(csv.DictReader(handle))
    assert back[0]["mm_per_pixel_y"] == "0.125" and back[0]["frame"] == "1" and back[0]["cl_mm"] == "31.25"
    assert back[1]["frame"] == "" and back[1]["error"] == "NotDicomError: not a DICOM file"


@pytest.mark.parametrize(
    "value,expected",
    [(None, ""), (0.1, "0.1"), (1 / 3, "0.3333333333"), (3, "3"), ("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("@x", "'@x"), ("a=b", "a=b")],
)
def test_csv_cell(value, expected):
    assert csv_cell(value) == expected


@pytest.mark.parametrize("uid,expected", [("1.2.840.5", "1.2.840.5_0003.png"), ("../../etc/passwd", None), ("1.2;rm -rf", None)])
def test_overlay_names_never_come_from_hostile_text(uid, expected):
    name = overlay_name(uid, 3)
    if expected:
        assert name == expected
    else:
        assert "/" not in name and ";" not in name and name.endswith("_0003.png") and len(name) == 32 + 9


def test_overlay_drawn_and_written(tmp_path):
    labels = straight_lips()
    grey = grey_for(labels)
    m = measure_cervix(labels, (0.1, 0.1), grey=grey)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    before = rgb.copy()
    image = overlay_image(rgb, labels, m)
    np.testing.assert_array_equal(rgb, before)  # the frame itself is untouched
    assert image.shape == rgb.shape and (image != rgb).any()
    write_png(tmp_path / "o.png", image)
    back = cv2.cvtColor(cv2.imread(str(tmp_path / "o.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, image)
