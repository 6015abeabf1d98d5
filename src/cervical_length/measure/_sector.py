"""The imaged fan of a frame and the probe's apex, found from the pixels."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["sector_mask"]


def sector_mask(grey: np.ndarray, bounds: tuple[int, int, int, int] | None) -> tuple[np.ndarray, tuple[float, float]]:
    """The imaged fan of a frame and its probe apex, from the pixels themselves.

    grey : (rows, cols) uint8 frame. bounds : (min_col, min_row, max_col, max_row) of the tissue
    region, inclusive, or None for the whole image. The fan is the largest non-black area inside the
    region (8-connected, after closing gaps narrower than 15 pixels), holes filled and bays closed
    by its convex hull below its top edge (anechoic fluid inside the fan or reaching its edge stays
    inside; the probe's footprint at the top stays out); the apex is the middle of its top row.
    Returns (rows, cols) bool and (row, col).
    """
    c0, r0, c1, r1 = bounds if bounds is not None else (0, 0, grey.shape[1] - 1, grey.shape[0] - 1)
    inside = np.zeros(grey.shape, dtype=bool)
    window = (grey[r0 : r1 + 1, c0 : c1 + 1] > 4).astype(np.uint8)
    window = cv2.morphologyEx(window, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    # The outer boundaries of the areas: the largest one, filled, is the fan with its holes (a few
    # times faster than labelling every pixel, counting labels and filling holes separately).
    contours, _ = cv2.findContours(window, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    window[:] = 0
    if contours:
        outline = max(contours, key=cv2.contourArea)
        # Fluid that reaches the fan's edge (amniotic fluid, a bladder; black at a low dynamic range)
        # is as black as the outside and cuts a bay into the area, and the lips beside it would read
        # as cut off by the sector. A fan is convex but for the probe's footprint at its top, so the
        # fan is the area's convex hull (which holds the filled area, holes and all), below the
        # area's top edge in each column.
        top = np.full(window.shape[1], window.shape[0])
        np.minimum.at(top, outline[:, 0, 0], outline[:, 0, 1])  # the area's top edge: its outline's highest point per column
        cv2.fillConvexPoly(window, cv2.convexHull(outline), 1)
        window[np.arange(window.shape[0])[:, None] < top] = 0
    inside[r0 : r1 + 1, c0 : c1 + 1] = window
    rows = np.nonzero(inside.any(axis=1))[0]
    if len(rows) == 0:
        return inside, (float(r0), (c0 + c1) / 2.0)
    top = rows[0]
    cols = np.nonzero(inside[top])[0]
    return inside, (float(top), float(cols.mean()))
