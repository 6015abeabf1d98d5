"""The ``cervical-length`` command: argument parsing, progress, exit codes; nothing else."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .clinical import read_clinical_csv
from .dicom import IGNORE_FILE, user_spacing
from .engine import POOL_MIN_FRAMES, ExamRow, FrameResult, Pipeline, candidate_files, measure_files
from .errors import (
    CalibrationError,
    ClinicalDataError,
    ClusterMismatchError,
    DicomReadError,
    ModelError,
    ResultsDatabaseError,
    ResultsInUseError,
)
from .export import PROBLEMS_NAME, export_results
from .measure import SMALL_FUNNEL_MM
from .model_info import DEFAULT_MODEL, WORKING_SIZE, ModelInfo, TrainConfig, amend_metadata, calibration_metadata, read_model_info
from .outputs import CsvWriter, printable, small_funnel_mark, write_png
from .phantom import APPEARANCES, CASES, generate, montage, phantom_stem, write_ground_truth_csv, write_phantom
from .rules import (
    DISCLAIMER,
    GUIDELINES,
    NEAR_THRESHOLD_MM,
    PROFILES,
    SHORT_CERVIX_MM,
    ClinicalContext,
    assess,
    ga_from_edd,
    ga_from_lmp,
    parse_gestational_age,
)
from .store import DATABASE_NAME, ResultsStore

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_CANNOT_WRITE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_NO_SR_HELP = (
    "write no DICOM SR (each costs about 50-80 ms a study on a 2-core machine, more than measuring a "
    "single-image study; written once, then only when its exam changes)"
)


class _UsageError(Exception):
    """A command cannot run as asked; main() prints the message and exits with EXIT_USAGE."""


def _output_folder(path: Path) -> None:
    """Create the folder ``path`` (and its parents) for a command's results; a usage error naming it
    when that cannot be done (a file of that name, no permission)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _UsageError(f"{path}: cannot be made a folder for the results ({err.strerror or err})") from err


def _results_store(database: Path, info: ModelInfo, fix: str, *, fresh: bool = False) -> ResultsStore:
    """The results database of an output folder (``fresh``: deleted first); a usage error saying
    ``fix`` when it is damaged, or that another run holds it."""
    try:
        return ResultsStore(database, model_sha256=info.sha256, tool_version=__version__, fresh=fresh)
    except ResultsInUseError as err:
        raise _UsageError(str(err)) from err
    except ResultsDatabaseError as err:
        raise _UsageError(f"{err}: {fix}") from err


