"""Running the per-file work: every file under the given paths to per-frame result records.

read -> segment -> measure, one file at a time, frames in small batches. One bad file never stops
the run: its failure becomes a :class:`FrameResult` with status ``failed`` and the reason.
Nothing here prints; the CLI reports.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydicom import dcmread

from . import __version__
from .dicom import Calibration, Frame, SourceImage, UltrasoundRegion, iter_dicom_paths, iter_frames, number_of_frames, read_source
from .errors import ClusterMismatchError, DicomReadError, MissingPixelDataError, ModelError, UnforeseenError, WorkerDiedError
from .measure import Measurement, QualityLimits, exam_result, is_small_funnel, measure_cervix, sector_mask
from .model_info import DEFAULT_MODEL, ModelInfo, read_model_info
from .outputs import overlay_image, overlay_name, uid_stem, write_png
from .rules import Assessment, ClinicalContext, assess, near_short_cervix_threshold

if TYPE_CHECKING:
    from .segment import Segmentation

__all__ = ["end_with_parent", "candidate_files", "Outcome", "FrameStatus", "FrameResult", "MeasuredFrame", "Pipeline", "measured_regions", "chosen_region", "view_spacing", "quality_limits", "iter_frame_results", "measure_files", "worker_model", "ExamRow", "ExamCollector"]

#: 'not_an_image': a DICOM object without pixels (a structured report, a presentation state, a key
#: object selection), which a PACS export holds beside its images: nothing to measure, and no failure.
FrameStatus = Literal["measured", "not_measurable", "uncalibrated", "failed", "not_an_image"]

#: Frames segmented together: large enough to amortise the network call, small enough for memory.
BATCH_FRAMES = 8
#: Frames below which a run stays in this process when the worker count is left to the engine:
#: starting a pool costs about 4 s here (each worker imports PyTorch), and it gains about 26 ms a
#: frame over one process (2 cores; 40 frames: 7.0 s in-process against 10.1 s with 2 workers,
#: 400 frames: 23.8 against 17.5 s), so it pays from about 160 frames on.
POOL_MIN_FRAMES = 160


def _mm(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


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


def _with_note(notes: str, note: str) -> str:
    """A row's ``notes`` with ``note`` added, '; '-separated (either may be empty)."""
    return "; ".join(filter(None, (notes, note)))


def _row(frame: Frame, m: Measurement, model_sha256: str, notes: str, region: UltrasoundRegion | None = None) -> FrameResult:
    """The row of a frame measured in ``region`` (see :func:`measured_regions`), whose scale it
    carries when the region has one; the frame's scale otherwise."""
    cal, src = frame.calibration, frame.source
    mm_y, mm_x = view_spacing(cal, region) or (None, None)
    f = m.funnel
    if f is not None and f.apex_extended_mm > 0:
        notes = _with_note(notes, f"funnel apex put {f.apex_extended_mm:.1f} mm past the tip seen, where its straight walls meet")
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
        cl_mm=_mm(m.cl_mm),
        cl_straight_mm=_mm(m.cl_straight_mm),
        cl_two_segment_mm=_mm(m.cl_two_segment_mm),
        funnel=None if not m.measurable else int(f is not None),
        funnel_length_mm=_mm(f.length_mm) if f else None,
        funnel_width_mm=_mm(f.width_mm) if f else None,
        funnel_percent=round(f.percent, 1) if f else None,
        funnel_shape=(f.shape if f else "T") if m.measurable else "",
        auca_deg=round(m.auca.angle_deg, 1) if m.auca else None,
        confidence=round(m.confidence, 3),
        os_confidence=None if m.os_confidence is None else round(m.os_confidence, 3),
        reasons="; ".join(m.reasons),
        external_os_row=_mm(ext[0]) if ext else None,
        external_os_col=_mm(ext[1]) if ext else None,
        internal_os_row=_mm(internal[0]) if internal else None,
        internal_os_col=_mm(internal[1]) if internal else None,
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


def _failure(path: Path, err: DicomReadError, notes: str) -> FrameResult:
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


def quality_limits(info: ModelInfo) -> QualityLimits:
    """The quality gate and measurement settings for a model: the defaults, with what was calibrated
    for the model (its confidence floors and funnel tip width) where its metadata has them."""
    calibrated = {"min_confidence": info.min_confidence, "min_os_confidence": info.min_os_confidence, "funnel_tip_mm": info.funnel_tip_mm}
    return QualityLimits(**{name: value for name, value in calibrated.items() if value is not None})


