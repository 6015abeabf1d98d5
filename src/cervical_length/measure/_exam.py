"""The exam-level cervical length from the frames of one study or cine loop."""

from __future__ import annotations

from dataclasses import dataclass

from ._cervix import Measurement

__all__ = ["FrameKey", "ExamResult", "exam_result"]

FrameKey = tuple[str, int]  # (SOP Instance UID, 1-based frame number)


@dataclass(frozen=True)
class ExamResult:
    """The exam-level cervical length (FMF / ISUOG practice): the shortest of the best three
    measurable frames, best meaning the most confident.

    cl_mm : None when no frame of the exam is measurable.
    frames_used : the (up to three) frames the choice was made from, best first.
    spread_mm : longest minus shortest of those frames' lengths (mm); None when only one frame
        was measurable, as one length has no spread (0 would read as frames that agree).
    """

    cl_mm: float | None
    cl_straight_mm: float | None
    frames_used: tuple[FrameKey, ...]
    chosen: FrameKey | None
    spread_mm: float | None
    valid_frames: int
    total_frames: int


def exam_result(measurements: list[tuple[FrameKey, Measurement]], *, best: int = 3) -> ExamResult:
    """Combine the frames of one exam (a study, or a cine loop) into its :class:`ExamResult`."""
    valid = [(key, m) for key, m in measurements if m.measurable and m.cl_mm is not None]
    if not valid:
        return ExamResult(None, None, (), None, None, 0, len(measurements))
    top = sorted(valid, key=lambda item: (-item[1].confidence, item[0]))[:best]
    chosen_key, chosen = min(top, key=lambda item: (item[1].cl_mm, item[0]))
    lengths = [m.cl_mm for _, m in top]
    return ExamResult(
        cl_mm=chosen.cl_mm,
        cl_straight_mm=chosen.cl_straight_mm,
        frames_used=tuple(key for key, _ in top),
        chosen=chosen_key,
        spread_mm=float(max(lengths) - min(lengths)) if len(lengths) > 1 else None,
        valid_frames=len(valid),
        total_frames=len(measurements),
    )
