"""Cervical length from the two lip regions: canal, os points, lengths in mm, funnel, quality gate.

Pure functions on arrays and records: no file is read here. Points are (row, col) pixels, float,
0-based; lengths are in mm computed with the frame's (row, col) spacing, so anisotropic pixels are
honoured. The canal is the interface between the anterior and posterior lips, found with
sub-pixel precision as the zero level of (p_anterior - p_posterior) inside the cervix, then
smoothed: a raw 8-connected skeleton would over-measure a curved canal by several per cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

__all__ = [
    "QualityLimits",
    "Funnel",
    "Measurement",
    "polyline_length_mm",
    "smooth_polyline",
    "measure_cervix",
    "funnel_shape",
    "FrameKey",
    "ExamResult",
    "exam_result",
    "sector_mask",
]

Spacing = tuple[float, float]  # (row, col) mm per pixel


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the quality gate; each failure becomes a reason in words."""

    min_lip_area_mm2: float = 20.0
    min_cl_mm: float = 4.0  #: shorter is not an anatomical closed canal to report
    max_cl_mm: float = 65.0
    min_lip_ratio: float = 0.65  #: thinner / thicker lip; below: probe pressure
    min_confidence: float = 0.85  #: mean winning-class probability over the cervix
    edge_margin_px: float = 2.0  #: lips closer than this to the sector edge are cut off
    min_canal_contrast: float = 1.05  #: canal line brightness / lip brightness; below: not in plane
    shadow_fraction: float = 0.2  #: share of the canal darker than a quarter of the lips' bright tissue
    min_funnel_mm: float = 2.5  #: funnel length and width that count as funnelling
    fluid_fraction: float = 0.45  #: darker than this share of the lips' median echo is fluid


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


@dataclass(frozen=True, eq=False)
class Measurement:
    """The measurement of one frame. Lengths are None when the frame is not measurable.

    cl_mm : traced along the smoothed canal from the external to the (functional) internal os.
    cl_straight_mm : the straight caliper line between the two os points.
    cl_two_segment_mm : two straight segments through the canal's furthest point from that line;
        equals ``cl_straight_mm`` for a straight canal.
    confidence : mean winning-class probability over the cervix (0-1).
    """

    measurable: bool
    reasons: tuple[str, ...]
    cl_mm: float | None = None
    cl_straight_mm: float | None = None
    cl_two_segment_mm: float | None = None
    funnel: Funnel | None = None
    confidence: float = 0.0
    external_os_px: tuple[float, float] | None = None
    internal_os_px: tuple[float, float] | None = None
    centreline_px: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))


def polyline_length_mm(points_px: np.ndarray, spacing_mm: Spacing) -> float:
    """Length in mm of an (N, 2) (row, col) polyline with (row, col) pixel spacing in mm."""
    steps = np.diff(np.asarray(points_px, dtype=np.float64), axis=0) * np.asarray(spacing_mm)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


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


def funnel_shape(percent: float, mid_to_base_width: float) -> str:
    """Letter of a funnel: 'U' for rounded walls (width at half its length >= 0.65 of the base),
    else 'Y' below 25 % funnelling and 'V' from 25 %. (T, a closed canal, has no funnel.)"""
    if mid_to_base_width >= 0.65:
        return "U"
    return "Y" if percent < 25.0 else "V"


def _window(array: np.ndarray, box: tuple[int, int, int, int], fill: object) -> np.ndarray:
    """array[r0:r1, c0:c1] (last two axes), with ``fill`` where the box runs past the array."""
    r0, c0, r1, c1 = box
    rows, cols = array.shape[-2:]
    out = np.full((*array.shape[:-2], r1 - r0, c1 - c0), fill, dtype=array.dtype)
    sr0, sc0, sr1, sc1 = max(r0, 0), max(c0, 0), min(r1, rows), min(c1, cols)
    out[..., sr0 - r0 : sr1 - r0, sc0 - c0 : sc1 - c0] = array[..., sr0:sr1, sc0:sc1]
    return out


def _lengths(centreline: np.ndarray, spacing: Spacing) -> tuple[float, float, float]:
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