def _add_phantom_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The model and phantom count of a command that segments and measures phantoms."""
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="JSON", help="model metadata file")
    parser.add_argument("--count", type=int, default=200, metavar="N", help="phantoms per appearance (default 200)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cervical-length",
        description=(
            "Measure the cervix on transvaginal ultrasound DICOM exports and apply the clinical rules "
            f"for cervical insufficiency. {DISCLAIMER}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    measure = commands.add_parser(
        "measure",
        help="read DICOM files or folders and write one result row per frame",
        description=(
            "Read every DICOM file under PATH (folders are walked recursively; files need no .dcm "
            "suffix), segment the cervix, measure the cervical length in mm on every frame, and write "
            "OUT/measurements.csv (one row per frame; a failed file gets one row with its error, and "
            "a DICOM object that is no image, such as a report, one row saying so), "
            "OUT/exams.csv (one row per study: the shortest of the best three measurable frames) and "
            "OUT/overlays/*.png. Frames that cannot be measured honestly say why and carry no length. "
            "Exit status: 0 when every file was read (or was no image), 1 when some failed, 2 for a usage error, "
            "3 when the system refuses a file the run writes (disk full, permissions)."
        ),
    )
    measure.add_argument("paths", nargs="*", metavar="PATH", type=Path, help="DICOM files or folders")
    measure.add_argument("--list", type=Path, metavar="FILE", help="a text file naming one DICOM file or folder per line (# comments)")
    measure.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the results (created)")
    measure.add_argument(
        "--mm-per-pixel",
        metavar="X[,Y]",
        help=(
            "millimetres per pixel (column width X, row height Y), used only for files whose headers "
            "give no scale (no ultrasound region calibration and no Pixel Spacing)"
        ),
    )
    measure.add_argument("--clinical", type=Path, metavar="CSV", help="clinical context, one row per study (study_instance_uid or accession_number, ga, history...): the rules are applied to each exam")
    measure.add_argument("--profile", choices=sorted(PROFILES), default="smfm-acog", help="guideline profile for --clinical (default smfm-acog)")
    measure.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True, help="skip files already measured in OUT/results.sqlite (default); --no-resume starts afresh")
    measure.add_argument("--retry-failed", action="store_true", help="measure again the files that failed before")
    measure.add_argument(
        "--no-overlays", action="store_true",
        help="write no overlay PNGs (about 5 ms a frame; report.html then has no images)",
    )
    measure.add_argument("--no-sr", action="store_true", help=_NO_SR_HELP)
    measure.add_argument(
        "--dicom-seg", action="store_true",
        help="also write OUT/seg/<SOP Instance UID>_lips_seg.dcm, a DICOM Segmentation of the lips on each file's "
        "measured frames (not for multi-frame files without a Frame of Reference: their rows say so)",
    )
    measure.add_argument("--include-identifiers", action="store_true", help="add the patient's name, ID and birth date to the outputs (never read otherwise; never logged)")
    measure.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes, each with one model on one thread; 1 runs in this process (default: one per core for "
        f"{POOL_MIN_FRAMES} frames or more, below that this process: a pool's start-up would cost more than it saves)",
    )
    measure.add_argument("--engine", choices=("local", "dask"), default="local", help="local process pool (default) or an existing Dask cluster")
    measure.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --engine dask)")
    measure.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="JSON", help="model metadata file (default: the shipped model)")
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

    train = commands.add_parser(
        "train",
        help="train the segmentation network on phantoms or on labelled PNGs",
        description=(
            "Train the U-Net and write its weights and metadata (OUT and OUT with .pt). By default on "
            "freshly generated phantoms; with --fugc, on a folder of image/label PNG pairs "
            "(images/X.png + labels/X.png, labels 0 background, 1 anterior lip, 2 posterior lip), "
            "optionally fine-tuning --init. Deterministic for a seed on one machine."
        ),
    )
    # No default: a fine-tune on a clinic's images must not silently replace the shipped model,
    # whose figures the README reports (scripts/train names models/cervix-unet.json itself).
    train.add_argument("--out", type=Path, required=True, metavar="JSON", help="metadata file to write; the weights go beside it, with .pt")
    train.add_argument("--fugc", type=Path, metavar="DIR", help="train on this labelled folder instead of phantoms")
    train.add_argument("--init", type=Path, metavar="JSON", help="fine-tune this model instead of starting afresh")
    defaults = TrainConfig()
    for name in ("seed", "train_count", "val_count", "epochs", "batch_size"):
        train.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    train.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    train.add_argument("--max-minutes", type=float, default=defaults.max_minutes, help="stop after the epoch that passes this")
    train.add_argument(
        "--separation-weight", type=float, default=defaults.separation_weight, metavar="W0",
        help="extra cross-entropy weight where the two lips nearly touch (canal, funnel tip); default %(default)s",
    )
    train.add_argument(
        "--extra-funnels", type=int, default=defaults.extra_funnels, metavar="N",
        help="add N phantoms of funnelled cervices to the --train-count of the default case mix; default %(default)s",
    )
    train.add_argument(
        "--extra-short", type=int, default=defaults.extra_short, metavar="N",
        help="add N phantoms of closed short cervices (5-25 mm, the case with the most false funnels) after those; default %(default)s",
    )
    train.add_argument(
        "--calipers", type=float, default=defaults.calipers, metavar="SHARE",
        help="share (0-1) of the training phantoms saved with the sonographer's calipers burned in, as most archived frames are; default %(default)s",
    )
    train.add_argument(
        "--average-from", type=int, default=defaults.average_from, metavar="EPOCH",
        help=(
            "train at the constant --learning-rate and keep the average of the weights at the end of epochs "
            "EPOCH to --epochs (stochastic weight averaging) instead of the best epoch of a one-cycle schedule; "
            "default %(default)s: off"
        ),
    )
    train.add_argument(
        "--widths", type=_widths, metavar="W,W,...",
        help=(
            f"channels per U-Net level (default {','.join(map(str, defaults.widths))}); with --init, that model's "
            "widths followed by those of new deeper levels, grown onto it (default: its own)"
        ),
    )

    export = commands.add_parser(
        "export",
        help="write the CSV and JSON outputs again from a results database",
        description="Regenerate DIR/measurements.csv, exams.csv and their .jsonl from DIR/results.sqlite (for this model and tool version).",
    )
    export.add_argument("dir", type=Path, metavar="DIR", help="a measure output folder")
    export.add_argument("--clinical", type=Path, metavar="CSV", help="clinical context to join, as for measure")
    export.add_argument("--profile", choices=sorted(PROFILES), default="smfm-acog")
    export.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="JSON", help="the model whose results to export")
    export.add_argument("--no-sr", action="store_true", help=_NO_SR_HELP)
    export.add_argument("-q", "--quiet", action="store_true")

    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy of the model and the measurement against ground truth",
        description=(
            "Segment and measure generated phantoms the model never saw (training appearance, seeds "
            "from 3,000,000; shifted appearance, seeds from 4,000,000) and compare with their exact "
            "truth: Dice and HD95 of each lip, cervical-length error and limits of agreement in mm, "
            "the <= 25 mm call, funnel detection and length, the quality gate, the AUCA's error in "
            "degrees where the frame shows the anterior uterine wall, and what the requests to confirm "
            "a length near 25 mm or a funnel under 5 mm hold; each rate with its 95 % "
            "Wilson interval, the limits of agreement with theirs. With --loops, also the exam-level "
            "result on generated cine loops; with --fugc, the Dice on a folder of labelled PNGs "
            "(images/X.png + labels/X.png). Writes the figures as JSON, one row per phantom frame "
            "(and per loop) as CSV (truth, result and the quality gate's reasons, to look into any "
            "error), and prints a table."
        ),
    )
    _add_phantom_run_arguments(evaluate)
    evaluate.add_argument(
        "--phantoms", choices=("test", "validation"), default="test",
        help="test: the reported figures (default); validation: the model-selection phantoms (seeds 1,000,000 and 2,000,000), to compare candidate models or settings without tuning on the test set",
    )
    evaluate.add_argument(
        "--calipers", action="store_true",
        help="measure the same phantoms with the sonographer's calipers burned in on the os points (a dotted line and the result), as frames saved after measuring are; not the cine loops",
    )
    evaluate.add_argument(
        "--loops", type=int, default=0, metavar="N",
        help="also N generated cine loops per appearance (12 frames each; normal, short and funnelled cervices in turn) for the exam-level figures: the shortest of the best three valid frames against the truth, beside every valid frame alone (default 0)",
    )
    evaluate.add_argument("--fugc", type=Path, metavar="DIR", help="also evaluate on this labelled folder (images/X.png + labels/X.png)")
    evaluate.add_argument(
        "--fugc-mm-per-pixel", metavar="MM|CSV",
        help="the labelled images' pixel size: mm (square pixels), or a CSV with columns image and mm_per_pixel for images of several depths; with it, the cervical length on the model's labels is compared with that on the folder's own label maps",
    )
    evaluate.add_argument("--out", type=Path, default=Path("results/evaluation.json"), metavar="JSON", help="where to write the figures")
    evaluate.add_argument("--frames", type=Path, metavar="CSV", help="where to write the per-frame rows (default: beside --out, NAME_frames.csv)")

    calibrate_cmd = commands.add_parser(
        "calibrate",
        help="calibrate a model's measurement settings on its validation phantoms",
        description=(
            "Segment and measure the validation phantoms (seeds 1,000,000 and 2,000,000) with the model "
            "and write into its metadata file what the measurement needs to know of it: the quality "
            "gate's confidence floor and the funnel tip width the model draws closed. The weights and "
            "their checksum are not touched. `train` does this after training on phantoms."
        ),
    )
    _add_phantom_run_arguments(calibrate_cmd)

    compare = commands.add_parser(
        "compare",
        help="agreement of the tool's cervical length with manual calipers (Bland-Altman, ICC, kappa, plots)",
        description=(
            "Join the tool's results with observers' manual measurements by Study Instance UID (and "
            "SOP Instance UID + frame when the manual CSV has them) and write comparison.json, "
            "comparison.csv, comparison.md and Bland-Altman, scatter and difference plots (PNG, SVG) "
            "for the tool against each observer and between observers. Manual CSV columns: "
            "study_instance_uid, cl_mm (mm), optional sop_instance_uid, frame, observer, repeat "
            "(`calipers` writes one from the scanner's OB-GYN reports)."
        ),
    )
    compare.add_argument("--auto", type=Path, required=True, metavar="DIR_OR_CSV", help="a measure --out directory, or its measurements.csv / exams.csv")
    compare.add_argument("--manual", type=Path, required=True, action="append", metavar="CSV", help="manual calipers; repeat for more files")
    compare.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write the comparison")

    calipers = commands.add_parser(
        "calipers",
        help="read sonographers' cervical lengths from the scanner's OB-GYN reports (DICOM SR) into a CSV for compare",
        description=(
            "Read the Cervix Length (11961-0, LN) readings of OB-GYN Ultrasound Procedure Reports "
            "(DICOM SR, TID 5000) and write one row per study, the shortest reading of its latest "
            "report (FMF / ISUOG practice), as a manual CSV for `compare --manual`. Values the "
            "scanner derived (a mean) are not readings and are left out; an amended report "
            "supersedes the one before it. Other files in the folders are skipped and listed."
        ),
    )
    calipers.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="report files or folders (searched recursively)")
    calipers.add_argument("--out", type=Path, required=True, metavar="CSV", help="the CSV to write (an existing file is not overwritten)")
    calipers.add_argument("--observer", default="sonographer", help="the observer column's name (default: sonographer)")

    assess_cmd = commands.add_parser(
        "assess",
        help="apply the cervical insufficiency rules to a cervical length and its clinical context",
        description=(
            "Say which guideline rules apply to a cervical length and the clinical context, why (the "
            "comparisons made) and from which guideline. Unknown context is allowed: rules needing it "
            f"are listed as not assessed. {DISCLAIMER}"
        ),
    )
    assess_cmd.add_argument("--list-rules", action="store_true", help="print every rule of the profile with its source and stop")
    assess_cmd.add_argument("--profile", choices=sorted(PROFILES), default="smfm-acog", help="guideline profile (default smfm-acog)")
    assess_cmd.add_argument("--cl-mm", type=float, metavar="MM", help="cervical length in mm (omit when not measurable)")
    assess_cmd.add_argument("--funnel", choices=("yes", "no"), help="funnelling seen")
    assess_cmd.add_argument("--ga", metavar="WwDd", help="gestational age at the scan, e.g. 20w3d")
    assess_cmd.add_argument("--lmp", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="last menstrual period (with --scan-date)")
    assess_cmd.add_argument("--edd", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="estimated date of delivery (with --scan-date)")
    assess_cmd.add_argument("--scan-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    assess_cmd.add_argument("--prior-sptb", metavar="no|yes|WwDd", help="prior spontaneous preterm birth, and at what gestation")
    for name, kind in _CONTEXT_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            assess_cmd.add_argument(flag, choices=("yes", "no"))
        elif isinstance(kind, tuple):
            assess_cmd.add_argument(flag, choices=kind)
        else:
            assess_cmd.add_argument(flag, type=kind)
    assess_cmd.add_argument("--symptoms", nargs="*", default=[], choices=("pelvic pressure", "spotting", "cramps", "discharge"))
    assess_cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


#: Context fields given on the command line as they are: bool as yes/no, choices, numbers.
_CONTEXT_OPTIONS: dict[str, object] = {
    "plurality": ("singleton", "twins", "higher"),
    "second_trimester_losses": int,
    "prior_cerclage_for_painless_dilation": bool,
    "prior_pprom": bool,
    "cervical_surgery": bool,
    "deep_cervical_lacerations": bool,
    "mullerian_anomaly": bool,
    "connective_tissue_disorder": bool,
    "prior_mechanical_dilation": bool,
    "membranes": ("intact", "ruptured"),
    "labour": bool,
    "dilation_cm": float,
    "membranes_at_external_os": bool,
    "cerclage_in_place": bool,
    "progesterone_given": bool,
    "infection": bool,
    "bleeding": bool,
    "fetal_anomaly_or_demise": bool,
    "placenta_previa": bool,
}


def _context(args: argparse.Namespace) -> ClinicalContext:
    """The clinical context from the command line; ValueError naming the option when invalid."""
    values: dict[str, object] = {}
    for name, kind in _CONTEXT_OPTIONS.items():
        value = getattr(args, name)
        if value is not None:
            values[name] = (value == "yes") if kind is bool else value
    if args.ga:
        values["ga_days"] = parse_gestational_age(args.ga, field_name="--ga")
    elif args.lmp or args.edd:
        if not args.scan_date:
            raise ValueError("--scan-date: needed with --lmp or --edd")
        values["ga_days"] = ga_from_lmp(args.lmp, args.scan_date) if args.lmp else ga_from_edd(args.edd, args.scan_date)
    if args.prior_sptb is not None:
        answer = args.prior_sptb.strip().lower()
        values["prior_sptb"] = answer != "no"
        if answer not in ("yes", "no"):
            values["prior_sptb_ga_days"] = parse_gestational_age(answer, field_name="--prior-sptb")
    return ClinicalContext(**values, symptoms=tuple(args.symptoms))


def _assess(args: argparse.Namespace) -> int:
    if args.list_rules:
        for rule in PROFILES[args.profile]:
            print(f"{rule.id + ' v' + rule.version:28} {rule.kind:16} {rule.statement}\n{'':45} source: {GUIDELINES[rule.source]}")
        return EXIT_OK
    try:
        result = assess(_context(args), cl_mm=args.cl_mm, funnel=None if args.funnel is None else args.funnel == "yes", profile=args.profile)
    except ValueError as err:
        raise _UsageError(str(err)) from err
    print(json.dumps(result.to_json(), indent=1) if args.json else result.to_text())
    return EXIT_OK


def _phantom_pipeline(model: Path) -> Pipeline:
    """The model's pipeline on every core, for a command that segments phantoms; a bad model is a usage error."""
    try:
        return Pipeline(model, threads=os.cpu_count() or 1)
    except ModelError as err:
        raise _UsageError(str(err)) from err


