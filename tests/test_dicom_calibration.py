"""Millimetre scale from US regions, Pixel Spacing, user override; exact values from the headers."""

from __future__ import annotations

import re
import warnings

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from cervical_length.dicom import RegionSpec, calibration_from_dataset, read_source, user_spacing
from cervical_length.errors import (
    CalibrationError,
    CorruptDicomError,
    HeaderValueWarning,
    NoTissueRegionError,
    RegionBoundsClippedWarning,
)

from .conftest import with_raw_value

TISSUE = RegionSpec((0, 0, 159, 119), 0.01, 0.01)


class TestUltrasoundRegion:
    def test_one_region_cm_to_mm(self, make_dicom):
        cal = read_source(make_dicom(regions=[RegionSpec((10, 5, 150, 110), 0.0125, 0.0125)])).calibration
        assert cal.source == "us_region"
        assert cal.mm_per_pixel_x == pytest.approx(0.125, rel=1e-12)
        assert cal.mm_per_pixel_y == pytest.approx(0.125, rel=1e-12)
        region = cal.region
        assert (region.min_col, region.min_row, region.max_col, region.max_row) == (10, 5, 150, 110)
        assert region.bounds == (10, 5, 150, 110)  # (col, row) inclusive, as sector_mask takes them
        assert region.crop == (5, 10, 111, 151)  # (row, col) slice limits, stops exclusive
        assert not region.clipped

    def test_anisotropic_spacing_kept_per_axis(self, make_dicom):
        cal = read_source(make_dicom(regions=[RegionSpec((0, 0, 159, 119), 0.01, 0.015)])).calibration
        assert (cal.mm_per_pixel_x, cal.mm_per_pixel_y) == pytest.approx((0.1, 0.15), rel=1e-12)
        assert cal.spacing_at(50, 50) == pytest.approx((0.15, 0.1), rel=1e-12)  # (row, col)
        for scaled in (cal, cal.region):  # the frame's scale and its region's, both (row, col)
            assert scaled.calibrated and scaled.spacing_mm == pytest.approx((0.15, 0.1), rel=1e-12)

    def test_two_tissue_regions_each_point_knows_its_region(self, make_dicom):
        left = RegionSpec((0, 0, 89, 119), 0.01, 0.01)  # larger: the frame-level scale
        right = RegionSpec((90, 0, 159, 119), 0.02, 0.02)
        cal = read_source(make_dicom(regions=[right, left])).calibration
        assert cal.mm_per_pixel_x == pytest.approx(0.1)
        assert [r.index for r in cal.regions] == [1, 0]
        assert cal.region_at(60, 40).index == 1
        assert cal.region_at(60, 120).index == 0
        assert cal.spacing_at(60, 120) == pytest.approx((0.2, 0.2))
        assert cal.spacing_at(60, 40) == pytest.approx((0.1, 0.1))

    @pytest.mark.parametrize("spatial_format,data_type", [(3, 3), (4, 9), (1, 2), (2, 1)])
    def test_doppler_waveform_or_mmode_region_beside_tissue_is_ignored(self, make_dicom, spatial_format, data_type):
        other = RegionSpec((0, 80, 159, 119), 0.5, 0.0, spatial_format=spatial_format, data_type=data_type, units_x=4, units_y=7)
        tissue = RegionSpec((0, 0, 159, 79), 0.02, 0.02)
        cal = read_source(make_dicom(regions=[other, tissue])).calibration
        assert [r.index for r in cal.regions] == [1]
        assert cal.mm_per_pixel_y == pytest.approx(0.2)
        assert cal.region_at(100, 10) is None
        assert cal.spacing_at(100, 10) is None

    def test_doppler_only_raises(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((0, 0, 159, 119), 0.5, 1.0, spatial_format=3, data_type=3, units_x=4, units_y=7)])
        with pytest.raises(NoTissueRegionError, match=rf"{path.name}.*no 2D tissue region inside the image \(its items: 1 Doppler, M-mode or waveform\)"):
            read_source(path)

    def test_region_outside_the_image_only_raises_saying_so(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((0, 500, 159, 600), 0.05, 0.05)])
        with pytest.raises(NoTissueRegionError, match=r"no 2D tissue region inside the image \(its items: 1 tissue, outside the image\)"):
            read_source(path)

    def test_tissue_region_without_bounds_is_skipped_with_a_warning(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((0, 0, 79, 119), 0.02, 0.02), TISSUE])
        ds = dcmread(path)
        del ds.SequenceOfUltrasoundRegions[1].RegionLocationMaxY1
        ds.save_as(path)
        with pytest.warns(HeaderValueWarning, match="region items 2: 2D tissue without Region Location bounds, ignored"):
            cal = read_source(path).calibration
        assert [r.index for r in cal.regions] == [0] and cal.mm_per_pixel_x == pytest.approx(0.2)
        del ds.SequenceOfUltrasoundRegions[0].RegionLocationMinX0
        ds.save_as(path)
        with pytest.raises(NoTissueRegionError, match=r"\(its items: 2 tissue, without Region Location bounds \(0018,6018\)-\(0018,601E\)\)"):
            read_source(path)

    def test_non_cm_units_give_no_scale_and_say_why(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((0, 0, 159, 119), 0.01, 0.01, units_x=0, units_y=0)])
        said = (
            "the main tissue region (ultrasound region item 1) gives no millimetre scale: "
            "(0018,6024)/(0018,6026) Physical Units X/Y Direction 0/0, not 3 (cm)"
        )
        with pytest.warns(HeaderValueWarning, match=re.escape(f"{path}: {said}")):
            cal = read_source(path).calibration
        assert cal.source == "none" and not cal.calibrated
        assert cal.region is not None  # the bounds still crop the sector
        assert cal.notes == (said,) and cal.region.no_scale_why == said.split(": ", 1)[1]

    def test_non_cm_units_fall_back_to_pixel_spacing(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((0, 0, 159, 119), 0.01, 0.01, units_x=1, units_y=1)], pixel_spacing_mm=(0.2, 0.3))
        with pytest.warns(HeaderValueWarning, match=r"Physical Units X/Y Direction 1/1, not 3 \(cm\)"):
            cal = read_source(path).calibration
        assert (cal.source, cal.mm_per_pixel_x, cal.mm_per_pixel_y) == ("pixel_spacing", 0.3, 0.2)

    @pytest.mark.parametrize("delta, said", [(0.0, "0/0.01"), (-0.01, "-0.01/0.01"), (10.0, "10/0.01")])
    def test_implausible_delta_gives_no_scale_and_says_why(self, make_dicom, delta, said):
        path = make_dicom(regions=[RegionSpec((0, 0, 159, 119), delta, 0.01)])
        with pytest.warns(HeaderValueWarning, match=rf"\(0018,602C\)/\(0018,602E\) Physical Delta X/Y {said} cm, not pixel sizes of 0.001-5 mm$"):
            cal = read_source(path).calibration
        assert not cal.calibrated and cal.source == "none"

    def test_several_values_where_one_belongs_is_a_damaged_header(self, make_dicom):
        ds = dcmread(make_dicom(regions=[TISSUE, RegionSpec((0, 0, 79, 59), 0.01, 0.01)]))
        ds.SequenceOfUltrasoundRegions[1].PhysicalDeltaX = [0.01, 0.02]
        said = "ultrasound region item 2: (0018,602C) Physical Delta X holds 2 values where the standard has one: the header is damaged"
        with pytest.raises(CorruptDicomError, match=re.escape(f"scan.dcm: {said}")):
            calibration_from_dataset(ds, path="scan.dcm")

    def test_absent_delta_is_said_absent(self, make_dicom):
        ds = dcmread(make_dicom(regions=[RegionSpec((0, 0, 159, 119), 0.01, 0.01)]))
        del ds.SequenceOfUltrasoundRegions[0].PhysicalDeltaY
        with pytest.warns(HeaderValueWarning, match="Physical Delta X/Y 0.01/absent cm"):
            assert calibration_from_dataset(ds).source == "none"

    def test_bounds_past_image_are_clipped_with_a_warning(self, make_dicom):
        path = make_dicom(regions=[RegionSpec((5, 10, 400, 300), 0.01, 0.01)])
        with pytest.warns(RegionBoundsClippedWarning, match="clipped"):
            cal = read_source(path).calibration
        region = cal.region
        assert (region.min_col, region.min_row, region.max_col, region.max_row) == (5, 10, 159, 119)
        assert region.clipped and "clipped" in cal.notes[0]

    def test_region_entirely_outside_image_is_dropped(self, make_dicom):
        path = make_dicom(regions=[TISSUE, RegionSpec((0, 500, 159, 600), 0.05, 0.05)])
        assert [r.index for r in read_source(path).calibration.regions] == [0]


