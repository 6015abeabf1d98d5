"""Millimetre scale of an ultrasound frame from its DICOM header.

Pure functions on a :class:`pydicom.dataset.Dataset` header: no file is opened here.
Order of sources (the first that gives a scale wins):

1. (0018,6011) *Sequence of Ultrasound Regions*: the 2D tissue regions ((0018,6012) *Region Spatial
   Format* 1, (0018,6014) *Region Data Type* 1) whose (0018,6024)/(0018,6026) *Physical Units X/Y
   Direction* are 3 (cm); (0018,602C)/(0018,602E) *Physical Delta X/Y* x 10 is mm per pixel.
2. (0028,0030) *Pixel Spacing*, then (0018,1164) *Imager Pixel Spacing* (row, column order, mm).
3. a scale given by the user (``--mm-per-pixel``).

With none of these the frame is ``uncalibrated``: it is never measured with a guessed scale.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

from pydicom.dataset import Dataset

from ..errors import CalibrationError, CorruptDicomError, HeaderValueWarning, NoTissueRegionError, RegionBoundsClippedWarning
from ._values import attribute_name, header_numbers, several_values

__all__ = [
    "CalibrationSource",
    "UltrasoundRegion",
    "Calibration",
    "calibration_from_dataset",
    "user_spacing",
]

CalibrationSource = Literal["us_region", "pixel_spacing", "imager_pixel_spacing", "user", "none"]

#: (0018,6024) Physical Units code for centimetres (PS3.3 C.8.5.5.1.15).
UNITS_CM = 3
#: (0018,6012) Region Spatial Format code for a 2D image.
SPATIAL_FORMAT_2D = 1
#: (0018,6014) Region Data Type code for tissue (B-mode).
DATA_TYPE_TISSUE = 1
#: Plausible mm per pixel for clinical ultrasound; outside this a header is wrong, not a scanner.
MM_PER_PIXEL_RANGE = (0.001, 5.0)


class _PixelScale:
    """The scale of a record with ``mm_per_pixel_x`` (width of a column) and ``mm_per_pixel_y``
    (height of a row), in mm, each None when not known."""

    mm_per_pixel_x: float | None
    mm_per_pixel_y: float | None

    @property
    def calibrated(self) -> bool:
        """True when both the column width and the row height are known."""
        return self.mm_per_pixel_x is not None and self.mm_per_pixel_y is not None

    @property
    def spacing_mm(self) -> tuple[float, float] | None:
        """(row, col) mm per pixel, the order measurements take; None when not calibrated."""
        if self.mm_per_pixel_x is None or self.mm_per_pixel_y is None:
            return None
        return (self.mm_per_pixel_y, self.mm_per_pixel_x)


@dataclass(frozen=True)
class UltrasoundRegion(_PixelScale):
    """One 2D tissue item of (0018,6011) *Sequence of Ultrasound Regions*.

    Bounds are 0-based pixel indices, inclusive, already clipped to the image.
    ``mm_per_pixel_x``/``_y`` are None when the region's physical units are not centimetres.
    """

    index: int  #: 0-based position of the item in the sequence
    min_col: int
    min_row: int
    max_col: int
    max_row: int
    mm_per_pixel_x: float | None
    mm_per_pixel_y: float | None
    clipped: bool  #: True when the header's bounds ran past the image and were clipped
    no_scale_why: str = ""  #: why the region gives no mm scale, naming the attributes; '' when it gives one

    @property
    def area_px(self) -> int:
        return (self.max_col - self.min_col + 1) * (self.max_row - self.min_row + 1)

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(min_col, min_row, max_col, max_row), inclusive: the order of the region's (0018,6018)-(0018,601E)
        bounds, which :func:`~cervical_length.measure.sector_mask` takes."""
        return (self.min_col, self.min_row, self.max_col, self.max_row)

    @property
    def crop(self) -> tuple[int, int, int, int]:
        """(min_row, min_col, stop_row, stop_col): the bounds as slice limits, stops exclusive."""
        return (self.min_row, self.min_col, self.max_row + 1, self.max_col + 1)

    def contains(self, row: float, col: float) -> bool:
        """True when pixel (row, col) lies inside the region's bounds."""
        return self.min_row <= row <= self.max_row and self.min_col <= col <= self.max_col