def _figure(value: object) -> str:
    """One cell of the evaluation table: a range [low, high] as 'low..high', a pair of them
    (the limits of agreement's intervals) as 'low..high / low..high', a figure with no case to
    compute it on (None in the JSON) as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, list):
        return " / ".join(map(_figure, value)) if value and isinstance(value[0], list) else "..".join(map(str, value))
    return str(value)


def _print_figures(report: dict[str, object], sets: list[str]) -> None:
    """The named summaries of ``report`` side by side, one figure a row, in the first one's order."""
    keys = list(dict.fromkeys(k for name in sets for k in report[name]))
    print(f"{'':38}" + "".join(f"{name:>26}" for name in sets))
    for key in keys:
        print(f"{key:38}" + "".join(f"{_figure(report[name].get(key, '')):>26}" for name in sets))


def _pixel_sizes(value: str | None, folder: Path | None) -> float | dict[str, float] | None:
    """``--fugc-mm-per-pixel``: a size in mm, or the CSV of sizes by image; only with ``--fugc``."""
    if value is None:
        return None
    if folder is None:
        raise _UsageError("--fugc-mm-per-pixel needs --fugc")
    from .train import pixel_size, read_pixel_sizes

    try:
        float(value)
    except ValueError:  # not a number: the table of sizes by image
        try:
            return read_pixel_sizes(value)
        except (OSError, ValueError) as err:
            raise _UsageError(f"--fugc-mm-per-pixel {value}: {err}") from err
    try:
        return pixel_size(value)
    except ValueError as err:
        raise _UsageError(f"--fugc-mm-per-pixel must be above 0 mm, not {value}") from err


