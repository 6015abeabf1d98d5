"""The DICOM SR: written with highdicom, read back, its values equal to the CSV's."""

from __future__ import annotations

import csv
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import dcmread

from cervical_length.cli import main
from cervical_length.engine import FrameResult
from cervical_length.errors import HeaderValueWarning
from cervical_length.sr import cervical_length_report

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


def _items(dataset):
    """Every content item of an SR, depth first."""
    for item in dataset.get("ContentSequence", []):
        yield item
        yield from _items(item)


def _numbers(dataset) -> dict[str, float]:
    """The SR's numeric items by code value."""
    return {i.ConceptNameCodeSequence[0].CodeValue: float(i.MeasuredValueSequence[0].NumericValue) for i in _items(dataset) if i.ValueType == "NUM"}


def _row(**changes) -> FrameResult:
    base = dict(
        file="x.dcm", sop_instance_uid="1.2", study_instance_uid="1.2.3", accession_number="", frame=3,
        mm_per_pixel_x=0.1, mm_per_pixel_y=0.1, calibration_source="us_region", status="measured", measurable=1,
        cl_mm=27.35, cl_straight_mm=27.1, funnel=1, funnel_length_mm=8.5, funnel_width_mm=6.25, funnel_shape="V", auca_deg=112.4,
        model_sha256="ab" * 32, canal_px=((10.0, 20.0), (30.5, 40.25), (50.0, 60.0)),
    )
    return FrameResult(**{**base, **changes})


def test_values_and_polyline_on_the_source_frame():
    source = dcmread(SAMPLES / "04_cine_jpeg.dcm", stop_before_pixels=True)
    sr = cervical_length_report(source, _row(), tool_version="0.1.0")
    items = list(_items(sr))
    numbers = {i.ConceptNameCodeSequence[0].CodeMeaning: i.MeasuredValueSequence[0] for i in items if i.ValueType == "NUM"}
    assert float(numbers["Cervix Length"].NumericValue) == 27.35
    assert numbers["Cervix Length"].MeasurementUnitsCodeSequence[0].CodeValue == "mm"
    assert float(numbers["Cervical funnel length"].NumericValue) == 8.5
    assert float(numbers["Cervical funnel width"].NumericValue) == 6.25
    assert float(numbers["Anterior uterocervical angle"].NumericValue) == 112.4
    assert numbers["Anterior uterocervical angle"].MeasurementUnitsCodeSequence[0].CodeValue == "deg"
    (scoord,) = [i for i in items if i.ValueType == "SCOORD"]
    assert scoord.GraphicType == "POLYLINE"
    assert [float(v) for v in scoord.GraphicData] == [20.0, 10.0, 40.25, 30.5, 60.0, 50.0]  # (column, row)
    (image,) = [i for i in _items(scoord) if i.ValueType == "IMAGE"]
    ref = image.ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == source.SOPInstanceUID and int(ref.ReferencedFrameNumber) == 3
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert any("ab" * 32 in str(i.get("TextValue", "")) for i in items)  # the model's checksum identifies the algorithm


def test_a_source_without_its_type_2_identity_attributes_is_reported_with_them_empty():
    # Anonymisers and some scanners drop them; highdicom copies each from the source.
    source = dcmread(SAMPLES / "04_cine_jpeg.dcm", stop_before_pixels=True)
    for keyword in ("PatientSex", "PatientBirthDate", "StudyID", "AccessionNumber", "ReferringPhysicianName"):
        source.pop(keyword, None)
    sr = cervical_length_report(source, _row(), tool_version="0.1.0")
    assert (sr.PatientSex, sr.PatientBirthDate, sr.StudyID, sr.AccessionNumber) == ("", "", "", "")
    assert sr.PatientName == source.PatientName and sr.StudyDate == source.StudyDate
    assert "PatientSex" not in source  # the source's header is not changed