def view_spacing(calibration: Calibration, region: UltrasoundRegion | None) -> tuple[float, float] | None:
    """(row, col) mm per pixel of a view of a frame (see :func:`measured_regions`): its region's scale
    when the region has one (each view of a split screen has its own), else the frame's; None for an
    uncalibrated frame. The labels of a view lie in its region, so no point of them needs looking up."""
    if region is not None and region.calibrated:
        return region.spacing_mm
    return calibration.spacing_mm


#: A tissue region is measured as a view of its own when it covers at least this share of the
#: largest one's pixels: the halves of a split screen and the quarters of a quad screen are; a
#: thumbnail is too coarse to measure a canal in, and the shortest view would be taken from it.
MIN_VIEW_SHARE = 0.25


def measured_regions(calibration: Calibration) -> tuple[UltrasoundRegion | None, ...]:
    """The parts of a frame that are segmented and measured apart: when the scale comes from the
    ultrasound regions, every calibrated 2D tissue region, largest first, of at least
    :data:`MIN_VIEW_SHARE` of the largest one's area (a split screen shows two views of the cervix,
    each at its own scale, and the network sees one image at a time); else the main region, or None
    for the whole frame."""
    if calibration.source == "us_region":
        largest = calibration.regions[0].area_px
        return tuple(r for r in calibration.regions if r.calibrated and r.area_px >= MIN_VIEW_SHARE * largest)
    return (calibration.region,)


def chosen_region(measurements: Sequence[Measurement]) -> int:
    """Index of the region whose measurement a frame's row reports: the shortest measurable cervical
    length (the FMF / ISUOG practice of reporting the shortest of the good measurements: the views of
    a split screen are two images of one cervix), else the first (the largest region)."""
    lengths = {k: m.cl_mm for k, m in enumerate(measurements) if m.measurable and m.cl_mm is not None}
    return min(lengths, key=lengths.__getitem__) if lengths else 0


def _split_screen_note(regions: Sequence[UltrasoundRegion | None], measurements: Sequence[Measurement], chosen: int) -> str:
    """What a row of a frame measured in several regions says of them ('' for one region); regions
    are named by their 1-based item number in (0018,6011) *Sequence of Ultrasound Regions*."""
    items = [r.index + 1 for r in regions if r is not None]  # every region of a split screen is one
    if len(items) < 2:
        return ""

    def outcome(m: Measurement) -> str:
        return f"CL {m.cl_mm:.1f} mm" if m.measurable else f"not measurable ({', '.join(m.reasons)})"

    why = "the shortest measurable" if measurements[chosen].measurable else "none measurable: the largest"
    others = ", ".join(f"item {items[k]} {outcome(m)}" for k, m in enumerate(measurements) if k != chosen)
    return f"split screen: {len(items)} tissue regions measured apart; this row is ultrasound region item {items[chosen]} ({why}); {others}"


