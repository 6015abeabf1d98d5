"""The ``sample_dicoms/`` exports: realistic US files of every kind the reader meets, with ground truth.

Reproducible byte for byte: fixed seeds, UIDs derived from the file names, fixed dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydicom.uid import generate_uid

from ..dicom import Compression, Photometric, RegionSpec, write_us_dicom
from ..outputs import write_png
from ._export import montage, truth_row, write_ground_truth_csv
from ._generate import Phantom, PhantomCase, generate, generate_cine
from ._truth import PhantomTruth

__all__ = ["SampleSpec", "SAMPLES", "OBSERVERS", "write_samples"]

CalibrationKind = Literal["region", "pixel_spacing", "none", "dual"]


@dataclass(frozen=True)
class SampleSpec:
    """One sample export."""

    name: str
    description: str
    seed: int
    case: PhantomCase
    photometric: Photometric
    compression: Compression
    calibration: CalibrationKind
    appearance: str = "train"
    frames: int = 1


SAMPLES: tuple[SampleSpec, ...] = (
    SampleSpec("01_rgb_normal.dcm", "RGB, uncompressed, normal cervix", 11, "normal", "RGB", "none", "region"),
    SampleSpec("02_jpeg_short_cervix.dcm", "YBR_FULL_422 JPEG baseline, short cervix (<= 25 mm)", 12, "short", "YBR_FULL_422", "jpeg_baseline", "region"),
    SampleSpec("03_mono_funnel.dcm", "MONOCHROME2, funnelling", 13, "funnel", "MONOCHROME2", "none", "region"),
    SampleSpec("04_cine_jpeg.dcm", "US multi-frame cine, 12 frames with probe motion, JPEG baseline", 14, "normal", "YBR_FULL_422", "jpeg_baseline", "region", frames=12),
    SampleSpec("05_dual_region.dcm", "split screen: two tissue regions of different scale", 15, "normal", "YBR_FULL_422", "jpeg_baseline", "dual"),
    SampleSpec("06_pixel_spacing_only.dcm", "MONOCHROME2 with Pixel Spacing, no US regions", 16, "short", "MONOCHROME2", "none", "pixel_spacing"),
    SampleSpec("07_uncalibrated.dcm", "no calibration at all: must be reported uncalibrated", 17, "normal", "MONOCHROME2", "none", "none"),
    SampleSpec("08_not_measurable_shadow.dcm", "acoustic shadow over the canal: not measurable", 18, "shadow", "YBR_FULL_422", "jpeg_baseline", "region"),
    SampleSpec("09_palette_vendor_b_funnel.dcm", "PALETTE COLOR, the held-out vendor look, funnelling", 19, "funnel", "PALETTE COLOR", "none", "region", appearance="shifted"),
)

#: Simulated observers for the comparison feature: (name, bias mm, per-exam SD mm, repeat SD mm).
OBSERVERS = (("A", 0.6, 1.4, 0.9), ("B", -0.9, 1.9, 1.2))


def _dual_screen(left: Phantom, right: Phantom) -> tuple[np.ndarray, list[RegionSpec], PhantomTruth]:
    """Two phantoms side by side at 400 px wide each, as a split-screen export shows them."""
    rows, half = 480, 400
    screen = np.zeros((rows, 2 * half, 3), dtype=np.uint8)
    regions, truths = [], []
    for k, phantom in enumerate((left, right)):
        scale = half / phantom.rgb.shape[1]
        height = int(round(phantom.rgb.shape[0] * scale))
        top = (rows - height) // 2
        screen[top : top + height, k * half : (k + 1) * half] = cv2.resize(phantom.rgb, (half, height), interpolation=cv2.INTER_AREA)
        truth = phantom.truth.rescaled(scale, (top, k * half))
        c0, r0, c1, r1 = truth.sector_bounds_px
        bounds = (max(c0, k * half), max(r0, top), min(c1, (k + 1) * half - 1), min(r1, top + height - 1))
        regions.append(RegionSpec(bounds, truth.mm_per_pixel / 10.0, truth.mm_per_pixel / 10.0))
        truths.append(truth)
    return screen, regions, truths[0]


def _render(spec: SampleSpec) -> tuple[np.ndarray, list[RegionSpec], list[PhantomTruth]]:
    """Frames (N, rows, cols, 3), US regions and the per-frame truth of one sample."""
    if spec.frames > 1:
        loop = generate_cine(spec.seed, spec.frames, appearance=spec.appearance, case=spec.case)
        phantoms = loop
    elif spec.calibration == "dual":
        left = generate(spec.seed, appearance=spec.appearance, case=spec.case)
        right = generate(spec.seed + 1, appearance=spec.appearance, case="out_of_plane")
        screen, regions, truth = _dual_screen(left, right)
        return screen[None], regions, [truth]
    else:
        phantoms = [generate(spec.seed, appearance=spec.appearance, case=spec.case)]
    truth = phantoms[0].truth
    mm_cm = truth.mm_per_pixel / 10.0
    regions = [RegionSpec(truth.sector_bounds_px, mm_cm, mm_cm)]
    return np.stack([p.rgb for p in phantoms]), regions, [p.truth for p in phantoms]


def _manual_rows(exams: Sequence[tuple[str, str, PhantomTruth]], seed: int) -> list[dict[str, object]]:
    """Two observers measure each measurable exam twice, with realistic bias and scatter."""
    rng = np.random.default_rng(seed)
    rows = []
    for study, sop, truth in exams:
        for name, bias, exam_sd, repeat_sd in OBSERVERS:
            exam_error = rng.normal(bias, exam_sd)
            for repeat in (1, 2):
                value = truth.cl_mm + exam_error + rng.normal(0.0, repeat_sd)
                rows.append(
                    {"study_instance_uid": study, "sop_instance_uid": sop, "frame": truth.frame, "observer": name, "repeat": repeat, "cl_mm": f"{value:.1f}"}
                )
    return rows


def write_samples(out_dir: str | os.PathLike[str], preview: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write every :data:`SAMPLES` export, ``ground_truth.csv`` and ``manual_calipers.csv`` into ``out_dir``.

    preview : optional PNG path for a montage of the samples' first frames.
    Returns the DICOM paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth_rows, exams, firsts, written = [], [], [], []
    for index, spec in enumerate(SAMPLES):
        frames, regions, truths = _render(spec)
        study = generate_uid(entropy_srcs=["cervical-length sample study", spec.name])
        sop = generate_uid(entropy_srcs=["cervical-length sample instance", spec.name])
        path = out / spec.name
        write_us_dicom(
            path,
            frames,
            photometric=spec.photometric,
            compression=spec.compression,
            regions=regions if spec.calibration in ("region", "dual") else (),
            pixel_spacing_mm=truths[0].spacing_mm if spec.calibration == "pixel_spacing" else None,
            frame_time_ms=50.0 if spec.frames > 1 else None,
            study_uid=study,
            series_uid=generate_uid(entropy_srcs=["cervical-length sample series", spec.name]),
            sop_uid=sop,
            patient_id=f"PHANTOM-{index + 1:04d}",
            patient_name=f"Phantom^Sample{index + 1:02d}",
            accession_number=f"SAMPLE{index + 1:04d}",
            manufacturer="cervical-length phantom (vendor A)" if spec.appearance == "train" else "cervical-length phantom (vendor B)",
            content_time=dt.datetime(2026, 1, 5, 9, 0, index),
        )
        written.append(path)
        firsts.append(frames[0])
        truth_rows.extend(truth_row(t, spec.name) for t in truths)
        measurable = [t for t in truths if t.measurable]
        if measurable:
            exams.append((study, sop, measurable[0]))
    write_ground_truth_csv(out / "ground_truth.csv", truth_rows)
    manual = _manual_rows(exams, seed=2026)
    with open(out / "manual_calipers.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(manual[0]))
        writer.writeheader()
        writer.writerows(manual)
    (out / ".cervical-length-ignore").write_text("# companions of the sample exports, not images\n*.csv\n", encoding="utf-8")
    if preview is not None:
        Path(preview).parent.mkdir(parents=True, exist_ok=True)
        write_png(preview, montage(firsts, columns=3))
    return written
