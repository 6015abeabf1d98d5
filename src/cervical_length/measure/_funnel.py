"""Funnelling at the internal os: the fluid between the lips beyond the closed canal, its length,
width, percentage and shape letter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._canal import Spacing
from ._masks import dilate, select_labels

__all__ = ["Funnel", "funnel_shape", "find_funnel"]


@dataclass(frozen=True)
class Funnel:
    """Funnelling at the internal os: lengths in mm, points (row, col).

    length_mm : from the funnel apex (functional internal os) to the middle of the funnel base.
    width_mm : across the base, between the lips' inner corners at the anatomical internal os.
    percent : length / (length + closed cervical length) x 100.
    shape : 'Y', 'V' or 'U' (see :func:`funnel_shape`).
    """

    length_mm: float
    width_mm: float
    percent: float
    shape: str
    apex_px: tuple[float, float]
    base_px: tuple[tuple[float, float], tuple[float, float]]


def funnel_shape(percent: float, mid_to_base_width: float) -> str:
    """Letter of a funnel: 'U' for rounded walls (width at half its length >= 0.65 of the base),
    else 'Y' below 25 % funnelling and 'V' from 25 %. (T, a closed canal, has no funnel.)"""
    if mid_to_base_width >= 0.65:
        return "U"
    return "Y" if percent < 25.0 else "V"


def find_funnel(
    gaps: np.ndarray,
    hull: np.ndarray,
    centreline: np.ndarray,
    tail: np.ndarray,
    spacing: Spacing,
    cl_mm: float,
    min_funnel_mm: float,
    fluid_per_gap: np.ndarray | None,
) -> Funnel | None:
    """Funnel beyond the functional internal os (the centreline's last point), or None when closed.

    The funnel is the fluid between the lips beyond the closed canal: the parts of ``gaps`` (int
    labels of the 4-connected parts of the background inside ``hull``, the lips' convex hull)
    touching the canal's end or the fluid-filled ``tail`` of the lips' interface. With an image,
    they must hold fluid (``fluid_per_gap``: the count of anechoic pixels in each part of
    ``gaps``), so a notch in a label map is no funnel; nor is one shorter or narrower than
    ``min_funnel_mm``. Its length runs from the apex to the middle of the hull's edge between the
    lips' inner corners (the funnel base), its width across that base.
    """
    apex = centreline[-1]
    scale = np.asarray(spacing)
    last = centreline[max(0, len(centreline) - 1 - int(8.0 / min(spacing))) :]
    axis_mm = (last[-1] - last[0]) * scale
    if np.hypot(*axis_mm) == 0:
        return None
    u = axis_mm / np.hypot(*axis_mm)  # toward the internal os, in mm
    reach = max(2, int(round(1.5 / min(spacing))))
    points = np.clip(np.rint(np.vstack([apex, tail])).astype(int), 0, np.array(gaps.shape) - 1)
    near = np.concatenate([gaps[max(r - reach, 0) : r + reach + 1, max(c - reach, 0) : c + reach + 1].ravel() for r, c in points])
    touching = np.unique(near[near > 0])
    if len(touching) == 0:
        return None
    if fluid_per_gap is not None and fluid_per_gap[touching].sum() * spacing[0] * spacing[1] < 2.0:
        return None  # tissue echoes, not fluid: a gap in the label map, not funnelling
    funnel = select_labels(gaps, touching)
    # The base is where the hull closes the funnel: its pixels on the hull's edge, from corner to corner.
    outside = np.pad(~hull, 1, constant_values=True)  # the window's border counts as outside
    edge = funnel & dilate(outside, 1)[1:-1, 1:-1]
    rows, cols = np.nonzero(edge)
    if len(rows) < 2:
        return None
    points = np.stack([rows, cols], axis=1).astype(np.float64)
    rel = (points - apex) * scale
    across_u = rel[:, 0] * u[1] - rel[:, 1] * u[0]
    corners = points[[int(np.argmin(across_u)), int(np.argmax(across_u))]]
    base_mid = corners.mean(axis=0)
    length = float(np.hypot(*((base_mid - apex) * scale)))
    width = float(np.hypot(*((corners[1] - corners[0]) * scale))) + min(spacing)  # centres to edges
    if length < min_funnel_mm or width < min_funnel_mm:
        return None
    # Width halfway from apex to base, across the funnel's own axis.
    axis = (base_mid - apex) * scale / length
    frows, fcols = np.nonzero(funnel)
    frel = (np.stack([frows, fcols], axis=1) - apex) * scale
    along, across = frel @ axis, frel[:, 0] * axis[1] - frel[:, 1] * axis[0]
    middle = np.abs(along - 0.5 * length) <= max(spacing)
    mid_width = float(np.ptp(across[middle])) + min(spacing) if middle.any() else 0.0
    percent = 100.0 * length / (length + cl_mm)
    return Funnel(
        length,
        width,
        percent,
        funnel_shape(percent, mid_width / width),
        (float(apex[0]), float(apex[1])),
        ((float(corners[0][0]), float(corners[0][1])), (float(corners[1][0]), float(corners[1][1]))),
    )
