"""Frames to label maps: crop to the ultrasound sector, letterbox to the working size, run the
network, and bring the class probabilities back to the original image geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .model import UNet

__all__ = ["Letterbox", "Segmentation", "Segmenter", "back_to_frame", "content_window", "labels_of", "letterbox", "letterbox_labels", "run_network", "to_original"]

Crop = tuple[int, int, int, int]  # (min_row, min_col, stop_row, stop_col) in original pixels


@dataclass(frozen=True)
class Letterbox:
    """Where a crop of the original image sits in the working square.

    crop : (min_row, min_col, stop_row, stop_col), original pixels, stops exclusive.
    scale : working pixels per original pixel (same on both axes: shapes are not distorted).
    offset : (top, left) padding in working pixels.
    """

    crop: Crop
    scale: float
    offset: tuple[int, int]
    size: int

    @property
    def content_shape(self) -> tuple[int, int]:
        """(rows, cols) of the crop once scaled into the working square."""
        r0, c0, r1, c1 = self.crop
        return (max(1, round((r1 - r0) * self.scale)), max(1, round((c1 - c0) * self.scale)))


def _box(shape: tuple[int, int], crop: Crop | None, size: int) -> Letterbox:
    rows, cols = shape
    r0, c0, r1, c1 = crop if crop is not None else (0, 0, rows, cols)
    r0, c0, r1, c1 = max(0, r0), max(0, c0), min(rows, r1), min(cols, c1)
    if r1 <= r0 or c1 <= c0:
        raise ValueError(f"crop {crop} is empty inside an image of {cols}x{rows} pixels")
    scale = size / max(r1 - r0, c1 - c0)
    box = Letterbox((r0, c0, r1, c1), scale, (0, 0), size)
    h, w = box.content_shape
    return Letterbox((r0, c0, r1, c1), scale, ((size - h) // 2, (size - w) // 2), size)


def letterbox(image: np.ndarray, crop: Crop | None = None, size: int = 256) -> tuple[np.ndarray, Letterbox]:
    """Crop (rows, cols) uint8 ``image`` and fit it, aspect kept, into a (size, size) uint8 square."""
    box = _box(image.shape[:2], crop, size)
    r0, c0, r1, c1 = box.crop
    h, w = box.content_shape
    out = np.zeros((size, size), dtype=image.dtype)
    top, left = box.offset
    out[top : top + h, left : left + w] = cv2.resize(image[r0:r1, c0:c1], (w, h), interpolation=cv2.INTER_AREA)
    return out, box


def letterbox_labels(labels: np.ndarray, box: Letterbox) -> np.ndarray:
    """The label map of the same crop in the working square (nearest neighbour)."""
    r0, c0, r1, c1 = box.crop
    h, w = box.content_shape
    out = np.zeros((box.size, box.size), dtype=labels.dtype)
    top, left = box.offset
    out[top : top + h, left : left + w] = cv2.resize(labels[r0:r1, c0:c1], (w, h), interpolation=cv2.INTER_NEAREST)
    return out


def content_window(squares: np.ndarray, grid_px: int) -> tuple[slice, slice]:
    """The rows and columns of (N, S, S) working squares that hold a non-zero pixel in any of them,
    widened outward to multiples of ``grid_px``: the part of the squares the network is run on.

    A sector is wider than deep, so its letterbox has black bars above and below (183 of 256 rows
    hold the image for a typical export): running the network on them is a quarter of its cost for
    nothing. Starting and ending on multiples of ``grid_px`` keeps every level's pooling grid where
    the whole square has it; only what the network sees beyond the window's edge differs (zero
    padding of its features instead of black pixels). The shipped network, trained on whole
    squares, gives the same figures on the window (model card). Empty slices when every pixel is zero.
    """
    rows, cols = np.flatnonzero(squares.any(axis=(0, 2))), np.flatnonzero(squares.any(axis=(0, 1)))
    if len(rows) == 0:
        return slice(0, 0), slice(0, 0)
    return tuple(slice(k[0] // grid_px * grid_px, -(-(k[-1] + 1) // grid_px) * grid_px) for k in (rows, cols))


def run_network(network: UNet, working: np.ndarray) -> np.ndarray:
    """(N, S, S) uint8 working squares to (N, C, S, S) float32 class probabilities, the network run
    on their :func:`content_window`; background (probability 1) outside it."""
    rows, cols = content_window(working, network.grid_px)
    out = np.zeros((len(working), network.head.out_channels, *working.shape[1:]), dtype=np.float32)
    out[:, 0] = 1.0
    if rows.stop > rows.start:
        x = torch.from_numpy(working[:, rows, cols].astype(np.float32) / 255.0)[:, None].contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out[:, :, rows, cols] = torch.softmax(network(x), dim=1).numpy()
    return out


#: Working pixels of margin kept around the network's foreground when resampling back to the frame:
#: more than the measurement's window and blur reach, so its numbers see exact probabilities.
FOREGROUND_MARGIN = 8


def to_original(probabilities: np.ndarray, box: Letterbox, shape: tuple[int, int]) -> tuple[np.ndarray, Crop]:
    """(C, size, size) float32 class probabilities back to (C, rows, cols) of the original image.

    Bilinear resampling (as ``cv2.resize``) keeps sub-pixel boundaries. Only the window around
    what the network called foreground (plus FOREGROUND_MARGIN) is resampled; everywhere else is
    background, probability 1: bilinear weights are positive, so where all four neighbours are
    background the interpolated pixel is background too. Returns the probabilities and that window
    (min_row, min_col, stop_row, stop_col), outside which every label is background.
    """
    classes = probabilities.shape[0]
    out = np.zeros((classes, *shape), dtype=np.float32)
    out[0] = 1.0
    r0, c0, r1, c1 = box.crop
    h, w = box.content_shape
    top, left = box.offset
    content = probabilities[:, top : top + h, left : left + w]
    foreground = (content[1:] > content[0]).any(axis=0)
    rows, cols = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    if len(rows) == 0:
        return out, (r0, c0, r0, c0)
    sy, sx = h / (r1 - r0), w / (c1 - c0)  # working pixels per original pixel
    y0, y1 = max(rows[0] - FOREGROUND_MARGIN, 0), min(rows[-1] + FOREGROUND_MARGIN, h - 1)
    x0, x1 = max(cols[0] - FOREGROUND_MARGIN, 0), min(cols[-1] + FOREGROUND_MARGIN, w - 1)
    # Original pixels whose sample point ((i + 0.5) * s - 0.5, as cv2.resize) lies in [y0, y1].
    wr0, wr1 = max(int(np.floor((y0 + 0.5) / sy - 0.5)), 0), min(int(np.ceil((y1 + 0.5) / sy - 0.5)) + 1, r1 - r0)
    wc0, wc1 = max(int(np.floor((x0 + 0.5) / sx - 0.5)), 0), min(int(np.ceil((x1 + 0.5) / sx - 0.5)) + 1, c1 - c0)
    to_content = np.array([[sx, 0.0, (wc0 + 0.5) * sx - 0.5], [0.0, sy, (wr0 + 0.5) * sy - 0.5]])
    for k in range(classes):
        out[k, r0 + wr0 : r0 + wr1, c0 + wc0 : c0 + wc1] = cv2.warpAffine(
            content[k], to_content, (wc1 - wc0, wr1 - wr0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
        )
    return out, (r0 + wr0, c0 + wc0, r0 + wr1, c0 + wc1)


def labels_of(probabilities: np.ndarray, window: Crop) -> np.ndarray:
    """(rows, cols) uint8 winning class of (C, rows, cols) probabilities; background outside
    ``window`` (min_row, min_col, stop_row, stop_col) without comparing there."""
    labels = np.zeros(probabilities.shape[1:], dtype=np.uint8)
    r0, c0, r1, c1 = window
    crop = probabilities[:, r0:r1, c0:c1]
    # Class by class on contiguous planes: several times faster than argmax over the first axis,
    # and the same answer (a tie goes to the lower class, as with argmax).
    best, winner = crop[0].copy(), labels[r0:r1, c0:c1]
    for k in range(1, len(crop)):
        higher = crop[k] > best
        winner[higher] = k
        np.maximum(best, crop[k], out=best)
    return labels


def back_to_frame(probabilities: np.ndarray, box: Letterbox, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(C, size, size) working probabilities to the frame's (C, rows, cols) probabilities and its
    (rows, cols) uint8 label map."""
    full, window = to_original(probabilities, box, shape)
    return full, labels_of(full, window)