def _evaluate(args: argparse.Namespace) -> int:
    pixel_sizes = _pixel_sizes(args.fugc_mm_per_pixel, args.fugc)
    # Imported here, as in _train: the network's commands import PyTorch, the others need not.
    from .evaluate import (
        LabelledOutcome,
        LoopOutcome,
        PhantomOutcome,
        evaluate_fugc,
        evaluate_looks,
        evaluate_loops,
        summarise,
        summarise_fugc,
        summarise_loops,
    )

    pipeline = _phantom_pipeline(args.model)
    segmenter = pipeline.segmenter
    report: dict[str, object] = {"model_sha256": pipeline.model_info.sha256, "phantoms": args.phantoms, "calipers": args.calipers}
    frames_csv = args.frames or args.out.with_name(f"{args.out.stem}_frames.csv")
    loops_csv = args.out.with_name(f"{args.out.stem}_loops.csv")
    fugc_csv = args.out.with_name(f"{args.out.stem}_fugc.csv")
    for path in (args.out, frames_csv):
        _output_folder(path.parent)
    if args.fugc:  # first: a folder that cannot be read fails before the phantoms' minutes
        try:
            labelled = evaluate_fugc(segmenter, args.fugc, mm_per_pixel=pixel_sizes, limits=pipeline.limits)
        except ValueError as err:
            raise _UsageError(str(err)) from err
        with CsvWriter(fugc_csv, LabelledOutcome) as rows:
            for outcome in labelled:
                rows.write(outcome)
    with CsvWriter(frames_csv, PhantomOutcome) as rows:
        for name, outcomes in evaluate_looks(segmenter, phantoms=args.phantoms, count=args.count, limits=pipeline.limits, calipers=args.calipers).items():
            for outcome in outcomes:
                rows.write(outcome)
            report[name] = summarise(outcomes)
    frame_sets = ["heldout", "shifted"]
    if args.fugc:
        report["fugc"] = summarise_fugc(labelled)
        frame_sets.append("fugc")
    if args.loops:
        with CsvWriter(loops_csv, LoopOutcome) as rows:
            for name, loops in evaluate_loops(segmenter, phantoms=args.phantoms, count=args.loops, limits=pipeline.limits).items():
                for loop in loops:
                    rows.write(loop)
                report[f"{name}_loops"] = summarise_loops(loops)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    _print_figures(report, frame_sets)
    if args.loops:
        print()
        _print_figures(report, ["heldout_loops", "shifted_loops"])
    written = f"one row per frame in {frames_csv}" + (f", one row per cine loop in {loops_csv}" if args.loops else "")
    written += f", one row per labelled image in {fugc_csv}" if args.fugc else ""
    if args.fugc:
        source = "The labelled folder's figures (fugc) are on its own images, the others on generated phantoms."
    else:
        source = "Figures are on generated phantoms, not on patients' images."
    print(f"Written to {args.out}, {written}. {source}")
    return EXIT_OK


