"""Running the per-file work: every file under the given paths to per-frame result records.

read -> segment -> measure, one file at a time, frames in small batches. One bad file never stops
the run: its failure becomes a :class:`FrameResult` with status ``failed`` and the reason.
Nothing here prints; the CLI reports.

``_rows`` makes the records, ``_pipeline`` does one file's work with one model, ``_run`` runs a
batch in this process, a pool of workers or on Dask, ``_exams`` makes the exam-level rows.
"""

from ._exams import ExamCollector, ExamRow
from ._pipeline import (
    BATCH_FRAMES,
    MIN_VIEW_SHARE,
    Pipeline,
    candidate_files,
    chosen_region,
    iter_frame_results,
    measured_regions,
    quality_limits,
)
from ._rows import FrameResult, FrameStatus, MeasuredFrame, Outcome, view_spacing
from ._run import POOL_MIN_FRAMES, end_with_parent, measure_files, worker_model

__all__ = [
    "BATCH_FRAMES",
    "MIN_VIEW_SHARE",
    "POOL_MIN_FRAMES",
    "ExamCollector",
    "ExamRow",
    "FrameResult",
    "FrameStatus",
    "MeasuredFrame",
    "Outcome",
    "Pipeline",
    "candidate_files",
    "chosen_region",
    "end_with_parent",
    "iter_frame_results",
    "measure_files",
    "measured_regions",
    "quality_limits",
    "view_spacing",
    "worker_model",
]
