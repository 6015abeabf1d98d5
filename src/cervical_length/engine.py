"""Running the per-file work: every file under the given paths to per-frame result records.

One bad file never stops the run: its failure becomes a :class:`FrameResult` with status
``failed`` and the reason. Nothing here prints; the CLI reports.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .dicom import Frame, iter_dicom_paths, iter_frames, read_source
from .errors import DicomReadError

__all__ = ["FrameStatus", "FrameResult", "result_for_frame", "iter_frame_results"]

FrameStatus = Literal["read", "uncalibrated", "failed"]


@dataclass(frozen=True)
class FrameResult:
    """One row of ``measurements.csv``: a frame (or, for a failed file, the file) and its outcome.

    frame : 1-based frame number; None for a file that failed before any frame was read.
    mm_per_pixel_x, mm_per_pixel_y : column width and row height in mm; None when uncalibrated.
    """

    file: str
    sop_instance_uid: str
    study_instance_uid: str
    frame: int | None
    mm_per_pixel_x: float | None
    mm_per_pixel_y: float | None
    calibration_source: str
    status: FrameStatus
    error: str = ""
    notes: str = ""


def result_for_frame(frame: Frame, notes: str = "") -> FrameResult:
    """The result record of a frame that was read."""
    cal = frame.calibration
    return FrameResult(
        file=str(frame.source.path),
        sop_instance_uid=frame.source.sop_instance_uid,
        study_instance_uid=frame.source.study_instance_uid,
        frame=frame.frame_number,
        mm_per_pixel_x=cal.mm_per_pixel_x,
        mm_per_pixel_y=cal.mm_per_pixel_y,
        calibration_source=cal.source,
        status="read" if cal.calibrated else "uncalibrated",
        notes=notes,
    )


def _failure(path: Path, err: DicomReadError, notes: str) -> FrameResult:
    return FrameResult(
        file=str(path),
        sop_instance_uid="",
        study_instance_uid="",
        frame=None,
        mm_per_pixel_x=None,
        mm_per_pixel_y=None,
        calibration_source="none",
        status="failed",
        error=f"{type(err).__name__}: {err.reason}",
        notes=notes,
    )


def _results_for_file(path: Path, user_mm_per_pixel: tuple[float, float] | None) -> Iterator[FrameResult]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            source = read_source(path, user_mm_per_pixel=user_mm_per_pixel)
        except DicomReadError as err:
            source, failure = None, err
    # Header warnings (clipped regions, non-US modality) travel with every row of the file.
    notes = "; ".join(dict.fromkeys(str(w.message).removeprefix(f"{path}: ") for w in caught))
    if source is None:
        yield _failure(path, failure, notes)
        return
    try:
        for frame in iter_frames(source):
            yield result_for_frame(frame, notes)
    except DicomReadError as err:
        yield _failure(path, err, notes)


def iter_frame_results(
    paths: Iterable[str | os.PathLike[str]],
    *,
    user_mm_per_pixel: tuple[float, float] | None = None,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[FrameResult]:
    """Read every file under ``paths`` and yield one result per frame, or one per failed file.

    user_mm_per_pixel : (x, y) mm per pixel for files whose headers give no scale.
    exclude : folders whose files are skipped (the output folder, when it lies inside an input).
    """
    excluded = [Path(p).resolve() for p in exclude]
    for path in iter_dicom_paths(paths):
        resolved = path.resolve()
        if any(resolved.is_relative_to(folder) for folder in excluded):
            continue
        yield from _results_for_file(path, user_mm_per_pixel)