def _cut_at_funnel(centreline: np.ndarray, fluid_gap: np.ndarray, spacing: Spacing) -> tuple[np.ndarray, np.ndarray]:
    """End the closed canal at the tip of the fluid between the lips (the funnel's apex).

    ``fluid_gap`` is anechoic background inside the cervix's hull: amniotic fluid in a funnel. The
    label map may wrap a lip around the funnel so that the lips' interface runs on past the apex;
    the canal a sonographer measures ends where the fluid's tip is. The tip is the fluid pixel
    within 2 mm of the interface that projects nearest to the external os; the first 2 mm from the
    external os are never cut. Returns (closed canal, the interface beyond the apex).
    """
    band = np.zeros(fluid_gap.shape, dtype=np.uint8)
    pts = np.rint(centreline[:, ::-1]).astype(np.int32)  # (col, row) for OpenCV
    cv2.polylines(band, [pts], False, 1, thickness=2 * int(np.ceil(2.0 / min(spacing))) + 1)
    rows, cols = np.nonzero(fluid_gap & band.astype(bool))
    if len(rows) == 0:
        return centreline, centreline[-1:]
    scale = np.asarray(spacing)
    pixels = np.stack([rows, cols], axis=1).astype(np.float64) * scale
    points = centreline * scale
    nearest = np.empty(len(pixels), dtype=int)
    distance = np.empty(len(pixels))
    for start in range(0, len(pixels), 2048):  # bounded memory for large funnels
        d = np.hypot(*(pixels[start : start + 2048, None, :] - points[None, :, :]).transpose(2, 0, 1))
        nearest[start : start + 2048] = d.argmin(axis=1)
        distance[start : start + 2048] = d.min(axis=1)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    candidates = nearest[(distance <= 2.0) & (arc[nearest] >= 2.0)]
    if len(candidates) == 0:
        return centreline, centreline[-1:]
    tip = int(candidates.min())
    return centreline[: tip + 1], centreline[tip:]