def test_an_invalid_identity_value_is_written_empty_and_named_never_quoted(tmp_path):
    from contextlib import closing

    from cervical_length.export import export_results
    from cervical_length.store import ResultsStore

    from .conftest import with_raw_value

    source = tmp_path / "a.dcm"
    source.write_bytes((SAMPLES / "04_cine_jpeg.dcm").read_bytes())
    with_raw_value(source, "PatientBirthDate", b"1987-03-14")  # a DA written as ISO text: not a DICOM date
    header = dcmread(source, stop_before_pixels=True)
    with pytest.warns(HeaderValueWarning, match=r"^\(0010,0030\) Patient's Birth Date written empty: its value is not valid for its VR \(not shown\)$"):
        sr = cervical_length_report(header, _row(), tool_version="0.1.0")
    assert sr.PatientBirthDate == "" and sr.PatientName == header.PatientName
    row = _row(file=str(source), study_instance_uid=str(header.StudyInstanceUID), sop_instance_uid=str(header.SOPInstanceUID), accession_number="ACC")
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        store.add_file(source, [(row, None)])
        (tmp_path / "out").mkdir()
        exported = export_results(store, tmp_path / "out")
    assert exported.reports == 1
    assert exported.problems == ["SR for ACC: (0010,0030) Patient's Birth Date written empty: its value is not valid for its VR (not shown)"]
    assert "1987" not in (tmp_path / "out" / "problems.txt").read_text(encoding="utf-8")


def test_a_source_header_an_sr_cannot_be_made_from_is_a_line_not_a_crash(tmp_path):
    from contextlib import closing

    from cervical_length.export import export_results
    from cervical_length.store import ResultsStore

    raw = (SAMPLES / "04_cine_jpeg.dcm").read_bytes()
    at = raw.index(b"\x10\x00\x40\x00CS")  # (0010,0040) Patient Sex, explicit VR
    source = tmp_path / "damaged.dcm"
    source.write_bytes(raw[: at + 4] + b"QQ" + raw[at + 6 :])  # a VR no standard has: pydicom cannot convert it
    row = _row(file=str(source), study_instance_uid=str(dcmread(source).StudyInstanceUID), sop_instance_uid=str(dcmread(source).SOPInstanceUID))
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        store.add_file(source, [(row, None)])
        (tmp_path / "out").mkdir()
        exported = export_results(store, tmp_path / "out")
    (problem,) = exported.problems
    assert problem == f"no SR for {row.study_instance_uid}: {source}: its header cannot be copied into a report (NotImplementedError; the value is not shown)"
    assert exported.reports == 0


def test_only_measured_frames_are_reported():
    source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
    with pytest.raises(ValueError, match="only a measured frame"):
        cervical_length_report(source, _row(status="not_measurable", cl_mm=None), tool_version="0.1.0")


@pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # pydicom on the malformed value, as meant
@pytest.mark.parametrize("keyword, value", [("StudyInstanceUID", "1.2.<b>"), ("SOPInstanceUID", "../x"), ("SeriesInstanceUID", "1.02.3")])
def test_a_source_with_an_invalid_uid_is_not_reported(keyword, value):
    source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
    source[keyword].value = value  # as a damaged or hand-made header may hold it
    with pytest.raises(ValueError, match=r"the source's \([0-9A-F]{4},[0-9A-F]{4}\) [A-Za-z ]+ Instance UID: not valid UIDs, which a report must reference"):
        cervical_length_report(source, _row(), tool_version="0.1.0")


