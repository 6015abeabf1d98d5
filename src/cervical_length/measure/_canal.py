"""The endocervical canal: the lips' interface as a sub-pixel line, its smoothing, its lengths in
mm, where a funnel ends it, and the lips' thickness across it.

Points are (row, col) pixels, float, 0-based; spacing is (row, col) mm per pixel, so anisotropic
pixels are honoured. A raw 8-connected skeleton would over-measure a curved canal by several per
cent; the zero level of (p_anterior - p_posterior), smoothed, does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from skimage.measure import find_contours

from ._masks import near_line, pixels_of

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["Spacing", "polyline_length_mm", "split_before_end", "smooth_polyline", "course_px", "canal_lines", "canal_lengths", "FluidPixels", "cut_at_funnel", "lip_thicknesses_mm"]

Spacing = tuple[float, float]  # (row, col) mm per pixel


def polyline_length_mm(points_px: np.ndarray, spacing_mm: Spacing) -> float:
    """Length in mm of an (N, 2) (row, col) polyline with (row, col) pixel spacing in mm."""
    steps = np.diff(np.asarray(points_px, dtype=np.float64), axis=0) * np.asarray(spacing_mm)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


def split_before_end(points_px: np.ndarray, mm: float, spacing_mm: Spacing) -> tuple[np.ndarray, np.ndarray]:
    """Split an (N, 2) (row, col) polyline ``mm`` of arc before its last point (clamped to its
    length): the part before and the part after, each holding the split point."""
    points = np.asarray(points_px, dtype=np.float64)
    steps = np.diff(points, axis=0) * np.asarray(spacing_mm)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(steps[:, 0], steps[:, 1]))])
    at = max(arc[-1] - mm, 0.0)
    k = min(int(np.searchsorted(arc, at, side="right")), len(points) - 1)  # arc[k - 1] <= at < arc[k]
    share = (at - arc[k - 1]) / max(arc[k] - arc[k - 1], 1e-12)
    split = points[k - 1] + share * (points[k] - points[k - 1])
    return np.vstack([points[:k], split]), np.vstack([split, points[k:]])


def smooth_polyline(points_px: np.ndarray, window_px: float) -> np.ndarray:
    """Resample an (N, 2) polyline every 0.5 px and smooth it with a moving average of ``window_px``,
    ends kept fixed. Removes the pixel-grid zigzag that inflates the length of a traced line."""
    points = np.asarray(points_px, dtype=np.float64)
    steps = np.hypot(*np.diff(points, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] < 1.0:
        return points
    t = np.arange(0.0, arc[-1], 0.5)
    t = np.append(t, arc[-1]) if t[-1] < arc[-1] else t
    resampled = np.stack([np.interp(t, arc, points[:, 0]), np.interp(t, arc, points[:, 1])], axis=1)
    half = int(max(1, round(window_px / 2 / 0.5)))
    if len(resampled) <= 2 * half + 1:
        return resampled
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    # Reflect about the end points (odd extension) so the ends stay where they are.
    padded = np.concatenate([2 * resampled[0] - resampled[half:0:-1], resampled, 2 * resampled[-1] - resampled[-2 : -half - 2 : -1]])
    smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
    return smooth


#: Degree of the polynomial that gives a canal's course: a canal bends at most once or twice along
#: its length (the phantoms' turn by up to 0.7 rad), so a cubic follows it, not the speckle.
COURSE_DEGREE = 3


def course_px(points_px: np.ndarray) -> np.ndarray:
    """The course of an (N, 2) (row, col) polyline: at each point, the least-squares cubic in arc
    length through all of them. A canal's echo lies along its course; an interface the model draws
    where no canal shows wavers with the speckle, and its course does not follow the speckle's
    bright grains. Returns (N, 2) float; a polyline of at most four points or no length as it is."""
    points = np.asarray(points_px, dtype=np.float64)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    if len(points) <= COURSE_DEGREE + 1 or arc[-1] <= 0.0:
        return points
    powers = np.vander(arc / arc[-1], COURSE_DEGREE + 1)
    return powers @ np.linalg.lstsq(powers, points, rcond=None)[0]  # rows and columns in one fit


def canal_lengths(centreline: np.ndarray, spacing: Spacing) -> tuple[float, float, float]:
    """Traced, straight and two-segment lengths (mm) of a canal from its first to its last point."""
    external, internal = centreline[0], centreline[-1]
    chord = (internal - external) * np.asarray(spacing)
    normal = np.array([-chord[1], chord[0]]) / max(np.hypot(*chord), 1e-9)
    bend = centreline[int(np.argmax(np.abs(((centreline - external) * np.asarray(spacing)) @ normal)))]
    return (
        polyline_length_mm(centreline, spacing),
        polyline_length_mm(np.stack([external, internal]), spacing),
        polyline_length_mm(np.stack([external, bend, internal]), spacing),
    )


@dataclass(frozen=True, eq=False)
class FluidPixels:
    """The anechoic pixels inside the cervix's hull, listed once per frame for every trace.

    mask : (rows, cols) bool, the pixels. points_px : (M, 2) int (row, col) of the pixels.
    parts : (M,) int, the 8-connected part of the fluid each belongs to (1-based). in_gap : (M,)
    bool, True outside the lips' mask.
    """

    mask: np.ndarray
    points_px: np.ndarray
    parts: np.ndarray
    in_gap: np.ndarray

    @classmethod
    def of(cls, fluid: np.ndarray, cervix: np.ndarray) -> FluidPixels:
        """From a (rows, cols) bool fluid mask and the lips' mask."""
        parts = cv2.connectedComponents(fluid.view(np.uint8), connectivity=8)[1]
        points = pixels_of(fluid)
        flat = points[:, 0] * fluid.shape[1] + points[:, 1]  # gathered by flat index: faster than by the mask
        return cls(fluid, points, np.take(parts, flat), ~np.take(cervix, flat))


