"""Running a batch: every file's work in this process, in a pool of worker processes that may die,
or on a Dask cluster, with rows coming back in file order."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from pydicom import dcmread

from .. import __version__
from ..dicom import header_warnings_said, number_of_frames
from ..errors import ClusterMismatchError, ModelError, WorkerDiedError
from ..model_info import DEFAULT_MODEL, read_model_info
from ..outputs import overlay_image, overlay_name, uid_stem, write_png
from ._pipeline import Pipeline, candidate_files
from ._rows import FrameResult, Outcome, failure_row, with_note

__all__ = ["POOL_MIN_FRAMES", "FILES_AHEAD_PER_WORKER", "end_with_parent", "measure_files", "worker_model"]


#: Frames below which a run stays in this process when the worker count is left to the engine:
#: starting a pool costs about 4 s here (each worker imports PyTorch), and it gains about 26 ms a
#: frame over one process (2 cores; 40 frames: 7.0 s in-process against 10.1 s with 2 workers,
#: 400 frames: 23.8 against 17.5 s), so it pays from about 160 frames on.
POOL_MIN_FRAMES = 160


@dataclass(frozen=True)
class _Options:
    """What every file of a run is measured with (sent to each worker)."""

    user_mm_per_pixel: tuple[float, float] | None
    overlays: Path | None
    include_identifiers: bool
    segmentations: Path | None = None


def _segmentation_note(path: Path, folder: Path, labels_by_frame: dict[int, np.ndarray], rows: list[FrameResult]) -> str:
    """Write the file's DICOM SEG into ``folder``; returns a note for its rows when it cannot be, or
    naming the identity attributes it was written with empty ('' for nothing to say)."""
    from ..seg import write_lip_segmentation  # highdicom: imported by the runs that write a SEG, not by every worker

    with header_warnings_said() as said:
        try:
            source = dcmread(path, stop_before_pixels=True)
            name = f"{uid_stem(source.SOPInstanceUID)}_lips_seg.dcm"
            write_lip_segmentation(folder / name, source, labels_by_frame, model_sha256=rows[0].model_sha256, tool_version=__version__)
        except Exception as err:  # noqa: BLE001 - an optional output must not stop the batch; the rows say why
            return f"no DICOM SEG: {err}"
    return f"DICOM SEG: {'; '.join(said)}" if said else ""


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
            outcomes = [(replace(r, notes=with_note(r.notes, note)), m) for r, m in outcomes]
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
    return [(failure_row(path, WorkerDiedError(path, reason), ""), None)]


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


def _on_cluster(files: list[Path], model: str | os.PathLike[str], options: _Options, scheduler: str) -> Iterator[tuple[Path, list[Outcome]]]:
    """Each file's rows from the Dask cluster at ``scheduler``, in file order."""
    sha256 = read_model_info(model).sha256  # fail here, with the named error, not on the cluster
    from distributed import Client, KilledWorker  # only a cluster run pays for importing Dask

    # A worker resolves a relative path from its own working folder, not this process's: it is sent
    # absolute paths, and the rows keep each file's path as it was given.
    def absolute(folder: Path | None) -> Path | None:
        return None if folder is None else folder.absolute()

    task = partial(_cluster_task, str(Path(model).absolute()), sha256, __version__)
    sent = replace(options, overlays=absolute(options.overlays), segmentations=absolute(options.segmentations))
    with Client(scheduler) as client:
        futures = client.map(task, [path.absolute() for path in files], [sent] * len(files), pure=False)
        for path, future in zip(files, futures, strict=True):
            try:
                outcomes = [(replace(r, file=str(path)), m) for r, m in future.result()]
            except KilledWorker:  # the scheduler gave the file to several workers, and each died
                outcomes = _died(path, "the Dask workers measuring it died, each time it was tried")
            yield path, outcomes


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
        yield from _on_cluster(files, model, options, scheduler)
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

