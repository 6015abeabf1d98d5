"""The anterior uterocervical angle (AUCA): at the internal os, between the cervical canal's line and
the anterior wall of the lower uterine segment.

The wall is read from the image, without a model class of its own: beyond the internal os lies the
amniotic fluid, and the anterior wall is the tissue that bounds it on the anterior side. Seen from
the os, every radius from :data:`RADII_MM` crosses from that fluid into the wall at one angle; a line
is fitted through those crossings by consensus (the line that most of them lie on), so a sludge
echo or a fetal part in the fluid does not bend it. No angle is given when the wall is not followed
from near the os far enough inside the sector, when the line found does not start at the os, or when
its echo is brighter than soft tissue (a fetal skull against the fluid).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from ._canal import Spacing
from ._masks import box_side_1mm_px, mean_1mm

__all__ = ["Auca", "anterior_uterocervical_angle"]

#: Distances from the os (mm) at which the wall is looked for: past the os's own rounding, within
#: the lower uterine segment. One crossing per radius: 1 mm apart, 9 of them span the shortest wall
#: (:data:`MIN_WALL_MM`).
RADII_MM = np.arange(5.0, 25.01, 1.0)
#: The fitted wall must run this far (mm), pass this close to the os (mm) and be followed from this
#: close to it (mm): a radial edge far out (a fetal part's, the fan's) points at the os too.
MIN_WALL_MM, MAX_OS_OFFSET_MM, MAX_FIRST_MM = 8.0, 2.0, 8.0
#: The wall is soft tissue: its echo no brighter than this share of the lips' median. A fetal skull
#: (bone) that bounds the fluid is far brighter.
MAX_WALL_ECHO = 1.3
#: Crossings within this distance (mm) of a candidate line count for it.
INLIER_MM = 0.5
#: A stretch of tissue in the fluid shorter than this (mm of arc) is sludge or speckle, not the wall.
GAP_MM = 1.5
#: Fluid beyond the os reads up to this share of the lips' median echo (far from the probe, noise and
#: gain lift it above the funnel's darkness); Otsu's split of the samples is used where it is lower.
FLUID_FRACTION = 0.75
#: Angle between samples on a radius (degrees): at most 0.44 mm apart at 25 mm, under half the 1 mm
#: square each sample averages (:func:`mean_1mm`), so finer steps read the same image again.
_STEP_DEG = 1.0


@dataclass(frozen=True)
class Auca:
    """The anterior uterocervical angle of one frame.

    angle_deg : between the canal's straight caliper line (internal to external os) and the
        anterior uterine wall, in degrees, 0-180.
    wall_px : ((row, col), (row, col)) the fitted wall's ends in pixels, the os end first.
    """

    angle_deg: float
    wall_px: tuple[tuple[float, float], tuple[float, float]]


def _gap_samples(radii_mm: np.ndarray) -> np.ndarray:
    """:data:`GAP_MM` of arc in angle samples, at each radius (at least one)."""
    return np.maximum(1, np.ceil(np.rad2deg(GAP_MM / radii_mm) / _STEP_DEG)).astype(int)


def _crossings(fluid: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Per radius (row), the first angle index where the fluid straight ahead of the os (index 0)
    gives way to tissue for at least :data:`GAP_MM` of arc; -1 where there is no fluid straight
    ahead, where it is narrower than :data:`GAP_MM` (a dark line, not the amniotic fluid), or
    where what ends it is not ``inside`` the image's sector (its edge is no wall).

    fluid, inside : (radii, angles) bool, angle index 0 looking away from the canal, rising by
    :data:`_STEP_DEG` toward the canal's anterior side.
    """
    count = fluid.shape[1]
    gap = _gap_samples(RADII_MM[: len(fluid)])[:, None]
    index = np.arange(count)
    # The next fluid sample at or after each sample (``count`` when none): a tissue run starting at i
    # is next_fluid[i] - i samples long.
    next_fluid = np.minimum.accumulate(np.where(fluid, index, count)[:, ::-1], axis=1)[:, ::-1]
    starts = ~fluid & np.concatenate([np.ones((len(fluid), 1), dtype=bool), fluid[:, :-1]], axis=1)
    ends_wall = starts & ((next_fluid - index >= gap) | (next_fluid == count))
    first = np.argmax(ends_wall, axis=1)
    rows = np.arange(len(fluid))
    ok = fluid[:, 0] & ends_wall[rows, first] & inside[rows, first] & (first >= gap[:, 0])
    return np.where(ok, first, -1)