def _calibrate_model(path: Path, *, count: int = 200) -> None:
    """Calibrate the model at ``path`` on its validation phantoms and write the result into its metadata."""
    from .evaluate import calibrate

    calibrated = calibrate(_phantom_pipeline(path).segmenter, count=count)
    values = (
        f"confidence floor {calibrated.min_confidence:.2f}, at the internal os {calibrated.min_os_confidence:.2f}, "
        f"funnel tip {calibrated.funnel_tip_mm:.2f} mm"
    )
    try:
        amend_metadata(
            path,
            calibration_metadata(
                min_confidence=calibrated.min_confidence, min_os_confidence=calibrated.min_os_confidence, funnel_tip_mm=calibrated.funnel_tip_mm
            ),
        )
    except OSError as err:
        raise _UsageError(f"{path}: cannot write the calibration ({values}) into the model's metadata: {err.strerror}") from err
    print(f"Calibrated {path}: {values}")


def _calibrate(args: argparse.Namespace) -> int:
    _calibrate_model(args.model, count=args.count)
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    # Imported here: pandas, pingouin and matplotlib take seconds to load and only this command needs them.
    from .compare import compare_readings, read_readings, write_plots, write_tables
    from .errors import ComparisonDataError

    try:
        readings = read_readings(args.auto, args.manual)
    except ComparisonDataError as err:
        raise _UsageError(str(err)) from err
    _output_folder(args.out)
    comparison = compare_readings(readings)
    written = write_tables(comparison, args.out) + write_plots(comparison, args.out / "plots")
    for pair in comparison.pairs:
        limits = pair.limits
        summary = f"bias {limits.bias.estimate:+.2f} mm, limits {limits.lower.estimate:+.2f} to {limits.upper.estimate:+.2f} mm" if limits else "too few pairs"
        print(f"{printable(pair.a)} - {printable(pair.b)}: n = {pair.n} {readings.level}s, {summary}")
    if readings.not_measured or readings.manual_only:
        print(f"Left out: {len(readings.not_measured)} {readings.level}(s) the tool declined to measure, "
              f"{len(readings.manual_only)} not in the tool's results (listed in comparison.json).")
    print(f"Wrote {len(written)} files to {args.out} (comparison.md is the report).")
    return EXIT_OK


