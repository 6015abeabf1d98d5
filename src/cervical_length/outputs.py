"""Writing results for people and other programs: CSV and JSON lines, overlay PNGs.

Text that comes from files (paths, error messages quoting headers) is hostile: a cell that a
spreadsheet would run as a formula is prefixed with an apostrophe (OWASP CSV injection advice), and
file names are never built from header text (overlays are named by validated UIDs).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from types import TracebackType
from typing import overload

import cv2
import numpy as np
from isal import isal_zlib

from .dicom import is_valid_uid
from .measure import SMALL_FUNNEL_MM, Measurement, is_small_funnel

__all__ = ["CsvWriter", "JsonLinesWriter", "csv_cell", "encode_png", "overlay_caption", "overlay_image", "overlay_name", "printable", "reported", "round_mm", "small_funnel_mark", "uid_stem", "write_png"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object) -> str:
    """``text`` for a terminal or a text file: each character that is not printable (a newline, a
    carriage return, the escape that starts a terminal control sequence...) as its Python escape, so
    that a file name or a DICOM header value can neither forge a line nor drive the terminal."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def csv_cell(value: object) -> str:
    """One CSV cell: '' for None, floats to 10 significant digits, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".10g")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) and not isinstance(value, (int, float)) else text


class CsvWriter:
    """Stream rows of one dataclass type to a CSV file, one column per field, as they are produced.

    >>> with CsvWriter(path, FrameResult) as out:  # doctest: +SKIP
    ...     out.write(result)
    """

    def __init__(self, path: str | os.PathLike[str], row_type: type) -> None:
        self.path = Path(path)
        # Fields holding records (not cells) are left out: they go to JSON outputs.
        self.columns = tuple(f.name for f in dataclasses.fields(row_type) if f.repr)
        self._handle = open(self.path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.columns)

    def write(self, row: object) -> None:
        self._writer.writerow([csv_cell(getattr(row, name)) for name in self.columns])
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class JsonLinesWriter:
    """Stream dataclass rows to a JSON-lines file: one object a line, the CSV's columns plus any
    nested record (an exam's rule assessment) as JSON, NaN never written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._handle = open(self.path, "w", encoding="utf-8")

    def write(self, row: object) -> None:
        record = {}
        for f in dataclasses.fields(row):
            value = getattr(row, f.name)
            record[f.name] = value.to_json() if hasattr(value, "to_json") else value
        self._handle.write(json.dumps(record, allow_nan=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) grey or (H, W, 3) RGB uint8 image, lossless.

    Every row gets PNG's "sub" filter (each byte minus the same channel's byte to its left) and the
    rows are deflated by ISA-L at level 1: on the 2-core machine here a 640 x 480 overlay takes
    about 4 ms where zlib level 1 (OpenCV, Pillow) takes 14-22 ms, for files about 7 % larger.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must be (H, W) or (H, W, 3) uint8, not {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else 3
    rows = np.ascontiguousarray(image).reshape(height, width * channels)
    filtered = np.empty((height, 1 + width * channels), dtype=np.uint8)
    filtered[:, 0] = 1  # filter type 1, "sub"
    filtered[:, 1 : 1 + channels] = rows[:, :channels]
    np.subtract(rows[:, channels:], rows[:, :-channels], out=filtered[:, 1 + channels :])  # modulo 256, as PNG defines

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)  # 8-bit grey or RGB
    body = isal_zlib.compress(filtered.tobytes(), 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an (H, W) grey or (H, W, 3) RGB uint8 array as PNG (:func:`encode_png`); raises OSError
    when it cannot."""
    data = encode_png(image)
    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise OSError(f"{path}: could not write PNG ({err.strerror or err})") from err


def uid_stem(uid: str) -> str:
    """A file-name stem from a UID: the UID itself when it is a valid one, else its hash (header text
    is never trusted in a path)."""
    return uid if is_valid_uid(uid) else hashlib.sha256(uid.encode()).hexdigest()[:32]


def overlay_name(sop_instance_uid: str, frame: int) -> str:
    """File name of a frame's overlay: ``<SOP Instance UID>_<frame>.png``."""
    return f"{uid_stem(sop_instance_uid)}_{frame:04d}.png"


#: Lip colour by label value (anterior 1, posterior 2; black for any other), as an OpenCV lookup table.
_TINTS = np.zeros((256, 1, 3), dtype=np.uint8)
_TINTS[1, 0], _TINTS[2, 0] = (70, 140, 255), (80, 220, 120)
_CANAL, _CALIPER, _FUNNEL, _WARN, _WALL = (255, 230, 0), (255, 255, 255), (255, 120, 200), (255, 80, 60), (255, 150, 40)


def _pt(p: tuple[float, float] | np.ndarray) -> tuple[int, int]:
    return (int(round(p[1])), int(round(p[0])))


def small_funnel_mark(length_mm: float) -> str:
    """", under 5 mm: confirm" after a funnel found shorter than
    :data:`~cervical_length.measure.SMALL_FUNNEL_MM` (mm), else ""; the overlay's and the terminal's."""
    return f", under {SMALL_FUNNEL_MM:g} mm: confirm" if is_small_funnel(length_mm) else ""


@overload
def round_mm(value: float) -> float: ...
@overload
def round_mm(value: None) -> None: ...
def round_mm(value: float | None) -> float | None:
    """A length in mm rounded to 0.01 mm, as the outputs carry it (None stays None)."""
    return None if value is None else round(float(value), 2)


def reported(m: Measurement) -> Measurement:
    """``m`` with its figures as every output carries them: lengths to 0.01 mm, the funnel
    percentage and the AUCA to 0.1, the confidences to 0.001. Each output shows these, rounded
    further for people, never the unrounded figures: rounded once from 26.046 mm an overlay would
    read 26.0 beside a terminal line and a report reading the stored 26.05 as 26.1 (about one
    frame in twenty)."""
    f = m.funnel
    if f is not None:
        f = dataclasses.replace(f, length_mm=round_mm(f.length_mm), width_mm=round_mm(f.width_mm), percent=round(f.percent, 1))
    return dataclasses.replace(
        m,
        cl_mm=round_mm(m.cl_mm),
        cl_straight_mm=round_mm(m.cl_straight_mm),
        cl_two_segment_mm=round_mm(m.cl_two_segment_mm),
        funnel=f,
        confidence=round(m.confidence, 3),
        os_confidence=None if m.os_confidence is None else round(m.os_confidence, 3),
        auca=None if m.auca is None else dataclasses.replace(m.auca, angle_deg=round(m.auca.angle_deg, 1)),
    )


def overlay_caption(m: Measurement) -> list[str]:
    """The overlay's text, a line each: a measured frame's values (lengths in mm, as
    :func:`reported` carries them; a funnel under :data:`~cervical_length.measure.SMALL_FUNNEL_MM`
    marked to confirm, a funnel width taken to the lips' outline said so), or why it was not measured."""
    if not m.measurable:
        return ["NOT MEASURABLE", *m.reasons]
    m = reported(m)
    lines = [f"CL {m.cl_mm:.1f} mm traced, {m.cl_straight_mm:.1f} mm straight"]
    if (f := m.funnel) is not None:
        # A base taken on the lips' outline (fluid fading before the mouth) can read the width wide.
        outline = " (width to the lips' outline)" if f.base_on_hull else ""
        lines.append(f"Funnel {f.length_mm:.1f} x {f.width_mm:.1f} mm{outline}, {f.percent:.0f} %, {f.shape}{small_funnel_mark(f.length_mm)}")
    if m.auca is not None:
        lines.append(f"AUCA {m.auca.angle_deg:.0f} deg")
    return [*lines, f"confidence {m.confidence:.2f}"]


def overlay_image(rgb: np.ndarray, labels: np.ndarray, m: Measurement) -> np.ndarray:
    """A caliper screen: the frame with the lips tinted, the traced canal, the os calipers, the
    straight caliper line, the funnel, the anterior uterine wall of the AUCA and the values, or the
    reasons it was not measured.

    rgb : (rows, cols, 3) uint8 frame; labels : (rows, cols) uint8. Returns a new array.
    """
    out = rgb.copy()
    rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
    if len(rows):
        # Tint the lips inside their bounding box only, by OpenCV's lookup, saturating uint8 blend and
        # masked copy (a third of the time of numpy's fancy indexing and copyto).
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        roi, lab = out[box], labels[box]
        tint = cv2.LUT(cv2.merge([lab, lab, lab]), _TINTS)
        tinted = cv2.addWeighted(roi, 0.72, tint, 0.28, 0.0)  # each pixel toward its lip's colour
        out[box] = cv2.copyTo(tinted, ((lab == 1) | (lab == 2)).view(np.uint8), roi)
    scale = max(0.45, rgb.shape[0] / 900)
    thick = max(1, int(round(rgb.shape[0] / 400)))
    if len(m.centreline_px) > 1:
        pts = np.rint(np.asarray(m.centreline_px)[:, ::-1]).astype(np.int32)  # (x, y) for OpenCV
        cv2.polylines(out, [pts], False, _CANAL, thick, cv2.LINE_AA)
    if m.external_os_px is not None and m.internal_os_px is not None:
        a, b = _pt(m.external_os_px), _pt(m.internal_os_px)
        if m.measurable:
            cv2.line(out, a, b, _CALIPER, 1, cv2.LINE_AA)
        for p in (a, b):
            cv2.drawMarker(out, p, _CALIPER, cv2.MARKER_CROSS, 14, thick, cv2.LINE_AA)
    if m.measurable and m.funnel is not None:
        f = m.funnel
        (r0, c0), (r1, c1) = f.base_px
        cv2.line(out, (int(c0), int(r0)), (int(c1), int(r1)), _FUNNEL, thick, cv2.LINE_AA)
        cv2.line(out, _pt(f.apex_px), (int((c0 + c1) / 2), int((r0 + r1) / 2)), _FUNNEL, 1, cv2.LINE_AA)
    if m.measurable and m.auca is not None:
        cv2.line(out, _pt(m.auca.wall_px[0]), _pt(m.auca.wall_px[1]), _WALL, thick, cv2.LINE_AA)
    lines = overlay_caption(m)
    colour = _CANAL if m.measurable else _WARN
    step = int(34 * scale)
    y = out.shape[0] - 12 - step * (len(lines) - 1)
    # A dark panel under the text: the scanner burns its own annotations into that corner, and
    # values written over them are hard to read at a glance.
    width = max(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] for text in lines)
    panel = out[max(0, y - step + 2) :, : min(out.shape[1], width + 20)]
    panel[:] = panel // 4
    for text in lines:
        cv2.putText(out, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
        y += step
    return out