class Pipeline:
    """Read, segment and measure files with one model instance.

    model : the model's metadata JSON (weights beside it, checksum verified at load).
    threads : CPU threads for the network.
    """

    def __init__(self, model: str | os.PathLike[str] = DEFAULT_MODEL, *, threads: int = 1) -> None:
        # PyTorch is imported by the processes that run the network, not by one that only hands files
        # to workers (the CLI's main process): its import costs seconds of CPU before any work. So is
        # scipy.spatial, which the measurement imports at the first funnel's fluid (0.45 s): loaded
        # here, before any frame, it does not hold up one frame's measurement (nor its timing).
        import scipy.spatial  # noqa: F401

        from .model import load_model
        from .segment import Segmenter

        network, self.model_info = load_model(model)
        self.segmenter = Segmenter(network, model_sha256=self.model_info.sha256, working_size=self.model_info.working_size, threads=threads)
        self.limits = quality_limits(self.model_info)

    def _measure_batch(self, frames: list[Frame], notes: str, fans: dict) -> Iterator[MeasuredFrame]:
        """Segment and measure a batch of frames of one file, each of a frame's
        :func:`measured_regions` apart, in one call of the network; ``fans`` caches the file's
        sector in each region. A frame's row is that of its :func:`chosen_region`."""
        regions = [measured_regions(f.calibration) for f in frames]
        views = [(frame, region) for frame, frame_regions in zip(frames, regions) for region in frame_regions]
        segmentations = iter(self.segmenter.segment([f.grey for f, _ in views], [None if r is None else r.crop for _, r in views]))
        for frame, frame_regions in zip(frames, regions):
            found = [(region, next(segmentations)) for region in frame_regions]
            measurements = [self._measure_region(frame, region, seg, fans) for region, seg in found]
            k = chosen_region(measurements)
            note = _with_note(notes, _split_screen_note(frame_regions, measurements, k))
            yield MeasuredFrame(_row(frame, measurements[k], self.model_info.sha256, note, found[k][0]), frame, found[k][1], measurements[k])

    def _measure_region(self, frame: Frame, region: UltrasoundRegion | None, seg: Segmentation, fans: dict) -> Measurement:
        """The measurement of the cervix ``seg`` found in one region of a frame."""
        key = None if region is None else region.index
        if key not in fans:
            # A region's fan is the same in every frame of a file: found once, on its first frame.
            fans[key] = sector_mask(frame.grey, None if region is None else region.bounds)
        fan, apex = fans[key]
        return measure_cervix(seg.labels, view_spacing(frame.calibration, region), probabilities=seg.probabilities, grey=frame.grey, fan=fan, apex_px=apex, limits=self.limits)

    def measure_file(
        self, path: Path, *, user_mm_per_pixel: tuple[float, float] | None = None, include_identifiers: bool = False
    ) -> Iterator[MeasuredFrame]:
        """Every frame of one file, measured; a failure of the file becomes one ``failed`` result,
        after the rows of the frames measured before it.

        include_identifiers : put the patient's name, ID and birth date in the rows (default: never).
        """
        try:
            yield from self._measure_file(path, user_mm_per_pixel=user_mm_per_pixel, include_identifiers=include_identifiers)
        except Exception as err:  # noqa: BLE001 - one file's data must never stop a batch: its row names the fault
            reason = f"{type(err).__name__}: {err} (unforeseen: please report it with the file's header, no pixel data needed)"
            yield MeasuredFrame(_failure(path, UnforeseenError(path, reason), ""))

    def _measure_file(
        self, path: Path, *, user_mm_per_pixel: tuple[float, float] | None, include_identifiers: bool
    ) -> Iterator[MeasuredFrame]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                source: SourceImage | None = read_source(path, user_mm_per_pixel=user_mm_per_pixel, include_identifiers=include_identifiers)
            except DicomReadError as err:
                source, failure = None, err
        # Header warnings (clipped regions, non-US modality) travel with every row of the file.
        notes = "; ".join(dict.fromkeys(str(w.message).removeprefix(f"{path}: ") for w in caught))
        if source is None:
            yield MeasuredFrame(_failure(path, failure, notes))
            return
        batch: list[Frame] = []
        fans: dict = {}
        try:
            for frame in iter_frames(source):
                batch.append(frame)
                if len(batch) == BATCH_FRAMES:
                    yield from self._measure_batch(batch, notes, fans)
                    batch = []
        except DicomReadError as err:
            yield from self._measure_batch(batch, notes, fans)
            yield MeasuredFrame(_failure(path, err, notes))
            return
        yield from self._measure_batch(batch, notes, fans)