@pytest.mark.slow
def test_measure_writes_an_sr_equal_to_the_csv(tmp_path):
    assert main(["measure", str(SAMPLES / "03_mono_funnel.dcm"), "--out", str(tmp_path), "--workers", "1", "-q"]) == 0
    with open(tmp_path / "measurements.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    (path,) = list((tmp_path / "sr").glob("*.dcm"))
    sr = hd.sr.srread(path)
    values = _numbers(sr)
    assert values["11961-0"] == float(row["cl_mm"])
    assert values["FUNNEL-LENGTH"] == float(row["funnel_length_mm"])
    assert values["AUCA"] == float(row["auca_deg"])
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR


def test_no_angle_item_without_an_angle():
    source = dcmread(SAMPLES / "01_rgb_normal.dcm", stop_before_pixels=True)
    sr = cervical_length_report(source, _row(auca_deg=None), tool_version="0.1.0")
    assert "AUCA" not in _numbers(sr)


@pytest.mark.slow
def test_an_unchanged_report_is_not_written_again(tmp_path):
    args = ["--out", str(tmp_path), "--workers", "1", "-q"]
    assert main(["measure", str(SAMPLES / "03_mono_funnel.dcm"), *args]) == 0
    (path,) = list((tmp_path / "sr").glob("*.dcm"))
    first, stat = dcmread(path).SOPInstanceUID, path.stat()
    assert main(["export", str(tmp_path), "-q"]) == 0
    assert dcmread(path).SOPInstanceUID == first and path.stat().st_mtime_ns == stat.st_mtime_ns  # kept: a PACS has it already
    path.unlink()
    assert main(["export", str(tmp_path), "-q"]) == 0
    again = hd.sr.srread(path)  # written anew, under a new UID
    assert again.SOPInstanceUID != first
    assert _numbers(again)["11961-0"] > 0


@pytest.mark.slow
def test_the_sr_of_a_study_that_loses_its_exam_length_is_removed_unless_changed(tmp_path, capsys):
    from pydicom.uid import generate_uid

    args = ["--out", str(tmp_path / "out"), "--workers", "1", "-q"]
    assert main(["measure", str(SAMPLES / "03_mono_funnel.dcm"), *args]) == 0
    (path,) = list((tmp_path / "out" / "sr").glob("*.dcm"))
    other = dcmread(SAMPLES / "03_mono_funnel.dcm")  # the same study UID under another order
    other.AccessionNumber, other.SOPInstanceUID = "OTHER-ORDER", generate_uid()
    other.file_meta.MediaStorageSOPInstanceUID = other.SOPInstanceUID
    other.save_as(tmp_path / "other.dcm")
    capsys.readouterr()
    assert main(["measure", str(tmp_path / "other.dcm"), *args]) == 0
    printed = capsys.readouterr()
    assert not path.exists() and "0 DICOM SR in sr/" in printed.out
    assert f"sr/{path.name} removed: its study has no exam-level length in these results" in printed.err
    assert main(["export", str(tmp_path / "out"), "-q"]) == 0
    assert "removed" not in capsys.readouterr().err  # said once

    assert main(["measure", str(SAMPLES / "03_mono_funnel.dcm"), "--out", str(tmp_path / "out2"), "--workers", "1", "-q"]) == 0
    (kept,) = list((tmp_path / "out2" / "sr").glob("*.dcm"))
    kept.write_bytes(b"edited")  # not the file the tool wrote any more: never removed
    assert main(["measure", str(tmp_path / "other.dcm"), "--out", str(tmp_path / "out2"), "--workers", "1", "-q"]) == 0
    assert kept.read_bytes() == b"edited" and "left as it is" in capsys.readouterr().err


@pytest.mark.slow
def test_an_export_from_another_folder_finds_the_sources_of_a_run_given_relative_paths(tmp_path, monkeypatch):
    import shutil

    (tmp_path / "run").mkdir()
    shutil.copy(SAMPLES / "03_mono_funnel.dcm", tmp_path / "run" / "study.dcm")
    monkeypatch.chdir(tmp_path / "run")
    assert main(["measure", "study.dcm", "--out", "out", "--workers", "1", "-q", "--no-sr"]) == 0
    monkeypatch.chdir(tmp_path)  # the rows say "study.dcm", which does not resolve from here
    assert main(["export", "run/out", "-q"]) == 0
    (path,) = list((tmp_path / "run" / "out" / "sr").glob("*.dcm"))
    assert _numbers(hd.sr.srread(path))["11961-0"] > 0


@pytest.mark.slow
def test_no_sr_writes_none_until_an_export_without_the_flag(tmp_path, capsys, monkeypatch):
    import cervical_length.export

    assert main(["measure", str(SAMPLES / "03_mono_funnel.dcm"), "--out", str(tmp_path), "--workers", "1", "-q", "--no-sr"]) == 0
    assert not (tmp_path / "sr").exists()
    assert "DICOM SR" not in capsys.readouterr().out
    monkeypatch.setattr(cervical_length.export, "POOL_MIN", 1)  # written by a forked process, as for a large archive
    assert main(["export", str(tmp_path), "-q"]) == 0
    assert "1 DICOM SR in sr/" in capsys.readouterr().out
    (path,) = list((tmp_path / "sr").glob("*.dcm"))
    with open(tmp_path / "measurements.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    values = _numbers(hd.sr.srread(path))
    assert values["11961-0"] == float(row["cl_mm"])