class TestOtherSources:
    def test_pixel_spacing_only_row_col_order(self, make_dicom):
        cal = read_source(make_dicom(regions=[], pixel_spacing_mm=(0.15, 0.12))).calibration
        assert (cal.source, cal.mm_per_pixel_x, cal.mm_per_pixel_y) == ("pixel_spacing", 0.12, 0.15)
        assert cal.region is None
        assert cal.spacing_at(3, 4) == (0.15, 0.12)

    def test_imager_pixel_spacing(self, make_dicom):
        path = make_dicom(regions=[])
        ds = dcmread(path)
        ds.ImagerPixelSpacing = [0.2, 0.25]
        cal = calibration_from_dataset(ds)
        assert (cal.source, cal.mm_per_pixel_x, cal.mm_per_pixel_y) == ("imager_pixel_spacing", 0.25, 0.2)

    @pytest.mark.parametrize(
        "raw, said",
        [
            (b"x.x\\y.yy", "'x.x\\\\y.yy' is not a number"),
            (b"0.1 ", "'0.1' is not two plausible values of 0.001-5 mm"),
            (b"0\\0 ", "'0\\\\0' is not two plausible values"),
            (b"nan\\0.2 ", "'nan\\\\0.2' is not two plausible values"),
        ],
    )
    def test_unusable_pixel_spacing_is_ignored_and_said(self, make_dicom, raw, said):
        path = with_raw_value(make_dicom(regions=[], pixel_spacing_mm=(0.15, 0.15)), "PixelSpacing", raw)
        with pytest.warns(HeaderValueWarning, match=rf"{path.name}: \(0028,0030\) Pixel Spacing {said}"):
            cal = read_source(path).calibration
        assert (cal.source, cal.calibrated) == ("none", False)
        assert cal.notes[0].startswith("(0028,0030) Pixel Spacing") and cal.notes[0].endswith(": ignored")

    def test_unusable_pixel_spacing_falls_back_to_imager_pixel_spacing(self, make_dicom):
        path = with_raw_value(make_dicom(regions=[], pixel_spacing_mm=(0.15, 0.15)), "PixelSpacing", b"x.x\\y.yy")
        ds = dcmread(path)
        ds.ImagerPixelSpacing = [0.2, 0.25]
        with pytest.warns(HeaderValueWarning, match="Pixel Spacing"):
            cal = calibration_from_dataset(ds)
        assert (cal.source, cal.mm_per_pixel_x, cal.mm_per_pixel_y) == ("imager_pixel_spacing", 0.25, 0.2)

    def test_region_wins_over_pixel_spacing(self, make_dicom):
        cal = read_source(make_dicom(pixel_spacing_mm=(0.5, 0.5))).calibration
        assert cal.source == "us_region" and cal.mm_per_pixel_x == pytest.approx(0.1)

    def test_no_calibration_is_uncalibrated(self, make_dicom):
        cal = read_source(make_dicom(regions=[])).calibration
        assert (cal.source, cal.mm_per_pixel_x, cal.mm_per_pixel_y, cal.calibrated) == ("none", None, None, False)
        assert cal.spacing_at(1, 1) is None

    def test_user_scale_only_when_header_has_none(self, make_dicom):
        bare = read_source(make_dicom(regions=[]), user_mm_per_pixel=(0.3, 0.4)).calibration
        assert (bare.source, bare.mm_per_pixel_x, bare.mm_per_pixel_y) == ("user", 0.3, 0.4)
        headed = read_source(make_dicom(), user_mm_per_pixel=(0.3, 0.4)).calibration
        assert headed.source == "us_region" and headed.mm_per_pixel_x == pytest.approx(0.1)


