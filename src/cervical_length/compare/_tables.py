"""Reading the tool's results and the observers' manual calipers into one set of readings.

Manual CSV columns: ``study_instance_uid`` and ``cl_mm`` (required); ``sop_instance_uid`` and
``frame`` (1-based) to compare frame by frame, else readings are per exam; ``observer`` (default:
the file's name) and ``repeat`` (1, 2, ... for repeated measurements). The tool's side is a results
directory (its ``measurements.csv`` or ``exams.csv``) or one of those files. Every error names the
file, the row (1-based, header is row 1) and the column.
"""

from __future__ import annotations

import csv
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._csv import numbered_rows
from ..errors import ComparisonDataError

__all__ = ["ManualRow", "OBSERVER_NAME", "OBSERVER_NAME_RULE", "Readings", "TOOL", "read_readings"]

#: The rater name of the tool's own measurements.
TOOL = "tool"
#: Cervical lengths outside this range (mm) are not a cervix: a typing or unit error.
PLAUSIBLE_MM = (0.0, 100.0)
#: Observer names go into file names and reports: letters, digits, space, dot, dash, underscore.
OBSERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")
#: :data:`OBSERVER_NAME` in words, for the messages that refuse a name.
OBSERVER_NAME_RULE = "1-40 letters, digits, spaces, '.', '-' or '_', starting with a letter or digit"
#: ``measurements.csv`` statuses of a file's one row when it gave no frame: nothing to compare.
NO_FRAME = ("failed", "not_an_image")
Level = Literal["frame", "exam"]
Key = tuple[str, ...]  # (study UID,) per exam or (study UID, SOP Instance UID, frame) per frame


@dataclass(frozen=True)
class ManualRow:
    """One row of a manual CSV at exam level, as ``cervical-length calipers`` writes it from a
    scanner's reports: the observer's cervical length (mm) and how many readings it was chosen from
    (a column the comparison does not read)."""

    study_instance_uid: str
    cl_mm: float
    observer: str
    readings: int


@dataclass(frozen=True)
class Readings:
    """Cervical lengths by rater: ``values[rater][key]`` is the tuple of that rater's readings (mm).

    ``level`` says whether keys are frames or exams; ``not_measured`` lists the keys the tool
    declined to measure (quality gate), which are left out of every statistic;
    ``manual_only`` are keys the observers measured that are not in the tool's results at all, and
    ``tool_only`` the tool's keys no observer measured.
    """

    level: Level
    values: dict[str, dict[Key, tuple[float, ...]]]
    not_measured: list[Key] = field(default_factory=list)
    manual_only: list[Key] = field(default_factory=list)
    tool_only: list[Key] = field(default_factory=list)

    @property
    def observers(self) -> list[str]:
        """The human raters, in the order their files were given."""
        return [name for name in self.values if name != TOOL]


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [row for _, row in numbered_rows(reader, path, ComparisonDataError)]
            return list(reader.fieldnames or []), rows
    except OSError as err:
        raise ComparisonDataError(f"{path}: cannot be read ({err.strerror or err})") from err
    except (csv.Error, UnicodeDecodeError) as err:
        raise ComparisonDataError(f"{path}: not a readable UTF-8 CSV file ({err})") from err


def _require(path: Path, columns: list[str], needed: tuple[str, ...]) -> None:
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ComparisonDataError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(columns) or 'none'})")


def _millimetres(path: Path, row_no: int, text: str | None) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise ComparisonDataError(f"{path}, row {row_no}, column cl_mm: {text!r} is not a number") from None
    low, high = PLAUSIBLE_MM
    if not low < value <= high:
        raise ComparisonDataError(f"{path}, row {row_no}, column cl_mm: {value:g} mm is outside {low:g}-{high:g} mm")
    return value


def _check_unit(path: Path, values: list[float]) -> None:
    # A cervix is 10-60 mm; a column whose every value is at most 10 with a median under 6 was
    # written in centimetres, and comparing it with millimetres would give a silent wrong answer.
    if values and max(values) <= 10 and statistics.median(values) < 6:
        raise ComparisonDataError(
            f"{path}, column cl_mm: values look like centimetres (median {statistics.median(values):g}, "
            f"largest {max(values):g}); cervical length is 10-60 mm: give millimetres (multiply by 10)"
        )


def _frame_key(path: Path, row_no: int, row: dict[str, str]) -> Key:
    frame = (row.get("frame") or "").strip() or "1"
    if not frame.isdigit() or int(frame) < 1:
        raise ComparisonDataError(f"{path}, row {row_no}, column frame: {frame!r} is not a frame number (1, 2, ...)")
    sop = (row.get("sop_instance_uid") or "").strip()
    if not sop:
        raise ComparisonDataError(f"{path}, row {row_no}, column sop_instance_uid: empty")
    return (row["study_instance_uid"].strip(), sop, str(int(frame)))


def _key(path: Path, row_no: int, row: dict[str, str], level: Level) -> Key:
    study = (row.get("study_instance_uid") or "").strip()
    if not study:
        raise ComparisonDataError(f"{path}, row {row_no}, column study_instance_uid: empty")
    return _frame_key(path, row_no, row) if level == "frame" else (study,)


