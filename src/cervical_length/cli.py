"""The ``cervical-length`` command: argument parsing, progress, exit codes; nothing else."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .dicom import user_spacing
from .engine import iter_frame_results
from .errors import CalibrationError
from .outputs import MeasurementsCsvWriter

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "measure":
        return _measure(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
