"""Array helpers of the measurement: windows, hulls, dilation, components (pure, OpenCV-backed)."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

__all__ = ["labelled_box", "window", "outline_px", "convex_hull", "dilate", "largest_component", "mean_along", "quantiles_u8", "near_line", "close", "pixels_of", "centroid_px", "select_labels", "box_side_1mm_px", "mean_1mm", "disc"]


def labelled_box(labels: np.ndarray, margin_px: int) -> tuple[int, int, int, int]:
    """(row0, col0, row1, col1), ends exclusive, of the labelled (non-zero) pixels of ``labels``
    (rows, cols) widened by ``margin_px`` on every side; it may reach past the image."""
    col0, row0, width, height = cv2.boundingRect(np.ascontiguousarray(labels, dtype=np.uint8))
    return (row0 - margin_px, col0 - margin_px, row0 + height + margin_px, col0 + width + margin_px)


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


def outline_px(mask: np.ndarray) -> np.ndarray:
    """(K, 2) int (row, col) corners of the outer outlines of a boolean mask's parts: a linear
    function of position is largest over the mask at one of them."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return np.concatenate(contours).reshape(-1, 2)[:, ::-1] if contours else np.empty((0, 2), dtype=np.int32)


def convex_hull(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The filled convex hull of a boolean mask's pixel centres, and its corners ((K, 2) int (row, col))."""
    hull = np.zeros(mask.shape, dtype=np.uint8)
    points = outline_px(mask)
    if len(points) == 0:
        return hull.view(bool), points
    xy = cv2.convexHull(np.ascontiguousarray(points[:, ::-1])).reshape(-1, 2)  # OpenCV's (x, y)
    cv2.fillConvexPoly(hull, xy, 1)
    return hull.view(bool), xy[:, ::-1]


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilation by a (2 pixels + 1) square."""
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(np.asarray(mask, dtype=bool).view(np.uint8), kernel).view(bool)


@cache
def _disc_as_rectangles(radius: int) -> tuple[np.ndarray, ...]:
    """OpenCV's elliptic structuring element of ``radius`` pixels as the union of centred rectangles,
    one per distinct half-width of its rows: dilating by each and taking the maximum dilates by the
    disc exactly (eroding, the minimum), at about three quarters of the time of the disc itself,
    because OpenCV filters a rectangle by rows and columns."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    half_widths = disc.sum(axis=1) // 2
    rectangles = []
    for half in np.unique(half_widths):
        rows = np.flatnonzero(half_widths >= half)  # contiguous and symmetric about the centre
        rectangles.append(np.ones((len(rows), 2 * int(half) + 1), np.uint8))
    return tuple(rectangles)


def close(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Morphological closing by a disc of ``radius_px`` (rounded; the mask itself below 1 pixel)."""
    r = int(round(radius_px))
    if r < 1:
        return mask
    # Padded so that the array's edge is background, not the foreground OpenCV's erosion assumes.
    padded = np.pad(np.asarray(mask, dtype=bool).view(np.uint8), r + 1)
    first, *rest = _disc_as_rectangles(r)
    dilated = cv2.dilate(padded, first)
    for rectangle in rest:
        np.maximum(dilated, cv2.dilate(padded, rectangle), out=dilated)
    closed = cv2.erode(dilated, first)
    for rectangle in rest:
        np.minimum(closed, cv2.erode(dilated, rectangle), out=closed)
    return closed[r + 1 : -r - 1, r + 1 : -r - 1].view(bool)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (the mask itself when it has one)."""
    count, labelled = cv2.connectedComponents(mask.view(np.uint8), connectivity=4)
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
    histogram = cv2.calcHist([image], [0], mask.view(np.uint8), [256], [0, 256])  # half the time of a bincount of image[mask]
    counts = np.cumsum(histogram.ravel().astype(np.int64))
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


def pixels_of(mask: np.ndarray) -> np.ndarray:
    """(N, 2) intp (row, col) of a (rows, cols) bool mask's True pixels, in row-major order (as
    ``np.argwhere``, by OpenCV in a third of its time)."""
    points = cv2.findNonZero(mask.view(np.uint8))
    if points is None:
        return np.zeros((0, 2), dtype=np.intp)
    return points.reshape(-1, 2)[:, ::-1].astype(np.intp)


def centroid_px(mask: np.ndarray) -> np.ndarray:
    """(2,) float (row, col) centroid of a non-empty (rows, cols) bool mask, from its row and column
    counts: the pixels are never listed, and OpenCV's moments compute nine more sums."""
    counts = [cv2.reduce(mask.view(np.uint8), axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() for axis in (1, 0)]
    total = int(counts[0].sum())
    return np.array([int(c @ np.arange(len(c))) / total for c in counts])


def select_labels(labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels of a non-negative int ``labels`` map whose label is in ``wanted``
    (as ``np.isin``: by comparisons for one or two labels, else by a lookup table, each faster than a sort)."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if len(wanted) <= 2:
        selected = labels == wanted[0] if len(wanted) else np.zeros(labels.shape, dtype=bool)
        for label in wanted[1:]:
            selected |= labels == label
        return selected
    lut = np.zeros(int(wanted.max(initial=0)) + 2, dtype=bool)  # its last entry, False, serves every larger label
    lut[wanted] = True
    return np.take(lut, labels, mode="clip")


def box_side_1mm_px(spacing_mm: tuple[float, float]) -> int:
    """Side (pixels, odd, at least 3) of the square about 1 mm across over which fluid is judged."""
    return 2 * max(1, int(round(0.5 / min(spacing_mm)))) + 1


def mean_1mm(grey: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(rows, cols) float32 mean of a uint8 image over the :func:`box_side_1mm_px` square."""
    side = box_side_1mm_px(spacing_mm)
    return cv2.boxFilter(grey, cv2.CV_32F, (side, side))


def disc(shape: tuple[int, int], centre_px: np.ndarray, radius_mm: float, spacing_mm: tuple[float, float]) -> tuple[tuple[slice, slice], np.ndarray]:
    """The pixels of a (rows, cols) array whose centres lie within ``radius_mm`` of ``centre_px``
    (row, col), anisotropic spacing honoured: the slices of their bounding box, clipped to the array,
    and the (h, w) bool mask of the disc in that box."""
    reach = np.array([radius_mm / spacing_mm[0], radius_mm / spacing_mm[1]])
    low = np.maximum(np.floor(centre_px - reach).astype(int), 0)
    high = np.minimum(np.ceil(centre_px + reach).astype(int) + 1, shape)
    rows, cols = np.ogrid[low[0] : high[0], low[1] : high[1]]
    inside = ((rows - centre_px[0]) / reach[0]) ** 2 + ((cols - centre_px[1]) / reach[1]) ** 2 <= 1.0
    return (slice(low[0], high[0]), slice(low[1], high[1])), inside