@dataclass(frozen=True)
class Calibration(_PixelScale):
    """The millimetre scale of a frame, where it came from, and its tissue regions.

    ``mm_per_pixel_x`` is the width of one column and ``mm_per_pixel_y`` the height of one row, in mm;
    both are None when ``source`` is ``'none'``. ``regions`` lists the 2D tissue regions, largest
    first; the first is the one the frame-level scale and the sector crop come from.
    """

    mm_per_pixel_x: float | None
    mm_per_pixel_y: float | None
    source: CalibrationSource
    regions: tuple[UltrasoundRegion, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def region(self) -> UltrasoundRegion | None:
        """The main tissue region (largest), or None when the header has no US regions."""
        return self.regions[0] if self.regions else None

    def region_at(self, row: float, col: float) -> UltrasoundRegion | None:
        """The tissue region that pixel (row, col) falls in, or None."""
        return next((r for r in self.regions if r.contains(row, col)), None)

    def spacing_at(self, row: float, col: float) -> tuple[float, float] | None:
        """(row, col) mm per pixel at pixel (row, col): the scale of the region the point is in.

        Falls back to the frame-level scale for headers without regions; None when uncalibrated
        or when the point lies in an uncalibrated region or outside every region.
        """
        if self.regions and self.source == "us_region":
            region = self.region_at(row, col)
            return None if region is None else region.spacing_mm
        return self.spacing_mm


def user_spacing(value: str | float | tuple[float, float]) -> tuple[float, float]:
    """Parse a user scale, ``"0.1"`` or ``"0.1,0.12"`` (x, y), into (x, y) mm per pixel.

    Raises :class:`CalibrationError` for anything that is not a plausible positive number.
    """
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            numbers = tuple(float(p) for p in parts)
        except ValueError as err:
            raise CalibrationError(f"--mm-per-pixel {value!r}: expected a number or 'x,y' in mm") from err
    elif isinstance(value, tuple):
        numbers = tuple(float(v) for v in value)
    else:
        numbers = (float(value),)
    if len(numbers) == 1:
        numbers = (numbers[0], numbers[0])
    if len(numbers) != 2:
        raise CalibrationError(f"--mm-per-pixel {value!r}: expected one value or two (x,y), got {len(numbers)}")
    low, high = MM_PER_PIXEL_RANGE
    for axis, v in zip("xy", numbers):
        if not (math.isfinite(v) and low <= v <= high):
            raise CalibrationError(
                f"--mm-per-pixel {value!r}: {axis} = {v} mm is outside the plausible range {low}-{high} mm"
            )
    return numbers  # type: ignore[return-value]


def _plausible(mm: float) -> bool:
    low, high = MM_PER_PIXEL_RANGE
    return math.isfinite(mm) and low <= mm <= high


def _note(notes: list[str], path: str, note: str, category: type[Warning]) -> None:
    """Keep ``note`` with the calibration and warn with it, naming the file (the warning reaches the rows)."""
    notes.append(note)
    warnings.warn(f"{path}: {note}", category, stacklevel=3)


def _region_from_item(item: Dataset, index: int, rows: int, cols: int) -> UltrasoundRegion | None:
    """A tissue region clipped to the image, or None when it is empty after clipping."""
    x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
    x1, y1 = int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, cols - 1), min(y1, rows - 1)
    if cx0 > cx1 or cy0 > cy1:
        return None
    mm_x, mm_y, why = _region_scale(item)
    return UltrasoundRegion(
        index=index,
        min_col=cx0,
        min_row=cy0,
        max_col=cx1,
        max_row=cy1,
        mm_per_pixel_x=mm_x,
        mm_per_pixel_y=mm_y,
        clipped=(cx0, cy0, cx1, cy1) != (x0, y0, x1, y1),
        no_scale_why=why,
    )


def _region_scale(item: Dataset) -> tuple[float | None, float | None, str]:
    """(mm_x, mm_y, '') per pixel of a region item, or (None, None, why) when it gives no plausible
    centimetre scale."""
    def shown(values: list) -> str:
        return "/".join("absent" if v is None else f"{v:g}" for v in values)

    units = [item.get(k) for k in ("PhysicalUnitsXDirection", "PhysicalUnitsYDirection")]
    if units != [UNITS_CM, UNITS_CM]:
        return None, None, f"(0018,6024)/(0018,6026) Physical Units X/Y Direction {shown(units)}, not {UNITS_CM} (cm)"
    deltas = [item.get(k) for k in ("PhysicalDeltaX", "PhysicalDeltaY")]
    dx, dy = (float(d or 0) * 10.0 for d in deltas)
    if not (_plausible(dx) and _plausible(dy)):
        low, high = MM_PER_PIXEL_RANGE
        return None, None, f"(0018,602C)/(0018,602E) Physical Delta X/Y {shown(deltas)} cm, not pixel sizes of {low:g}-{high:g} mm"
    return dx, dy, ""


#: The Type 1 bounds of a region, (0018,6018)-(0018,601E) *Region Location Min X0* ... *Max Y1*.
_BOUNDS = ("RegionLocationMinX0", "RegionLocationMinY0", "RegionLocationMaxX1", "RegionLocationMaxY1")
#: The attributes of a region item the calibration reads, each of one value.
_REGION_KEYWORDS = (
    "RegionSpatialFormat", "RegionDataType", *_BOUNDS,
    "PhysicalUnitsXDirection", "PhysicalUnitsYDirection", "PhysicalDeltaX", "PhysicalDeltaY",
)


