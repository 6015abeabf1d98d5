"""The DICOM Segmentation of the lips: written with highdicom, read back, its masks equal the model's."""

from __future__ import annotations

import csv
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom import dcmread

from cervical_length.cli import main
from cervical_length.seg import SEGMENTS, lip_segmentation

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


def _labels(shape: tuple[int, int]) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    labels[100:140, 200:300] = 1
    labels[140:170, 210:290] = 2
    return labels


class TestLipSegmentation:
    def test_single_frame_masks_read_back(self):
        source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
        labels = _labels((source.Rows, source.Columns))
        seg = lip_segmentation(source, {1: labels}, model_sha256="ab" * 32, tool_version="0.1.0")
        back = hd.seg.Segmentation.from_dataset(seg)
        assert back.SegmentationType == "BINARY"
        assert [s.SegmentLabel for s in back.SegmentSequence] == list(SEGMENTS.values())
        assert back.StudyInstanceUID == source.StudyInstanceUID
        assert back.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
        masks = back.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[1, 2])
        assert np.array_equal(masks[0, ..., 0], labels == 1)
        assert np.array_equal(masks[0, ..., 1], labels == 2)

    def test_a_source_without_its_type_2_identity_attributes_is_segmented_with_them_empty(self):
        source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
        del source.PatientSex, source.StudyID
        seg = lip_segmentation(source, {1: _labels((source.Rows, source.Columns))}, model_sha256="ab" * 32, tool_version="0.1.0")
        assert (seg.PatientSex, seg.StudyID, seg.PatientName) == ("", "", source.PatientName)
        assert "PatientSex" not in source

    def test_an_invalid_identity_value_is_segmented_empty(self, tmp_path):
        from cervical_length.errors import HeaderValueWarning

        from .conftest import with_raw_value

        path = tmp_path / "a.dcm"
        path.write_bytes((SAMPLES / "01_rgb_normal.dcm").read_bytes())
        source = dcmread(with_raw_value(path, "PatientBirthDate", b"14.03.1987"), stop_before_pixels=True)
        with pytest.warns(HeaderValueWarning, match=r"Patient's Birth Date written empty"):
            seg = lip_segmentation(source, {1: _labels((source.Rows, source.Columns))}, model_sha256="ab" * 32, tool_version="0.1.0")
        assert seg.PatientBirthDate == ""

    def test_multi_frame_without_frame_of_reference_is_refused(self):
        source = dcmread(SAMPLES / "04_cine_jpeg.dcm", stop_before_pixels=True)
        assert "FrameOfReferenceUID" not in source
        with pytest.raises(ValueError, match="Frame of Reference"):
            lip_segmentation(source, {2: _labels((source.Rows, source.Columns))}, model_sha256="ab" * 32, tool_version="0.1.0")

    @pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # pydicom on the malformed value, as meant
    def test_a_source_with_an_invalid_uid_is_refused(self):
        source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
        source.SOPInstanceUID = "1.2.3..4"
        with pytest.raises(ValueError, match=r"\(0008,0018\) SOP Instance UID: not valid UIDs, which a segmentation must reference"):
            lip_segmentation(source, {1: _labels((source.Rows, source.Columns))}, model_sha256="ab" * 32, tool_version="0.1.0")

    def test_label_map_must_fit_the_image(self):
        source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
        with pytest.raises(ValueError, match="does not fit"):
            lip_segmentation(source, {1: np.zeros((10, 10), np.uint8)}, model_sha256="ab" * 32, tool_version="0.1.0")


@pytest.mark.slow
def test_measure_dicom_seg_writes_one_per_single_frame_file_and_notes_the_cine(tmp_path):
    files = [str(SAMPLES / name) for name in ("03_mono_funnel.dcm", "04_cine_jpeg.dcm")]
    assert main(["measure", *files, "--out", str(tmp_path), "--workers", "1", "-q", "--dicom-seg"]) == 0
    (path,) = list((tmp_path / "seg").glob("*_lips_seg.dcm"))
    seg = hd.seg.segread(path)
    source = dcmread(SAMPLES / "03_mono_funnel.dcm", stop_before_pixels=True)
    assert path.name == f"{source.SOPInstanceUID}_lips_seg.dcm"
    masks = seg.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[1, 2])
    assert masks[0, ..., 0].sum() > 1000 and masks[0, ..., 1].sum() > 1000  # both lips segmented
    assert not (masks[0, ..., 0] & masks[0, ..., 1]).any()
    with open(tmp_path / "measurements.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cine = [r for r in rows if r["file"].endswith("04_cine_jpeg.dcm")]
    assert cine and all("no DICOM SEG: Only a single frame is supported" in r["notes"] for r in cine)
    assert all("DICOM SEG" not in r["notes"] for r in rows if r["file"].endswith("03_mono_funnel.dcm"))
