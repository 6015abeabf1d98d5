"""The results database: every file's results in SQLite as soon as the file is done.

One transaction a file: a run killed at any moment (Ctrl-C, kill -9, power loss) keeps every file
it finished and none it did not, so a resumed run measures each file exactly once. Results are keyed
by (SOP Instance UID, frame, model checksum, tool version); files by (path, model checksum, tool
version) with their size and modification time, so a changed file is measured again.

It also keeps a ledger of the DICOM SR files written: a report whose exam row and source file are
unchanged since it was written, and whose file is still there as written, is not written again,
so an export of a large archive (50-80 ms a report) redoes only what changed and a PACS that
received a report does not get a second copy under a new UID.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .engine import FrameResult, Outcome
from .errors import ResultsDatabaseError, ResultsInUseError
from .measure import Auca, Funnel, Measurement

__all__ = ["ResultsStore", "StoredFrame", "DATABASE_NAME"]

DATABASE_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    model_sha256 TEXT NOT NULL, tool_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')), error TEXT NOT NULL,
    PRIMARY KEY (path, model_sha256, tool_version)
);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL, sop_instance_uid TEXT NOT NULL, frame INTEGER,
    model_sha256 TEXT NOT NULL, tool_version TEXT NOT NULL,
    row_json TEXT NOT NULL,
    UNIQUE (path, sop_instance_uid, frame, model_sha256, tool_version)
);
CREATE INDEX IF NOT EXISTS results_by_frame ON results (sop_instance_uid, frame, model_sha256, tool_version);
CREATE TABLE IF NOT EXISTS reports (
    report TEXT NOT NULL, model_sha256 TEXT NOT NULL, tool_version TEXT NOT NULL,
    digest TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (report, model_sha256, tool_version)
);
"""


def _identity(path: Path) -> tuple[str, int, int]:
    """(resolved path, size in bytes, modification time in ns): what keys a file's results. Size and
    time are -1 for a file that cannot be examined (a broken link, a file deleted since its folder
    was listed): its failure is recorded like any other, and measured again once it is there."""
    try:
        stat = path.stat()
    except OSError:
        return str(path.resolve()), -1, -1
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _measurement(row: FrameResult) -> Measurement | None:
    """The part of a frame's measurement the exam needs, rebuilt from its stored row."""
    if row.measurable is None:
        return None
    funnel = None
    if row.funnel:
        funnel = Funnel(row.funnel_length_mm, row.funnel_width_mm, row.funnel_percent, row.funnel_shape, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))
    return Measurement(
        bool(row.measurable),
        tuple(r for r in row.reasons.split("; ") if r),
        cl_mm=row.cl_mm,
        cl_straight_mm=row.cl_straight_mm,
        funnel=funnel,
        confidence=row.confidence or 0.0,
        os_confidence=row.os_confidence,
        auca=None if row.auca_deg is None else Auca(row.auca_deg, ((0.0, 0.0), (0.0, 0.0))),
    )


@dataclasses.dataclass(frozen=True)
class StoredFrame:
    """A frame's stored row and the absolute path of the file it was read from (the row's ``file``
    is the path as the user gave it, perhaps relative to where that run started)."""

    source: Path
    row: FrameResult


def _report_digest(frame: StoredFrame) -> str:
    """What a report is made from: the reported frame's row and its source file as it is now."""
    _, size, mtime = _identity(frame.source)  # -1, -1 when gone: the report is then not checked against it
    return hashlib.sha256(f"{_row_json(frame.row)}|{size}|{mtime}".encode()).hexdigest()


def _row_from_json(text: str) -> FrameResult:
    fields = json.loads(text)
    fields["canal_px"] = tuple(tuple(p) for p in fields["canal_px"])
    return FrameResult(**fields)


def _row_json(row: FrameResult) -> str:
    """A row as JSON. Its fields are numbers, strings and tuples of numbers: a shallow dict does,
    where ``dataclasses.asdict`` would deep-copy every point of the canal first."""
    return json.dumps({f.name: getattr(row, f.name) for f in dataclasses.fields(row)})


