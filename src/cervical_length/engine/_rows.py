"""The records the per-file work yields: a frame's row of ``measurements.csv`` built from its
measurement (at the scale of the view it was measured in), or a file's row when it gave no frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..dicom import Calibration, Frame, SourceImage, UltrasoundRegion
from ..errors import DicomReadError, MissingPixelDataError
from ..measure import Measurement
from ..outputs import reported, round_mm

if TYPE_CHECKING:
    from ..segment import Segmentation

__all__ = ["FrameStatus", "FrameResult", "MeasuredFrame", "Outcome", "with_note", "frame_row", "failure_row", "view_spacing"]


#: 'not_an_image': a DICOM object without pixels (a structured report, a presentation state, a key
#: object selection), which a PACS export holds beside its images: nothing to measure, and no failure.
FrameStatus = Literal["measured", "not_measurable", "uncalibrated", "failed", "not_an_image"]


@dataclass(frozen=True)
class FrameResult:
    """One row of ``measurements.csv``: a frame (or, for a file that gave no frame, the file) and its outcome.

    frame : 1-based frame number; None for a file that failed, or was not an image, before any frame was read.
    mm_per_pixel_x, mm_per_pixel_y : column width and row height in mm; None when uncalibrated.
    Lengths in mm, rounded to 0.01 mm; None when the frame is not measurable. Os points in pixels.
    """

    file: str
    sop_instance_uid: str
    study_instance_uid: str
    accession_number: str
    frame: int | None
    mm_per_pixel_x: float | None
    mm_per_pixel_y: float | None
    calibration_source: str
    status: FrameStatus
    measurable: int | None = None
    cl_mm: float | None = None
    cl_straight_mm: float | None = None
    cl_two_segment_mm: float | None = None
    funnel: int | None = None
    funnel_length_mm: float | None = None
    funnel_width_mm: float | None = None
    funnel_percent: float | None = None
    funnel_shape: str = ""
    auca_deg: float | None = None  #: anterior uterocervical angle, degrees; None when the wall is not seen
    confidence: float | None = None
    os_confidence: float | None = None  #: the model's confidence within 3 mm of the internal os
    reasons: str = ""
    external_os_row: float | None = None
    external_os_col: float | None = None
    internal_os_row: float | None = None
    internal_os_col: float | None = None
    model_sha256: str = ""
    error: str = ""
    notes: str = ""
    patient_name: str = ""  #: only with include_identifiers
    patient_id: str = ""
    patient_birth_date: str = ""
    #: the traced canal, (row, col) pixels about every 0.5 mm: in the JSON outputs and the SR, not the CSV
    canal_px: tuple[tuple[float, float], ...] = field(default=(), repr=False)


@dataclass(frozen=True, eq=False)
class MeasuredFrame:
    """Everything known of one frame, for the outputs: the row, the frame, its label map and its
    measurement (the last three None for a failed file)."""

    result: FrameResult
    frame: Frame | None = None
    segmentation: Segmentation | None = None
    measurement: Measurement | None = field(default=None)


def with_note(notes: str, note: str) -> str:
    """A row's ``notes`` with ``note`` added, '; '-separated (either may be empty)."""
    return "; ".join(filter(None, (notes, note)))


