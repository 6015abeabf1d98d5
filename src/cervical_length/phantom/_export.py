"""Phantom sets on disk: image PNG, FUGC-style label PNG, JSON sidecar, one ground-truth CSV, a montage.

This is an I/O edge: the generator above it is pure.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..outputs import write_png
from ._generate import Phantom
from ._truth import PhantomTruth

__all__ = ["GROUND_TRUTH_COLUMNS", "phantom_stem", "truth_row", "write_phantom", "write_ground_truth_csv", "montage"]

#: Columns of a set's ``ground_truth.csv``; join with ``measurements.csv`` on (file, frame).
GROUND_TRUTH_COLUMNS = (
    "file",
    "frame",
    "mm_per_pixel",
    "cl_mm",
    "cl_straight_mm",
    "funnel",
    "funnel_length_mm",
    "funnel_width_mm",
    "funnel_percent",
    "funnel_shape",
    "measurable",
    "reasons",
    "auca_deg",
    "auca_visible",
    "case",
    "appearance",
    "seed",
)


def truth_row(truth: PhantomTruth, file: str) -> dict[str, object]:
    """One ground-truth CSV row; lengths in mm to 0.001 mm, flags as 0/1."""
    return {
        "file": file,
        "frame": truth.frame,
        "mm_per_pixel": f"{truth.mm_per_pixel:.6f}",
        "cl_mm": f"{truth.cl_mm:.3f}",
        "cl_straight_mm": f"{truth.cl_straight_mm:.3f}",
        "funnel": int(truth.funnel),
        "funnel_length_mm": f"{truth.funnel_length_mm:.3f}",
        "funnel_width_mm": f"{truth.funnel_width_mm:.3f}",
        "funnel_percent": f"{truth.funnel_percent:.1f}",
        "funnel_shape": truth.funnel_shape,
        "measurable": int(truth.measurable),
        "reasons": "; ".join(truth.reasons),
        "auca_deg": f"{truth.auca_deg:.1f}",
        "auca_visible": int(truth.auca_visible),
        "case": truth.case,
        "appearance": truth.appearance,
        "seed": truth.seed,
    }


def phantom_stem(truth: PhantomTruth) -> str:
    """File stem of a phantom in a set, ``{appearance}_{seed:06d}``: disjoint seeds never collide."""
    return f"{truth.appearance}_{truth.seed:06d}"


def write_phantom(phantom: Phantom, out_dir: str | os.PathLike[str], stem: str) -> dict[str, object]:
    """Write ``stem.png``, ``stem_label.png`` (0/1/2) and ``stem.json``; return the CSV row."""
    out = Path(out_dir)
    write_png(out / f"{stem}.png", phantom.rgb)
    write_png(out / f"{stem}_label.png", phantom.labels)
    sidecar = {"image": f"{stem}.png", "label": f"{stem}_label.png", **phantom.truth.to_json()}
    (out / f"{stem}.json").write_text(json.dumps(sidecar, indent=1), encoding="utf-8")
    return truth_row(phantom.truth, f"{stem}.png")


def write_ground_truth_csv(path: str | os.PathLike[str], rows: Iterable[dict[str, object]]) -> None:
    """Write the set's ``ground_truth.csv`` with :data:`GROUND_TRUTH_COLUMNS`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=GROUND_TRUTH_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def montage(images: Sequence[np.ndarray], *, columns: int = 4, tile: tuple[int, int] = (320, 240)) -> np.ndarray:
    """(rows x tile_h, columns x tile_w, 3) uint8 grid of RGB images resized to ``tile`` (w, h)."""
    width, height = tile
    tiles = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in images]
    while len(tiles) % columns:
        tiles.append(np.zeros((height, width, 3), dtype=np.uint8))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)

