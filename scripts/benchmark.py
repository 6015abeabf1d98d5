"""Benchmarks of cervical-length on this machine: phantom generation and DICOM decoding.

Run through ``scripts/benchmark``. Figures are measured, not asserted; the machine is recorded.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.pixels import pixel_array
from pydicom.pixels.decoders.base import get_decoder

from cervical_length.cli import main as cli_main
from cervical_length.dicom import read_frames, write_us_dicom
from cervical_length.phantom import generate

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


def main() -> None:
    result = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(), "python": platform.python_version()},
        "phantoms": phantom_speed(),
        "dicom": decode_speed(),
    }
    print(json.dumps(result, indent=1))
    out = ROOT / "benchmarks"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
