"""The ``cervical-length`` command: argument parsing, progress, exit codes; nothing else."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

import numpy as np
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .dicom import user_spacing
from .engine import iter_frame_results
from .errors import CalibrationError
from .outputs import MeasurementsCsvWriter
from .phantom import APPEARANCES, CASES, generate, montage, phantom_stem, write_ground_truth_csv, write_phantom, write_png

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

_DISCLAIMER = "Decision support for a clinician, not a diagnosis."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cervical-length",
        description=(
            "Measure the cervix on transvaginal ultrasound DICOM exports and apply the clinical rules "
            f"for cervical insufficiency. {_DISCLAIMER}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    measure = commands.add_parser(
        "measure",
        help="read DICOM files or folders and write one result row per frame",
        description=(
            "Read every DICOM file under PATH (folders are walked recursively; files need no .dcm "
            "suffix), find each frame's millimetre scale, and write OUT/measurements.csv with one row "
            "per frame (a failed file gets one row with its error). Exit status: 0 when every file was "
            "read, 1 when some failed, 2 for a usage error."
        ),
    )
    measure.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="DICOM files or folders")
    measure.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the results (created)")
    measure.add_argument(
        "--mm-per-pixel",
        metavar="X[,Y]",
        help=(
            "millimetres per pixel (column width X, row height Y), used only for files whose headers "
            "give no scale (no ultrasound region calibration and no Pixel Spacing)"
        ),
    )
    measure.add_argument("-q", "--quiet", action="store_true", help="print only the summary")

    phantoms = commands.add_parser(
        "phantoms",
        help="generate transvaginal cervix phantoms with exact ground truth",
        description=(
            "Generate COUNT phantom images from seeds SEED..SEED+COUNT-1 into OUT: NAME.png, "
            "NAME_label.png (0 background, 1 anterior lip, 2 posterior lip, the FUGC convention), "
            "NAME.json (the exact ground truth), ground_truth.csv and montage.png. Same seed, same image."
        ),
    )
    phantoms.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the set (created)")
    phantoms.add_argument("--count", type=int, default=16, metavar="N", help="number of images (default 16)")
    phantoms.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    phantoms.add_argument("--appearance", choices=sorted(APPEARANCES), default="train", help="scanner look (default train)")
    phantoms.add_argument("--case", choices=CASES, help="one case for every image (default: a clinic-like mix)")
    phantoms.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N", help="processes (default: cores)")
    return parser


def _measure(args: argparse.Namespace) -> int:
    try:
        override = user_spacing(args.mm_per_pixel) if args.mm_per_pixel else None
    except CalibrationError as err:
        print(f"cervical-length measure: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"cervical-length measure: error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "measurements.csv"
    frames_by_status: Counter[str] = Counter()
    files, failures = set(), []
    with MeasurementsCsvWriter(csv_path) as out:
        for result in iter_frame_results(args.paths, user_mm_per_pixel=override, exclude=[args.out]):
            out.write(result)
            files.add(result.file)
            if result.status == "failed":
                failures.append(result)
            else:
                frames_by_status[result.status] += 1
            if not args.quiet:
                where = f"frame {result.frame}" if result.frame else "file"
                detail = result.error or f"{result.calibration_source} calibration"
                print(f"{result.status:<12} {result.file} {where}: {detail}")
    frames = sum(frames_by_status.values())
    print(
        f"Read {frames} frames from {len(files)} files: {frames_by_status['read']} calibrated, "
        f"{frames_by_status['uncalibrated']} uncalibrated; {len(failures)} failed."
    )
    for failure in failures:
        print(f"  failed: {failure.file}: {failure.error}", file=sys.stderr)
    print(f"Results: {csv_path}")
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _write_phantom(job: tuple[int, str, str | None, str]) -> tuple[dict[str, object], np.ndarray]:
    """Worker: generate one phantom, write its files; return its CSV row and its image."""
    seed, appearance, case, out_dir = job
    phantom = generate(seed, appearance=appearance, case=case)
    return write_phantom(phantom, out_dir, phantom_stem(phantom.truth)), phantom.rgb


def _phantoms(args: argparse.Namespace) -> int:
    if args.count < 1 or args.workers < 1:
        print("cervical-length phantoms: error: --count and --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(args.seed + k, args.appearance, args.case, str(args.out)) for k in range(args.count)]
    rows, firsts = [], []
    start = time.perf_counter()
    with multiprocessing.Pool(min(args.workers, args.count)) as pool:
        for row, rgb in pool.imap(_write_phantom, jobs, chunksize=4):
            rows.append(row)
            if len(firsts) < 16:
                firsts.append(rgb)
    write_ground_truth_csv(args.out / "ground_truth.csv", rows)
    write_png(args.out / "montage.png", montage(firsts))
    seconds = time.perf_counter() - start
    print(f"Wrote {len(rows)} phantoms to {args.out} in {seconds:.1f} s ({len(rows) / seconds:.1f} images/s, {args.workers} workers).")
    return EXIT_OK


COMMANDS = {"measure": _measure, "phantoms": _phantoms}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in COMMANDS:
        return COMMANDS[args.command](args)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
