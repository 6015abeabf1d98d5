"""The imaged fan of a frame and the probe's apex, found from the pixels."""

from __future__ import annotations

import cv2
import numpy as np

from ._masks import fill_holes, largest_component

__all__ = ["sector_mask"]


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
        window = fill_holes(largest_component(window))
    inside[r0 : r1 + 1, c0 : c1 + 1] = window
    rows = np.nonzero(inside.any(axis=1))[0]
    if len(rows) == 0:
        return inside, (float(r0), (c0 + c1) / 2.0)
    top = rows[0]
    cols = np.nonzero(inside[top])[0]
    return inside, (float(top), float(cols.mean()))