def _tissue_regions(ds: Dataset, rows: int, cols: int, path: str, notes: list[str]) -> tuple[UltrasoundRegion, ...]:
    """The 2D tissue regions inside the image, largest first; a tissue item without its bounds is
    skipped, with a note (``notes``) and a warning when other regions remain."""
    items = ds.get("SequenceOfUltrasoundRegions") or []
    regions, others, outside, unbounded = [], 0, 0, []
    for index, item in enumerate(items):
        if several := several_values(item, _REGION_KEYWORDS):
            raise CorruptDicomError(path, f"ultrasound region item {index + 1}: {several} where the standard has one: the header is damaged")
        if item.get("RegionSpatialFormat") != SPATIAL_FORMAT_2D or item.get("RegionDataType") != DATA_TYPE_TISSUE:
            others += 1
        elif any(item.get(k) is None for k in _BOUNDS):
            unbounded.append(index + 1)
        elif (region := _region_from_item(item, index, rows, cols)) is None:
            outside += 1
        else:
            regions.append(region)
    if items and not regions:
        found = ", ".join(
            f"{count} {what}"
            for count, what in (
                (others, "Doppler, M-mode or waveform"),
                (outside, "tissue, outside the image"),
                (len(unbounded), "tissue, without Region Location bounds (0018,6018)-(0018,601E)"),
            )
            if count
        )
        raise NoTissueRegionError(
            path,
            f"the Sequence of Ultrasound Regions (0018,6011) has no 2D tissue region inside the image (its items: {found}): "
            "no B-mode image to measure can be located",
        )
    if unbounded:
        note = f"ultrasound region items {', '.join(map(str, unbounded))}: 2D tissue without Region Location bounds, ignored"
        _note(notes, path, note, HeaderValueWarning)
    # Largest first: on a split screen the frame-level scale comes from the biggest image.
    return tuple(sorted(regions, key=lambda r: (-r.area_px, r.index)))


def _spacing_pair(ds: Dataset, keyword: str) -> tuple[float, float] | None:
    """(x, y) mm per pixel from a (row, col) spacing attribute, or None when it is absent.

    Raises ValueError naming the attribute when it is present but not two plausible mm values.
    """
    values = header_numbers(ds, keyword, float)
    if values is None:
        return None
    if len(values) != 2 or not all(_plausible(v) for v in values):
        low, high = MM_PER_PIXEL_RANGE
        text = "\\".join(f"{v:g}" for v in values)
        raise ValueError(f"{attribute_name(keyword)} '{text}' is not two plausible values of {low:g}-{high:g} mm")
    return (values[1], values[0])


def calibration_from_dataset(
    ds: Dataset,
    *,
    user_mm_per_pixel: tuple[float, float] | None = None,
    path: str = "<dataset>",
) -> Calibration:
    """The :class:`Calibration` of the frames of ``ds``.

    ds : a DICOM header with (0028,0010) *Rows* and (0028,0011) *Columns*.
    user_mm_per_pixel : (x, y) mm per pixel used only when the header gives no scale.
    path : names the file in warnings and errors.

    Region bounds that run past the image are clipped to it, with a
    :class:`~cervical_length.errors.RegionBoundsClippedWarning`; a spacing attribute that is not two
    plausible numbers, or a tissue region without its bounds, is ignored, with a
    :class:`~cervical_length.errors.HeaderValueWarning`, which also says why a main tissue region
    gives no scale. Raises
    :class:`~cervical_length.errors.NoTissueRegionError` when the header has ultrasound regions
    but none is a 2D tissue region inside the image, and
    :class:`~cervical_length.errors.CorruptDicomError` when a region item holds several values of
    an attribute of one (a damaged header).
    """
    rows, cols = int(ds.Rows), int(ds.Columns)
    notes: list[str] = []
    regions = _tissue_regions(ds, rows, cols, path, notes)
    clipped = [r for r in regions if r.clipped]
    if clipped:
        note = (
            f"ultrasound region bounds ran past the {cols}x{rows} image and were clipped to it "
            f"(region items {', '.join(str(r.index + 1) for r in clipped)})"
        )
        _note(notes, path, note, RegionBoundsClippedWarning)
    if regions and regions[0].calibrated:
        main = regions[0]
        return Calibration(main.mm_per_pixel_x, main.mm_per_pixel_y, "us_region", regions, tuple(notes))
    if regions:
        why = regions[0].no_scale_why
        _note(notes, path, f"the main tissue region (ultrasound region item {regions[0].index + 1}) gives no millimetre scale: {why}", HeaderValueWarning)
    for keyword, source in (("PixelSpacing", "pixel_spacing"), ("ImagerPixelSpacing", "imager_pixel_spacing")):
        try:
            pair = _spacing_pair(ds, keyword)
        except ValueError as err:
            _note(notes, path, f"{err}: ignored", HeaderValueWarning)
            continue
        if pair is not None:
            return Calibration(pair[0], pair[1], source, regions, tuple(notes))  # type: ignore[arg-type]
    if user_mm_per_pixel is not None:
        x, y = user_mm_per_pixel
        return Calibration(x, y, "user", regions, tuple(notes))
    return Calibration(None, None, "none", regions, tuple(notes))