def _lip_thickness_mm(lip: np.ndarray, centreline: np.ndarray, spacing: Spacing) -> float:
    """Thickness (mm) of ``lip`` along the canal normal: how far from the canal the lip reaches, on
    the side where it touches the canal; the median over the middle 60 % of the canal, so rounded
    lip tips at either os do not count as thin lips."""
    middle = centreline[len(centreline) // 5 : max(len(centreline) // 5 + 1, 4 * len(centreline) // 5)]
    points = middle[:: max(1, len(middle) // 32)]  # ~32 samples are plenty for a median
    scale = np.asarray(spacing)
    tangent = np.gradient(points * scale, axis=0) if len(points) > 1 else np.array([[1.0, 0.0]])
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-9)[:, None]
    steps_mm = np.arange(0.25, 40.0, 0.25)
    best = (-1.0, 0.0)  # (share of points touching the canal, thickness)
    for side in (1.0, -1.0):
        probe = points[:, None, :] + side * normal[:, None, :] * steps_mm[None, :, None] / scale
        rc = np.rint(probe).astype(int)
        inside = (rc[..., 0] >= 0) & (rc[..., 0] < lip.shape[0]) & (rc[..., 1] >= 0) & (rc[..., 1] < lip.shape[1])
        hit = np.zeros(inside.shape, dtype=bool)
        hit[inside] = lip[rc[..., 0][inside], rc[..., 1][inside]]
        touching = float(hit[:, :4].any(axis=1).mean())
        # The last step still inside the lip before it is left for good.
        reach = np.where(hit.any(axis=1), (hit.shape[1] - np.argmax(hit[:, ::-1], axis=1)) * 0.25, 0.0)
        if touching > best[0]:
            best = (touching, float(np.median(reach)))
    return best[1]


def _convex_hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull of a boolean mask's pixel centres."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros(mask.shape, dtype=np.uint8)
    if contours:
        cv2.fillConvexPoly(hull, cv2.convexHull(np.concatenate(contours)), 1)
    return hull.astype(bool)


def _dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilation by a (2 pixels + 1) square."""
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (the mask itself when it has one)."""
    count, labelled, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    if count <= 2:
        return mask
    return labelled == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _canal_line(p_anterior: np.ndarray, p_posterior: np.ndarray, cervix: np.ndarray) -> np.ndarray | None:
    """The longest zero-level contour of p_anterior - p_posterior inside the cervix, (N, 2).

    The contour joins pixel centres; each end is extended by half a pixel to the pixel's edge, so a
    canal W pixels long measures W pixels.
    """
    difference = cv2.GaussianBlur((p_anterior - p_posterior).astype(np.float32), (0, 0), 1.0)
    contours = find_contours(difference, 0.0, mask=cervix)
    contours = [c for c in contours if len(c) > 2 and not np.isnan(c).any()]
    if not contours:
        return None
    line = max(contours, key=lambda c: np.hypot(*np.diff(c, axis=0).T).sum())
    ends = []
    for end, inner in ((line[0], line[min(3, len(line) - 1)]), (line[-1], line[max(-4, -len(line))])):
        direction = end - inner
        ends.append(end + 0.5 * direction / max(np.hypot(*direction), 1e-9))
    return np.vstack([ends[0], line, ends[1]])


def _mean_along(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    rc = np.clip(np.rint(points).astype(int), 0, np.array(image.shape[:2]) - 1)
    return image[rc[:, 0], rc[:, 1]].astype(np.float64)


def _funnel(
    lips: tuple[np.ndarray, np.ndarray],
    centreline: np.ndarray,
    tail: np.ndarray,
    spacing: Spacing,
    cl_mm: float,
    limits: QualityLimits,
    fluid: np.ndarray | None,
) -> Funnel | None:
    """Funnel beyond the functional internal os (the centreline's last point), or None when closed.

    The funnel is the fluid between the lips beyond the closed canal: background inside the cervix's
    convex hull, touching the canal's end or the fluid-filled ``tail`` of the lips' interface. With an
    image, that region must be mostly fluid (``fluid`` mask), so a notch in a label map is no funnel.
    Its length runs from the apex to the middle of the hull's edge between the lips' inner corners
    (the funnel base), its width across that base.
    """
    apex = centreline[-1]
    scale = np.asarray(spacing)
    last = centreline[max(0, len(centreline) - 1 - int(8.0 / min(spacing))) :]
    axis_mm = (last[-1] - last[0]) * scale
    if np.hypot(*axis_mm) == 0:
        return None
    u = axis_mm / np.hypot(*axis_mm)  # toward the internal os, in mm
    cervix = lips[0] | lips[1]
    hull = _convex_hull(cervix)
    _, labelled = cv2.connectedComponents((hull & ~cervix).astype(np.uint8), connectivity=4)
    reach = max(2, int(round(1.5 / min(spacing))))
    touching = set()
    for r, c in np.clip(np.rint(np.vstack([apex, tail])).astype(int), 0, np.array(cervix.shape) - 1):
        near = labelled[max(r - reach, 0) : r + reach + 1, max(c - reach, 0) : c + reach + 1]
        touching.update(np.unique(near[near > 0]).tolist())
    if not touching:
        return None
    funnel = np.isin(labelled, sorted(touching))
    if fluid is not None and (fluid & funnel).sum() * spacing[0] * spacing[1] < 2.0:
        return None  # tissue echoes, not fluid: a gap in the label map, not funnelling
    # The base is where the hull closes the funnel: its pixels on the hull's edge, from corner to corner.
    outside = np.pad(~hull, 1, constant_values=True)  # the window's border counts as outside
    edge = funnel & _dilate(outside, 1)[1:-1, 1:-1]
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
    if length < limits.min_funnel_mm or width < limits.min_funnel_mm:
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


def measure_cervix(
    labels: np.ndarray,
    spacing_mm: Spacing | None,
    *,
    probabilities: np.ndarray | None = None,
    grey: np.ndarray | None = None,
    fan: np.ndarray | None = None,
    apex_px: tuple[float, float] = (0.0, 0.0),
    limits: QualityLimits = QualityLimits(),
) -> Measurement:
    """Measure one frame.

    labels : (rows, cols) uint8, 0 background, 1 anterior lip, 2 posterior lip.
    spacing_mm : (row, col) mm per pixel; None for an uncalibrated frame (never measured in mm).
    probabilities : (3, rows, cols) float32 class probabilities; one-hot of ``labels`` when None.
    grey : (rows, cols) uint8 image, for the canal-visibility and shadow checks (skipped when None).
    fan : (rows, cols) bool, the imaged sector; lips touching its edge are cut off.
    apex_px : (row, col) of the probe; the os nearer to it is the external os.
    """
    reasons: list[str] = []
    if spacing_mm is None:
        return Measurement(False, ("uncalibrated frame: no millimetre scale",))
    spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    pixel_mm2 = spacing[0] * spacing[1]
    rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
    if len(rows) == 0 or np.count_nonzero(labels) * pixel_mm2 < 2 * limits.min_lip_area_mm2:
        return Measurement(False, ("cervix not found",))
    # Work in a window around the cervix: the rest of the frame cannot change the answer.
    margin = int(np.ceil(limits.edge_margin_px)) + 4
    box = (int(rows[0]) - margin, int(cols[0]) - margin, int(rows[-1]) + margin + 1, int(cols[-1]) + margin + 1)
    offset = np.array(box[:2], dtype=np.float64)
    labels = _window(labels, box, 0)
    if probabilities is None:
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32)
    else:
        probabilities = _window(probabilities, box, 0.0)
    lips = tuple(_largest_component(labels == k) for k in (1, 2))
    if min(lip.sum() for lip in lips) * pixel_mm2 < limits.min_lip_area_mm2:
        return Measurement(False, ("cervix not found: a lip is missing",))
    cervix = lips[0] | lips[1]
    confidence = float(probabilities.max(axis=0)[cervix].mean())
    line = _canal_line(probabilities[1], probabilities[2], cervix)
    if line is None:
        return Measurement(False, ("os not found: the lips do not meet along a canal",), confidence=confidence)
    apex = np.asarray(apex_px, dtype=np.float64) - offset
    if np.hypot(*(line[0] - apex)) > np.hypot(*(line[-1] - apex)):
        line = line[::-1]  # external os first
    centreline = smooth_polyline(line, window_px=2.0 / min(spacing))
    fluid = None
    if grey is not None:
        grey = _window(grey, box, 0)
        lip_level = float(np.median(grey[cervix])) + 1e-6
        # Anechoic fluid: a 1 mm neighbourhood darker than a share of the lips median echo.
        k = 2 * max(1, int(round(0.5 / min(spacing)))) + 1
        fluid = cv2.blur(grey.astype(np.float32), (k, k)) < limits.fluid_fraction * lip_level
        centreline, tail = _cut_at_funnel(centreline, fluid & _convex_hull(cervix) & ~cervix, spacing)
    else:
        tail = centreline[-1:]
    cl, straight, two_segment = _lengths(centreline, spacing)

    if confidence < limits.min_confidence:
        reasons.append(f"low model confidence ({confidence:.2f} < {limits.min_confidence})")
    if fan is not None:
        outside = ~_window(fan, box, False)
        near_edge = _dilate(outside, int(np.ceil(limits.edge_margin_px)))
        if (cervix & near_edge).any():
            reasons.append("canal not fully inside the ultrasound sector")
    thickness = [_lip_thickness_mm(lip, centreline, spacing) for lip in lips]
    if min(thickness) < limits.min_lip_ratio * max(thickness):
        reasons.append(f"lips very unequal in thickness ({min(thickness):.1f} vs {max(thickness):.1f} mm: probe pressure)")
    if not limits.min_cl_mm <= cl <= limits.max_cl_mm:
        reasons.append(f"canal {cl:.1f} mm is too short or too long to be anatomical")
    if grey is not None:
        bright_level = float(np.percentile(grey[cervix], 90)) + 1e-6  # unshadowed tissue
        canal_level = _mean_along(cv2.blur(grey.astype(np.float32), (3, 3)), centreline)
        if (canal_level < 0.25 * bright_level).mean() > limits.shadow_fraction:
            reasons.append("acoustic shadow over the canal")
        elif canal_level.mean() / lip_level < limits.min_canal_contrast:
            reasons.append("out-of-plane view: the endocervical canal is not visible")
    funnel = _funnel(lips, centreline, tail, spacing, cl, limits, fluid)
    if funnel is not None:
        funnel = replace(
            funnel,
            apex_px=tuple(np.asarray(funnel.apex_px) + offset),
            base_px=tuple(tuple(np.asarray(p) + offset) for p in funnel.base_px),
        )
    centreline = centreline + offset
    external, internal = centreline[0], centreline[-1]
    ok = not reasons
    return Measurement(
        measurable=ok,
        reasons=tuple(reasons),
        cl_mm=cl if ok else None,
        cl_straight_mm=straight if ok else None,
        cl_two_segment_mm=two_segment if ok else None,
        funnel=funnel if ok else None,
        confidence=confidence,
        external_os_px=(float(external[0]), float(external[1])),
        internal_os_px=(float(internal[0]), float(internal[1])),
        centreline_px=centreline,
    )


FrameKey = tuple[str, int]  # (SOP Instance UID, 1-based frame number)


@dataclass(frozen=True)
class ExamResult:
    """The exam-level cervical length (FMF / ISUOG practice): the shortest of the best three
    measurable frames, best meaning the most confident.

    cl_mm : None when no frame of the exam is measurable.
    frames_used : the (up to three) frames the choice was made from, best first.
    spread_mm : longest minus shortest of those frames' lengths.
    """

    cl_mm: float | None
    cl_straight_mm: float | None
    frames_used: tuple[FrameKey, ...]
    chosen: FrameKey | None
    spread_mm: float | None
    valid_frames: int
    total_frames: int


def exam_result(measurements: list[tuple[FrameKey, Measurement]], *, best: int = 3) -> ExamResult:
    """Combine the frames of one exam (a study, or a cine loop) into its :class:`ExamResult`."""
    valid = [(key, m) for key, m in measurements if m.measurable and m.cl_mm is not None]
    if not valid:
        return ExamResult(None, None, (), None, None, 0, len(measurements))
    top = sorted(valid, key=lambda item: (-item[1].confidence, item[0]))[:best]
    chosen_key, chosen = min(top, key=lambda item: (item[1].cl_mm, item[0]))
    lengths = [m.cl_mm for _, m in top]
    return ExamResult(
        cl_mm=chosen.cl_mm,
        cl_straight_mm=chosen.cl_straight_mm,
        frames_used=tuple(key for key, _ in top),
        chosen=chosen_key,
        spread_mm=float(max(lengths) - min(lengths)),
        valid_frames=len(valid),
        total_frames=len(measurements),
    )


def sector_mask(grey: np.ndarray, bounds: tuple[int, int, int, int] | None) -> tuple[np.ndarray, tuple[float, float]]:
    """The imaged fan of a frame and its probe apex, from the pixels themselves.

    grey : (rows, cols) uint8 frame. bounds : (min_col, min_row, max_col, max_row) of the tissue
    region, inclusive, or None for the whole image. The fan is the largest non-black area inside the
    region, holes filled (anechoic fluid inside the fan stays inside); the apex is the middle of its
    top row. Returns (rows, cols) bool and (row, col).
    """
    c0, r0, c1, r1 = bounds if bounds is not None else (0, 0, grey.shape[1] - 1, grey.shape[0] - 1)
    inside = np.zeros(grey.shape, dtype=bool)
    window = grey[r0 : r1 + 1, c0 : c1 + 1] > 4
    window = cv2.morphologyEx(window.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8)).astype(bool)
    if window.any():
        window = ndimage.binary_fill_holes(_largest_component(window))
    inside[r0 : r1 + 1, c0 : c1 + 1] = window
    rows = np.nonzero(inside.any(axis=1))[0]
    if len(rows) == 0:
        return inside, (float(r0), (c0 + c1) / 2.0)
    top = rows[0]
    cols = np.nonzero(inside[top])[0]
    return inside, (float(top), float(cols.mean()))
