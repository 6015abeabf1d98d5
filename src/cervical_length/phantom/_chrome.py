"""Vendor-like screen furniture burned into the image: text, depth ruler, grey bar, orientation mark,
and (:func:`draw_calipers`, on request) the sonographer's calipers.

The furniture stays outside the imaged fan. Calipers lie inside it, on the cervix: a frame saved
after the examiner measured it carries them, and archives are mostly such frames. Style "A" is the
training vendor, "B" the held-out one.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._imaging import Sector

__all__ = ["draw_calipers", "draw_chrome"]


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, font: int, grey: int) -> None:
    cv2.putText(image, text, origin, font, scale, (grey, grey, grey), 1, cv2.LINE_AA)


def draw_chrome(image: np.ndarray, sector: Sector, *, style: str, lines: list[str], rng: np.random.Generator) -> None:
    """Draw the screen furniture on ``image`` (rows, cols, 3) uint8 in place.

    lines : the burned-in text (probe, frequency, gain, depth, synthetic identifiers).
    The depth ruler ticks every 10 mm along the image axis from the probe apex, so it agrees with
    the calibration in the DICOM header.
    """
    rows, cols = image.shape[:2]
    fan = sector.fan_mask
    layer = np.zeros_like(image)
    font = cv2.FONT_HERSHEY_SIMPLEX if style == "A" else cv2.FONT_HERSHEY_DUPLEX
    scale = max(0.35, rows / 1400.0)
    step = int(24 * scale / 0.4)
    if style == "A":
        for k, line in enumerate(lines):
            _text(layer, line, (8, 18 + k * step), scale, font, 210)
        ruler_col = cols - 18
        bar = (slice(int(rows * 0.3), int(rows * 0.7)), slice(8, 20))
    else:
        for k, line in enumerate(lines):
            _text(layer, line, (8, rows - 12 - (len(lines) - 1 - k) * step), scale, font, 235)
        ruler_col = 14
        bar = (slice(int(rows * 0.25), int(rows * 0.6)), slice(cols - 22, cols - 10))
    for depth_mm in np.arange(10.0, sector.depth_mm + 0.1, 10.0):
        row = int(round(sector.apex_row + depth_mm / sector.mm_per_pixel))
        if 0 <= row < rows:
            length = 8 if int(depth_mm) % 50 else 12
            sign = -1 if style == "A" else 1
            cv2.line(layer, (ruler_col, row), (ruler_col + sign * length, row), (200, 200, 200), 1)
            if style == "A" and int(depth_mm) % 20 == 0:
                _text(layer, f"{int(depth_mm // 10)}", (ruler_col - 30, row + 4), scale * 0.9, font, 200)
    ramp = np.linspace(255, 0, bar[0].stop - bar[0].start).astype(np.uint8)
    layer[bar[0], bar[1]] = ramp[:, None, None]
    # Orientation mark at the probe's notch side, chosen at random as scanners allow both.
    side = -1 if rng.random() < 0.5 else 1
    mark_row = int(sector.apex_row + sector.probe_radius_mm / sector.mm_per_pixel)
    mark_col = int(sector.apex_col + side * (sector.probe_radius_mm / sector.mm_per_pixel + 40 * scale / 0.4))
    cv2.circle(layer, (mark_col, max(6, mark_row - 6)), 4, (230, 230, 230), -1)
    # Furniture never covers the fan.
    np.maximum(image, layer, out=image, where=~fan[..., None])


#: Each vendor's caliper: mark, colour (RGB) and the gap between the dots of its line, in pixels.
_CALIPER_STYLE = {"A": (cv2.MARKER_CROSS, (255, 255, 0), 6), "B": (cv2.MARKER_TILTED_CROSS, (90, 255, 120), 4)}


def draw_calipers(
    image: np.ndarray, ends_px: np.ndarray, *, style: str, mm_per_pixel: float, rng: np.random.Generator
) -> None:
    """Burn a sonographer's caliper measurement into ``image`` (rows, cols, 3) uint8, in place: a
    mark at each end, a dotted line between them and the result written near the top right, as a
    scanner draws them.

    ends_px : (2, 2) (row, col) of the two ends (the external and internal os); each mark is placed
        off it as an examiner places it, by a normal error of 0.3 mm per axis.
    mm_per_pixel : the frame's scale, for the length written in the box.
    """
    mark, colour, gap = _CALIPER_STYLE[style]
    rows, cols = image.shape[:2]
    placed = np.asarray(ends_px, dtype=np.float64) + rng.normal(0.0, 0.3 / mm_per_pixel, size=(2, 2))
    size = int(rng.integers(11, 17))
    for row, col in placed:
        cv2.drawMarker(image, (int(round(col)), int(round(row))), colour, markerType=mark, markerSize=size, thickness=1, line_type=cv2.LINE_AA)
    span = placed[1] - placed[0]
    dots = int(np.hypot(*span) // gap)
    for k in range(1, dots):
        row, col = placed[0] + span * k / dots
        cv2.circle(image, (int(round(col)), int(round(row))), 1, colour, -1, lineType=cv2.LINE_AA)
    length_mm = float(np.hypot(*span)) * mm_per_pixel
    scale = max(0.35, rows / 1400.0)
    origin = (int(cols * 0.62), int(rows * 0.08) + int(rng.integers(0, 12)))
    cv2.putText(image, f"CL {length_mm / 10:.2f} cm", origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
