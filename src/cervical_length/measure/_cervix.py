"""One frame's measurement: canal, os points, lengths in mm, funnel and the quality gate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import cv2
import numpy as np

from ._auca import Auca, anterior_uterocervical_angle
from ._canal import (
    FluidPixels,
    Spacing,
    canal_lengths,
    canal_lines,
    course_px,
    cut_at_funnel,
    lip_thicknesses_mm,
    polyline_length_mm,
    smooth_polyline,
    split_before_end,
)
from ._funnel import MIN_FUNNEL_FLUID_MM2, Funnel, find_funnel, hidden_tip_mm
from ._masks import (
    centroid_px,
    close,
    convex_hull,
    dilate,
    disc,
    labelled_box,
    largest_component,
    mean_1mm,
    mean_along,
    near_line,
    outline_px,
    quantiles_u8,
    window,
)

__all__ = ["QualityLimits", "Measurement", "measure_cervix"]

#: Radius (mm) of the closing that bridges notches between the lips below the scanner's resolution.
BRIDGE_MM = 1.0
#: Radius (mm) around the internal os over which the model's confidence there is averaged: about
#: the lips' rounded inner ends and the fluid or tissue beyond them, where the canal's end is decided.
OS_RADIUS_MM = 3.0


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the quality gate (each failure becomes a reason in words) and the measurement's
    settings; ``engine.quality_limits`` gives those calibrated for a model."""

    min_lip_area_mm2: float = 20.0
    min_cl_mm: float = 4.0  #: shorter is not an anatomical closed canal to report
    max_cl_mm: float = 65.0
    min_lip_ratio: float = 0.65  #: thinner / thicker lip; below: probe pressure
    #: How far (mm) a lip may run on past the canal's external end. Beyond the lips' rounded ends a lip
    #: reaching further means the canal's external end was not found: a lip the model drew in two
    #: pieces leaves the canal only along the larger one. On 922 measured model-selection phantoms the
    #: most was 5 mm (README).
    max_lip_overhang_mm: float = 8.0
    min_confidence: float = 0.85  #: mean winning-class probability over the cervix
    #: Mean winning-class probability within :data:`OS_RADIUS_MM` of the internal os; below, the
    #: model is unsure where the canal ends (the largest length errors sit there).
    min_os_confidence: float = 0.75
    #: Lips this close to the sector edge (pixels) are cut off by it: about one pixel of the network's
    #: 256 grid for a 600 x 800 export, the resolution the lips are drawn at.
    edge_margin_px: float = 3.0
    min_canal_contrast: float = 1.05  #: canal line brightness / lip brightness; below: not in plane
    shadow_fraction: float = 0.2  #: share of the canal darker than a quarter of the lips' bright tissue
    #: Funnel length (its hidden tip put back) and base width that count as funnelling (mm).
    min_funnel_mm: float = 3.5
    #: A model draws a funnel's tip closed where it is narrower than this (mm), so a straight-walled
    #: funnel's apex is put back where its walls meet (:func:`hidden_tip_mm`). Calibrated per model
    #: on its validation phantoms (its metadata); 0 for exact label maps.
    funnel_tip_mm: float = 0.0
    fluid_fraction: float = 0.45  #: darker than this share of the lips' median echo is fluid


@dataclass(frozen=True, eq=False)
class Measurement:
    """The measurement of one frame. Lengths are None when the frame is not measurable.

    cl_mm : traced along the smoothed canal from the external to the (functional) internal os.
    cl_straight_mm : the straight caliper line between the two os points.
    cl_two_segment_mm : two straight segments through the canal's furthest point from that line;
        equals ``cl_straight_mm`` for a straight canal.
    confidence : mean winning-class probability over the cervix (0-1).
    os_confidence : mean winning-class probability within :data:`OS_RADIUS_MM` of the internal os
        (0-1); None when no canal was found.
    auca : the anterior uterocervical angle, when the frame is measured and shows the anterior
        uterine wall (see :func:`anterior_uterocervical_angle`); None otherwise.
    marked_share : share (0-1) of the canal's course lying on marks drawn on the image (the
        ``graphics`` given: a colour export's calipers); None when none were given or no canal was
        checked.
    """

    measurable: bool
    reasons: tuple[str, ...]
    cl_mm: float | None = None
    cl_straight_mm: float | None = None
    cl_two_segment_mm: float | None = None
    funnel: Funnel | None = None
    confidence: float = 0.0
    os_confidence: float | None = None
    external_os_px: tuple[float, float] | None = None
    internal_os_px: tuple[float, float] | None = None
    centreline_px: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    auca: Auca | None = None
    marked_share: float | None = None