class _FluidTip:
    """Finds, along one centreline, the fluid nearest the external os (see :meth:`index`)."""

    def __init__(self, centreline: np.ndarray, fluid: FluidPixels, shape: tuple[int, int], spacing: Spacing) -> None:
        self.centreline, self.fluid, self.spacing = centreline, fluid, spacing
        points = fluid.points_px
        # Which fluid pixels lie within about 2 mm of the line: drawn once for every query.
        self.near = near_line(centreline, shape, 2.0 / min(spacing))[points[:, 0], points[:, 1]]
        self._tree: cKDTree | None = None

    def index(self, selected: np.ndarray) -> int:
        """Index of the centreline point nearest to the ``selected`` ((M,) bool over the fluid
        pixels) pixel within 2 mm of the line that lies nearest the external os, never in the
        first 2 mm; the last index when there is none."""
        near = self.fluid.points_px[selected & self.near]
        if len(near) == 0:
            return len(self.centreline) - 1
        scale = np.asarray(self.spacing)
        points = self.centreline * scale
        if self._tree is None:
            # Imported here: scipy.spatial takes ~0.45 s to import, which every command would pay at
            # start (the main process of a pooled run never measures); engine.Pipeline loads it first.
            from scipy.spatial import cKDTree

            self._tree = cKDTree(points)
        distance, nearest = self._tree.query(near * scale)
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
        candidates = nearest[(distance <= 2.0) & (arc[nearest] >= 2.0)]
        return int(candidates.min()) if len(candidates) else len(self.centreline) - 1


def cut_at_funnel(centreline: np.ndarray, fluid: FluidPixels, shape: tuple[int, int], spacing: Spacing) -> tuple[np.ndarray, np.ndarray]:
    """End the closed canal at the tip of the fluid between the lips (the funnel's apex).

    ``fluid`` lists the anechoic pixels inside the cervix's hull of a (rows, cols) ``shape`` window.
    The funnel is the fluid outside the lips that touches the canal, together with the fluid
    connected to it that the label map drew as lip: a model may wrap a lip around a visible funnel
    so that the lips' interface runs on past the apex. The canal a sonographer measures ends where
    that fluid's tip is. A cyst or shadow inside a lip that does not join the funnel's fluid never
    cuts the canal, nor does fluid in the first 2 mm from the external os. Returns (closed canal,
    the interface beyond the apex).
    """
    if not fluid.in_gap.any():
        return centreline, centreline[-1:]  # no fluid outside the lips: nothing ends the canal early
    tips = _FluidTip(centreline, fluid, shape, spacing)
    tip = tips.index(fluid.in_gap)
    # The fluid parts that reach the gap near the interface from the first cut on (at least two
    # points, so a canal that ends at the gap still has its 2 mm neighbourhood).
    gap = fluid.points_px[fluid.in_gap]
    band = near_line(centreline[max(tip - 1, 0) :], shape, 2.0 / min(spacing))
    touching = np.unique(fluid.parts[fluid.in_gap][band[gap[:, 0], gap[:, 1]]])
    if len(touching):
        tip = tips.index(np.isin(fluid.parts, touching))
    return centreline[: tip + 1], centreline[tip:]


