"""Writing results for people and other programs: ``measurements.csv``.

Text that comes from files (paths, error messages quoting headers) is hostile: a cell that a
spreadsheet would run as a formula is prefixed with an apostrophe (OWASP CSV injection advice).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from types import TracebackType

from .engine import FrameResult

__all__ = ["MEASUREMENT_COLUMNS", "MeasurementsCsvWriter", "csv_cell"]

#: Columns of ``measurements.csv``, in order: the fields of :class:`FrameResult`.
MEASUREMENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FrameResult))

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One CSV cell: '' for None, floats to 10 significant digits, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".10g")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) and not isinstance(value, (int, float)) else text


class MeasurementsCsvWriter:
    """Stream :class:`FrameResult` rows to ``measurements.csv`` as they are produced.

    >>> with MeasurementsCsvWriter(path) as out:  # doctest: +SKIP
    ...     out.write(result)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._handle = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(MEASUREMENT_COLUMNS)

    def write(self, result: FrameResult) -> None:
        self._writer.writerow([csv_cell(getattr(result, name)) for name in MEASUREMENT_COLUMNS])

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> MeasurementsCsvWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
