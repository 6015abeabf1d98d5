"""Sonographers' cervical lengths from OB-GYN ultrasound reports (cervical_length.dicom._calipers)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from cervical_length.cli import main
from cervical_length.compare import read_readings
from cervical_length.dicom import CaliperReport, latest_per_study, read_caliper_report
from cervical_length.errors import CorruptDicomError, NotCaliperReportError, NotDicomError

from .conftest import cervix_length_item, write_obgyn_report


class TestReadCaliperReport:
    def test_readings_in_mm_the_shortest_is_the_report_s_and_derived_values_are_left_out(self, tmp_path):
        path = write_obgyn_report(
            tmp_path / "r.dcm", "1.2.3", [cervix_length_item("31.4"), cervix_length_item("2.96", "cm"), cervix_length_item("30.1", derived=True), cervix_length_item("30.8")]
        )
        report = read_caliper_report(path)
        assert report.study_instance_uid == "1.2.3" and report.written == "20261127101500"
        assert report.lengths_mm == pytest.approx((31.4, 29.6, 30.8), abs=1e-12)
        assert report.cl_mm == pytest.approx(29.6, abs=1e-12)

    def test_an_item_without_a_value_is_no_reading(self, tmp_path):
        empty = cervix_length_item("0")
        del empty.MeasuredValueSequence
        report = read_caliper_report(write_obgyn_report(tmp_path / "r.dcm", "1.2.3", [empty, cervix_length_item("24.0")]))
        assert report.lengths_mm == (24.0,)

    @pytest.mark.parametrize(
        "items,root,message",
        [
            ([cervix_length_item("30")], ("126000", "DCM", "Imaging Measurement Report"), r"not an OB-GYN Ultrasound Procedure Report \(root concept \(125000, DCM\)\)"),
            ([], None, r"holds no Cervix Length \(11961-0, LN\) reading"),
            ([cervix_length_item("30", derived=True)], None, r"holds no Cervix Length \(11961-0, LN\) reading: only 1 value\(s\) the scanner derived"),
            ([cervix_length_item("1.2", "[in_i]")], None, r"in units '\[in_i\]', not mm or cm"),
            ([cervix_length_item("300")], None, r"of 300 mm is not a cervix"),
        ],
    )
    def test_unusable_reports_are_refused_naming_the_file_and_the_reason(self, tmp_path, items, root, message):
        path = write_obgyn_report(tmp_path / "r.dcm", "1.2.3", items, **({"root": root} if root else {}))
        with pytest.raises(NotCaliperReportError, match=message) as caught:
            read_caliper_report(path)
        assert str(caught.value).startswith(str(path))

    def test_a_reading_without_a_number_and_a_tree_too_deep_are_refused(self, tmp_path):
        broken = cervix_length_item("30")
        del broken.MeasuredValueSequence[0].NumericValue
        with pytest.raises(NotCaliperReportError, match=r"has no readable Numeric Value \(0040,A30A\)"):
            read_caliper_report(write_obgyn_report(tmp_path / "a.dcm", "1.2.3", [broken]))
        nested = cervix_length_item("30")
        for _ in range(40):  # a hostile file: followed no deeper than a report goes
            container = Dataset()
            container.RelationshipType, container.ValueType = "CONTAINS", "CONTAINER"
            container.ContentSequence = Sequence([nested])
            nested = container
        with pytest.raises(NotCaliperReportError, match=r"nested more than 32 levels deep"):
            read_caliper_report(write_obgyn_report(tmp_path / "b.dcm", "1.2.3", [nested]))

    @pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
    def test_a_report_without_a_study_uid_cannot_be_matched(self, tmp_path):
        with pytest.raises(NotCaliperReportError, match=r"Study Instance UID \(0020,000D\) 'n/a' is missing or not a UID"):
            read_caliper_report(write_obgyn_report(tmp_path / "r.dcm", "n/a", [cervix_length_item("30")]))

    def test_a_damaged_report_is_a_corrupt_file_not_a_crash(self, tmp_path):
        path = write_obgyn_report(tmp_path / "r.dcm", "1.2.3", [cervix_length_item("30")])
        data = path.read_bytes()
        at = data.index(b"\x40\x00\x43\xa0SQ")  # the root's (0040,A043) Concept Name Code Sequence, explicit VR
        path.write_bytes(data[: at + 4] + b"QQ" + data[at + 6 :])  # pydicom converts it only when it is read
        with pytest.raises(CorruptDicomError, match=re.escape(f"{path}: the DICOM header is damaged (NotImplementedError: Unknown Value Representation 'QQ'")):
            read_caliper_report(path)

    def test_a_text_file_is_not_dicom(self, tmp_path):
        (tmp_path / "notes.txt").write_text("CL 30 mm")
        with pytest.raises(NotDicomError):
            read_caliper_report(tmp_path / "notes.txt")


def test_the_latest_report_of_a_study_supersedes_the_earlier():
    first = CaliperReport(Path("a"), "1.2.3", "20261127101500", (31.0,))
    amended = CaliperReport(Path("b"), "1.2.3", "20261127103000", (29.0,))
    other = CaliperReport(Path("c"), "1.2.4", "", (40.0,))
    assert latest_per_study([amended, other, first]) == ([amended, other], [first])
    again = CaliperReport(Path("d"), "1.2.3", "20261127103000", (28.0,))
    assert latest_per_study([amended, again]) == ([again], [amended])  # same time: the later given


def test_calipers_command_writes_a_manual_csv_that_compare_reads(tmp_path, capsys):
    folder = tmp_path / "pacs"
    write_obgyn_report(folder / "a1.dcm", "1.2.3", [cervix_length_item("31.0"), cervix_length_item("30.2")], written="20261127101500")
    write_obgyn_report(folder / "a2.dcm", "1.2.3", [cervix_length_item("29.4")], written="20261127110000")  # amended
    write_obgyn_report(folder / "b.dcm", "1.2.4", [cervix_length_item("2.41", "cm"), cervix_length_item("24.5", derived=True)])
    (folder / "image.txt").write_text("not a report")
    out = tmp_path / "new folder" / "manual.csv"
    assert main(["calipers", str(folder), "--out", str(out), "--observer", "Sonographer A"]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {"study_instance_uid": "1.2.3", "cl_mm": "29.4", "observer": "Sonographer A", "readings": "1"},
        {"study_instance_uid": "1.2.4", "cl_mm": "24.1", "observer": "Sonographer A", "readings": "1"},
    ]
    printed = capsys.readouterr()
    assert "Wrote 2 studies" in printed.out and "from 3 report(s) (1 superseded by a later report of the same study); 1 file(s) skipped" in printed.out
    assert "skipped: " + str(folder / "image.txt") + ": not a DICOM file" in printed.err
    # The CSV is compare's manual side as it is.
    (tmp_path / "exams.csv").write_text("study_instance_uid,status,cl_mm\n1.2.3,measured,30.0\n1.2.4,measured,25.0\n")
    readings = read_readings(tmp_path / "exams.csv", [out])
    assert readings.values["Sonographer A"] == {("1.2.3",): (29.4,), ("1.2.4",): (24.1,)}


def test_calipers_command_refuses_to_overwrite_and_fails_without_a_report(tmp_path, capsys):
    taken = tmp_path / "manual.csv"
    taken.write_text("someone's notes")
    report = write_obgyn_report(tmp_path / "r.dcm", "1.2.3", [cervix_length_item("30")])
    assert main(["calipers", str(report), "--out", str(taken)]) == 2
    assert f"{taken}: exists, not overwritten" in capsys.readouterr().err and taken.read_text() == "someone's notes"
    assert main(["calipers", str(report), "--out", str(tmp_path / "m.csv"), "--observer", "tool?"]) == 2
    (tmp_path / "notes.txt").write_text("CL 30 mm")
    assert main(["calipers", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "m.csv")]) == 1
    assert "No OB-GYN report with a cervix length among 1 file(s)" in capsys.readouterr().err and not (tmp_path / "m.csv").exists()