def lip_thicknesses_mm(lips: tuple[np.ndarray, np.ndarray], centreline: np.ndarray, spacing: Spacing) -> tuple[float, float]:
    """Thickness (mm) of each lip along the canal normal: how far from the canal the lip reaches, on
    the side where it touches the canal; the median over the middle 60 % of the canal, so rounded
    lip tips at either os do not count as thin lips."""
    middle = centreline[len(centreline) // 5 : max(len(centreline) // 5 + 1, 4 * len(centreline) // 5)]
    points = middle[:: max(1, len(middle) // 32)]  # ~32 samples are plenty for a median
    scale = np.asarray(spacing)
    tangent = np.gradient(points * scale, axis=0) if len(points) > 1 else np.array([[1.0, 0.0]])
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-9)[:, None]
    step_mm = 0.25
    steps_mm = np.arange(step_mm, 40.0, step_mm)
    # 1, 2: the lip at a pixel; a border of background, where every probe that leaves the image ends.
    which = np.zeros((lips[0].shape[0] + 2, lips[0].shape[1] + 2), dtype=np.uint8)
    np.add(lips[0].view(np.uint8), 2 * lips[1].view(np.uint8), out=which[1:-1, 1:-1])
    # One probe per side serves both lips: each reads its own label along the same rays.
    sides = np.array([1.0, -1.0])[:, None, None]
    index = np.zeros((2, len(points), len(steps_mm)), dtype=np.intp)
    for axis in (0, 1):
        along = np.rint(points[:, axis][None, :, None] + sides * (normal[:, axis][:, None] * (steps_mm / scale[axis]))).astype(np.intp)
        index = index * which.shape[1] + np.clip(along + 1, 0, which.shape[axis] - 1)
    found = np.take(which, index)  # (side, points, steps)
    reach = []
    for k in (1, 2):
        hits = found == k
        # The side on which the lip touches the canal at most points (the first side on a tie).
        hit = hits[int(np.argmax(hits[:, :, :4].any(axis=2).sum(axis=1)))]
        # Per probe, the last step still inside the lip before it is left for good.
        reach.append(np.where(hit.any(axis=1), (hit.shape[1] - np.argmax(hit[:, ::-1], axis=1)) * step_mm, 0.0))
    anterior, posterior = np.median(np.stack(reach), axis=1)  # one call for both: half the overhead
    return float(anterior), float(posterior)


def _longest(contours: list[np.ndarray]) -> np.ndarray | None:
    """The longest polyline of more than two points, each end extended by half a pixel to the
    pixel's edge (contours join pixel centres, so a canal W pixels long then measures W pixels)."""
    contours = [c for c in contours if len(c) > 2]
    if not contours:
        return None
    line = max(contours, key=lambda c: np.hypot(*np.diff(c, axis=0).T).sum())
    ends = []
    for end, inner in ((line[0], line[min(3, len(line) - 1)]), (line[-1], line[max(-4, -len(line))])):
        direction = end - inner
        ends.append(end + 0.5 * direction / max(np.hypot(*direction), 1e-9))
    return np.vstack([ends[0], line, ends[1]])


def _runs_inside(contour: np.ndarray, squares: np.ndarray) -> list[np.ndarray]:
    """The pieces of a marching-squares contour whose segments lie in ``squares`` ((rows - 1,
    cols - 1) bool, True where all four corner pixels are in a mask): the contours of the same
    level that marching squares finds inside that mask."""
    # Each segment joins two edges of one square, so its midpoint lies inside that square.
    corner = np.floor(0.5 * (contour[:-1] + contour[1:])).astype(int)
    kept = squares[corner[:, 0], corner[:, 1]]
    if kept.all():
        return [contour]
    if np.array_equal(contour[0], contour[-1]):
        # A closed loop: start after a dropped segment so that no piece wraps around its start.
        start = int(np.argmin(kept))
        contour, kept = np.vstack([contour[start + 1 :], contour[1 : start + 2]]), np.roll(kept, -start - 1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], kept.astype(np.int8), [0]])))
    return [contour[a : b + 1] for a, b in zip(edges[::2], edges[1::2])]


def canal_lines(
    p_anterior: np.ndarray, p_posterior: np.ndarray, cervix: np.ndarray, bridged: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The canal traced inside the lips' mask ``cervix`` and inside ``bridged``, a larger mask (the
    lips with narrow notches between them closed); each (N, 2) or None.

    Each is the longest zero-level contour of p_anterior - p_posterior inside its mask. The field
    is contoured once, inside ``bridged``: the contours inside ``cervix`` are the pieces of those
    that run through squares with all four corners in ``cervix``.
    """
    difference = cv2.GaussianBlur(np.subtract(p_anterior, p_posterior, dtype=np.float32), (0, 0), 1.0)
    contours = find_contours(difference, 0.0, mask=bridged)
    squares = cervix[:-1, :-1] & cervix[1:, :-1] & cervix[:-1, 1:] & cervix[1:, 1:]
    return _longest([run for c in contours for run in _runs_inside(c, squares)]), _longest(contours)
