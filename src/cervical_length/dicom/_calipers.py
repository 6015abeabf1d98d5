"""Sonographers' cervical lengths from a scanner's DICOM Structured Reports.

The calipers a sonographer places on the scanner reach the PACS as an OB-GYN Ultrasound Procedure
Report (PS3.16 TID 5000, root concept (125000, DCM)): each cervical length a numeric item coded
(11961-0, LN, "Cervix Length") in its pelvis and uterus section (TID 5015, CID 12011), with UCUM
units in its (0040,A300) *Measured Value Sequence*. Reading those gives ``cervical-length compare``
its manual side without typing a CSV.

Only readings count: an item with a (121401, DCM) *Derivation* concept modifier is a value the
scanner computed from the readings (their mean, their minimum) and is left out. The report's
cervical length is the shortest reading, as FMF / ISUOG practice reports it (and as the tool's
exam-level value is chosen).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from ..errors import NotCaliperReportError
from ._reader import HEADER_DAMAGE, _read_header, damaged_header
from ._values import is_valid_uid

__all__ = ["CaliperReport", "read_caliper_report", "latest_per_study"]

#: (Code Value, Coding Scheme Designator) of the concepts read.
OB_GYN_REPORT = ("125000", "DCM")
CERVIX_LENGTH = ("11961-0", "LN")
DERIVATION = ("121401", "DCM")
#: Millimetres per UCUM unit of a length.
MM_PER_UNIT = {"mm": 1.0, "cm": 10.0}
#: Deeper content trees are not a scanner's report: refused rather than followed.
MAX_DEPTH = 32


@dataclass(frozen=True)
class CaliperReport:
    """The cervical-length readings of one OB-GYN ultrasound report.

    written : (0008,0023) *Content Date* and (0008,0033) *Content Time* joined as DICOM writes them
        (YYYYMMDDHHMMSS...: sorts in time order); empty when the report has neither.
    lengths_mm : every reading, in the report's order (mm).
    """

    path: Path
    study_instance_uid: str
    written: str
    lengths_mm: tuple[float, ...]

    @property
    def cl_mm(self) -> float:
        """The report's cervical length: its shortest reading (mm)."""
        return min(self.lengths_mm)


def _code(item: Dataset) -> tuple[str, str] | None:
    names = item.get("ConceptNameCodeSequence")
    if not names:
        return None
    return str(names[0].get("CodeValue", "")).strip(), str(names[0].get("CodingSchemeDesignator", "")).strip()


def _content(ds: Dataset, path: Path) -> Iterator[Dataset]:
    """Every content item under ``ds``, depth first, in document order."""
    stack = [(item, 1) for item in reversed(ds.get("ContentSequence") or [])]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise NotCaliperReportError(path, f"its content tree is nested more than {MAX_DEPTH} levels deep: not read")
        yield item
        stack.extend((child, depth + 1) for child in reversed(item.get("ContentSequence") or []))


def _is_derived(item: Dataset) -> bool:
    return any(
        str(child.get("RelationshipType", "")).strip() == "HAS CONCEPT MOD" and _code(child) == DERIVATION
        for child in item.get("ContentSequence") or []
    )


def _length_mm(item: Dataset, path: Path) -> float | None:
    """The reading of a Cervix Length item in mm; None when the item carries no value."""
    values = item.get("MeasuredValueSequence")
    if not values:
        return None  # a value the scanner could not give (a Numeric Value Qualifier says why)
    value = values[0]
    units = value.get("MeasurementUnitsCodeSequence")
    unit = str(units[0].get("CodeValue", "")).strip() if units else ""
    if unit not in MM_PER_UNIT:
        raise NotCaliperReportError(path, f"a Cervix Length (11961-0, LN) is in units {unit!r}, not mm or cm: not read")
    try:
        length = float(value.NumericValue) * MM_PER_UNIT[unit]
    except (AttributeError, TypeError, ValueError) as err:
        raise NotCaliperReportError(path, f"a Cervix Length (11961-0, LN) has no readable Numeric Value (0040,A30A): {err}") from err
    if not 0.0 < length < 100.0:
        raise NotCaliperReportError(path, f"a Cervix Length (11961-0, LN) of {length:g} mm is not a cervix (0-100 mm): not read")
    return length


def read_caliper_report(path: str | Path) -> CaliperReport:
    """The cervical-length readings of one OB-GYN ultrasound report file.

    Raises :class:`~cervical_length.errors.NotCaliperReportError` for a DICOM file that is not such a
    report, holds no Cervix Length reading, or gives one in other units than mm or cm, and the
    reader's :class:`~cervical_length.errors.DicomReadError` subclasses for a file that is not DICOM.
    """
    path = Path(path)
    ds = _read_header(path)
    try:
        return _report(ds, path)
    except HEADER_DAMAGE as err:
        raise damaged_header(path, err) from err


def _report(ds: Dataset, path: Path) -> CaliperReport:
    """The :class:`CaliperReport` of a parsed header (see :func:`read_caliper_report`)."""
    if _code(ds) != OB_GYN_REPORT:
        raise NotCaliperReportError(path, "not an OB-GYN Ultrasound Procedure Report (root concept (125000, DCM)): no calipers read")
    study = str(ds.get("StudyInstanceUID", "")).strip()
    if not is_valid_uid(study):
        raise NotCaliperReportError(path, f"Study Instance UID (0020,000D) {study!r} is missing or not a UID: its readings could not be matched")
    lengths, derived = [], 0
    for item in _content(ds, path):
        if str(item.get("ValueType", "")).strip() != "NUM" or _code(item) != CERVIX_LENGTH:
            continue
        if _is_derived(item):
            derived += 1
        elif (length := _length_mm(item, path)) is not None:
            lengths.append(length)
    if not lengths:
        only = f": only {derived} value(s) the scanner derived (a Derivation modifier), which are not readings" if derived else ""
        raise NotCaliperReportError(path, f"holds no Cervix Length (11961-0, LN) reading{only}")
    written = str(ds.get("ContentDate", "")).strip() + str(ds.get("ContentTime", "")).strip()
    return CaliperReport(path, study, written, tuple(lengths))


def latest_per_study(reports: Iterable[CaliperReport]) -> tuple[list[CaliperReport], list[CaliperReport]]:
    """Each study's latest report (by ``written``; of equal times, the later given), and the
    reports it supersedes (an amended report replaces the one before it), each in the order given."""
    reports = list(reports)
    latest: dict[str, int] = {}
    for k, report in enumerate(reports):
        best = latest.get(report.study_instance_uid)
        if best is None or report.written >= reports[best].written:
            latest[report.study_instance_uid] = k
    kept = set(latest.values())
    return [r for k, r in enumerate(reports) if k in kept], [r for k, r in enumerate(reports) if k not in kept]
