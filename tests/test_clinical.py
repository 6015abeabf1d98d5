"""The clinical CSV joined to exams: parsing, errors naming file/row/column, and the join."""

from __future__ import annotations

import csv
import json

import pytest

from cervical_length.cli import main
from cervical_length.clinical import read_clinical_csv
from cervical_length.errors import ClinicalDataError


def _write(tmp_path, text):
    path = tmp_path / "clinical.csv"
    path.write_text(text)
    return path


def test_rows_become_contexts(tmp_path):
    path = _write(
        tmp_path,
        "study_instance_uid,accession_number,ga,lmp,scan_date,plurality,prior_sptb,second_trimester_losses,cerclage_in_place,symptoms\n"
        "1.2.3,,20w3d,,,singleton,28w,0,no,spotting;cramps\n"
        ",ACC9,,2026-01-12,2026-06-01,twins,no,,,\n",
    )
    contexts = read_clinical_csv(path)
    first = contexts[("study_instance_uid", "1.2.3")]
    assert (first.ga_days, first.prior_sptb, first.prior_sptb_ga_days, first.cerclage_in_place) == (143, True, 196, False)
    assert first.symptoms == ("spotting", "cramps") and first.second_trimester_losses == 0
    second = contexts[("accession_number", "ACC9")]
    assert (second.ga_days, second.plurality, second.prior_sptb, second.cerclage_in_place) == (140, "twins", False, None)


@pytest.mark.parametrize(
    "text,message",
    [
        ("ga,plurality\n20w,singleton\n", "needs a study_instance_uid or accession_number column"),
        ("accession_number,colour\nA1,blue\n", "row 2: unknown column 'colour'"),
        ("accession_number,ga\nA1,50w\n", "row 2: column ga: '50w' is outside 0-44 weeks"),
        ("accession_number,cerclage_in_place\nA1,maybe\n", "row 2: column cerclage_in_place: 'maybe' is not yes or no"),
        ("accession_number,dilation_cm\nA1,30\n", "row 2: dilation_cm: 30.0 cm is outside"),
        ("accession_number,ga\nA1,20w\nA1,21w\n", "row 3: duplicate accession_number 'A1'"),
        ("accession_number,lmp\nA1,2026-01-01\n", "row 2: column scan_date: needed"),
        ("accession_number,lmp,scan_date\nA1,2026-01-01,27/05/2026\n", r"row 2: column scan_date: '27/05/2026' is not a date \(YYYY-MM-DD\)"),
        ("accession_number,dilation_cm\nA1,1\nA2,1,5\n", "row 3 has 3 fields, the header 2: a value holds an unquoted comma"),
    ],
)
def test_errors_name_file_row_and_column(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ClinicalDataError, match=f"clinical.csv: {message}" if "needs" in message else message):
        read_clinical_csv(path)


def test_measure_joins_rules_to_exams(make_dicom, tmp_path, random_model, capsys):
    make_dicom("in/a.dcm", accession_number="ACC1")
    make_dicom("in/b.dcm", accession_number="ACC2")
    clinical = _write(tmp_path, "accession_number,ga,plurality,prior_sptb,cerclage_in_place,placenta_previa,membranes\nACC1,20w,singleton,28w,no,no,intact\nACC3,20w,,,,,\n")
    status = main(["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--clinical", str(clinical), "-q", "--workers", "1"])
    assert status == 0
    with open(tmp_path / "out" / "exams.csv", newline="") as handle:
        rows = {r["accession_number"]: r for r in csv.DictReader(handle)}
    # The untrained model measures nothing, so only the rules that need no length apply.
    assert rows["ACC1"]["clinical_context"] == "matched" and rows["ACC1"]["rule_suggestions"] == "SCREEN-SERIAL"
    assert rows["ACC2"]["clinical_context"] == "" and rows["ACC2"]["rule_suggestions"] == ""
    exams = [json.loads(line) for line in (tmp_path / "out" / "exams.jsonl").read_text().splitlines()]
    matched = next(e for e in exams if e["accession_number"] == "ACC1")
    assert matched["assessment"]["suggestions"][0]["id"] == "SCREEN-SERIAL"
    assert matched["assessment"]["disclaimer"].endswith("not a diagnosis.")
    err = capsys.readouterr().err
    assert "clinical row matches no study: accession_number ACC3" in err and "study has no clinical row: ACC2" in err


def test_bad_clinical_file_is_a_usage_error(make_dicom, tmp_path, random_model, capsys):
    clinical = _write(tmp_path, "ga\n20w\n")
    assert main(["measure", str(make_dicom()), "--out", str(tmp_path / "o"), "--model", str(random_model), "--clinical", str(clinical)]) == 2
    assert "clinical.csv: needs a study_instance_uid" in capsys.readouterr().err