class TestUserSpacing:
    @pytest.mark.parametrize(
        "text,expected", [("0.1", (0.1, 0.1)), ("0.1,0.2", (0.1, 0.2)), (" 0.05 , 0.05 ", (0.05, 0.05)), (0.3, (0.3, 0.3))]
    )
    def test_parses(self, text, expected):
        assert user_spacing(text) == expected

    @pytest.mark.parametrize(
        "text,message", [("abc", "expected a number"), ("0", "outside the plausible range"), ("-1", "outside"), ("1,2,3", "got 3"), ("nan", "outside")]
    )
    def test_rejects(self, text, message):
        with pytest.raises(CalibrationError, match=message):
            user_spacing(text)


class TestPydicomUltrasoundExports:
    """Real scanner exports bundled with pydicom; their region bounds run past the downsampled images."""

    def test_ybr_multiframe_region(self):
        with pytest.warns(RegionBoundsClippedWarning):
            cal = read_source(get_testdata_file("examples_ybr_color.dcm")).calibration
        assert cal.source == "us_region"
        assert cal.mm_per_pixel_x == pytest.approx(0.5104970559477806, rel=1e-12)
        assert cal.mm_per_pixel_y == pytest.approx(0.5104970559477806, rel=1e-12)
        r = cal.region
        assert (r.min_col, r.min_row, r.max_col, r.max_row) == (84, 31, 319, 239)

    def test_palette_tissue_region_and_ecg_region(self):
        with pytest.warns(RegionBoundsClippedWarning):
            cal = read_source(get_testdata_file("examples_palette.dcm")).calibration
        assert cal.mm_per_pixel_x == pytest.approx(0.2622878766196998, rel=1e-12)
        assert [r.index for r in cal.regions] == [0]  # the ECG trace (item 2) is not tissue
        r = cal.region
        assert (r.min_col, r.min_row, r.max_col, r.max_row) == (120, 60, 799, 349)

    def test_unclipped_header_gives_no_warning(self, make_dicom):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            read_source(make_dicom())
