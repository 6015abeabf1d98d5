"""Outputs written and read back: CSV rows, overlay images and their names."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest

from cervical_length.engine import FrameResult
from cervical_length.measure import measure_cervix
from cervical_length.outputs import CsvWriter, csv_cell, encode_png, overlay_caption, overlay_image, overlay_name, write_png

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


def test_overlay_tints_each_lip_toward_its_colour():
    labels = straight_lips()  # anterior rows 90-149, posterior rows 150-209, columns 100-299
    m = measure_cervix(labels, (0.1, 0.1))
    image = overlay_image(np.full((*labels.shape, 3), 100, dtype=np.uint8), labels, m)
    # 0.72 x 100 + 0.28 x the lip's colour, rounded: anterior (70, 140, 255), posterior (80, 220, 120).
    assert image[110, 200].tolist() == [92, 111, 143]
    assert image[190, 200].tolist() == [94, 134, 106]
    assert image[20, 200].tolist() == [100, 100, 100]  # outside the lips
    assert image[110, 90].tolist() == [100, 100, 100]  # beside them, inside the tinted box's rows


def test_overlay_writes_its_values_on_a_dark_panel():
    # Over a white screen (a scanner's burned-in text there), the values' corner is darkened to a
    # quarter, the rest of the frame is untouched.
    labels = straight_lips()
    m = measure_cervix(labels, (0.1, 0.1))
    image = overlay_image(np.full((*labels.shape, 3), 255, dtype=np.uint8), labels, m)
    rows, cols = labels.shape
    corner = image[rows - 30 :, :40]
    assert (corner.reshape(-1, 3) == 63).all(axis=1).mean() > 0.5  # mostly panel, some glyphs
    assert (image[: rows // 4, cols // 2 :] == 255).all()


@pytest.mark.parametrize(
    "length_mm,base_on_hull,funnel_line",
    [
        (4.2, False, "Funnel 4.2 x 7.0 mm, 18 %, Y, under 5 mm: confirm"),
        (5.0, False, "Funnel 5.0 x 7.0 mm, 18 %, Y"),
        (5.0, True, "Funnel 5.0 x 7.0 mm (width to the lips' outline), 18 %, Y"),
    ],
)
def test_overlay_caption_gives_the_values_and_asks_to_confirm_a_small_funnel(length_mm, base_on_hull, funnel_line):
    from cervical_length.measure import Funnel, Measurement

    funnel = Funnel(length_mm, 7.0, 18.4, "Y", (0.0, 0.0), ((0.0, 0.0), (0.0, 1.0)), base_on_hull=base_on_hull)
    m = Measurement(True, (), cl_mm=19.04, cl_straight_mm=18.96, funnel=funnel, confidence=0.956)
    assert overlay_caption(m) == ["CL 19.0 mm traced, 19.0 mm straight", funnel_line, "confidence 0.96"]
    assert overlay_caption(Measurement(False, ("os not found", "low model confidence"))) == ["NOT MEASURABLE", "os not found", "low model confidence"]


def test_overlay_draws_the_auca_wall(tmp_path):
    from dataclasses import replace

    from cervical_length.measure import Auca

    labels = straight_lips()
    grey = grey_for(labels)
    m = measure_cervix(labels, (0.1, 0.1), grey=grey)
    rgb = np.zeros((*labels.shape, 3), dtype=np.uint8)
    plain = overlay_image(rgb, labels, m)
    wall = ((5.0, 5.0), (5.0, 60.0))  # along row 5, clear of the lips and the text
    image = overlay_image(rgb, labels, replace(m, auca=Auca(118.0, wall)))
    assert not plain[3:8, 10:55].any()
    # Anti-aliased: along the wall, the brightest of the rows around it carries the wall's colour.
    assert np.abs(image[3:8, 10:55].astype(int).max(axis=0) - (255, 150, 40)).max() <= 40


class TestEncodePng:
    @pytest.mark.parametrize("shape", [(1, 1), (7, 5), (48, 64), (1, 9, 3), (7, 5, 3), (48, 64, 3)])
    def test_decoders_read_back_the_exact_pixels(self, shape):
        from PIL import Image

        image = np.random.default_rng(sum(shape)).integers(0, 256, size=shape, dtype=np.uint8)  # every wrap of the "sub" filter
        before = image.copy()
        data = encode_png(image)
        np.testing.assert_array_equal(image, before)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), image)
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(decoded if len(shape) == 2 else cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), image)

    def test_a_non_contiguous_view(self):
        from PIL import Image

        image = np.arange(40 * 30 * 3, dtype=np.uint32).astype(np.uint8).reshape(40, 30, 3)[::2, 3:]
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(image)))), image)

    @pytest.mark.parametrize("image", [np.zeros((4, 4), np.uint16), np.zeros((4, 4, 4), np.uint8), np.zeros(4, np.uint8)])
    def test_rejects_what_it_cannot_write(self, image):
        with pytest.raises(ValueError, match="must be \\(H, W\\) or \\(H, W, 3\\) uint8"):
            encode_png(image)

    def test_unwritable_path_names_the_file(self, tmp_path):
        with pytest.raises(OSError, match="missing/o.png: could not write PNG"):
            write_png(tmp_path / "missing" / "o.png", np.zeros((2, 2), np.uint8))