def candidate_files(paths: Iterable[str | os.PathLike[str]], exclude: Iterable[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """The files a run would read: :func:`~cervical_length.dicom.iter_dicom_paths` minus ``exclude``d folders."""
    excluded = [Path(p).resolve() for p in exclude]
    for path in iter_dicom_paths(paths):
        if not any(path.resolve().is_relative_to(folder) for folder in excluded):
            yield path


def iter_frame_results(
    pipeline: Pipeline,
    paths: Iterable[str | os.PathLike[str]],
    *,
    user_mm_per_pixel: tuple[float, float] | None = None,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[MeasuredFrame]:
    """Measure every file under ``paths`` in this process: one result per frame, or one per failed file.

    user_mm_per_pixel : (x, y) mm per pixel for files whose headers give no scale.
    exclude : folders whose files are skipped (the output folder, when it lies inside an input).
    """
    for path in candidate_files(paths, exclude):
        yield from pipeline.measure_file(path, user_mm_per_pixel=user_mm_per_pixel)


Outcome = tuple[FrameResult, Measurement | None]


@dataclass(frozen=True)
class _Options:
    """What every file of a run is measured with (sent to each worker)."""

    user_mm_per_pixel: tuple[float, float] | None
    overlays: Path | None
    include_identifiers: bool
    segmentations: Path | None = None


def _segmentation_note(path: Path, folder: Path, labels_by_frame: dict[int, np.ndarray], rows: list[FrameResult]) -> str:
    """Write the file's DICOM SEG into ``folder``; returns a note for its rows when it cannot be."""
    from .seg import write_lip_segmentation  # highdicom: imported by the runs that write a SEG, not by every worker

    try:
        source = dcmread(path, stop_before_pixels=True)
        name = f"{uid_stem(source.SOPInstanceUID)}_lips_seg.dcm"
        write_lip_segmentation(folder / name, source, labels_by_frame, model_sha256=rows[0].model_sha256, tool_version=__version__)
    except Exception as err:  # noqa: BLE001 - an optional output must not stop the batch; the rows say why
        return f"no DICOM SEG: {err}"
    return ""


def _measured_file(pipeline: Pipeline, path: Path, options: _Options) -> list[Outcome]:
    """One file's rows and measurements; its overlays written to ``options.overlays`` and the DICOM
    SEG of its measured frames to ``options.segmentations`` when given."""
    overlays = options.overlays
    outcomes = []
    labels_by_frame: dict[int, np.ndarray] = {}  # only for a DICOM SEG: a long cine's label maps take hundreds of MB
    for item in pipeline.measure_file(path, user_mm_per_pixel=options.user_mm_per_pixel, include_identifiers=options.include_identifiers):
        r = item.result
        if item.measurement is not None and item.frame is not None and r.frame is not None:
            if overlays is not None:
                write_png(overlays / overlay_name(r.sop_instance_uid, r.frame), overlay_image(item.frame.rgb, item.segmentation.labels, item.measurement))
            if options.segmentations is not None and r.status == "measured":
                labels_by_frame[r.frame] = item.segmentation.labels
        outcomes.append((r, item.measurement))
    if labels_by_frame:
        note = _segmentation_note(path, options.segmentations, labels_by_frame, [r for r, _ in outcomes])
        if note:
            outcomes = [(replace(r, notes=_with_note(r.notes, note)), m) for r, m in outcomes]
    return outcomes


_WORKER_PIPELINE: Pipeline | ModelError | None = None  # one per worker process, made by _start_worker


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def end_with_parent(parent: int) -> None:
    """In a pool's worker: end this process once process ``parent`` (the pool's creator, its pid
    taken there: it may be gone before the worker starts) is gone. A run killed with SIGKILL
    cannot stop its workers, and ProcessPoolExecutor's would otherwise wait for work forever."""
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _start_worker(model: str, parent: int) -> None:
    """Make a worker's pipeline; ``parent`` is the pid of the process that started the pool (taken
    there: by the time this runs, that process may already be gone)."""
    global _WORKER_PIPELINE
    end_with_parent(parent)
    try:
        _WORKER_PIPELINE = Pipeline(model, threads=1)
    except ModelError as err:
        # Raised from the worker's tasks instead: a pool whose initializer fails starts the worker
        # again and again, and the run would hang instead of reporting the model's fault.
        _WORKER_PIPELINE = err


def _worker_task(options: _Options, path: Path) -> list[Outcome]:
    assert _WORKER_PIPELINE is not None, "worker started without its pipeline"
    if isinstance(_WORKER_PIPELINE, ModelError):
        raise _WORKER_PIPELINE
    return _measured_file(_WORKER_PIPELINE, path, options)


def _worker_pool(model: str, workers: int) -> ProcessPoolExecutor:
    """``workers`` processes, each holding one model on one thread."""
    # spawn, not fork: forking a process whose PyTorch thread pool already runs can hang.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(model, os.getpid()))


#: Files handed to the pool per worker ahead of the one whose rows are awaited: the workers stay
#: busy while rows come out in file order.
FILES_AHEAD_PER_WORKER = 4


def _died(path: Path, what: str) -> list[Outcome]:
    """The failure row of a file whose worker process died on it (``what`` says how)."""
    reason = f"{what} (a decoder crashing on its data, or too little memory); the run went on with the other files"
    return [(_failure(path, WorkerDiedError(path, reason), ""), None)]


def _pooled(
    files: list[Path], task: Callable[[Path], list[Outcome]], make_pool: Callable[[int], ProcessPoolExecutor], workers: int
) -> Iterator[tuple[Path, list[Outcome]]]:
    """Each file's ``task`` (a picklable function) in a pool of ``workers`` processes, in file order.

    A worker that dies (killed, out of memory, a decoder crashing on a file's data) breaks the pool;
    multiprocessing.Pool would wait for its file forever. The files then in hand are measured again
    one at a time by a single new worker, so a file that kills it again is known and gets a
    :class:`~cervical_length.errors.WorkerDiedError` row; the run goes on in a new pool.
    """
    queue, in_hand = deque(files), deque[tuple[Path, Future]]()
    pool = make_pool(workers)
    try:
        while queue or in_hand:
            try:
                while queue and len(in_hand) < FILES_AHEAD_PER_WORKER * workers:
                    in_hand.append((queue[0], pool.submit(task, queue[0])))
                    queue.popleft()  # only once submitted: a broken pool refuses new files too
                path, future = in_hand[0]
                outcomes = future.result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                yield from _one_at_a_time(list(in_hand), task, make_pool)
                in_hand.clear()
                pool = make_pool(workers)
                continue
            in_hand.popleft()
            yield path, outcomes
    finally:
        # Not waited for: a worker takes ~0.7 s to end (the interpreter unloading PyTorch), which the
        # run's exports can use; the interpreter joins the pool at exit.
        pool.shutdown(wait=False, cancel_futures=True)


def _one_at_a_time(
    in_hand: list[tuple[Path, Future]], task: Callable[[Path], list[Outcome]], make_pool: Callable[[int], ProcessPoolExecutor]
) -> Iterator[tuple[Path, list[Outcome]]]:
    """The files a broken pool had in hand, in order: rows it had already made, the others from a
    single new worker, one file at a time; a file on which that worker dies too is a failure."""
    pool: ProcessPoolExecutor | None = None
    try:
        for path, future in in_hand:
            if future.done() and not future.cancelled() and not isinstance(future.exception(), BrokenProcessPool):
                yield path, future.result()
                continue
            pool = pool or make_pool(1)
            try:
                outcomes = pool.submit(task, path).result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = None
                outcomes = _died(path, "its worker process died measuring it alone")
            yield path, outcomes
    finally:
        if pool is not None:
            pool.shutdown()


def worker_model(model: str | os.PathLike[str], sha256: str, tool_version: str) -> Path:
    """The model file a cluster worker measures with for a run of ``model`` (the client's path to
    the metadata JSON, whose weights' SHA-256 is ``sha256``) by cervical-length ``tool_version``:
    that path when the worker holds that model there, else its own shipped model when it is the
    same one (the same wheel, installed at another path).

    Results are filed under the client's model checksum and tool version, so a worker with another
    model or version must not measure: raises ClusterMismatchError naming what it has instead.
    """
    host = socket.gethostname()
    if tool_version != __version__:
        raise ClusterMismatchError(f"Dask worker on {host} runs cervical-length {__version__}, this run {tool_version}: install the same version on every worker")
    found = []
    for candidate in dict.fromkeys((Path(model), DEFAULT_MODEL)):
        try:
            if read_model_info(candidate).sha256 == sha256:
                return candidate
            found.append(f"{candidate} is another model")
        except ModelError as err:
            found.append(str(err))
    raise ClusterMismatchError(f"Dask worker on {host} has no model with sha256 {sha256[:16]}... ({'; '.join(found)}): put the run's model at the same path on every worker")


_CLUSTER_PIPELINES: dict[str, Pipeline] = {}  # per Dask worker process, by the model's checksum


def _cluster_task(model: str, sha256: str, tool_version: str, path: Path, options: _Options) -> list[Outcome]:
    """One file on a Dask worker; the worker keeps one model instance for all its tasks."""
    if sha256 not in _CLUSTER_PIPELINES:
        _CLUSTER_PIPELINES[sha256] = Pipeline(worker_model(model, sha256, tool_version), threads=1)
    return _measured_file(_CLUSTER_PIPELINES[sha256], path, options)


def _frames_at_least(files: list[Path], count: int) -> bool:
    """Whether ``files`` hold at least ``count`` frames, from their headers (read until the count
    is reached; a file whose header cannot be read counts as one frame)."""
    frames = 0
    for path in files:
        try:
            frames += max(1, number_of_frames(dcmread(path, stop_before_pixels=True, specific_tags=["NumberOfFrames"])))
        except Exception:  # noqa: BLE001 - only an estimate: the file's own run reports what is wrong with it
            frames += 1
        if frames >= count:
            return True
    return False


def measure_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    model: str | os.PathLike[str] = DEFAULT_MODEL,
    workers: int | None = None,
    overlays: Path | None = None,
    user_mm_per_pixel: tuple[float, float] | None = None,
    include_identifiers: bool = False,
    exclude: Iterable[str | os.PathLike[str]] = (),
    skip: Callable[[Path], bool] = lambda path: False,
    scheduler: str | None = None,
    segmentations: Path | None = None,
) -> Iterator[tuple[Path, list[Outcome]]]:
    """Measure every file under ``paths`` with ``workers`` processes (each one model on one thread;
    1, or a single file to measure: in this process on every core; None: one per core when the
    files hold at least POOL_MIN_FRAMES frames, else this process), or on the Dask cluster at
    ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``; ``workers`` is then the cluster's
    business). Yields each file's rows in file order whatever the engine. Paths (and ``overlays``)
    must be the same on every worker.

    overlays : folder for the overlay PNGs, or None for none.
    Raises ModelError before any work when the model's metadata or checksum is bad, and from the
    workers' first results when its tensors do not fit the network.
    segmentations : folder for a DICOM SEG of the lips per file with measured frames, or None.
    include_identifiers : put the patient's name, ID and birth date in the rows (default: never).
    skip : files for which it returns True are not measured (already in the results database).
    """
    options = _Options(user_mm_per_pixel, overlays, include_identifiers, segmentations)
    files = [path for path in candidate_files(paths, exclude) if not skip(path)]
    if scheduler is not None:
        sha256 = read_model_info(model).sha256  # fail here, with the named error, not on the cluster
        from distributed import Client, KilledWorker  # only a cluster run pays for importing Dask

        task = partial(_cluster_task, str(model), sha256, __version__)
        with Client(scheduler) as client:
            futures = client.map(task, files, [options] * len(files), pure=False)
            for path, future in zip(files, futures, strict=True):
                try:
                    outcomes = future.result()
                except KilledWorker:  # the scheduler gave the file to several workers, and each died
                    outcomes = _died(path, "the Dask workers measuring it died, each time it was tried")
                yield path, outcomes
        return
    if workers is None:
        workers = (os.cpu_count() or 1) if len(files) > 1 and _frames_at_least(files, POOL_MIN_FRAMES) else 1
    if workers <= 1 or len(files) <= 1:
        # One file is one task: a pool would only add its workers' start-up (seconds of imports).
        pipeline = Pipeline(model, threads=os.cpu_count() or 1)
        for path in files:
            yield path, _measured_file(pipeline, path, options)
        return
    read_model_info(model)  # fail here, with the named error, not inside a worker
    yield from _pooled(files, partial(_worker_task, options), partial(_worker_pool, str(model)), min(workers, len(files)))


@dataclass(frozen=True)
class ExamRow:
    """One row of ``exams.csv``: a study's exam-level cervical length (FMF / ISUOG: the shortest of
    the best three measurable frames) and how it was chosen. Lengths in mm."""

    study_instance_uid: str
    accession_number: str
    files: int
    frames: int
    valid_frames: int
    status: str  #: 'measured' or 'not_measurable'
    cl_mm: float | None
    cl_straight_mm: float | None
    chosen_sop_instance_uid: str
    chosen_frame: int | None
    frames_used: str  #: 'SOP:frame' of the best frames, ';'-separated, best first
    spread_mm: float | None
    #: when no frame is measurable, why the exam's first frame (the one its report card shows) was
    #: declined, '; '-separated as in ``measurements.csv``; empty for a measured exam
    reasons: str = ""
    funnel: int | None = None  #: of the chosen frame
    funnel_length_mm: float | None = None  #: of the chosen frame's funnel; None without one
    #: 1 when the chosen frame's funnel is shorter than 5 mm (:data:`~cervical_length.measure.SMALL_FUNNEL_MM`),
    #: near the length the tool counts funnels from, where most of its false funnels lie (confirm it
    #: on the image); 0 without a funnel or with a longer one; None when not measured
    small_funnel: int | None = None
    auca_deg: float | None = None  #: of the chosen frame, degrees
    #: 1 when ``cl_mm`` lies within 2.5 mm of 25 mm, where the tool's error can put it on either side
    #: of the short-cervix threshold (confirm with calipers; the NEAR-25 rule's range); None when not measured
    near_25_mm: int | None = None
    clinical_context: str = ""  #: 'matched' when a clinical CSV row joined this study
    profile: str = ""
    rule_findings: str = ""  #: rule ids, ';'-separated
    rule_suggestions: str = ""
    rule_contraindications: str = ""
    rule_withheld: str = ""
    assessment: Assessment | None = field(default=None, repr=False, compare=False)


class ExamCollector:
    """Gathers measured frames by study and gives each study's :class:`ExamRow`."""

    def __init__(self) -> None:
        self._studies: dict[str, dict] = {}

    def add(self, r: FrameResult, measurement: Measurement | None) -> None:
        if r.status == "failed" or measurement is None or r.frame is None:
            return
        study = self._studies.setdefault(r.study_instance_uid or r.sop_instance_uid, {"accession": r.accession_number, "files": set(), "frames": []})
        study["files"].add(r.file)
        study["frames"].append(((r.sop_instance_uid, r.frame), measurement))

    def rows(self, contexts: dict[tuple[str, str], ClinicalContext] | None = None, *, profile: str = "smfm-acog") -> Iterator[ExamRow]:
        """Each study's row; with ``contexts`` (keyed as :func:`~cervical_length.clinical.read_clinical_csv`
        keys them), the rules of ``profile`` applied to the exam's length and context."""
        for uid, study in self._studies.items():
            exam = exam_result(study["frames"])
            chosen = dict(study["frames"]).get(exam.chosen) if exam.chosen else None
            found = None if chosen is None else chosen.funnel  # the chosen frame's funnel
            funnel = None if chosen is None else found is not None
            context = None
            if contexts is not None:
                context = contexts.get(("study_instance_uid", uid)) or contexts.get(("accession_number", study["accession"]))
            assessment = assess(context, cl_mm=exam.cl_mm, funnel=funnel, profile=profile) if context is not None else None
            ids = {} if assessment is None else {
                "rule_findings": ";".join(r.id for r in assessment.findings),
                "rule_suggestions": ";".join(r.id for r in assessment.suggestions),
                "rule_contraindications": ";".join(r.id for r in assessment.contraindications),
                "rule_withheld": ";".join(r.id for r in assessment.withheld),
            }
            yield ExamRow(
                study_instance_uid=uid,
                accession_number=study["accession"],
                files=len(study["files"]),
                frames=exam.total_frames,
                valid_frames=exam.valid_frames,
                status="measured" if exam.cl_mm is not None else "not_measurable",
                cl_mm=_mm(exam.cl_mm),
                cl_straight_mm=_mm(exam.cl_straight_mm),
                chosen_sop_instance_uid=exam.chosen[0] if exam.chosen else "",
                chosen_frame=exam.chosen[1] if exam.chosen else None,
                frames_used=";".join(f"{sop}:{frame}" for sop, frame in exam.frames_used),
                spread_mm=_mm(exam.spread_mm),
                reasons="" if exam.cl_mm is not None else "; ".join(study["frames"][0][1].reasons),
                funnel=None if funnel is None else int(funnel),
                funnel_length_mm=_mm(found.length_mm) if found else None,
                small_funnel=None if chosen is None else int(found is not None and is_small_funnel(found.length_mm)),
                auca_deg=round(chosen.auca.angle_deg, 1) if chosen is not None and chosen.auca else None,
                near_25_mm=None if exam.cl_mm is None else int(near_short_cervix_threshold(exam.cl_mm)),
                clinical_context="matched" if context is not None else "",
                profile=profile if context is not None else "",
                assessment=assessment,
                **ids,
            )
