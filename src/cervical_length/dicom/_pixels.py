"""Decoded pixel arrays to the two images every later stage uses.

Pure array transforms taking ``(arr, ds)``: a grey-level image for the model and the original colours
for overlays. Decoding itself (JPEG, RLE, ...) is pydicom's job and happens in the reader.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut

__all__ = ["SUPPORTED_PHOTOMETRIC", "GRAPHICS_CHROMA", "colour_graphics", "ybr_full_to_rgb", "to_grey_and_rgb"]

#: (0028,0004) *Photometric Interpretation* values we read.
SUPPORTED_PHOTOMETRIC = frozenset(
    {"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR"}
)
#: Colour spaces that pydicom decodes as Y, Cb, Cr samples (``as_rgb=False``); the JPEG 2000 ones
#: (YBR_RCT, YBR_ICT) are turned into RGB by their decoders.
_YBR_FULL = frozenset({"YBR_FULL", "YBR_FULL_422"})


def _to_uint8(arr: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Scale integer samples of ``bits`` stored bits to 0-255 (identity for unsigned 8-bit)."""
    if arr.dtype == np.uint8:
        return arr
    values = arr.astype(np.float64)
    if signed:
        values += 2 ** (bits - 1)
    values *= 255.0 / (2**bits - 1)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def ybr_full_to_rgb(ybr: np.ndarray) -> np.ndarray:
    """(rows, cols, 3) uint8 Y, Cb, Cr samples (PS3.3 C.7.6.3.1.2 YBR_FULL: full range, BT.601
    coefficients, as JPEG stores colour) to a new (rows, cols, 3) uint8 RGB image.

    OpenCV's fixed-point conversion: within one level of pydicom's ``convert_color_space`` for every
    Y, Cb, Cr triplet, several times faster (0.5 against 4.5 ms a 480 x 640 frame).
    """
    ycrcb = np.empty_like(ybr)
    cv2.mixChannels([np.ascontiguousarray(ybr)], [ycrcb], [0, 0, 1, 2, 2, 1])  # OpenCV orders Y, Cr, Cb
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


#: How far (8-bit Cb/Cr levels) a pixel's colour may depart from the image's grey map before it is
#: drawn graphics. Grey text on a vendor's tinted map departs by up to about 21, JPEG's chroma noise
#: on tissue by a few levels; calipers and annotations in colour by 60-130.
GRAPHICS_CHROMA = 40


def colour_graphics(rgb: np.ndarray, *, within: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Where ``rgb`` (rows, cols, 3) uint8 holds colour its grey map does not give: calipers, their
    dotted line, measurement text, coloured annotations. The map is grey or a vendor's tint of it
    (each chroma channel proportional to luma, its slope the median over the mid-grey pixels of a
    1-in-64 sample). Returns (rows, cols) bool.

    within : (row0, col0, row1, col1), ends exclusive, the box to look in (clipped to the image;
        a twentieth of a 600 x 800 frame's time for the cervix's box); nothing is marked outside it.
    """
    if within is not None:
        rows, cols = rgb.shape[:2]
        r0, c0, r1, c1 = max(within[0], 0), max(within[1], 0), min(within[2], rows), min(within[3], cols)
        marks = np.zeros((rows, cols), bool)
        if r1 > r0 and c1 > c0:
            marks[r0:r1, c0:c1] = colour_graphics(np.ascontiguousarray(rgb[r0:r1, c0:c1]))
        return marks
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    sample = ycc[::8, ::8].reshape(-1, 3).astype(np.float32)
    sample = sample[(sample[:, 0] > 40) & (sample[:, 0] < 200)]
    luma, cr, cb = cv2.split(ycc)
    if len(sample) == 0:
        return np.zeros(luma.shape, bool)
    slopes = np.median((sample[:, 1:] - 128.0) / sample[:, :1], axis=0)
    expected = [cv2.addWeighted(luma, float(k), luma, 0.0, 128.0) for k in slopes]
    departure = cv2.max(cv2.absdiff(cr, expected[0]), cv2.absdiff(cb, expected[1]))
    return departure > GRAPHICS_CHROMA


def to_grey_and_rgb(arr: np.ndarray, ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Grey and colour 8-bit images of one decoded frame.

    arr : (rows, cols) or (rows, cols, 3) array as pydicom decodes it with ``as_rgb=False``: YBR_FULL
        and YBR_FULL_422 as Y, Cb, Cr samples (converted here), YBR_RCT and YBR_ICT as RGB.
    ds : the header giving (0028,0004) *Photometric Interpretation* of ``arr``,
        (0028,0101) *Bits Stored*, (0028,0103) *Pixel Representation* and any palette.

    Returns ``grey`` (rows, cols) uint8, with MONOCHROME1 inverted so bright is echogenic, and
    ``rgb`` (rows, cols, 3) uint8. Grey from colour is ITU-R BT.601 luma, as scanners compute it.
    """
    photometric = str(ds.PhotometricInterpretation).strip()
    bits = int(ds.get("BitsStored", 8))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    if photometric == "PALETTE COLOR":
        # Map every possible index once, then look the frame up: far cheaper than a per-pixel LUT.
        indices = np.arange(2 ** int(ds.BitsStored), dtype=arr.dtype)
        lut_bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        table = _to_uint8(apply_color_lut(indices, ds), lut_bits, False)
        if arr.dtype == np.uint8 and arr.ndim == 2:
            # OpenCV's lookup of an 8-bit index repeated on three channels: 5 times faster than np.take.
            rgb = cv2.LUT(cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB), table.reshape(256, 1, 3))
        else:
            rgb = np.take(table, arr, axis=0)  # the same lookup as table[arr], several times faster
    elif arr.ndim == 3:
        rgb = _to_uint8(arr, bits, signed)
        if photometric in _YBR_FULL:
            rgb = ybr_full_to_rgb(rgb)  # on 8-bit samples: no scanner exports YBR deeper than 8 bits
    else:
        grey = _to_uint8(arr, bits, signed)
        if photometric == "MONOCHROME1":
            grey = 255 - grey
        grey = np.ascontiguousarray(grey)
        return grey, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)  # several times faster than np.repeat
    rgb = np.ascontiguousarray(rgb)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), rgb