@dataclass(frozen=True, eq=False)
class _Canal:
    """A traced canal: the closed canal (external os first), the whole interface of the lips it was
    cut from, and the funnel beyond its end (None when closed)."""

    centreline: np.ndarray
    interface: np.ndarray
    funnel: Funnel | None


def _follow(
    line: np.ndarray,
    *,
    apex: np.ndarray,
    hull: np.ndarray,
    gaps: np.ndarray,
    fluid: FluidPixels | None,
    spacing: Spacing,
    min_funnel_mm: float,
    funnel_tip_mm: float,
    funnel_possible: bool,
) -> _Canal:
    """Orient the lips' interface (external os nearer the probe ``apex``), smooth it, end it at a
    funnel's ``fluid`` (or, for a straight-walled funnel, where its walls meet beyond a tip drawn
    closed narrower than ``funnel_tip_mm``) and find that funnel, none shorter than ``min_funnel_mm``
    with its tip put back, unless ``funnel_possible`` is False (too little fluid between the lips
    for any). ``gaps`` labels the 4-connected parts of the background inside the lips' ``hull``."""
    if np.hypot(*(line[0] - apex)) > np.hypot(*(line[-1] - apex)):
        line = line[::-1]
    interface = smooth_polyline(line, window_px=2.0 / min(spacing))

    def funnel_beyond(closed: np.ndarray, tail: np.ndarray) -> Funnel | None:
        return find_funnel(gaps, hull, closed, tail, spacing, polyline_length_mm(closed, spacing), min_funnel_mm, None if fluid is None else fluid.mask)

    centreline, tail = interface, interface[-1:]
    if fluid is not None:
        centreline, tail = cut_at_funnel(interface, fluid, gaps.shape, spacing)
    funnel = funnel_beyond(centreline, tail) if funnel_possible else None
    if funnel is None:
        return _Canal(centreline, interface, None)
    if (hidden := float(hidden_tip_mm(funnel.length_mm, funnel.width_mm, funnel.mid_width_mm, funnel_tip_mm))) > 0:
        # The apex where the funnel's straight walls meet, beyond the tip the labels drew closed.
        closed, beyond = split_before_end(centreline, hidden, spacing)
        extended = funnel_beyond(closed, np.vstack([beyond, tail[1:]]))
        if extended is not None and extended.length_mm >= min_funnel_mm:
            return _Canal(closed, interface, replace(extended, apex_extended_mm=hidden))
    # Judged on its whole length, the tip put back included: a gap shorter than that at the internal
    # os is most often the model rounding the lips' inner corners, not funnelling (README).
    return _Canal(centreline, interface, funnel if funnel.length_mm >= min_funnel_mm else None)


#: Least share of the canal's course that must lie between the marks drawn on it for its visibility
#: to be judged there alone; under a denser line, it is judged on the whole course.
MIN_UNMARKED_SHARE = 0.1


def _mean_3x3(grey: np.ndarray, marks: np.ndarray | None) -> np.ndarray:
    """The 3 x 3 mean of ``grey`` (float32), over the pixels that are no ``marks`` where given."""
    if marks is None or not marks.any():
        return cv2.blur(grey.astype(np.float32), (3, 3))
    tissue = (~marks).astype(np.float32)
    return cv2.blur(grey.astype(np.float32) * tissue, (3, 3)) / np.maximum(cv2.blur(tissue, (3, 3)), 1e-6)


