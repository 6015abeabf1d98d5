"""Array helpers of the measurement: windows, hulls, dilation, components (pure, OpenCV-backed)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["window", "convex_hull", "dilate", "largest_component", "mean_along", "quantiles_u8", "near_line", "close", "select_labels", "box_side_1mm_px", "mean_1mm"]


def window(array: np.ndarray, box: tuple[int, int, int, int], fill: object) -> np.ndarray:
    """array[r0:r1, c0:c1] (last two axes), with ``fill`` where the box runs past the array: a view
    of ``array`` when the box lies inside it (not to be written to), else a padded copy."""
    r0, c0, r1, c1 = box
    rows, cols = array.shape[-2:]
    if r0 >= 0 and c0 >= 0 and r1 <= rows and c1 <= cols:
        return array[..., r0:r1, c0:c1]
    out = np.full((*array.shape[:-2], r1 - r0, c1 - c0), fill, dtype=array.dtype)
    sr0, sc0, sr1, sc1 = max(r0, 0), max(c0, 0), min(r1, rows), min(c1, cols)
    out[..., sr0 - r0 : sr1 - r0, sc0 - c0 : sc1 - c0] = array[..., sr0:sr1, sc0:sc1]
    return out


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull of a boolean mask's pixel centres."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros(mask.shape, dtype=np.uint8)
    if contours:
        cv2.fillConvexPoly(hull, cv2.convexHull(np.concatenate(contours)), 1)
    return hull.view(bool)


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilation by a (2 pixels + 1) square."""
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(np.asarray(mask, dtype=bool).view(np.uint8), kernel).view(bool)


def close(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Morphological closing by a disc of ``radius_px`` (rounded; the mask itself below 1 pixel)."""
    r = int(round(radius_px))
    if r < 1:
        return mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    # Padded so that the array's edge is background, not the foreground OpenCV's erosion assumes.
    padded = np.pad(np.asarray(mask, dtype=bool).view(np.uint8), r + 1)
    return cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[r + 1 : -r - 1, r + 1 : -r - 1].view(bool)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (the mask itself when it has one)."""
    count, labelled = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    if count <= 2:
        return mask
    # Areas by counting labels: OpenCV's WithStats variant costs more than the labelling itself.
    areas = np.bincount(labelled.ravel(), minlength=count)
    return labelled == 1 + int(np.argmax(areas[1:]))


def mean_along(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    rc = np.clip(np.rint(points).astype(int), 0, np.array(image.shape[:2]) - 1)
    return image[rc[:, 0], rc[:, 1]].astype(np.float64)


def quantiles_u8(image: np.ndarray, mask: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """Quantiles ``q`` (0-1) of a uint8 ``image`` inside ``mask``, from its histogram: the lowest
    grey level whose cumulative share reaches each quantile (a median without sorting)."""
    counts = np.cumsum(np.bincount(image[mask], minlength=256))
    return np.searchsorted(counts, np.asarray(q) * counts[-1]).astype(np.float64)


def near_line(points_px: np.ndarray, shape: tuple[int, int], reach_px: float) -> np.ndarray:
    """(rows, cols) bool: pixels within about ``reach_px`` of an (N, 2) (row, col) polyline."""
    band = np.zeros(shape, dtype=np.uint8)
    # Every 4th point of a dense line (and its last): the thick band covers the same pixels, and
    # OpenCV draws a round cap per segment, which dominates the cost for a line sampled every 0.5 px.
    points_px = np.vstack([points_px[:-1:4], points_px[-1:]])
    pts = np.rint(points_px[:, ::-1]).astype(np.int32)  # (col, row) for OpenCV
    cv2.polylines(band, [pts], False, 1, thickness=2 * int(np.ceil(reach_px)) + 1)
    return band.view(bool)


def select_labels(labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels of a non-negative int ``labels`` map whose label is in ``wanted``
    (as ``np.isin``, by a lookup table instead of a sort)."""
    wanted = np.asarray(wanted, dtype=np.int64)
    lut = np.zeros(int(wanted.max(initial=0)) + 2, dtype=bool)  # its last entry, False, serves every larger label
    lut[wanted] = True
    return np.take(lut, labels, mode="clip")


def box_side_1mm_px(spacing_mm: tuple[float, float]) -> int:
    """Side (pixels, odd, at least 3) of the square about 1 mm across over which fluid is judged."""
    return 2 * max(1, int(round(0.5 / min(spacing_mm)))) + 1


def mean_1mm(grey: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(rows, cols) float32 mean of a uint8 image over the :func:`box_side_1mm_px` square."""
    side = box_side_1mm_px(spacing_mm)
    return cv2.blur(grey.astype(np.float32), (side, side))
