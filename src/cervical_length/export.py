"""The outputs made from the results database after a run, or by ``cervical-length export``:
``measurements.csv``/``.jsonl``, ``exams.csv``/``.jsonl``, ``report.html`` and one DICOM SR per
measured exam.

They grow with the number of studies, not of frames: each exam's SR takes 50-80 ms (highdicom and
pydicom) and its report thumbnail 10-15 ms. So an SR is kept while the store's ledger says it is
current, from :data:`POOL_MIN` exams on the SRs and thumbnails are made by one forked process per
core, the report embeds at most :data:`~cervical_length.report.MAX_IMAGES` images, and the rows
are streamed (an exam's chosen frame is fetched by index), so memory does not grow with the archive.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from . import __version__
from .dicom import header_warnings_said, unreferenceable_uids
from .engine import ExamCollector, ExamRow, FrameResult, end_with_parent
from .outputs import CsvWriter, JsonLinesWriter, printable, uid_stem
from .report import cards_with_images, render_report, report_image, thumbnail_data_uri
from .rules import ClinicalContext
from .store import ResultsStore, StoredFrame

__all__ = ["POOL_MIN", "PROBLEMS_NAME", "Exported", "export_results"]

_T, _R = TypeVar("_T"), TypeVar("_R")

#: The export's problems (see :class:`Exported`), one a line, in the output folder.
PROBLEMS_NAME = "problems.txt"

#: From this many exams, their SRs and report thumbnails are made by one forked process per core
#: (forked: a spawned process would import the package again, about 1 s each). Linux only: forking a
#: process that has loaded OpenCV and PyTorch (a run measured in this process) is not safe on macOS.
POOL_MIN = 32


@dataclass(frozen=True)
class Exported:
    """What an export wrote. ``reports``: DICOM SRs now in ``sr/`` (None when none were asked for);
    ``problems``: one line each for what the user should know (clinical rows matching no study,
    studies without one, SRs that could not be written or were removed, images found in several
    files), also written to :data:`PROBLEMS_NAME`."""

    rows: int
    exams: list[ExamRow]
    reports: int | None
    problems: list[str] = field(default_factory=list)


def _map(function: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """``[function(item) for item in items]``, in forked processes from :data:`POOL_MIN` items."""
    cores = os.cpu_count() or 1
    if len(items) < POOL_MIN or cores < 2 or not sys.platform.startswith("linux"):
        return [function(item) for item in items]
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"), initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
        return list(pool.map(function, items, chunksize=8))


def _write_sr(job: tuple[Path, StoredFrame]) -> tuple[bool, str]:
    """Write one exam's SR from its chosen frame: whether it was written, and what to say of it
    (why not; or which identity attributes were written empty; '' for nothing). pydicom's warnings,
    which quote header values, are not passed on."""
    from .sr import write_report_sr  # highdicom: imported by an export that writes SRs, not by every worker (0.3-0.5 s)

    path, frame = job
    with header_warnings_said() as said:
        try:
            source = dcmread(frame.source, stop_before_pixels=True)
        except (OSError, InvalidDicomError) as err:
            return False, f"{frame.source} cannot be read ({err})"
        try:
            write_report_sr(path, source, frame.row, tool_version=__version__)
        except Exception as err:  # noqa: BLE001 - one damaged header must not stop an archive's export: its line says why
            # The UIDs' message is the tool's own; another may quote a value that identifies the patient.
            why = str(err) if unreferenceable_uids(source) else f"its header cannot be copied into a report ({type(err).__name__}; the value is not shown)"
            return False, f"{frame.source}: {why}"
    return True, "; ".join(said)


def _write_srs(folder: Path, exams: list[ExamRow], store: ResultsStore, problems: list[str]) -> int:
    """One DICOM SR per measured exam, named by its study's UID, written unless the store's ledger
    says the one there is current; returns how many there are."""
    folder.mkdir(exist_ok=True)
    current, jobs, owners, wanted = 0, [], [], set()
    for exam in exams:
        frame = store.stored_frame(exam.chosen_sop_instance_uid, exam.chosen_frame) if exam.chosen_frame else None
        if frame is None:
            continue
        path = folder / f"{uid_stem(exam.study_instance_uid)}_cervical_length_sr.dcm"
        wanted.add(path.resolve())
        if store.report_is_current(path, frame):
            current += 1
        else:
            jobs.append((path, frame))
            owners.append(exam)
    outcomes = _map(_write_sr, jobs)
    for exam, (written, said) in zip(owners, outcomes):
        if said:
            problems.append(f"{'SR' if written else 'no SR'} for {exam.accession_number or exam.study_instance_uid}: {said}")
    store.add_reports([job for job, (written, _) in zip(jobs, outcomes) if written])
    _remove_stale_reports(folder, wanted, store, problems)
    return current + sum(written for written, _ in outcomes)


def _remove_stale_reports(folder: Path, wanted: set[Path], store: ResultsStore, problems: list[str]) -> None:
    """Remove the SRs an earlier export wrote for studies that now have no exam-level length (their
    files gained a second accession number, or another model declines them), so that ``sr/`` holds
    no length these results do not give. Only a file still as it was written is removed."""
    stale = {path: as_written for path, as_written in store.written_reports(folder).items() if path not in wanted}
    for path, as_written in stale.items():
        if as_written:
            path.unlink()
            problems.append(f"sr/{path.name} removed: its study has no exam-level length in these results (a copy a PACS received stays there)")
        elif as_written is False:
            problems.append(f"sr/{path.name} left as it is: its study has no exam-level length in these results, but the file was changed after it was written")
    store.forget_reports(list(stale))


def _some(files: list[str], shown: int = 3) -> str:
    """The first ``shown`` of ``files`` and how many more: an image copied a thousand times is one line."""
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return ", ".join(files[:shown]) + more


def _clinical_problems(contexts: dict[tuple[str, str], ClinicalContext], exams: list[ExamRow]) -> list[str]:
    accessions = {("accession_number", number) for r in exams for number in r.accession_number.split("; ")}
    matched = {("study_instance_uid", r.study_instance_uid) for r in exams} | accessions
    unmatched = [f"clinical row matches no study: {kind} {value}" for kind, value in sorted(set(contexts) - matched)]
    unjoined = [
        f"study {r.accession_number or r.study_instance_uid}: not combined (several accession numbers), so no clinical row by accession joined"
        if r.status == "not_combined"
        else f"study has no clinical row: {r.accession_number or r.study_instance_uid}"
        for r in exams
        if not r.clinical_context
    ]
    return unmatched + unjoined


def export_results(
    store: ResultsStore,
    out: Path,
    contexts: dict[tuple[str, str], ClinicalContext] | None = None,
    *,
    profile: str = "smfm-acog",
    sr: bool = True,
) -> Exported:
    """Write every output of ``store`` into ``out`` (overlays are read from ``out/overlays``).

    contexts : clinical contexts keyed as :func:`~cervical_length.clinical.read_clinical_csv` keys
        them; the rules of ``profile`` are applied to each matching exam. sr : write the DICOM SRs.
    """
    collector = ExamCollector()
    rows, first_frames = 0, {}
    with CsvWriter(out / "measurements.csv", FrameResult) as table, JsonLinesWriter(out / "measurements.jsonl") as lines:
        for r, measurement in store.outcomes():
            table.write(r)
            lines.write(r)
            collector.add(r, measurement)
            rows += 1
            if r.frame is not None:
                first_frames.setdefault(r.study_instance_uid or r.sop_instance_uid, (r.sop_instance_uid, r.frame))
    exams = list(collector.rows(contexts, profile=profile))
    with CsvWriter(out / "exams.csv", ExamRow) as table, JsonLinesWriter(out / "exams.jsonl") as lines:
        for exam in exams:
            table.write(exam)
            lines.write(exam)
    problems = _clinical_problems(contexts, exams) if contexts is not None else []
    problems.extend(f"image {sop} is in {len(files)} files ({_some(files)}): counted once in its exam, from the first" for sop, files in collector.copies().items())
    reports = _write_srs(out / "sr", exams, store, problems) if sr else None
    shown = cards_with_images(exams)
    images: list[str | None] = [None] * len(exams)
    for k, uri in zip(shown, _map(thumbnail_data_uri, [report_image(out / "overlays", exams[k], first_frames) for k in shown])):
        images[k] = uri
    (out / "report.html").write_text(render_report(exams, images, problems), encoding="utf-8")
    _write_problems(out / PROBLEMS_NAME, problems)
    return Exported(rows, exams, reports, problems)


def _write_problems(path: Path, problems: list[str]) -> None:
    """The export's problems, one a line, kept beside the results for a run whose terminal nobody
    reads (a nightly job); an earlier export's list goes when there are none."""
    if problems:
        path.write_text("".join(f"{printable(p)}\n" for p in problems), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