def _read_manual(path: Path) -> tuple[Level, dict[str, dict[Key, tuple[float, ...]]]]:
    columns, rows = _rows(path)
    _require(path, columns, ("study_instance_uid", "cl_mm"))
    if not rows:
        raise ComparisonDataError(f"{path}: no rows")
    if "frame" in columns and "sop_instance_uid" not in columns:
        raise ComparisonDataError(f"{path}: column frame needs column sop_instance_uid (a study can hold several images)")
    level: Level = "frame" if "sop_instance_uid" in columns else "exam"
    seen: dict[tuple[str, Key, str], int] = {}
    values: dict[str, dict[Key, list[float]]] = {}
    for row_no, row in enumerate(rows, start=2):
        key = _key(path, row_no, row, level)
        observer = (row.get("observer") or "").strip() or path.stem
        if not OBSERVER_NAME.fullmatch(observer):
            raise ComparisonDataError(
                f"{path}, row {row_no}, column observer: {observer!r} is not a usable name "
                f"({OBSERVER_NAME_RULE}; "
                "without an observer column the file's name is used)"
            )
        if observer == TOOL:
            raise ComparisonDataError(f"{path}, row {row_no}, column observer: {TOOL!r} is the tool's own name; rename the observer")
        repeat = (row.get("repeat") or "").strip() or "1"
        where = (observer, key, repeat)
        if where in seen:
            hint = "" if "repeat" in columns else "; number repeated measurements in a repeat column"
            raise ComparisonDataError(
                f"{path}, row {row_no}: duplicate of row {seen[where]} (observer {observer}, {'/'.join(key)}, repeat {repeat}){hint}"
            )
        seen[where] = row_no
        values.setdefault(observer, {}).setdefault(key, []).append(_millimetres(path, row_no, row.get("cl_mm")))
    _check_unit(path, [v for by_key in values.values() for readings in by_key.values() for v in readings])
    return level, {name: {k: tuple(v) for k, v in by_key.items()} for name, by_key in values.items()}


def _tool_file(auto: Path, level: Level) -> Path:
    if auto.is_dir():
        return auto / ("measurements.csv" if level == "frame" else "exams.csv")
    return auto


def _read_tool(auto: Path, level: Level) -> tuple[dict[Key, tuple[float, ...]], list[Key]]:
    path = _tool_file(auto, level)
    columns, rows = _rows(path)
    if level == "frame":
        _require(path, columns, ("study_instance_uid", "sop_instance_uid", "frame", "cl_mm", "measurable"))
    else:
        if "frame" in columns:
            raise ComparisonDataError(
                f"{path}: has one row per frame but the manual readings are per exam; give the results "
                "directory or its exams.csv"
            )
        _require(path, columns, ("study_instance_uid", "cl_mm"))
    values: dict[Key, tuple[float, ...]] = {}
    not_measured: list[Key] = []
    seen: dict[Key, tuple[int, str]] = {}
    for row_no, row in enumerate(rows, start=2):
        if level == "frame" and not (row.get("frame") or "").strip() and (row.get("status") or "") in NO_FRAME:
            continue  # a file that gave no frame to compare (failed, or no image)
        key = _key(path, row_no, row, level)
        cl_text = (row.get("cl_mm") or "").strip()
        if key in seen:
            if level == "frame" and seen[key][1] == cl_text:
                continue  # the same image in another file (an archive's copy), measured alike: compared once
            raise ComparisonDataError(f"{path}, row {row_no}: duplicate of row {seen[key][0]} ({'/'.join(key)})")
        seen[key] = (row_no, cl_text)
        measured = (row.get("measurable", "1") or "").strip() == "1" and (row.get("cl_mm") or "").strip()
        if measured:
            values[key] = (_millimetres(path, row_no, row["cl_mm"]),)
        else:
            not_measured.append(key)
    _check_unit(path, [v for (v,) in values.values()])
    return values, not_measured


def read_readings(auto: str | os.PathLike[str], manual: list[str | os.PathLike[str]]) -> Readings:
    """Join the tool's results (directory or CSV) with one or more manual CSVs.

    Raises :class:`~cervical_length.errors.ComparisonDataError` naming the file, row and column for
    missing columns, non-numbers, implausible or centimetre values, duplicate keys, an observer
    named in two files, or manual files that mix frame and exam readings.
    """
    if not manual:
        raise ComparisonDataError("no manual measurements given: pass at least one --manual FILE.csv")
    levels: dict[Level, Path] = {}
    observers: dict[str, dict[Key, tuple[float, ...]]] = {}
    owner: dict[str, Path] = {}
    for name in manual:
        path = Path(name)
        level, by_observer = _read_manual(path)
        levels.setdefault(level, path)
        for observer, readings in by_observer.items():
            if observer in owner:
                raise ComparisonDataError(f"{path}, column observer: observer {observer!r} already appears in {owner[observer]}")
            owner[observer] = path
            observers[observer] = readings
    if len(levels) > 1:
        raise ComparisonDataError(
            f"{levels['frame']} has readings per frame (sop_instance_uid column) but {levels['exam']} per exam: compare one level at a time"
        )
    level = next(iter(levels))
    tool, not_measured = _read_tool(Path(auto), level)
    manual_keys = {key for readings in observers.values() for key in readings}
    known = set(tool) | set(not_measured)
    return Readings(
        level=level,
        values={TOOL: tool, **observers},
        not_measured=sorted(set(not_measured) & manual_keys),
        manual_only=sorted(manual_keys - known),
        tool_only=sorted(known - manual_keys),
    )
