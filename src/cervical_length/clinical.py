"""Reading the clinical CSV that ``measure --clinical`` joins to exams: one row per study.

Columns: ``study_instance_uid`` or ``accession_number`` (the key), then any of ``ga`` (20w3d), or
``lmp``/``edd`` with ``scan_date`` (YYYY-MM-DD), ``prior_sptb`` (no, yes or the gestation, 28w), and
the :class:`~cervical_length.rules.ClinicalContext` fields by name (yes/no for flags, blank when
unknown). Every error names the file, the row and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import fields
from pathlib import Path

from ._csv import numbered_rows
from .errors import ClinicalDataError
from .rules import ClinicalContext, ga_from_edd, ga_from_lmp, parse_gestational_age

__all__ = ["read_clinical_csv", "KEY_COLUMNS"]

KEY_COLUMNS = ("study_instance_uid", "accession_number")
_DATES = ("lmp", "edd", "scan_date")
_SPECIAL = {"ga", "prior_sptb", "ga_days", "prior_sptb_ga_days", "symptoms", *_DATES}


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "y", "true", "1"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"{text!r} is not yes or no")


def _date(text: str, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(f"column {column}: {text.strip()!r} is not a date (YYYY-MM-DD)") from err


def _context(row: dict[str, str]) -> ClinicalContext:
    kinds = {f.name: f.type for f in fields(ClinicalContext)}
    values: dict[str, object] = {}
    for column, text in row.items():
        if column in KEY_COLUMNS or column in _SPECIAL or not (text or "").strip():
            continue
        if column not in kinds:
            raise KeyError(column)
        kind = str(kinds[column])
        try:
            if "bool" in kind:
                values[column] = _flag(text)
            elif "int" in kind:
                values[column] = int(text)
            elif "float" in kind:
                values[column] = float(text)
            else:
                values[column] = text.strip()
        except ValueError as err:
            raise ValueError(f"column {column}: {err}") from err
    dates = {name: _date(row[name], name) for name in _DATES if (row.get(name) or "").strip()}
    if (row.get("ga") or "").strip():
        values["ga_days"] = parse_gestational_age(row["ga"], field_name="column ga")
    elif "lmp" in dates or "edd" in dates:
        if "scan_date" not in dates:
            raise ValueError("column scan_date: needed with lmp or edd")
        values["ga_days"] = ga_from_lmp(dates["lmp"], dates["scan_date"]) if "lmp" in dates else ga_from_edd(dates["edd"], dates["scan_date"])
    prior = (row.get("prior_sptb") or "").strip().lower()
    if prior:
        values["prior_sptb"] = prior != "no"
        if prior not in ("yes", "no"):
            values["prior_sptb_ga_days"] = parse_gestational_age(prior, field_name="column prior_sptb")
    symptoms = (row.get("symptoms") or "").strip()
    return ClinicalContext(**values, symptoms=tuple(s.strip() for s in symptoms.split(";") if s.strip()))


def read_clinical_csv(path: str | os.PathLike[str]) -> dict[tuple[str, str], ClinicalContext]:
    """Contexts keyed by ``("study_instance_uid", uid)`` or ``("accession_number", number)``.

    Raises :class:`~cervical_length.errors.ClinicalDataError` naming the file, row and column for a
    missing key column, an unknown column, an invalid value or a duplicate key.
    """
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as err:
        raise ClinicalDataError(f"{path}: cannot be opened ({err.strerror})") from err
    contexts: dict[tuple[str, str], ClinicalContext] = {}
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        keys = [k for k in KEY_COLUMNS if k in header]
        if not keys:
            raise ClinicalDataError(f"{path}: needs a study_instance_uid or accession_number column (found: {', '.join(header) or 'none'})")
        for number, row in numbered_rows(reader, path, ClinicalDataError):
            key_column = next((k for k in keys if (row.get(k) or "").strip()), None)
            if key_column is None:
                raise ClinicalDataError(f"{path}: row {number}: no study_instance_uid or accession_number")
            key = (key_column, row[key_column].strip())
            if key in contexts:
                raise ClinicalDataError(f"{path}: row {number}: duplicate {key_column} {key[1]!r}")
            try:
                contexts[key] = _context(row)
            except KeyError as err:
                raise ClinicalDataError(f"{path}: row {number}: unknown column {err.args[0]!r}") from err
            except ValueError as err:
                raise ClinicalDataError(f"{path}: row {number}: {err}") from err
    return contexts