def _calipers(args: argparse.Namespace) -> int:
    from .compare import OBSERVER_NAME, OBSERVER_NAME_RULE, ManualRow
    from .dicom import iter_dicom_paths, latest_per_study, read_caliper_report

    if not OBSERVER_NAME.fullmatch(args.observer):
        raise _UsageError(f"--observer {args.observer!r}: {OBSERVER_NAME_RULE}")
    if args.out.exists():
        raise _UsageError(f"{args.out}: exists, not overwritten; name another file")
    try:
        paths = list(iter_dicom_paths(args.paths))
    except FileNotFoundError as err:
        raise _UsageError(str(err)) from err
    reports, skipped = [], 0
    for path in paths:
        try:
            reports.append(read_caliper_report(path))
        except DicomReadError as err:
            skipped += 1
            print(f"skipped: {printable(str(err))}", file=sys.stderr)
    kept, superseded = latest_per_study(reports)
    if not kept:
        print(f"No OB-GYN report with a cervix length among {len(paths)} file(s); {args.out} not written.", file=sys.stderr)
        return EXIT_SOME_FAILED
    _output_folder(args.out.parent)
    with CsvWriter(args.out, ManualRow) as table:
        for report in kept:
            table.write(ManualRow(report.study_instance_uid, round(report.cl_mm, 2), args.observer, len(report.lengths_mm)))
    print(
        f"Wrote {len(kept)} studies to {printable(str(args.out))} from {len(reports)} report(s) "
        f"({len(superseded)} superseded by a later report of the same study); {skipped} file(s) skipped."
    )
    return EXIT_OK