def _lock(database: Path) -> BinaryIO:
    """Hold an exclusive lock on ``<database>.lock`` for as long as the returned file is open (the
    system drops it when the process ends, however it ends, so it never goes stale); raises
    :class:`~cervical_length.errors.ResultsInUseError` naming the process that holds it."""
    handle = open(database.with_name(database.name + ".lock"), "a+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        handle.seek(0)
        holder = handle.read().decode(errors="replace").strip() or "another process"
        handle.close()
        raise ResultsInUseError(
            f"{database.parent}: in use by another cervical-length run ({holder}): two runs writing one output "
            "folder would mix their outputs; wait for it to end, or give another --out"
        ) from err
    handle.truncate(0)
    handle.write(f"process {os.getpid()} on {socket.gethostname()}".encode())
    handle.flush()
    return handle


class ResultsStore:
    """``DIR/results.sqlite`` for one model (checksum) and tool version, held by one run at a time
    (a lock file beside it, ``results.sqlite.lock``)."""

    def __init__(self, path: str | os.PathLike[str], *, model_sha256: str, tool_version: str, fresh: bool = False) -> None:
        """fresh : delete the database (and SQLite's files beside it) first, once this run holds it."""
        self.path = Path(path)
        self.model_sha256, self.tool_version = model_sha256, tool_version
        self._lock = _lock(self.path)
        if fresh:
            for leftover in (self.path, self.path.with_name(self.path.name + "-wal"), self.path.with_name(self.path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        try:
            # WAL + FULL sync: a committed file survives a crash or a power loss.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:  # not SQLite, or damaged: SQLite refuses before writing to it
            self.close()
            raise ResultsDatabaseError(f"{self.path}: not a results database, or damaged ({err}); it was left as it is") from err

    def status(self, path: Path) -> str | None:
        """'done' or 'failed' when this file, unchanged, was measured by this model; else None."""
        key, size, mtime = _identity(path)
        found = self._db.execute(
            "SELECT status, size, mtime_ns FROM files WHERE path=? AND model_sha256=? AND tool_version=?",
            (key, self.model_sha256, self.tool_version),
        ).fetchone()
        return found[0] if found and (found[1], found[2]) == (size, mtime) else None

    def add_file(self, path: Path, outcomes: list[Outcome]) -> None:
        """Record one file's rows in a single transaction (replacing an earlier attempt's)."""
        key, size, mtime = _identity(path)
        failed = next((r for r, _ in outcomes if r.status == "failed"), None)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM results WHERE path=? AND model_sha256=? AND tool_version=?", (key, self.model_sha256, self.tool_version))
            self._db.executemany(
                "INSERT INTO results (path, sop_instance_uid, frame, model_sha256, tool_version, row_json) VALUES (?, ?, ?, ?, ?, ?)",
                [(key, r.sop_instance_uid, r.frame, self.model_sha256, self.tool_version, _row_json(r)) for r, _ in outcomes],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, size, mtime, self.model_sha256, self.tool_version, "failed" if failed else "done", failed.error if failed else ""),
            )

    def outcomes(self) -> Iterator[Outcome]:
        """Every stored row of this model and tool version, in the order files were finished.

        Rows are read back only by the tool version that wrote them, so a release that changes the
        row's fields never meets an old row (bump the version with any such change).
        """
        rows = self._db.execute(
            "SELECT row_json FROM results WHERE model_sha256=? AND tool_version=? ORDER BY seq", (self.model_sha256, self.tool_version)
        )
        for (text,) in rows:
            row = _row_from_json(text)
            yield row, _measurement(row)

    def stored_frame(self, sop_instance_uid: str, frame: int) -> StoredFrame | None:
        """One frame's stored row and source, looked up by index: an export need not hold every row
        to find its exams'. When copies of an image lie at several paths, the first stored, the
        one its exam counted (:class:`~cervical_length.engine.ExamCollector`)."""
        found = self._db.execute(
            "SELECT path, row_json FROM results WHERE sop_instance_uid=? AND frame=? AND model_sha256=? AND tool_version=? ORDER BY seq LIMIT 1",
            (sop_instance_uid, frame, self.model_sha256, self.tool_version),
        ).fetchone()
        return None if found is None else StoredFrame(Path(found[0]), _row_from_json(found[1]))

    def report_is_current(self, report: Path, frame: StoredFrame) -> bool:
        """True when ``report`` was written from ``frame`` (same values, same source file) and is
        on disk with the size and modification time it had then."""
        found = self._db.execute(
            "SELECT digest, size, mtime_ns FROM reports WHERE report=? AND model_sha256=? AND tool_version=?",
            (str(report.resolve()), self.model_sha256, self.tool_version),
        ).fetchone()
        if found is None or found[0] != _report_digest(frame):
            return False
        try:
            return _identity(report)[1:] == found[1:]
        except OSError:
            return False

    def add_reports(self, written: list[tuple[Path, StoredFrame]]) -> None:
        """Record reports just written, each from its frame, in one transaction (a report whose
        record a crash loses is only written again)."""
        records = []
        for report, frame in written:
            key, size, mtime = _identity(report)
            records.append((key, self.model_sha256, self.tool_version, _report_digest(frame), size, mtime))
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO reports VALUES (?, ?, ?, ?, ?, ?)", records)

    def written_reports(self, folder: Path) -> dict[Path, bool | None]:
        """The reports in ``folder`` the ledger records, by any model or tool version: True for one
        on disk as it was written, False for one changed since, None for one gone."""
        written: dict[Path, set[tuple[int, int]]] = {}
        here = folder.resolve()
        for report, size, mtime in self._db.execute("SELECT report, size, mtime_ns FROM reports"):
            if Path(report).parent == here:
                written.setdefault(Path(report), set()).add((size, mtime))
        states: dict[Path, bool | None] = {}
        for report, identities in written.items():
            _, size, mtime = _identity(report)
            states[report] = None if size < 0 else (size, mtime) in identities
        return states

    def forget_reports(self, reports: list[Path]) -> None:
        """Drop every record of ``reports`` (resolved paths), whichever model or version wrote them."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM reports WHERE report=?", [(str(r),) for r in reports])

    def close(self) -> None:
        self._db.close()
        self._lock.close()
