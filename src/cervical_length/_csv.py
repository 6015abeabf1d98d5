"""Tables users give as CSV (clinical context, manual calipers, pixel sizes): one check all make."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator

__all__ = ["numbered_rows"]


def numbered_rows(
    reader: csv.DictReader, path: str | os.PathLike[str], error: Callable[[str], Exception] = ValueError
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) of each record of the CSV file ``path``, numbered as a spreadsheet shows
    them (the header is row 1).

    Raises ``error`` (the caller's ValueError subclass) naming the file and the row when a row has
    more fields than the header: the csv module would put the surplus aside, so a decimal comma
    (25,5 for 25.5 mm) would silently read 25.
    """
    header = reader.fieldnames or []
    for number, row in enumerate(reader, start=2):
        if None in row:
            fields = len(header) + len(row[None])  # type: ignore[index]
            raise error(
                f"{path}: row {number} has {fields} fields, the header {len(header)}: a value holds an unquoted comma "
                "(a decimal comma? write 25.5, not 25,5)"
            )
        yield number, row