def _measure(args: argparse.Namespace) -> int:
    try:
        override = user_spacing(args.mm_per_pixel) if args.mm_per_pixel else None
    except CalibrationError as err:
        raise _UsageError(str(err)) from err
    if args.list is not None:
        try:
            lines = args.list.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise _UsageError(f"{args.list}: cannot be read ({err.strerror})") from err
        args.paths = [*args.paths, *(Path(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#"))]
    if not args.paths:
        raise _UsageError("give PATH arguments or --list FILE")
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise _UsageError(f"no such file or folder: {', '.join(missing)}")
    if args.workers is not None and args.workers < 1:
        raise _UsageError("--workers must be at least 1")
    if (args.engine == "dask") != (args.scheduler is not None):
        raise _UsageError("--engine dask and --scheduler ADDRESS go together")
    contexts, info = _clinical_and_model(args)
    _output_folder(args.out)
    overlays = None if args.no_overlays else args.out / "overlays"
    if overlays is not None:
        overlays.mkdir(exist_ok=True)
    segmentations = args.out / "seg" if args.dicom_seg else None
    if segmentations is not None:
        segmentations.mkdir(exist_ok=True)
    store = _results_store(args.out / DATABASE_NAME, info, "move it aside, or start afresh with --no-resume (which deletes it)", fresh=not args.resume)
    skipped = []

    def already_done(path: Path) -> bool:
        status = store.status(path)
        done = status == "done" or (status == "failed" and not args.retry_failed)
        if done:
            skipped.append(path)
        return done

    counts: Counter[str] = Counter()
    failures, files = [], 0
    progress = _Progress(sum(1 for _ in candidate_files(args.paths, [args.out])))
    if progress.total == 0:
        # Not an error (a drop folder can be empty), but never silent: a wrong path reads as "nothing to do".
        print(
            f"cervical-length measure: no files to measure under {printable(', '.join(map(str, args.paths)))} (hidden files, DICOMDIR, "
            f"names matched by a {IGNORE_FILE} and the output folder are skipped)",
            file=sys.stderr,
        )
    try:
        for path, outcomes in measure_files(
            args.paths,
            model=args.model,
            workers=args.workers,
            overlays=overlays,
            user_mm_per_pixel=override,
            include_identifiers=args.include_identifiers,
            exclude=[args.out],
            skip=already_done,
            scheduler=args.scheduler,
            segmentations=segmentations,
        ):
            store.add_file(path, outcomes)
            files += 1
            for r, _ in outcomes:
                counts[r.status] += 1
                failures.extend([r] if r.status == "failed" else [])
                if not args.quiet:
                    print(_frame_line(r))
            progress.update(files + len(skipped), sum(1 for r, _ in outcomes if r.frame is not None))
        progress.close()
        frames = sum(v for k, v in counts.items() if k not in ("failed", "not_an_image"))
        others = f"; {_counted(counts['not_an_image'], 'DICOM object')} without an image (reports, ...) not measured" if counts["not_an_image"] else ""
        print(
            f"This run: {_counted(frames, 'frame')} from {_counted(files, 'file')}: {counts['measured']} measured, {counts['not_measurable']} not measurable, "
            f"{counts['uncalibrated']} uncalibrated; {_counted(len(failures), 'file')} failed{others}"
            + (f"; {_counted(len(skipped), 'file')} already in {DATABASE_NAME}, skipped (--retry-failed retries failures)" if skipped else "")
            + f". {DISCLAIMER}"
        )
        for failure in failures:
            print(f"  failed: {printable(failure.file)}: {printable(failure.error)}", file=sys.stderr)
        _export(store, args.out, contexts, args.profile, quiet=args.quiet, sr=not args.no_sr)
    except (ModelError, ClusterMismatchError) as err:  # weights that do not fit the network; a cluster's workers that lack them
        raise _UsageError(str(err)) from err
    finally:
        store.close()
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _export(store: ResultsStore, out: Path, contexts: dict | None, profile: str, *, quiet: bool, sr: bool) -> None:
    """Write every output from the results database and say what was written."""
    exported = export_results(store, out, contexts, profile=profile, sr=sr)
    if not quiet:
        # An accession number two studies share (one order, two Study Instance UIDs) would name two lines alike.
        shared = Counter(row.accession_number for row in exported.exams if row.accession_number)
        for row in exported.exams:
            print(_exam_line(row, with_study=shared[row.accession_number] > 1))
    for problem in exported.problems:
        print(f"  {printable(problem)}", file=sys.stderr)
    reports = "" if exported.reports is None else f", {exported.reports} DICOM SR in sr/"
    segs = f", {sum(1 for _ in (out / 'seg').glob('*_lips_seg.dcm'))} DICOM SEG in seg/" if (out / "seg").is_dir() else ""
    overlays = ", overlays/" if (out / "overlays").is_dir() else ""
    problems = f", {_counted(len(exported.problems), 'line')} in {PROBLEMS_NAME}" if exported.problems else ""
    print(
        f"Results in {out}: {_counted(exported.rows, 'row')} in measurements.csv, {_counted(len(exported.exams), 'exam')} in exams.csv (and .jsonl), "
        f"report.html{reports}{segs}{overlays}{problems}, {DATABASE_NAME}"
    )


def _clinical_and_model(args: argparse.Namespace) -> tuple[dict | None, ModelInfo]:
    """The clinical contexts (None without --clinical) and the model's info, checked before any work."""
    try:
        contexts = read_clinical_csv(args.clinical) if args.clinical else None
        return contexts, read_model_info(args.model)
    except (ModelError, ClinicalDataError) as err:
        raise _UsageError(str(err)) from err


def _export_command(args: argparse.Namespace) -> int:
    database = args.dir / DATABASE_NAME
    if not database.is_file():
        raise _UsageError(f"{database}: no results database (run measure first)")
    contexts, info = _clinical_and_model(args)
    store = _results_store(database, info, "measure the files again into a new folder")
    try:
        _export(store, args.dir, contexts, args.profile, quiet=args.quiet, sr=not args.no_sr)
    finally:
        store.close()
    return EXIT_OK


class _Progress:
    """Files done, frames/s and ETA: a live line on a terminal, a log line every 25 files otherwise."""

    def __init__(self, total_files: int) -> None:
        self.total, self.frames, self.start = total_files, 0, time.perf_counter()
        self.live = sys.stderr.isatty()

    def update(self, files_done: int, new_frames: int) -> None:
        self.frames += new_frames
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = self.frames / elapsed
        eta = elapsed / max(files_done, 1) * (self.total - files_done)
        text = f"{files_done}/{self.total} files, {self.frames} frames, {rate:.1f} frames/s, ETA {eta:.0f} s"
        if self.live:
            print(f"\r{text}   ", end="", file=sys.stderr, flush=True)
        elif files_done % 25 == 0 or files_done == self.total:
            print(f"progress: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.live:
            print(file=sys.stderr)


def _frame_line(r: FrameResult) -> str:
    where = f"{printable(r.file)} frame {r.frame}" if r.frame else printable(r.file)
    if r.status == "measured":
        funnel = f", funnel {r.funnel_length_mm:.1f} mm ({r.funnel_shape}{small_funnel_mark(r.funnel_length_mm)})" if r.funnel else ""
        auca = f", AUCA {r.auca_deg:.0f} deg" if r.auca_deg is not None else ""
        return f"measured       {where}: CL {r.cl_mm:.1f} mm (straight {r.cl_straight_mm:.1f}){funnel}{auca}, confidence {r.confidence:.2f}"
    # An uncalibrated frame's notes say what in its header gave no scale (a region's units, a spacing's value).
    why = f" ({printable(r.notes)})" if r.status == "uncalibrated" and r.notes else ""
    return f"{r.status:<14} {where}: {printable(r.error or r.reasons)}{why}"


def _counted(count: int, noun: str) -> str:
    """'1 frame', '2 frames': a count with its noun in the right number."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _exam_line(row: ExamRow, *, with_study: bool = False) -> str:
    """An exam's terminal line, named by its accession number (and its Study Instance UID too when
    ``with_study``), else by its Study Instance UID."""
    frames = _counted(row.frames, "frame")
    if row.cl_mm is not None:
        spread = "" if row.spread_mm is None else f" (spread {row.spread_mm:.1f} mm)"
        cl = f"CL {row.cl_mm:.1f} mm from {row.valid_frames} valid of {frames}{spread}"
    elif row.status == "not_combined":
        cl = f"not combined ({frames}: {row.reasons})"
    else:
        cl = f"not measurable ({frames}{'' if row.frames == 1 else ', the first'}: {row.reasons})"
    if row.near_25_mm:
        cl += f", within {NEAR_THRESHOLD_MM:g} mm of {SHORT_CERVIX_MM:g} mm: confirm with calipers"
    if row.funnel_length_mm is not None:
        cl += f"; funnel {row.funnel_length_mm:.1f} mm" + (f", under {SMALL_FUNNEL_MM:g} mm: confirm it on the image" if row.small_funnel else "")
    rules = f"; rules: {', '.join(filter(None, (row.rule_findings, row.rule_suggestions, row.rule_contraindications))) or 'none apply'}" if row.assessment else ""
    name = row.accession_number or row.study_instance_uid
    if with_study and row.accession_number:
        name += f" (study {row.study_instance_uid})"
    return f"exam  {printable(name)}: {cl}{rules}"


def _write_phantom(job: tuple[int, str, str | None, str]) -> tuple[dict[str, object], np.ndarray]:
    """Worker: generate one phantom, write its files; return its CSV row and its image."""
    seed, appearance, case, out_dir = job
    phantom = generate(seed, appearance=appearance, case=case)
    return write_phantom(phantom, out_dir, phantom_stem(phantom.truth)), phantom.rgb


def _phantoms(args: argparse.Namespace) -> int:
    if args.count < 1 or args.workers < 1:
        raise _UsageError("--count and --workers must be at least 1")
    _output_folder(args.out)
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


def _widths(text: str) -> tuple[int, ...]:
    """Parse ``--widths 4,8,16,32,64`` into positive channel counts."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"widths must be comma-separated integers, got {text!r}") from None
    if len(widths) < 2 or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths needs at least two positive channel counts, got {text!r}")
    return widths


def _train(args: argparse.Namespace) -> int:
    import torch

    from .model import load_model
    from .train import fugc_squares, train

    if args.fugc and (args.extra_funnels or args.extra_short or args.calipers):
        raise _UsageError("--extra-funnels, --extra-short and --calipers shape a training on phantoms, not one on --fugc")
    try:
        init, init_info = load_model(args.init) if args.init else (None, None)
    except ModelError as err:
        raise _UsageError(f"--init: {err}") from err
    if init is not None and args.widths not in (None, init.widths):
        try:
            init = init.grown(args.widths)
        except ValueError as err:
            raise _UsageError(f"--widths: {err}") from err
    try:
        config = TrainConfig(
            seed=args.seed,
            train_count=args.train_count,
            val_count=args.val_count,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            max_minutes=args.max_minutes,
            separation_weight=args.separation_weight,
            extra_funnels=args.extra_funnels,
            extra_short=args.extra_short,
            calipers=args.calipers,
            average_from=args.average_from,
            widths=init.widths if init is not None else args.widths or TrainConfig.widths,
            working_size=init_info.working_size if init_info is not None else WORKING_SIZE,
        )
    except ValueError as err:  # a setting out of range: TrainConfig names it, the user knows it as its flag
        settings = "|".join(f.name for f in dataclasses.fields(TrainConfig) if f.name in vars(args))
        raise _UsageError(re.sub(rf"\b({settings})\b", lambda found: "--" + found[1].replace("_", "-"), str(err))) from err
    torch.set_num_threads(os.cpu_count() or 1)
    _output_folder(args.out.parent)
    try:
        data = fugc_squares(args.fugc, size=config.working_size) if args.fugc else None
    except ValueError as err:  # no pairs, an unreadable image, labels that do not fit
        raise _UsageError(f"--fugc: {err}") from err
    info = train(config, args.out, train_data=data, init=init)
    if init_info is not None:
        # The lineage of a fine-tuned model: what it started from, with that model's own record.
        lineage = {k: init_info.card[k] for k in ("training", "history", "initialised_from") if k in init_info.card}
        amend_metadata(args.out, {"initialised_from": {"sha256": init_info.sha256, **lineage}})
    if data is None:
        # Calibrated on the phantom validation sets; a model trained on a clinic's images keeps the defaults.
        _calibrate_model(args.out)
    print(f"Wrote {info.weights} (sha256 {info.sha256}) and {args.out}")
    return EXIT_OK


COMMANDS = {"measure": _measure, "export": _export_command, "phantoms": _phantoms, "train": _train, "calibrate": _calibrate, "evaluate": _evaluate, "assess": _assess, "compare": _compare, "calipers": _calipers}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except _UsageError as err:
        print(f"cervical-length {args.command}: error: {printable(err)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # the inputs' faults are rows; this is an output the system refused (disk full, permissions)
        kept = f"; every file finished is kept in {args.out / DATABASE_NAME}: `cervical-length export {args.out}` writes the tables, report and SRs again from it" if args.command == "measure" else ""
        where = f"{printable(str(err.filename))}: " if err.filename else ""
        print(f"cervical-length {args.command}: error: {where}{printable(err.strerror or str(err))}{kept}", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    except KeyboardInterrupt:
        kept = f"; every file finished is kept in {args.out / DATABASE_NAME} and the same command goes on from there" if args.command == "measure" else ""
        print(f"\ncervical-length {args.command}: interrupted{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
