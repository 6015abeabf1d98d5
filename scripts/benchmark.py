"""Benchmarks of cervical-length on this machine: phantom generation, DICOM decoding, the model's
forward pass, the measurement, and the whole pipeline from DICOM file to cervical length.

Run through ``scripts/benchmark``. Figures are measured, not asserted; the machine is recorded.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.pixels import pixel_array
from pydicom.pixels.decoders.base import get_decoder

from cervical_length.cli import main as cli_main
from cervical_length.dicom import read_frames, write_us_dicom
from cervical_length.engine import Pipeline
from cervical_length.measure import measure_cervix, sector_mask
from cervical_length.model import DEFAULT_MODEL, load_model
from cervical_length.outputs import overlay_image
from cervical_length.phantom import generate
from cervical_length.segment import Segmenter, letterbox, to_original

ROOT = Path(__file__).resolve().parents[1]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def phantom_speed(count: int = 60) -> dict[str, float]:
    generate(0)
    start = time.perf_counter()
    for seed in range(1, count + 1):
        generate(seed)
    one = _rate(count, time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        cli_main(["phantoms", "--out", out, "--count", "200", "--workers", str(os.cpu_count() or 1)])
        written = _rate(200, time.perf_counter() - start)
    return {"generate_images_per_s_1_process": one, "generate_and_write_images_per_s_all_cores": written}


def _best_ms_per_frame(ds, plugin: str, frames: int, repeats: int = 5) -> float:
    pixel_array(ds, decoding_plugin=plugin)  # warm-up: first calls load the plug-in
    best = min(_timed(lambda: pixel_array(ds, decoding_plugin=plugin)) for _ in range(repeats))
    return round(best / frames * 1000, 2)


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def decode_speed() -> dict[str, float]:
    """Decode time per frame for each installed plug-in, on the cine sample re-encoded in each syntax."""
    figures = {}
    frames = np.stack([f.rgb for f in read_frames(ROOT / "sample_dicoms" / "04_cine_jpeg.dcm")])
    with tempfile.TemporaryDirectory() as tmp:
        for name, photometric, compression in (
            ("jpeg_baseline", "YBR_FULL_422", "jpeg_baseline"),
            ("jpeg2000", "RGB", "jpeg2000"),
            ("rle", "RGB", "rle"),
        ):
            path = Path(tmp) / name
            write_us_dicom(path, frames, photometric=photometric, compression=compression)
            ds = dcmread(path)
            for plugin in get_decoder(ds.file_meta.TransferSyntaxUID).available_plugins:
                figures[f"{name}_ms_per_frame_{plugin}"] = _best_ms_per_frame(ds, plugin, len(frames))
    for path in sorted((ROOT / "sample_dicoms").glob("*.dcm")):
        count = 0
        start = time.perf_counter()
        for _ in read_frames(path):
            count += 1
        figures[f"read_frames_per_s_{path.stem}"] = _rate(count, time.perf_counter() - start)
    return figures


def model_speed() -> dict[str, float]:
    """Forward pass of the shipped model at its working size, batches of 8, per thread count."""
    model, info = load_model(DEFAULT_MODEL)
    squares = np.random.default_rng(0).integers(0, 255, size=(8, info.working_size, info.working_size), dtype=np.uint8)
    figures = {"working_size": info.working_size, "parameters": sum(p.numel() for p in model.parameters())}
    for threads in (1, os.cpu_count() or 1):
        segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size, threads=threads)
        segmenter.probabilities(squares)
        best = min(_timed(lambda s=segmenter: s.probabilities(squares)) for _ in range(5))
        figures[f"forward_frames_per_s_{threads}_threads"] = _rate(len(squares), best)
    return figures


def stage_breakdown() -> dict[str, float]:
    """Milliseconds per frame of each stage, on the sample exports' frames, in one process."""
    pipeline = Pipeline(DEFAULT_MODEL, threads=os.cpu_count() or 1)
    segmenter = pipeline.segmenter
    totals = dict.fromkeys(("decode", "preprocess", "forward", "back_to_frame", "measure", "overlay"), 0.0)
    frames = 0
    for path in sorted((ROOT / "sample_dicoms").glob("*.dcm")):
        start = time.perf_counter()
        decoded = list(read_frames(path))
        totals["decode"] += time.perf_counter() - start
        for frame in decoded:
            region = frame.calibration.region
            crop = None if region is None else (region.min_row, region.min_col, region.max_row + 1, region.max_col + 1)
            t0 = time.perf_counter()
            square, box = letterbox(frame.grey, crop, segmenter.working_size)
            t1 = time.perf_counter()
            probs = segmenter.probabilities(square[None])[0]
            t2 = time.perf_counter()
            full = to_original(probs, box, frame.grey.shape)
            labels = full.argmax(axis=0).astype(np.uint8)
            t3 = time.perf_counter()
            fan, apex = sector_mask(frame.grey, None if region is None else (region.min_col, region.min_row, region.max_col, region.max_row))
            spacing = frame.calibration.spacing_at(*np.argwhere(labels > 0).mean(axis=0)) if (labels > 0).any() else None
            m = measure_cervix(labels, spacing, probabilities=full, grey=frame.grey, fan=fan, apex_px=apex)
            t4 = time.perf_counter()
            overlay_image(frame.rgb, labels, m)
            t5 = time.perf_counter()
            for key, seconds in zip(("preprocess", "forward", "back_to_frame", "measure", "overlay"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                totals[key] += seconds
            frames += 1
    return {f"{key}_ms_per_frame": round(value / frames * 1000, 1) for key, value in totals.items()}


def archive_speed(target_frames: int = 2000) -> dict[str, float]:
    """DICOM file to cervical length in the results database (overlays, CSV, report included) on
    the sample exports copied until ``target_frames``, with 1 worker and with one per core."""
    samples = sorted((ROOT / "sample_dicoms").glob("*.dcm"))
    per_copy = sum(1 for path in samples for _ in read_frames(path))
    copies = -(-target_frames // per_copy)
    figures: dict[str, float] = {"frames": copies * per_copy}
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive"
        for k in range(copies):
            folder = archive / f"{k:04d}"
            folder.mkdir(parents=True)
            for path in samples:
                shutil.copyfile(path, folder / path.name)
        for workers in sorted({1, os.cpu_count() or 1}):
            out = Path(tmp) / f"out{workers}"
            start = time.perf_counter()
            cli_main(["measure", str(archive), "--out", str(out), "--workers", str(workers), "-q"])
            figures[f"end_to_end_frames_per_s_{workers}_workers"] = _rate(copies * per_copy, time.perf_counter() - start)
    figures["peak_rss_mib_main_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["peak_rss_mib_largest_worker"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return figures


def main() -> None:
    result = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(), "python": platform.python_version()},
        "phantoms": phantom_speed(),
        "dicom": decode_speed(),
        "model": model_speed(),
        "stages": stage_breakdown(),
        "archive": archive_speed(),
    }
    print(json.dumps(result, indent=1))
    out = ROOT / "benchmarks"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
