"""Funnelling at the internal os: the fluid between the lips beyond the closed canal, its length,
width, percentage and shape letter."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike

from ._canal import Spacing
from ._masks import dilate, select_labels, window

__all__ = ["SMALL_FUNNEL_MM", "Funnel", "is_small_funnel", "funnel_shape", "find_funnel", "hidden_tip_mm"]

#: Longest stretch (mm) of a funnel's tip put back by :func:`hidden_tip_mm`: a funnel narrow for
#: longer than this is too slender to extrapolate its walls to their meeting point.
MAX_HIDDEN_TIP_MM = 3.0
#: A funnel's walls count as straight when its width halfway along is at most this share of its base
#: width (plus half the tip drawn closed, see :func:`hidden_tip_mm`): 0.5 for straight walls, with a
#: tenth of the base's width to spare; 0.73 for the phantoms' rounded (U) funnels. (A rounded funnel
#: that the model draws a little narrow can fall under :func:`funnel_shape`'s 0.65 and be called V.)
STRAIGHT_MID_WIDTH = 0.55
#: With an image, the funnel is the part of the lips' gap within this distance (mm, along rows or
#: columns) of its fluid. A model rounds the lips' corners where their inner walls meet the cervix's
#: internal end, and the tissue it leaves between them and the lips' hull is gap but no funnel: taken
#: in, it put the base at the hull's whole chord, 4-5 mm too wide on the validation phantoms (median;
#: 12-15 mm for one in ten). The anechoic test averages over about 1 mm, so it misses the fluid's
#: last half millimetre at each wall and in the acute corners of a wide funnel: 1.5 mm is the
#: smallest reach that keeps the exact phantom label maps' widths (tests).
FLUID_REACH_MM = 1.5
#: With an image, a funnel holds at least this much anechoic fluid (mm^2); less is a gap in the label
#: map between tissue echoes.
MIN_FUNNEL_FLUID_MM2 = 2.0
#: A funnel's two walls, from its apex to the corners of its base, are about equally long: the
#: membranes bulge into the canal along its axis. The shorter must reach this share of the longer.
#: A model that draws the uterine wall beyond a closed internal os as lip leaves a wedge of the
#: amniotic cavity inside the lips' hull, between one lip's end (the long wall) and that drawn-on
#: tissue (the short one). On the 1,200 model-selection phantoms this share drops 18 of the 48
#: false funnels and 3 of the 308 true ones (README, "Model and accuracy", lopsided funnels).
MIN_WALL_RATIO = 0.5
#: A funnel found shorter than this (mm) is near the length from which one is counted
#: (:attr:`~cervical_length.measure.QualityLimits.min_funnel_mm`, 3.5 mm), where most false funnels
#: lie: on 1,200 model-selection phantoms per look, 15 of 69 and 23 of 57 such calls (training ;
#: shifted look) were false, against 10 of 246 and 7 of 259 longer ones. Outputs ask for it to be
#: confirmed on the image (README, "Model and accuracy").
SMALL_FUNNEL_MM = 5.0


@dataclass(frozen=True)
class Funnel:
    """Funnelling at the internal os: lengths in mm, points (row, col).

    length_mm : from the funnel apex (functional internal os) to the middle of the funnel base.
    width_mm : across the base, between the lips' inner corners at the anatomical internal os.
    percent : length / (length + closed cervical length) x 100.
    shape : 'Y', 'V' or 'U' (see :func:`funnel_shape`).
    mid_width_mm : across the funnel halfway from the apex to the base; None when not known (a
        funnel read back from a results database).
    apex_extended_mm : how far the apex was put back past the tip the label map showed, to where
        the straight walls meet (:func:`hidden_tip_mm`); 0 when it is where it was seen.
    base_on_hull : True when the funnel's fluid fades before its mouth, so its base was taken on
        the lips' outline (their convex hull) and its width may read wider than the fluid is; False
        for a funnel read back from a results database (its row's notes say it).
    """

    length_mm: float
    width_mm: float
    percent: float
    shape: str
    apex_px: tuple[float, float]
    base_px: tuple[tuple[float, float], tuple[float, float]]
    mid_width_mm: float | None = None
    apex_extended_mm: float = 0.0
    base_on_hull: bool = False


def is_small_funnel(length_mm: float) -> bool:
    """Whether a funnel ``length_mm`` long is shorter than :data:`SMALL_FUNNEL_MM`: a call to confirm
    on the image. Judged on the length to a hundredth of a mm, as the results database keeps it, so
    an overlay drawn at measurement and the exam rows written from the database never disagree."""
    return round(length_mm, 2) < SMALL_FUNNEL_MM


def funnel_shape(percent: float, mid_to_base_width: float) -> str:
    """Letter of a funnel: 'U' for rounded walls (width at half its length >= 0.65 of the base),
    else 'Y' below 25 % funnelling and 'V' from 25 %. (T, a closed canal, has no funnel.)"""
    if mid_to_base_width >= 0.65:
        return "U"
    return "Y" if percent < 25.0 else "V"


def hidden_tip_mm(length_mm: ArrayLike, width_mm: ArrayLike, mid_width_mm: ArrayLike, tip_width_mm: ArrayLike) -> np.ndarray:
    """How far (mm) the apex of a straight-walled funnel lies beyond the tip that was found, when the
    label map draws the funnel closed where it is narrower than ``tip_width_mm``.

    Straight walls widen in proportion to the distance from the apex: ``tip_width_mm`` at the tip
    found, ``width_mm`` at the base ``length_mm`` further on, so the part drawn closed is
    ``tip_width_mm * length_mm / (width_mm - tip_width_mm)`` long, at most :data:`MAX_HIDDEN_TIP_MM`,
    and the funnel found is ``(width_mm + tip_width_mm) / 2`` wide halfway along. 0 for a funnel no
    wider than the tip, and for rounded walls: wider halfway (``mid_width_mm``) than
    :data:`STRAIGHT_MID_WIDTH` of the base plus half the tip; a rounded funnel widens at once from
    its apex. Arrays broadcast.
    """
    length, width, mid, tip = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (length_mm, width_mm, mid_width_mm, tip_width_mm)))
    closed = tip * length / np.maximum(width - tip, 1e-9)
    straight = mid <= STRAIGHT_MID_WIDTH * width + tip / 2
    return np.where((width > tip) & straight, np.minimum(closed, MAX_HIDDEN_TIP_MM), 0.0)


def find_funnel(
    gaps: np.ndarray,
    hull: np.ndarray,
    centreline: np.ndarray,
    tail: np.ndarray,
    spacing: Spacing,
    cl_mm: float,
    min_width_mm: float,
    fluid: np.ndarray | None,
) -> Funnel | None:
    """Funnel beyond the functional internal os (the centreline's last point), or None when closed.

    The funnel is the fluid between the lips beyond the closed canal: the parts of ``gaps`` (int
    labels of the 4-connected parts of the background inside ``hull``, the lips' convex hull)
    touching the canal's end or the fluid-filled ``tail`` of the lips' interface. With an image
    (``fluid``: (rows, cols) bool, the anechoic pixels), they must hold fluid, so a notch in a label
    map is no funnel, and only their part within :data:`FLUID_REACH_MM` of it counts (all of them
    when that part does not reach the hull: fluid fading before the funnel's mouth); nor is a
    funnel narrower than ``min_width_mm`` (its length is judged by the caller, once a tip drawn
    closed is put back), nor one with lopsided walls (:data:`MIN_WALL_RATIO`). Its length runs from
    the apex to the middle of its edge on the hull (the funnel base, between the lips' inner
    corners), its width across that base.
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
    # The gaps within ``reach`` (a square) of any of those points: their squares' union is a
    # dilation of the points, in the box they span.
    low, high = np.maximum(points.min(axis=0) - reach, 0), np.minimum(points.max(axis=0) + reach + 1, gaps.shape)
    seeds = np.zeros(high - low, dtype=bool)
    seeds[points[:, 0] - low[0], points[:, 1] - low[1]] = True
    near = gaps[low[0] : high[0], low[1] : high[1]][dilate(seeds, reach)]
    touching = np.unique(near[near > 0])
    if len(touching) == 0:
        return None
    funnel = select_labels(gaps, touching)
    # Its bounding box (from ``origin``) holds all of it: the rest of the window is not looked at again.
    col0, row0, cols, rows = cv2.boundingRect(funnel.view(np.uint8))
    origin = np.array([row0, col0])
    funnel = funnel[row0 : row0 + rows, col0 : col0 + cols]
    # The base is where the hull closes the funnel: its pixels on the hull's edge, from corner to corner.
    outside = ~window(hull, (row0 - 1, col0 - 1, row0 + rows + 1, col0 + cols + 1), False)  # the window's border counts
    rim = dilate(outside, 1)[1:-1, 1:-1]
    base_on_hull = False  # without an image no fluid is seen to fade: the gap is the funnel, as drawn
    if fluid is not None:
        own = fluid[row0 : row0 + rows, col0 : col0 + cols] & funnel  # not the darkness outside the hull's corners
        if np.count_nonzero(own) * spacing[0] * spacing[1] < MIN_FUNNEL_FLUID_MM2:
            return None  # tissue echoes, not fluid: a gap in the label map, not funnelling
        near_fluid = funnel & dilate(own, max(1, int(round(FLUID_REACH_MM / min(spacing)))))
        # Fluid that fills the funnel's apex but fades before its mouth (echoes in the amniotic fluid
        # beyond, or the beam's falling gain) leaves the funnel without a base near it: then the
        # whole gap is the funnel, its base on the hull's chord.
        base_on_hull = int(np.count_nonzero(near_fluid & rim)) < 2
        if not base_on_hull:
            funnel = near_fluid
    points = np.argwhere(funnel & rim) + origin
    if len(points) < 2:
        return None
    points = points.astype(np.float64)
    rel = (points - apex) * scale
    across_u = rel[:, 0] * u[1] - rel[:, 1] * u[0]
    corners = points[[int(np.argmin(across_u)), int(np.argmax(across_u))]]
    base_mid = corners.mean(axis=0)
    length = float(np.hypot(*((base_mid - apex) * scale)))
    width = float(np.hypot(*((corners[1] - corners[0]) * scale))) + min(spacing)  # centres to edges
    if length == 0 or width < min_width_mm:
        return None
    walls_mm = np.hypot(*((corners - apex) * scale).T)
    if walls_mm.min() < MIN_WALL_RATIO * walls_mm.max():
        return None  # a wedge of the amniotic cavity beside one lip's end, not funnelling
    # Width halfway from apex to base, across the funnel's own axis.
    axis = (base_mid - apex) * scale / length
    frel = (np.argwhere(funnel) + origin - apex) * scale
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
        mid_width,
        base_on_hull=base_on_hull,
    )
