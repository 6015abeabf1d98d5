"""The exact ground truth of one phantom image, in pixels and millimetres."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np

__all__ = ["FunnelShape", "PhantomTruth"]

FunnelShape = Literal["T", "Y", "V", "U"]

@dataclass(frozen=True, eq=False)
class PhantomTruth:
    """Ground truth of one phantom frame. Points are (row, col) pixels, float, 0-based.

    ``cl_mm`` is the closed canal's arc length from the external os to the functional internal os
    (the funnel apex when funnelling), exact from the geometry; ``cl_straight_mm`` the chord between
    them. ``funnel_length_mm`` runs from the funnel apex to the middle of the funnel base (the
    anatomical internal os); ``funnel_width_mm`` is the base width. ``auca_deg`` is the angle between
    the line from the anatomical internal os to the external os and the anterior uterine wall;
    ``auca_visible`` says whether an image of the frame can show it.
    """

    case: str
    appearance: str
    seed: int
    frame: int  #: 1-based
    mm_per_pixel: float
    cl_mm: float
    cl_straight_mm: float
    funnel: bool
    funnel_length_mm: float
    funnel_width_mm: float
    funnel_percent: float
    funnel_shape: FunnelShape
    auca_deg: float
    auca_visible: bool  #: the anterior uterine wall and the fluid beside it in the sector, 2-20 mm from the os
    measurable: bool
    reasons: tuple[str, ...]
    centreline_px: np.ndarray  #: (N, 2) from the external os to the functional internal os
    external_os_px: np.ndarray  #: (2,)
    internal_os_px: np.ndarray  #: (2,) functional internal os
    anatomical_internal_os_px: np.ndarray  #: (2,)
    funnel_points_px: np.ndarray  #: (3, 2): apex, anterior base, posterior base; NaN without funnel
    sector_bounds_px: tuple[int, int, int, int]  #: (min_col, min_row, max_col, max_row)

    @property
    def spacing_mm(self) -> tuple[float, float]:
        """(row, col) size of one pixel in mm: a phantom's pixels are square."""
        return (self.mm_per_pixel, self.mm_per_pixel)

    def rescaled(self, scale: float, offset_rc: tuple[float, float]) -> PhantomTruth:
        """The truth after the image was resized by ``scale`` and pasted at ``offset_rc`` (row, col)."""
        offset = np.asarray(offset_rc, dtype=np.float64)

        def move(points: np.ndarray) -> np.ndarray:
            return np.asarray(points) * scale + offset

        c0, r0, c1, r1 = self.sector_bounds_px
        return replace(
            self,
            mm_per_pixel=self.mm_per_pixel / scale,
            centreline_px=move(self.centreline_px),
            external_os_px=move(self.external_os_px),
            internal_os_px=move(self.internal_os_px),
            anatomical_internal_os_px=move(self.anatomical_internal_os_px),
            funnel_points_px=move(self.funnel_points_px),
            sector_bounds_px=(
                int(np.floor(c0 * scale + offset[1])),
                int(np.floor(r0 * scale + offset[0])),
                int(np.ceil(c1 * scale + offset[1])),
                int(np.ceil(r1 * scale + offset[0])),
            ),
        )

    def to_json(self) -> dict:
        """A JSON-serialisable dict: lists for arrays and tuples, None for NaN."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