def frame_row(frame: Frame, m: Measurement, model_sha256: str, notes: str, region: UltrasoundRegion | None = None) -> FrameResult:
    """The row of a frame measured in ``region`` (see :func:`~cervical_length.engine.measured_regions`), whose scale it
    carries when the region has one; the frame's scale otherwise."""
    cal, src = frame.calibration, frame.source
    mm_y, mm_x = view_spacing(cal, region) or (None, None)
    m = reported(m)
    f = m.funnel
    if f is not None and f.apex_extended_mm > 0:
        notes = with_note(notes, f"funnel apex put {f.apex_extended_mm:.1f} mm past the tip seen, where its straight walls meet")
    if f is not None and f.base_on_hull:
        notes = with_note(notes, "funnel base taken on the lips' outline, its fluid fading before the mouth: the width may read wide")
    status: FrameStatus = "measured" if m.measurable else ("uncalibrated" if not cal.calibrated else "not_measurable")
    ext = m.external_os_px if m.measurable else None
    internal = m.internal_os_px if m.measurable else None
    return FrameResult(
        file=str(src.path),
        sop_instance_uid=src.sop_instance_uid,
        study_instance_uid=src.study_instance_uid,
        accession_number=src.accession_number,
        frame=frame.frame_number,
        mm_per_pixel_x=mm_x,
        mm_per_pixel_y=mm_y,
        calibration_source=cal.source,
        status=status,
        measurable=int(m.measurable),
        cl_mm=m.cl_mm,
        cl_straight_mm=m.cl_straight_mm,
        cl_two_segment_mm=m.cl_two_segment_mm,
        funnel=None if not m.measurable else int(f is not None),
        funnel_length_mm=f.length_mm if f else None,
        funnel_width_mm=f.width_mm if f else None,
        funnel_percent=f.percent if f else None,
        funnel_shape=(f.shape if f else "T") if m.measurable else "",
        auca_deg=m.auca.angle_deg if m.auca else None,
        confidence=m.confidence,
        os_confidence=m.os_confidence,
        reasons="; ".join(m.reasons),
        external_os_row=round_mm(ext[0]) if ext else None,
        external_os_col=round_mm(ext[1]) if ext else None,
        internal_os_row=round_mm(internal[0]) if internal else None,
        internal_os_col=round_mm(internal[1]) if internal else None,
        model_sha256=model_sha256,
        notes=notes,
        canal_px=_canal(m.centreline_px, min(mm_x, mm_y)) if m.measurable else (),  # type: ignore[type-var]
        **_identifiers(src),
    )


def _canal(centreline_px: np.ndarray, mm_per_pixel: float) -> tuple[tuple[float, float], ...]:
    """The centreline thinned to about one point per 0.5 mm (``mm_per_pixel``: the finer axis's
    pixel size), rounded to 0.01 pixel."""
    step = max(1, int(round(1.0 / mm_per_pixel)))  # points are 0.5 px apart
    keep = list(range(0, len(centreline_px), step))
    if keep[-1] != len(centreline_px) - 1:
        keep.append(len(centreline_px) - 1)  # always end at the internal os
    return tuple((round(float(r), 2), round(float(c), 2)) for r, c in centreline_px[keep])


def _identifiers(source: SourceImage) -> dict[str, str]:
    patient = source.patient
    if patient is None:
        return {}
    return {"patient_name": patient.name, "patient_id": patient.patient_id, "patient_birth_date": patient.birth_date}


def failure_row(path: Path, err: DicomReadError, notes: str) -> FrameResult:
    """The row of a file that gave no frame: failed, or not an image at all."""
    return FrameResult(
        file=str(path),
        sop_instance_uid="",
        study_instance_uid="",
        accession_number="",
        frame=None,
        mm_per_pixel_x=None,
        mm_per_pixel_y=None,
        calibration_source="none",
        status="not_an_image" if isinstance(err, MissingPixelDataError) else "failed",
        error=f"{type(err).__name__}: {err.reason}",
        notes=notes,
    )



#: A file's result for the outputs: a row and, for a frame that was measured at all, its measurement.
Outcome = tuple[FrameResult, Measurement | None]


def view_spacing(calibration: Calibration, region: UltrasoundRegion | None) -> tuple[float, float] | None:
    """(row, col) mm per pixel of a view of a frame (see :func:`~cervical_length.engine.measured_regions`):
    its region's scale when the region has one (each view of a split screen has its own), else the
    frame's; None for an uncalibrated frame. The labels of a view lie in its region, so no point of
    them needs looking up."""
    if region is not None and region.calibrated:
        return region.spacing_mm
    return calibration.spacing_mm
