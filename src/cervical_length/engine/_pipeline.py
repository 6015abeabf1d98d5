"""One model instance reading, segmenting and measuring files, frame batch by frame batch, each
view of a split screen apart."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..dicom import Calibration, Frame, SourceImage, UltrasoundRegion, colour_graphics, iter_dicom_paths, iter_frames, read_source
from ..errors import DicomReadError, UnforeseenError
from ..measure import Measurement, QualityLimits, labelled_box, measure_cervix, sector_mask
from ..model_info import DEFAULT_MODEL, ModelInfo
from ._rows import MeasuredFrame, failure_row, frame_row, view_spacing, with_note

if TYPE_CHECKING:
    from ..segment import Segmentation

__all__ = ["BATCH_FRAMES", "MIN_VIEW_SHARE", "Pipeline", "candidate_files", "chosen_region", "iter_frame_results", "measured_regions", "quality_limits"]


#: Photometric interpretations without colour: no mark can be told from tissue by its colour.
MONOCHROME = frozenset({"MONOCHROME1", "MONOCHROME2"})
#: Frames segmented together: large enough to amortise the network call, small enough for memory.
BATCH_FRAMES = 8


def quality_limits(info: ModelInfo) -> QualityLimits:
    """The quality gate and measurement settings for a model: the defaults, with what was calibrated
    for the model (its confidence floors and funnel tip width) where its metadata has them."""
    calibrated = {"min_confidence": info.min_confidence, "min_os_confidence": info.min_os_confidence, "funnel_tip_mm": info.funnel_tip_mm}
    return QualityLimits(**{name: value for name, value in calibrated.items() if value is not None})


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

        from ..model import load_model
        from ..segment import Segmenter

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
            measured = [self._measure_region(frame, region, seg, fans) for region, seg in found]
            measurements = [m for m, _ in measured]
            k = chosen_region(measurements)
            note = with_note(with_note(notes, _split_screen_note(frame_regions, measurements, k)), measured[k][1])
            yield MeasuredFrame(frame_row(frame, measurements[k], self.model_info.sha256, note, found[k][0]), frame, found[k][1], measurements[k])

    def _measure_region(self, frame: Frame, region: UltrasoundRegion | None, seg: Segmentation, fans: dict) -> tuple[Measurement, str]:
        """The measurement of the cervix ``seg`` found in one region of a frame, and what its row
        notes of the marks drawn on the canal ('' for none)."""
        key = None if region is None else region.index
        if key not in fans:
            # A region's fan is the same in every frame of a file: found once, on its first frame.
            fans[key] = sector_mask(frame.grey, None if region is None else region.bounds)
        fan, apex = fans[key]
        # Marks drawn in colour on the cervix (calipers); a monochrome export's are grey like tissue.
        graphics = None if frame.source.photometric_interpretation in MONOCHROME else colour_graphics(frame.rgb, within=labelled_box(seg.labels, 2))
        m = measure_cervix(seg.labels, view_spacing(frame.calibration, region), probabilities=seg.probabilities, grey=frame.grey, fan=fan, apex_px=apex, limits=self.limits, graphics=graphics)
        note = f"coloured marks (calipers) lie on {m.marked_share:.0%} of the traced canal" if m.marked_share else ""
        return m, note

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
            yield MeasuredFrame(failure_row(path, UnforeseenError(path, reason), ""))

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
            yield MeasuredFrame(failure_row(path, failure, notes))
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
            yield MeasuredFrame(failure_row(path, err, notes))
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