@dataclass(frozen=True, eq=False)
class Segmentation:
    """The network's answer for one frame, at the frame's geometry.

    labels : (rows, cols) uint8, 0 background, 1 anterior lip, 2 posterior lip.
    probabilities : (3, rows, cols) float32 class probabilities.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    model_sha256: str


class Segmenter:
    """Batch inference with one model instance on ``threads`` CPU threads (PyTorch's and OpenCV's
    pools of this process: one worker per core must not each run a pool the size of the machine)."""

    def __init__(self, model: UNet, *, model_sha256: str, working_size: int, threads: int = 1) -> None:
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        self.working_size = working_size
        self.model_sha256 = model_sha256
        self._network = model.fused()  # batch norm folded, each layer in its fastest memory layout

    def probabilities(self, working: np.ndarray) -> np.ndarray:
        """(N, size, size) uint8 working squares to (N, C, size, size) float32 probabilities (see
        :func:`run_network`)."""
        return run_network(self._network, working)

    def segment(self, images: Sequence[np.ndarray], crops: Sequence[Crop | None]) -> list[Segmentation]:
        """Segment (rows, cols) uint8 grey images, each cropped to its sector (None: whole image)."""
        boxes, squares = [], []
        for image, crop in zip(images, crops, strict=True):
            square, box = letterbox(image, crop, self.working_size)
            squares.append(square)
            boxes.append(box)
        probs = self.probabilities(np.stack(squares)) if squares else []
        out = []
        for image, box, p in zip(images, boxes, probs):
            full, labels = back_to_frame(p, box, image.shape[:2])
            out.append(Segmentation(labels, full, self.model_sha256))
        return out