@cache
def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) of ``count`` points, as two index arrays."""
    return np.triu_indices(count, 1)


def _consensus_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (mean, unit direction) of the line through most of the (N, 2) ``points`` (mm): every
    pair proposes a line, the one with most points within :data:`INLIER_MM` is refitted to them
    (mean and principal direction, returned with the inlier mask)."""
    i, j = _pairs(len(points))
    d = points[j] - points[i]
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    normals = np.stack([-d[keep, 1], d[keep, 0]], axis=1) / length[keep, None]
    distance = np.abs(normals @ points.T - np.einsum("pk,pk->p", normals, points[i[keep]])[:, None])
    inliers = distance[int(np.argmax((distance <= INLIER_MM).sum(axis=1)))] <= INLIER_MM
    chosen = points[inliers]
    mean = chosen.mean(axis=0)
    # The principal axis of the inliers' 2 x 2 scatter, in closed form.
    centred = chosen - mean
    sxx, syy, sxy = centred[:, 0] @ centred[:, 0], centred[:, 1] @ centred[:, 1], centred[:, 0] @ centred[:, 1]
    angle = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)
    return mean, np.array([np.cos(angle), np.sin(angle)]), inliers


def _polar_samples(
    grey: np.ndarray, fan: np.ndarray | None, points_px: np.ndarray, spacing_mm: Spacing
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At (..., 2) float (row, col) ``points_px``: the nearest pixels (clipped into the image), whether
    each lies in the image and the fan, and the image's mean over a 1 mm neighbourhood there."""
    rc = np.rint(points_px).astype(np.intp)
    rows, cols = grey.shape
    r, c = rc[..., 0], rc[..., 1]
    valid = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    np.clip(r, 0, rows - 1, out=r)  # per axis: a third of the time of one broadcast clip
    np.clip(c, 0, cols - 1, out=c)
    # Gathered by flat index (np.take): half the time of indexing by rows and columns.
    if fan is not None:
        valid &= np.take(fan.reshape(-1), r * cols + c)
    # Smoothed on the window that the samples reach only.
    pad = box_side_1mm_px(spacing_mm) // 2
    r0, c0 = max(r.min() - pad, 0), max(c.min() - pad, 0)
    r1, c1 = min(r.max() + 1 + pad, rows), min(c.max() + 1 + pad, cols)
    smooth = mean_1mm(grey[r0:r1, c0:c1], spacing_mm)
    return rc, valid, np.take(smooth.reshape(-1), (r - r0) * (c1 - c0) + (c - c0))


def _lookup(mask: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """``mask`` at the (..., 2) int (row, col) ``rc``; False outside it."""
    rows, cols = mask.shape
    r, c = rc[..., 0], rc[..., 1]
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    # Gathered by flat index with every point outside sent to one index: cheaper than selecting them.
    return inside & np.take(mask.reshape(-1), np.where(inside, r * cols + c, 0))


def anterior_uterocervical_angle(
    grey: np.ndarray,
    fan: np.ndarray | None,
    *,
    internal_os_px: tuple[float, float],
    external_os_px: tuple[float, float],
    wall_start_px: tuple[float, float],
    anterior_px: tuple[float, float],
    spacing_mm: Spacing,
    lip_level: float,
    lips: np.ndarray | None = None,
    lips_origin_px: tuple[int, int] = (0, 0),
) -> Auca | None:
    """The AUCA of one frame, or None when the anterior uterine wall is not seen well enough.

    grey : (rows, cols) uint8 image; fan : (rows, cols) bool imaged sector (None: all of it).
    internal_os_px, external_os_px : (row, col) ends of the canal's straight caliper line (the
        functional internal os: a funnel's apex). Measured from a funnel's base instead, the line
        would inherit the base's errors (a dent read as a funnel tilts it by up to 20 degrees).
    wall_start_px : (row, col) where the anterior wall starts: the internal os, or the anterior
        corner of a funnel's base.
    anterior_px : (row, col) of any point of the anterior lip (gives the anterior side).
    spacing_mm : (row, col) mm per pixel. lip_level : the lips' median grey level (0-255).
    lips : bool mask of the cervix's lips, its pixel (0, 0) at ``lips_origin_px`` of the frame
        (a window around the cervix will do): the fluid's edge on a lip is not the uterine wall.
    """
    scale = np.asarray(spacing_mm, dtype=np.float64)
    origin = np.asarray(wall_start_px, dtype=np.float64)
    chord = (np.asarray(external_os_px) - np.asarray(internal_os_px)) * scale
    if np.hypot(*chord) == 0:
        return None
    chord /= np.hypot(*chord)
    normal = np.array([-chord[1], chord[0]])
    if (np.asarray(anterior_px) - np.asarray(internal_os_px)) * scale @ normal < 0:
        normal = -normal
    # Angles from the canal's line toward the anterior side, from straight ahead (180) down to 30.
    angles = np.deg2rad(np.arange(30.0, 180.0 + _STEP_DEG / 2, _STEP_DEG))
    directions = np.cos(angles)[:, None] * chord + np.sin(angles)[:, None] * normal  # (A, 2) mm
    samples_mm = RADII_MM[:, None, None] * directions[None]  # (R, A, 2)
    rc, valid, values = _polar_samples(grey, fan, origin + samples_mm / scale, spacing_mm)
    if not valid.any():
        return None
    otsu, _ = cv2.threshold(values[valid].astype(np.uint8)[None], 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fluid = (values < min(otsu, FLUID_FRACTION * lip_level)) & valid
    # Index 0 looks straight ahead: reversed so that the walk goes from the fluid toward the canal.
    values, fluid, valid, rc = values[:, ::-1], fluid[:, ::-1], valid[:, ::-1], rc[:, ::-1]
    crossing = _crossings(fluid, valid)
    if lips is not None:
        # Where the fluid gives way to a lip, that is no uterine wall: looked up at the crossings only.
        radii = np.flatnonzero(crossing >= 0)
        on_lip = _lookup(lips, rc[radii, crossing[radii]] - np.asarray(lips_origin_px))
        crossing[radii[on_lip]] = -1
    found = crossing >= 0
    if found.sum() < 3:
        return None
    wall_angles = angles[::-1][crossing[found]]
    points = RADII_MM[found, None] * (np.cos(wall_angles)[:, None] * chord + np.sin(wall_angles)[:, None] * normal)
    mean, direction, inliers = _consensus_line(points)
    if RADII_MM[found][inliers].min() > MAX_FIRST_MM:
        return None
    # The echo of the first GAP_MM of tissue past each crossing on the line.
    on_line = np.flatnonzero(found)[inliers]
    wall = [values[j, c : c + n] for j, c, n in zip(on_line, crossing[on_line], _gap_samples(RADII_MM[on_line]))]
    if np.median(np.concatenate(wall)) > MAX_WALL_ECHO * lip_level:
        return None
    if abs(mean @ np.array([-direction[1], direction[0]])) > MAX_OS_OFFSET_MM:
        return None  # the line found does not start at the os: another edge in the fluid
    if direction @ mean < 0:
        direction = -direction  # pointing away from the os
    along = (points[inliers] - mean) @ direction
    if np.ptp(along) < MIN_WALL_MM:
        return None
    angle = float(np.degrees(np.arccos(np.clip(direction @ chord, -1.0, 1.0))))
    ends = origin + np.stack([mean + along.min() * direction, mean + along.max() * direction]) / scale
    return Auca(angle, ((float(ends[0][0]), float(ends[0][1])), (float(ends[1][0]), float(ends[1][1]))))
