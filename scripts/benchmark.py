"""Benchmarks of cervical-length on this machine: the measurement's accuracy targets on the test
phantoms, phantom generation, DICOM decoding, the model's forward pass, the measurement, the whole
pipeline from DICOM file to cervical length, and the outputs of an archive of many studies.

Run through ``scripts/benchmark [SECTION ...]`` (default: every section). Figures are measured, not
asserted; the machine is recorded, and each section's figures carry the time it ran (UTC) and the
network's speed measured just before it; sections run later replace their figures in
benchmarks/latest.json.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.pixels import pixel_array
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import generate_uid

from cervical_length.cli import main as cli_main
from cervical_length.dicom import read_frames, write_us_dicom
from cervical_length.engine import Pipeline, chosen_region, measured_regions, view_spacing
from cervical_length.evaluate import evaluate_looks, summarise
from cervical_length.measure import measure_cervix, sector_mask
from cervical_length.model import UNet, load_model
from cervical_length.model_info import DEFAULT_MODEL, DEFAULT_WIDTHS, WORKING_SIZE
from cervical_length.outputs import encode_png, overlay_image
from cervical_length.phantom import generate
from cervical_length.segment import Segmenter, back_to_frame, letterbox

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


def _squares(kind: str, size: int) -> np.ndarray:
    """Eight (size, size) uint8 working squares: "noise" fills the whole square (the network runs on
    all of it); "sector" is a sample export's letterboxed sector (600 x 800, the network's content
    window 192 of 256 rows), as a batch run sees."""
    if kind == "noise":
        return np.random.default_rng(0).integers(0, 255, size=(8, size, size), dtype=np.uint8)
    frame = next(read_frames(ROOT / "sample_dicoms" / "03_mono_funnel.dcm"))
    square, _ = letterbox(frame.grey, frame.calibration.region.crop, size)
    return np.repeat(square[None], 8, axis=0)


def _forward_worker(batches: int, kind: str = "noise", *, reference: bool = False) -> tuple[int, float]:
    """In a worker process: frames and seconds of ``batches`` forward passes of 8 :func:`_squares`
    on one thread, by the shipped model or (``reference``) by an untrained network of the default
    widths: its computation, and so its speed, is that of any weights of that shape."""
    if reference:
        segmenter = Segmenter(UNet(DEFAULT_WIDTHS).eval(), model_sha256="reference", working_size=WORKING_SIZE, threads=1)
    else:
        model, info = load_model(DEFAULT_MODEL)
        segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size, threads=1)
    squares = _squares(kind, segmenter.working_size)
    segmenter.probabilities(squares)
    start = time.perf_counter()
    for _ in range(batches):
        segmenter.probabilities(squares)
    return batches * len(squares), time.perf_counter() - start


def _reference_forward() -> float:
    """Frames/s of the five-level network (the default widths; the shipped model until version 0.5.0)
    on one thread over the whole square, measured now: the machine's speed drifts, so each section's
    figures carry the speed of this fixed computation beside them, comparable across model versions."""
    frames, seconds = _forward_worker(20, reference=True)
    return _rate(frames, seconds)


def model_speed() -> dict[str, float]:
    """Forward pass of the shipped model, batches of 8: on the whole working square (noise) on one
    thread, and on a sample's sector (its content window) in one process on 1 and on all threads and
    in one single-threaded process per core (how ``measure --workers`` runs it)."""
    model, info = load_model(DEFAULT_MODEL)
    figures = {"working_size": info.working_size, "parameters": sum(p.numel() for p in model.parameters())}
    runs = [("noise", 1, "_whole_square")] + [("sector", threads, "") for threads in (1, os.cpu_count() or 1)]
    for kind, threads, suffix in runs:
        squares = _squares(kind, info.working_size)
        segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size, threads=threads)
        segmenter.probabilities(squares)
        best = min(_timed(lambda s=segmenter, x=squares: s.probabilities(x)) for _ in range(5))
        figures[f"forward_frames_per_s_{threads}_threads{suffix}"] = _rate(len(squares), best)
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        results = pool.starmap(_forward_worker, [(40, "sector")] * cores)
    figures[f"forward_frames_per_s_{cores}_processes_1_thread_each"] = round(sum(f / s for f, s in results), 1)
    return figures


STAGES = ("decode", "preprocess", "forward", "back_to_frame", "measure", "overlay")


def _stage_seconds(pipeline: Pipeline, path: Path) -> tuple[dict[str, float], int]:
    """Seconds of each of :data:`STAGES` over one export's frames, and the number of frames."""
    segmenter = pipeline.segmenter
    totals = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    decoded = list(read_frames(path))
    totals["decode"] = time.perf_counter() - start
    for frame in decoded:
        # Each view of a split screen is segmented and measured apart, as the pipeline does; the
        # overlay is drawn of the view the row reports.
        views = []
        for region in measured_regions(frame.calibration):
            crop = None if region is None else region.crop
            t0 = time.perf_counter()
            square, box = letterbox(frame.grey, crop, segmenter.working_size)
            t1 = time.perf_counter()
            probs = segmenter.probabilities(square[None])[0]
            t2 = time.perf_counter()
            full, labels = back_to_frame(probs, box, frame.grey.shape)
            t3 = time.perf_counter()
            fan, apex = sector_mask(frame.grey, None if region is None else region.bounds)
            m = measure_cervix(labels, view_spacing(frame.calibration, region), probabilities=full, grey=frame.grey, fan=fan, apex_px=apex, limits=pipeline.limits)
            t4 = time.perf_counter()
            for key, seconds in zip(STAGES[1:5], (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                totals[key] += seconds
            views.append((labels, m))
        labels, m = views[chosen_region([m for _, m in views])]
        t4 = time.perf_counter()
        encode_png(overlay_image(frame.rgb, labels, m))
        totals["overlay"] += time.perf_counter() - t4
    return totals, len(decoded)


def stage_breakdown() -> dict[str, float]:
    """Milliseconds per frame of each stage, on the sample exports' frames, in one process on one
    thread (as each worker of ``measure --workers N`` runs); the overlay is drawn and PNG-encoded.
    A funnelled sample goes through every stage once untimed first: first calls load PyTorch's
    kernels and modules (scipy.spatial at the first funnel), which a worker pays once per run."""
    pipeline = Pipeline(DEFAULT_MODEL, threads=1)
    _stage_seconds(pipeline, ROOT / "sample_dicoms" / "03_mono_funnel.dcm")
    totals, frames = dict.fromkeys(STAGES, 0.0), 0
    for path in sorted((ROOT / "sample_dicoms").glob("*.dcm")):
        seconds, count = _stage_seconds(pipeline, path)
        totals = {key: totals[key] + seconds[key] for key in STAGES}
        frames += count
    return {f"{key}_ms_per_frame": round(value / frames * 1000, 1) for key, value in totals.items()}


def _archive(root: Path, target_frames: int, samples: list[Path] | None = None) -> int:
    """Copy ``samples`` (default: every sample export) under ``root`` until they hold
    ``target_frames``; returns the frame count."""
    samples = samples or sorted((ROOT / "sample_dicoms").glob("*.dcm"))
    per_copy = sum(1 for path in samples for _ in read_frames(path))
    copies = -(-target_frames // per_copy)
    for k in range(copies):
        folder = root / f"{k:05d}"
        folder.mkdir(parents=True)
        for path in samples:
            shutil.copyfile(path, folder / path.name)
    return copies * per_copy


#: The installed command, run as a user runs it: its own start-up (imports) is part of every figure.
COMMAND = str(ROOT / ".venv" / "bin" / "cervical-length")


def _command_seconds(*arguments: str) -> float:
    """Seconds of ``cervical-length ARGUMENTS`` from its start to its exit (a failure raises)."""
    return _timed(lambda: subprocess.run([COMMAND, *arguments], stdout=subprocess.DEVNULL, check=True))


def _measure_seconds(archive: Path, out: Path, workers: int, *, overlays: bool, sr: bool = True) -> float:
    """Seconds of the command ``cervical-length measure ARCHIVE --out OUT`` with ``workers`` processes,
    from its start to its exit."""
    options = [*([] if overlays else ["--no-overlays"]), *([] if sr else ["--no-sr"])]
    return _command_seconds("measure", str(archive), "--out", str(out), "--workers", str(workers), "-q", *options)


def archive_speed(target_frames: int = 2000) -> dict[str, float]:
    """DICOM file to cervical length in the results database (CSV, report and SR included) on the
    sample exports copied until ``target_frames``: with overlays on 1 worker and one per core, and
    without overlays on one per core."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive"
        frames = _archive(archive, target_frames)
        figures: dict[str, float] = {"frames": frames}
        cores = os.cpu_count() or 1
        for workers, overlays in ((1, True), (cores, True), (cores, False)):
            seconds = _measure_seconds(archive, Path(tmp) / f"out{workers}{'' if overlays else '-no-overlays'}", workers, overlays=overlays)
            figures[f"end_to_end_frames_per_s_{workers}_workers" + ("" if overlays else "_no_overlays")] = _rate(frames, seconds)
    # The runs' main processes and their workers are all waited-for descendants of this one.
    figures["peak_rss_mib_largest_process"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return figures


def archive_by_kind(target_frames: int = 2000, small_frames: int = 24) -> dict[str, float]:
    """End to end with one worker per core on the two kinds the targets name: single-frame
    uncompressed exports, and the JPEG cine loop, each copied until ``target_frames``.

    Also the rate once the workers run ("steady"): a run pays seconds of fixed costs (starting the
    command and its workers, which import PyTorch; the exports at the end), so the same run on ``small_frames`` (the
    same studies, so the same exports) is timed too and steady = extra frames / extra seconds.
    """
    exports = sorted((ROOT / "sample_dicoms").glob("*.dcm"))
    kinds = {
        "uncompressed": [p for p in exports if not dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID.is_compressed],
        "jpeg_cine": [ROOT / "sample_dicoms" / "04_cine_jpeg.dcm"],
    }
    cores = os.cpu_count() or 1
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, samples in kinds.items():
            frames = _archive(Path(tmp) / kind, target_frames, samples)
            small = _archive(Path(tmp) / f"{kind}-small", small_frames, samples)
            for overlays in (True, False):
                suffix = "" if overlays else "_no_overlays"
                seconds = _measure_seconds(Path(tmp) / kind, Path(tmp) / f"out-{kind}{suffix}", cores, overlays=overlays)
                small_seconds = _measure_seconds(Path(tmp) / f"{kind}-small", Path(tmp) / f"out-{kind}-small{suffix}", cores, overlays=overlays)
                figures[f"{kind}_frames_per_s_{cores}_workers{suffix}"] = _rate(frames, seconds)
                figures[f"{kind}_steady_frames_per_s_{cores}_workers{suffix}"] = _rate(frames - small, seconds - small_seconds)
                figures[f"{kind}_fixed_seconds_{cores}_workers{suffix}"] = round(small_seconds - small * (seconds - small_seconds) / (frames - small), 1)
            figures[f"{kind}_frames"] = frames
    return figures


def _distinct_studies(root: Path, sample: Path, count: int) -> None:
    """``count`` copies of ``sample`` under ``root``, each a study of its own (new Study, Series and
    SOP Instance UIDs, derived from the copy's number), as an archive of many patients is."""
    ds = dcmread(sample)
    root.mkdir(parents=True)
    for k in range(count):
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(ds, keyword, generate_uid(entropy_srcs=[keyword, str(k)]))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.AccessionNumber = f"B{k:06d}"
        ds.save_as(root / f"{k:06d}.dcm")


def exports(studies: int = 400) -> dict[str, float]:
    """The outputs of an archive of many studies (one measured frame each): a DICOM SR and a report
    card per exam make the export grow with the number of studies, not of frames. Times
    ``measure`` (with its export; and with ``--no-sr``), then ``export`` with every report current,
    then ``export`` after the reports were deleted (each written again)."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        archive, out = Path(tmp) / "archive", Path(tmp) / "out"
        _distinct_studies(archive, ROOT / "sample_dicoms" / "03_mono_funnel.dcm", studies)
        without_sr = _measure_seconds(archive, Path(tmp) / "out-no-sr", cores, overlays=True, sr=False)
        measure = _measure_seconds(archive, out, cores, overlays=True)
        current = _command_seconds("export", str(out), "-q")
        shutil.rmtree(out / "sr")
        rewritten = _command_seconds("export", str(out), "-q")
        reports = len(list((out / "sr").glob("*.dcm")))
    return {
        "studies": studies,
        "reports": reports,
        f"measure_frames_per_s_{cores}_workers_with_exports": _rate(studies, measure),
        f"measure_frames_per_s_{cores}_workers_with_exports_no_sr": _rate(studies, without_sr),
        "export_seconds_reports_current": round(current, 1),
        "export_seconds_reports_written": round(rewritten, 1),
        "ms_per_report_written": round((rewritten - current) / max(reports, 1) * 1000, 1),
    }


def _tree_rss_mib(root_pid: int) -> dict[int, float]:
    """Resident memory (MiB) of a process and all its descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier += children
    rss = {}
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return rss


def memory_over_run(target_frames: int = 10_000) -> dict[str, float]:
    """Resident memory of a ``measure`` run over ``target_frames`` (one worker per core), sampled
    every second: the peak of any process, and the main process and largest worker at 20 % and at
    80 % of the run, so growth with archive size shows."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive"
        frames = _archive(archive, target_frames)
        command = [COMMAND, "measure", str(archive), "--out", str(Path(tmp) / "out"), "-q"]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples: list[tuple[float, dict[int, float]]] = []
        while process.poll() is None:
            samples.append((time.perf_counter() - start, _tree_rss_mib(process.pid)))
            time.sleep(1.0)
        seconds = time.perf_counter() - start
    main_pid = process.pid

    def at(fraction: float) -> dict[str, float]:
        """RSS of the main process and of the largest worker, in the sample nearest ``fraction`` of the run."""
        t, rss = min(samples, key=lambda sample: abs(sample[0] - fraction * seconds))
        workers = [v for pid, v in rss.items() if pid != main_pid]
        return {"main": round(rss.get(main_pid, 0.0), 1), "largest_worker": round(max(workers, default=0.0), 1)}

    return {
        "frames": frames,
        "exit_status": process.returncode,
        "frames_per_s": _rate(frames, seconds),
        "peak_rss_mib_any_process": round(max(max(rss.values()) for _, rss in samples), 1),
        "rss_mib_at_20_percent": at(0.2),
        "rss_mib_at_80_percent": at(0.8),
    }


def accuracy(count: int = 1000) -> dict[str, object]:
    """The measurement's targets on the test phantoms, as ``cervical-length evaluate --count 1000``
    reports them: Dice, CL error and limits of agreement, short-cervix call, funnel, quality gate, and
    the measurement's own time (mask to numbers, ms per frame)."""
    pipeline = Pipeline(DEFAULT_MODEL, threads=os.cpu_count() or 1)
    looks = evaluate_looks(pipeline.segmenter, phantoms="test", count=count, limits=pipeline.limits)
    return {"model_sha256": pipeline.model_info.sha256, "phantoms_per_look": count, **{name: summarise(outcomes) for name, outcomes in looks.items()}}


SECTIONS = {
    "accuracy": accuracy,
    "phantoms": phantom_speed,
    "dicom": decode_speed,
    "model": model_speed,
    "stages": stage_breakdown,
    "archive": archive_speed,
    "archive_by_kind": archive_by_kind,
    "exports": exports,
    "memory": memory_over_run,
}


def main(argv: list[str]) -> None:
    """Run the sections named in ``argv`` (default: all); merge them into benchmarks/latest.json."""
    unknown = set(argv) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    out = ROOT / "benchmarks" / "latest.json"
    earlier = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    result = {name: figures for name, figures in earlier.items() if name in SECTIONS}  # figures of older sections go
    result["machine"] = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(), "python": platform.python_version()}
    for name in argv or SECTIONS:
        # When, and how fast the machine was just before: a figure is only comparable with others of its phase.
        context = {"measured_at_utc": datetime.now(UTC).isoformat(timespec="seconds"), "reference_forward_frames_per_s_1_thread": _reference_forward()}
        result[name] = {**context, **SECTIONS[name]()}
        print(json.dumps({name: result[name]}, indent=1), flush=True)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