def measure_cervix(
    labels: np.ndarray,
    spacing_mm: Spacing | None,
    *,
    probabilities: np.ndarray | None = None,
    grey: np.ndarray | None = None,
    fan: np.ndarray | None = None,
    apex_px: tuple[float, float] = (0.0, 0.0),
    limits: QualityLimits = QualityLimits(),
    graphics: np.ndarray | None = None,
) -> Measurement:
    """Measure one frame.

    labels : (rows, cols) uint8, 0 background, 1 anterior lip, 2 posterior lip.
    spacing_mm : (row, col) mm per pixel; None for an uncalibrated frame (never measured in mm).
    probabilities : (3, rows, cols) float32 class probabilities; one-hot of ``labels`` when None.
    grey : (rows, cols) uint8 image, for the canal-visibility and shadow checks (skipped when None).
    fan : (rows, cols) bool, the imaged sector; lips touching its edge are cut off.
    apex_px : (row, col) of the probe; the os nearer to it is the external os.
    graphics : (rows, cols) bool, marks drawn on the image (a colour export's calipers and their
        dotted line: :func:`~cervical_length.dicom.colour_graphics`); the canal-visibility check
        reads the image between them, so that a caliper line cannot pass for the canal.
    """
    reasons: list[str] = []
    if spacing_mm is None:
        return Measurement(False, ("uncalibrated frame: no millimetre scale",))
    spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    pixel_mm2 = spacing[0] * spacing[1]
    labelled = np.count_nonzero(labels)
    if labelled == 0 or labelled * pixel_mm2 < 2 * limits.min_lip_area_mm2:
        return Measurement(False, ("cervix not found",))
    # Work in a window around the cervix: the rest of the frame cannot change the answer.
    box = labelled_box(labels, int(np.ceil(limits.edge_margin_px)) + 4)
    offset = np.array(box[:2], dtype=np.float64)
    labels = window(labels, box, 0)
    frame_probabilities = probabilities  # the internal os's surroundings may reach past the window
    if probabilities is None:
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32)
    else:
        probabilities = window(probabilities, box, 0.0)
    lips = tuple(largest_component(labels == k) for k in (1, 2))
    if min(np.count_nonzero(lip) for lip in lips) * pixel_mm2 < limits.min_lip_area_mm2:
        return Measurement(False, ("cervix not found: a lip is missing",))
    cervix = lips[0] | lips[1]
    hull, hull_corners = convex_hull(cervix)
    # The winning class's probability averaged over the lips (OpenCV's masked mean: half numpy's time).
    confidence = cv2.mean(np.maximum(np.maximum(probabilities[0], probabilities[1]), probabilities[2]), mask=cervix.view(np.uint8))[0]
    bridged = close(cervix, BRIDGE_MM / min(spacing))
    line, bridged_line = canal_lines(probabilities[1], probabilities[2], cervix, bridged)
    if line is None:
        return Measurement(False, ("os not found: the lips do not meet along a canal",), confidence=confidence)
    fluid = None
    _, gaps = cv2.connectedComponents((hull & ~cervix).view(np.uint8), connectivity=4)
    frame_grey, frame_fan = grey, fan
    if grey is not None:
        grey = window(grey, box, 0)
        lip_level, bright_level = (float(v) + 1e-6 for v in quantiles_u8(grey, cervix, (0.5, 0.9)))  # bright: unshadowed tissue
        # Anechoic fluid inside the lips' hull (a funnel lies there): a 1 mm neighbourhood darker
        # than a share of the lips median echo. Masked once here, not on every trace of the canal.
        anechoic = (mean_1mm(grey, spacing) < limits.fluid_fraction * lip_level) & hull
        fluid = FluidPixels.of(anechoic, cervix)
    apex = np.asarray(apex_px, dtype=np.float64) - offset
    # With too little fluid between the lips for any funnel, none is looked for, and the unbridged
    # canal need not be followed to learn that it has none (9 in 10 notched frames of the
    # model-selection phantoms).
    funnel_possible = fluid is None or np.count_nonzero(fluid.in_gap) * pixel_mm2 >= MIN_FUNNEL_FLUID_MM2
    follow = partial(
        _follow,
        apex=apex,
        hull=hull,
        gaps=gaps,
        fluid=fluid,
        spacing=spacing,
        min_funnel_mm=limits.min_funnel_mm,
        funnel_tip_mm=limits.funnel_tip_mm,
        funnel_possible=funnel_possible,
    )
    # A notch between the lips narrower than the scanner resolves (2 x BRIDGE_MM) is no anatomy: a
    # model that draws the lips a little short of the os would end the canal early. Bridged only
    # where no funnel is found, so a funnel's apex stays where it is.
    notched = False
    if not np.array_equal(bridged_line, line):
        ends = near_line(line[:2], cervix.shape, 2.0 / min(spacing)) | near_line(line[-2:], cervix.shape, 2.0 / min(spacing))
        notched = bool((bridged & ~cervix & ends).any())
    if notched and not funnel_possible:
        canal = follow(bridged_line)
    else:
        canal = follow(line)
        if notched and canal.funnel is None:
            canal = follow(bridged_line)
    centreline = canal.centreline
    cl, straight, two_segment = canal_lengths(centreline, spacing)

    os_confidence = 1.0  # one-hot labels are sure everywhere
    if frame_probabilities is not None:
        around, inside = disc(frame_probabilities.shape[1:], centreline[-1] + offset, OS_RADIUS_MM, spacing)
        os_confidence = float(frame_probabilities[(slice(None), *around)].max(axis=0)[inside].mean())

    if confidence < limits.min_confidence:
        reasons.append(f"low model confidence ({confidence:.2f} < {limits.min_confidence})")
    if os_confidence < limits.min_os_confidence:
        reasons.append(f"internal os not clearly seen (model confidence {os_confidence:.2f} < {limits.min_os_confidence} within {OS_RADIUS_MM:g} mm of it)")
    if fan is not None:
        outside = ~window(fan, box, False)
        near_edge = dilate(outside, int(np.ceil(limits.edge_margin_px)))
        if (cervix & near_edge).any():
            reasons.append("canal not fully inside the ultrasound sector")
    for name, overhang in _overhanging_lips(lips, hull_corners, centreline, spacing, limits.max_lip_overhang_mm):
        reasons.append(f"external os not found: the {name} lip runs on {overhang:.1f} mm past the canal's end")
    thickness = lip_thicknesses_mm(lips, centreline, spacing)
    if min(thickness) < limits.min_lip_ratio * max(thickness):
        reasons.append(f"lips very unequal in thickness ({min(thickness):.1f} vs {max(thickness):.1f} mm: probe pressure)")
    if not limits.min_cl_mm <= cl <= limits.max_cl_mm:
        reasons.append(f"canal {cl:.1f} mm is too short or too long to be anatomical")
    marked_share = None
    if grey is not None:
        marks = None if graphics is None else window(graphics, box, False)
        smooth = _mean_3x3(grey, marks)
        # Along the canal's course, so that a line wavering through bright speckle cannot pass for a canal.
        course = course_px(centreline)
        canal_level = mean_along(smooth, course)
        if marks is not None:
            # Read between the marks (a caliper's dotted line), where the image itself is seen.
            marked = mean_along(marks, course) > 0
            marked_share = float(marked.mean())
            if 1.0 - marked_share >= MIN_UNMARKED_SHARE:
                canal_level = canal_level[~marked]
        # A shadow across the canal can pass for a funnel's fluid and cut the canal short, so the
        # whole interface of the lips is checked too, not only the closed canal that was kept: a
        # long dark stretch inside the lips' labels is declined rather than measured short.
        shadowed = max((mean_along(smooth, path) < 0.25 * bright_level).mean() for path in (centreline, canal.interface))
        if shadowed > limits.shadow_fraction:
            reasons.append("acoustic shadow over the canal")
        elif canal_level.mean() / lip_level < limits.min_canal_contrast:
            reasons.append("out-of-plane view: the endocervical canal is not visible")
    funnel = canal.funnel
    if funnel is not None:
        funnel = replace(
            funnel,
            apex_px=tuple(np.asarray(funnel.apex_px) + offset),
            base_px=tuple(tuple(np.asarray(p) + offset) for p in funnel.base_px),
        )
    centreline = centreline + offset
    external, internal = centreline[0], centreline[-1]
    ok = not reasons
    auca = None
    if ok and frame_grey is not None:
        anterior = centroid_px(lips[0]) + offset
        auca = _auca(frame_grey, frame_fan, external, internal, funnel, cervix, box[:2], anterior, spacing, lip_level)
    return Measurement(
        measurable=ok,
        reasons=tuple(reasons),
        cl_mm=cl if ok else None,
        cl_straight_mm=straight if ok else None,
        cl_two_segment_mm=two_segment if ok else None,
        funnel=funnel if ok else None,
        confidence=confidence,
        os_confidence=os_confidence,
        external_os_px=(float(external[0]), float(external[1])),
        internal_os_px=(float(internal[0]), float(internal[1])),
        centreline_px=centreline,
        auca=auca,
        marked_share=marked_share,
    )


def _overhanging_lips(
    lips: tuple[np.ndarray, np.ndarray], hull_corners: np.ndarray, centreline: np.ndarray, spacing: Spacing, limit_mm: float
) -> list[tuple[str, float]]:
    """The lips ('anterior', 'posterior') that reach more than ``limit_mm`` past the external os
    (``centreline[0]``), along the direction of the canal's first 3 mm, with how far (mm); about 0
    where a lip's end rounds off at the os. The lips' hull corners ((K, 2) (row, col)) bound both:
    each lip's outline is traced only when they reach past the limit."""
    inner = split_before_end(centreline[::-1], 3.0, spacing)[1][0]  # 3 mm in from the external os
    outward = (centreline[0] - inner) * np.asarray(spacing)
    if not outward.any():
        return []
    unit = outward / np.hypot(*outward)

    def reach_mm(points_px: np.ndarray) -> float:
        return float(((points_px - centreline[0]) * np.asarray(spacing) @ unit).max()) if len(points_px) else 0.0

    if reach_mm(hull_corners) <= limit_mm:
        return []
    reaches = ((name, reach_mm(outline_px(lip))) for name, lip in zip(("anterior", "posterior"), lips))
    return [(name, reach) for name, reach in reaches if reach > limit_mm]


def _auca(
    grey: np.ndarray,
    fan: np.ndarray | None,
    external: np.ndarray,
    internal: np.ndarray,
    funnel: Funnel | None,
    cervix: np.ndarray,
    cervix_origin: tuple[int, int],
    anterior: np.ndarray,
    spacing: Spacing,
    lip_level: float,
) -> Auca | None:
    """The AUCA against the canal's straight caliper line (internal to external os); the anterior
    wall starts at the internal os, or at the funnel base's corner on the anterior lip's side.
    Points are (row, col) in the frame; ``cervix`` is the lips' mask of the window at ``cervix_origin``."""
    wall_start = internal
    if funnel is not None:
        corners = np.asarray(funnel.base_px)
        wall_start = corners[int(np.argmin(np.hypot(*((corners - anterior) * np.asarray(spacing)).T)))]
    return anterior_uterocervical_angle(
        grey,
        fan,
        internal_os_px=tuple(internal),
        external_os_px=tuple(external),
        wall_start_px=tuple(wall_start),
        anterior_px=tuple(anterior),
        spacing_mm=spacing,
        lip_level=lip_level,
        lips=cervix,
        lips_origin_px=cervix_origin,
    )
