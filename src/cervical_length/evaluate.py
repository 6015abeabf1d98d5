"""Accuracy against ground truth: segmentation (Dice, HD95 in mm) and measurement (CL error in mm,
short-cervix call, funnel, quality gate, AUCA in degrees) on phantom frames and cine loops, and
segmentation and cervical length on labelled PNG folders (a clinic's own images).

The images are generated here, or read through :mod:`cervical_length.train`'s reader of labelled
folders; the CLI writes the JSON and CSV files and prints the table.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from scipy import ndimage

from .compare import bland_altman, proportion_interval
from .dicom import colour_graphics
from .measure import (
    SMALL_FUNNEL_MM,
    Measurement,
    QualityLimits,
    exam_result,
    hidden_tip_mm,
    is_small_funnel,
    labelled_box,
    measure_cervix,
    sector_mask,
)
from .phantom import Phantom, generate, generate_cine, with_calipers
from .rules import SHORT_CERVIX_MM, near_short_cervix_threshold
from .segment import Segmenter
from .train import labelled_pairs, read_labelled

__all__ = [
    "hd95_mm",
    "PhantomOutcome",
    "LoopOutcome",
    "evaluate_phantoms",
    "evaluate_looks",
    "evaluate_loops",
    "summarise",
    "summarise_loops",
    "LabelledOutcome",
    "evaluate_fugc",
    "summarise_fugc",
    "calibrate",
    "confidence_floor",
    "OS_CONFIDENCE_QUANTILE",
    "funnel_tip_width_mm",
    "VALIDATION_SEEDS",
    "TEST_SEEDS",
    "LOOP_SEEDS",
    "LOOP_FRAMES",
]

#: The model-selection phantoms (first seed per appearance), as in training: never the test seeds.
VALIDATION_SEEDS = {"train": 1_000_000, "shifted": 2_000_000}
#: The phantoms of the reported figures (first seed per appearance): chosen between models on neither.
TEST_SEEDS = {"train": 3_000_000, "shifted": 4_000_000}
#: The cine loops of the exam-level figures (first seed per appearance), apart from every frame set.
LOOP_SEEDS = {"test": {"train": 5_000_000, "shifted": 6_000_000}, "validation": {"train": 7_000_000, "shifted": 8_000_000}}
#: Frames of a generated cine loop; two of them, where the probe swings furthest, miss the canal.
LOOP_FRAMES = 12
#: The cases of the loops, in turn: an exam-level figure is about cervices that can be measured.
LOOP_CASES = ("normal", "short", "funnel")


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def hd95_mm(a: np.ndarray, b: np.ndarray, spacing_mm: tuple[float, float]) -> float:
    """95th-percentile symmetric surface distance between two masks, in mm (inf when one is empty)."""
    if not a.any() or not b.any():
        return 0.0 if not a.any() and not b.any() else float("inf")
    sa, sb = _surface(a), _surface(b)
    to_b = ndimage.distance_transform_edt(~sb, sampling=spacing_mm)
    to_a = ndimage.distance_transform_edt(~sa, sampling=spacing_mm)
    return float(np.percentile(np.concatenate([to_b[sa], to_a[sb]]), 95))


@dataclass(frozen=True)
class PhantomOutcome:
    """Truth and result for one phantom frame (lengths in mm; None where not measured): one row of
    the per-frame CSV that ``cervical-length evaluate`` writes beside its summary."""

    seed: int
    appearance: str
    case: str
    dice_anterior: float
    dice_posterior: float
    hd95_anterior_mm: float
    hd95_posterior_mm: float
    truth_measurable: bool
    measurable: bool
    truth_cl_mm: float
    cl_mm: float | None
    truth_funnel: bool
    funnel: bool | None
    truth_funnel_length_mm: float
    funnel_length_mm: float | None
    truth_funnel_width_mm: float
    funnel_width_mm: float | None
    measure_ms: float
    confidence: float  #: the measurement's mean winning-class probability over the cervix
    os_confidence: float | None  #: the same within 3 mm of the internal os found (None: no canal found)
    reasons: str  #: why the quality gate declined the frame, '; '-separated ('' when measured)
    funnel_shape: str = ""  #: the letter of the funnel found ('' when none)
    funnel_mid_width_mm: float | None = None  #: its width halfway from apex to base
    truth_auca_deg: float | None = None
    truth_auca_visible: bool = False  #: the frame shows the anterior uterine wall beside fluid
    auca_deg: float | None = None


@dataclass(frozen=True)
class LoopOutcome:
    """Truth and exam-level result of one generated cine loop (lengths in mm): one row of the loops
    CSV that ``cervical-length evaluate --loops N`` writes beside its summary."""

    seed: int
    appearance: str
    case: str
    frames: int
    truth_cl_mm: float  #: the loop's cervix moves with the probe but keeps its length
    valid_frames: int  #: frames the quality gate let through
    cl_mm: float | None  #: the shortest of the best three valid frames; None when none is valid
    spread_mm: float | None  #: longest minus shortest of those three; None from one valid frame
    chosen_frame: int | None  #: 1-based
    #: every valid frame's cervical length minus the truth (in the JSON summary, not the CSV)
    frame_errors_mm: tuple[float, ...] = field(default=(), repr=False)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * (a & b).sum() / total)


def evaluate_phantoms(
    segmenter: Segmenter, seeds: Iterable[int], *, appearance: str, limits: QualityLimits = QualityLimits(), calipers: bool = False
) -> list[PhantomOutcome]:
    """Generate each phantom, segment it with the model, measure it with the quality gate's
    ``limits``, and compare with its truth. ``calipers``: each with the sonographer's calipers
    burned in (:func:`~cervical_length.phantom.with_calipers`), as most archived frames are."""
    made = (generate(seed, appearance=appearance) for seed in seeds)
    return [_outcome(segmenter, with_calipers(p) if calipers else p, limits) for p in made]


def _measured(segmenter: Segmenter, phantom: Phantom, limits: QualityLimits) -> tuple[np.ndarray, Measurement, float]:
    """Segment and measure one phantom frame: the model's label map, the measurement and the
    measurement's own time (ms, mask to numbers)."""
    truth = phantom.truth
    grey = cv2.cvtColor(phantom.rgb, cv2.COLOR_RGB2GRAY)
    c0, r0, c1, r1 = truth.sector_bounds_px
    (seg,) = segmenter.segment([grey], [(r0, c0, r1 + 1, c1 + 1)])
    fan, apex = sector_mask(grey, truth.sector_bounds_px)  # once per file in the pipeline: not timed
    graphics = colour_graphics(phantom.rgb, within=labelled_box(seg.labels, 2))  # before the measurement, as in the pipeline: not timed
    start = time.perf_counter()
    m = measure_cervix(seg.labels, truth.spacing_mm, probabilities=seg.probabilities, grey=grey, fan=fan, apex_px=apex, limits=limits, graphics=graphics)
    return seg.labels, m, (time.perf_counter() - start) * 1000


def _outcome(segmenter: Segmenter, phantom: Phantom, limits: QualityLimits) -> PhantomOutcome:
    """One phantom frame segmented and measured, against its truth (Dice and HD95 of each lip too)."""
    truth = phantom.truth
    labels, m, elapsed = _measured(segmenter, phantom, limits)
    dice = [_dice(labels == k, phantom.labels == k) for k in (1, 2)]
    hd = [hd95_mm(labels == k, phantom.labels == k, truth.spacing_mm) for k in (1, 2)]
    return PhantomOutcome(
        seed=truth.seed,
        appearance=truth.appearance,
        case=truth.case,
        dice_anterior=dice[0],
        dice_posterior=dice[1],
        hd95_anterior_mm=hd[0],
        hd95_posterior_mm=hd[1],
        truth_measurable=truth.measurable,
        measurable=m.measurable,
        truth_cl_mm=truth.cl_mm,
        cl_mm=m.cl_mm,
        truth_funnel=truth.funnel,
        funnel=(m.funnel is not None) if m.measurable else None,
        truth_funnel_length_mm=truth.funnel_length_mm,
        funnel_length_mm=m.funnel.length_mm if m.funnel else (0.0 if m.measurable else None),
        truth_funnel_width_mm=truth.funnel_width_mm,
        funnel_width_mm=m.funnel.width_mm if m.funnel else (0.0 if m.measurable else None),
        measure_ms=elapsed,
        funnel_shape=m.funnel.shape if m.funnel else "",
        funnel_mid_width_mm=m.funnel.mid_width_mm if m.funnel else None,
        confidence=m.confidence,
        os_confidence=m.os_confidence,
        reasons="; ".join(m.reasons),
        truth_auca_deg=truth.auca_deg,
        truth_auca_visible=truth.auca_visible,
        auca_deg=m.auca.angle_deg if m.auca else None,
    )


def evaluate_looks(
    segmenter: Segmenter,
    *,
    phantoms: Literal["test", "validation"] = "test",
    count: int = 200,
    limits: QualityLimits = QualityLimits(),
    calipers: bool = False,
) -> dict[str, list[PhantomOutcome]]:
    """:func:`evaluate_phantoms` on ``count`` phantoms of each look: ``{"heldout": ..., "shifted": ...}``.

    phantoms : {'test', 'validation'}; :data:`TEST_SEEDS` give the reported figures,
        :data:`VALIDATION_SEEDS` the phantoms to choose between models or settings on.
    """
    seeds = TEST_SEEDS if phantoms == "test" else VALIDATION_SEEDS
    return {
        name: evaluate_phantoms(segmenter, range(seeds[look], seeds[look] + count), appearance=look, limits=limits, calipers=calipers)
        for name, look in (("heldout", "train"), ("shifted", "shifted"))
    }


def evaluate_loops(
    segmenter: Segmenter, *, phantoms: Literal["test", "validation"] = "test", count: int = 50, limits: QualityLimits = QualityLimits()
) -> dict[str, list[LoopOutcome]]:
    """``count`` cine loops of :data:`LOOP_FRAMES` frames per look (:data:`LOOP_SEEDS`; normal,
    short and funnelled cervices in turn), each measured frame by frame and combined as an exam
    is (:func:`~cervical_length.measure.exam_result`): ``{"heldout": ..., "shifted": ...}``."""
    seeds = LOOP_SEEDS[phantoms]
    looks: dict[str, list[LoopOutcome]] = {}
    for name, look in (("heldout", "train"), ("shifted", "shifted")):
        looks[name] = []
        for k in range(count):
            seed, case = seeds[look] + k, LOOP_CASES[k % len(LOOP_CASES)]
            loop = generate_cine(seed, LOOP_FRAMES, appearance=look, case=case)
            measured = [(("loop", p.truth.frame), _measured(segmenter, p, limits)[1]) for p in loop]
            exam = exam_result(measured)
            truth_cl = loop[0].truth.cl_mm
            looks[name].append(
                LoopOutcome(
                    seed=seed,
                    appearance=look,
                    case=case,
                    frames=len(loop),
                    truth_cl_mm=truth_cl,
                    valid_frames=exam.valid_frames,
                    cl_mm=exam.cl_mm,
                    spread_mm=exam.spread_mm,
                    chosen_frame=exam.chosen[1] if exam.chosen else None,
                    frame_errors_mm=tuple(m.cl_mm - truth_cl for _, m in measured if m.measurable and m.cl_mm is not None),
                )
            )
    return looks


#: The share of measurable validation frames the confidence at the internal os alone declines: the
#: frames whose canal end the model is least sure of, where the largest length errors were (README).
OS_CONFIDENCE_QUANTILE = 0.005


def calibrate(segmenter: Segmenter, *, count: int = 200) -> QualityLimits:
    """The measurement settings calibrated for this model on ``count`` validation phantoms of each
    look: the two :func:`confidence_floor` s and :func:`funnel_tip_width_mm`, the defaults elsewhere."""
    looks = evaluate_looks(segmenter, phantoms="validation", count=count, limits=QualityLimits(min_confidence=0.0, min_os_confidence=0.0))
    outcomes = [o for look in looks.values() for o in look]
    return QualityLimits(
        min_confidence=confidence_floor(outcomes),
        min_os_confidence=confidence_floor(outcomes, of="os_confidence", quantile=OS_CONFIDENCE_QUANTILE),
        funnel_tip_mm=funnel_tip_width_mm(outcomes),
    )


def confidence_floor(
    outcomes: Sequence[PhantomOutcome], *, of: Literal["confidence", "os_confidence"] = "confidence", quantile: float = 0.02
) -> float:
    """A confidence floor of the quality gate: the ``quantile`` of the measurable phantoms'
    confidence (``of``: {'confidence', 'os_confidence'}; frames where no canal was found have no
    confidence at the os and are left out), rounded down to 0.01, so that it alone rejects about
    that share of measurable frames; 0 (no floor) when none has one. Models differ in how sure they
    sound (a smaller network gives softer probabilities), so a fixed floor would reject a good frame
    for one model and pass a poor one for another."""
    confidences = [value for o in outcomes if o.truth_measurable and (value := getattr(o, of)) is not None]
    return float(np.floor(np.quantile(confidences, quantile) * 100) / 100) if confidences else 0.0


def funnel_tip_width_mm(outcomes: Sequence[PhantomOutcome], *, most_mm: float = 3.0) -> float:
    """How narrow (mm) a funnel's tip the model draws closed, from phantoms measured without a tip
    width: a straight-walled funnel whose tip ``w`` mm wide is drawn closed over-measures the canal
    by :func:`~cervical_length.measure.hidden_tip_mm`. The ``w`` from 0 to ``most_mm``, in steps of
    0.01 mm, with the least squared difference between that and the cervical-length errors of the
    frames where a funnel was found; 0 when none has straight walls."""
    found = [o for o in outcomes if o.truth_measurable and o.measurable and o.funnel_mid_width_mm is not None]
    if not found:
        return 0.0
    error = np.array([o.cl_mm - o.truth_cl_mm for o in found])
    length, width, mid = (np.array([getattr(o, name) for o in found]) for name in ("funnel_length_mm", "funnel_width_mm", "funnel_mid_width_mm"))
    tips = np.arange(0.0, most_mm + 0.005, 0.01)[:, None]
    return round(float(tips[int(np.argmin(((error - hidden_tip_mm(length, width, mid, tips)) ** 2).sum(axis=1))), 0]), 2)


def _rate(name: str, hits: int, total: int) -> dict[str, object]:
    """``name``: the share ``hits / total``, and ``name_ci95``: its 95 % Wilson interval (None for no frames)."""
    rate = proportion_interval(hits, total)
    if rate is None:
        return {name: None, f"{name}_ci95": None}
    return {name: round(rate.estimate, 4), f"{name}_ci95": [round(rate.low, 4), round(rate.high, 4)]}


def _cl_figures(cl_mm: np.ndarray, truth_mm: np.ndarray, prefix: str = "") -> dict[str, object]:
    """Cervical lengths (mm) against the truth, keys ``{prefix}cl_...``: the median absolute error;
    from 3 pairs the bias, SD and 95 % limits of agreement with the limits' 95 % confidence
    intervals (``[[lower's low, lower's high], [upper's ...]]``), and the 2.5th and 97.5th
    percentiles of the errors, the nonparametric limits of Bland & Altman (1999, Stat Methods Med
    Res 8:135-160) for errors that are not normally distributed; the <= 25 mm call's agreement, and
    what the outputs' request to confirm a length within 2.5 mm of 25 mm holds: the share flagged
    (``{prefix}near_25_mm_flagged``) and the share of the wrong calls among them."""

    def mm(value: float) -> float:
        return round(float(value), 2)

    errors = cl_mm - truth_mm
    figures: dict[str, object] = {f"{prefix}cl_abs_error_mm_median": mm(np.median(np.abs(errors)))}
    if len(errors) >= 3:
        agreement = bland_altman(cl_mm, truth_mm)
        lower, upper = agreement.lower, agreement.upper
        figures.update(
            {
                f"{prefix}cl_bias_mm": mm(agreement.bias.estimate),
                f"{prefix}cl_sd_mm": mm(agreement.sd),
                f"{prefix}cl_loa_mm": [mm(lower.estimate), mm(upper.estimate)],
                f"{prefix}cl_loa_mm_ci95": [[mm(lower.low), mm(lower.high)], [mm(upper.low), mm(upper.high)]],
                f"{prefix}cl_loa_percentiles_mm": [mm(v) for v in np.percentile(errors, [2.5, 97.5])],
            }
        )
    wrong = (cl_mm <= SHORT_CERVIX_MM) != (truth_mm <= SHORT_CERVIX_MM)
    near = np.array([near_short_cervix_threshold(float(v)) for v in cl_mm], dtype=bool)
    return (
        figures
        | _rate(f"{prefix}short_cervix_agreement", int(np.sum(~wrong)), len(errors))
        | _rate(f"{prefix}near_25_mm_flagged", int(np.sum(near)), len(near))
        | _rate(f"{prefix}wrong_short_cervix_calls_near_25_mm", int(np.sum(near & wrong)), int(np.sum(wrong)))
    )


def _small_funnel_figures(measured: list[PhantomOutcome]) -> dict[str, object]:
    """What the outputs' request to confirm a funnel under :data:`~cervical_length.measure.SMALL_FUNNEL_MM`
    holds on measured frames: the share of such calls that are false (``small_funnel_calls_false``)
    and of the false funnels that are that small (``false_funnels_small``)."""
    calls = [o for o in measured if o.funnel]
    small = [is_small_funnel(o.funnel_length_mm) for o in calls]
    false_small = [s for o, s in zip(calls, small) if not o.truth_funnel]
    return {
        **_rate("small_funnel_calls_false", sum(not o.truth_funnel for o, s in zip(calls, small) if s), sum(small)),
        **_rate("false_funnels_small", sum(false_small), len(false_small)),
    }


def _funnel_call_figures(measured: list[PhantomOutcome]) -> dict[str, object]:
    """The funnel call on measured frames, read as a diagnostic test is: the share of the phantoms'
    funnels found (``funnel_sensitivity``), of those at least :data:`~cervical_length.measure.SMALL_FUNNEL_MM`
    long (``funnel_sensitivity_from_5_mm``: a funnel's length is read to within about a millimetre,
    so a shorter one can read under the 3.5 mm from which one counts), and of closed canals called
    closed (``funnel_specificity``)."""
    funnels = [o for o in measured if o.truth_funnel]
    clear = [o for o in funnels if not is_small_funnel(o.truth_funnel_length_mm)]
    closed = [o for o in measured if not o.truth_funnel]
    return {
        **_rate("funnel_sensitivity", sum(bool(o.funnel) for o in funnels), len(funnels)),
        **_rate(f"funnel_sensitivity_from_{SMALL_FUNNEL_MM:g}_mm", sum(bool(o.funnel) for o in clear), len(clear)),
        **_rate("funnel_specificity", sum(not o.funnel for o in closed), len(closed)),
    }


def summarise(outcomes: list[PhantomOutcome]) -> dict[str, object]:
    """The figures of the targets: Dice, HD95, CL error and limits of agreement, short-cervix call,
    funnel detection (with its sensitivity and specificity) and length, quality gate, measurement
    time; what the outputs' requests to confirm a length near 25 mm or a small funnel hold; and the
    AUCA's error (degrees) on measured frames that show the wall, how often it is given there, and
    how often where they don't.

    Each rate comes with its 95 % Wilson interval (``*_ci95``), and the limits of agreement (given 3
    or more measured frames) with theirs (Bland & Altman 1986), so a figure near its target can be
    read against what the number of phantoms can tell apart."""
    dice = np.array([(o.dice_anterior, o.dice_posterior) for o in outcomes])
    hd = np.array([(o.hd95_anterior_mm, o.hd95_posterior_mm) for o in outcomes])
    both = [o for o in outcomes if o.truth_measurable and o.measurable]
    bad = [o for o in outcomes if not o.truth_measurable]
    good = [o for o in outcomes if o.truth_measurable]
    funnel_pairs = [o for o in both if o.funnel is not None]
    found = [o for o in funnel_pairs if o.truth_funnel and o.funnel]
    funnel_lengths = [abs(o.funnel_length_mm - o.truth_funnel_length_mm) for o in found]
    funnel_widths = [abs(o.funnel_width_mm - o.truth_funnel_width_mm) for o in found]
    summary: dict[str, object] = {
        "frames": len(outcomes),
        "dice_anterior": round(float(dice[:, 0].mean()), 4),
        "dice_posterior": round(float(dice[:, 1].mean()), 4),
        "dice_lips_mean": round(float(dice.mean()), 4),
        "hd95_mm_median": round(float(np.median(hd[np.isfinite(hd)])), 2) if np.isfinite(hd).any() else None,
        "measured_frames": len(both),
        **_rate("not_measurable_caught", sum(not o.measurable for o in bad), len(bad)),
        **_rate("measurable_wrongly_rejected", sum(not o.measurable for o in good), len(good)),
        "measure_ms_per_frame": round(float(np.mean([o.measure_ms for o in outcomes])), 1),
    }
    if both:
        summary.update(_cl_figures(np.array([o.cl_mm for o in both]), np.array([o.truth_cl_mm for o in both])))
        summary.update(
            {
                **_rate("funnel_detection_accuracy", sum(o.funnel == o.truth_funnel for o in funnel_pairs), len(funnel_pairs)),
                **_funnel_call_figures(funnel_pairs),
                "funnel_length_abs_error_mm_median": round(float(np.median(funnel_lengths)), 2) if funnel_lengths else None,
                "funnel_width_abs_error_mm_median": round(float(np.median(funnel_widths)), 2) if funnel_widths else None,
                **_small_funnel_figures(both),
            }
        )

    def auca_errors_deg(visible: bool) -> tuple[list[PhantomOutcome], np.ndarray]:
        frames = [o for o in both if o.truth_auca_visible == visible]
        return frames, np.abs([o.auca_deg - o.truth_auca_deg for o in frames if o.auca_deg is not None])

    shown, auca_errors = auca_errors_deg(True)
    hidden, hidden_errors = auca_errors_deg(False)
    summary.update(
        {
            **_rate("auca_given_where_wall_shown", len(auca_errors), len(shown)),
            "auca_abs_error_deg_median": round(float(np.median(auca_errors)), 2) if len(auca_errors) else None,
            "auca_abs_error_deg_p95": round(float(np.percentile(auca_errors, 95)), 2) if len(auca_errors) else None,
            **_rate("auca_given_where_wall_not_shown", len(hidden_errors), len(hidden)),
            "auca_abs_error_deg_max_where_wall_not_shown": round(float(hidden_errors.max()), 2) if len(hidden_errors) else None,
        }
    )
    return summary


def summarise_loops(loops: list[LoopOutcome]) -> dict[str, object]:
    """The exam-level figures of cine loops: how many loops got a cervical length, and that length
    (the shortest of the best three valid frames) against the truth, beside the figures of every
    valid frame of the same loops taken alone, as a single-frame measurement would report it, so
    the exam rule's gain or loss can be read off. The frames of one loop are one cervix: their
    intervals (``frame_*_ci95``) treat them as independent and are too narrow."""
    measured = [o for o in loops if o.cl_mm is not None]
    spreads = [o.spread_mm for o in measured if o.spread_mm is not None]
    frame_truth = np.array([o.truth_cl_mm for o in loops for _ in o.frame_errors_mm])
    frame_cl = frame_truth + np.array([e for o in loops for e in o.frame_errors_mm])
    summary: dict[str, object] = {
        "loops": len(loops),
        **_rate("loops_with_a_result", len(measured), len(loops)),
        "valid_frames_per_loop_median": float(np.median([o.valid_frames for o in loops])) if loops else None,
        "spread_mm_median": round(float(np.median(spreads)), 2) if spreads else None,
    }
    if measured:
        summary.update(_cl_figures(np.array([o.cl_mm for o in measured]), np.array([o.truth_cl_mm for o in measured]), "exam_"))
    if len(frame_cl):
        summary.update(_cl_figures(frame_cl, frame_truth, "frame_"))
    return summary


@dataclass(frozen=True)
class LabelledOutcome:
    """One image of a labelled folder: the model's Dice of each lip, and the cervical length (mm)
    measured on the model's labels and on the folder's own label map of that image (the tool's
    measurement both times, so the difference is the model's); one row of the labelled folder's CSV.
    The lengths are None without a pixel size, or where the quality gate declined."""

    image: str  #: file name in the folder
    dice_anterior: float
    dice_posterior: float
    reference_measurable: bool | None  #: the image's own label map passes the quality gate
    measurable: bool | None  #: the model's label map passes it
    reference_cl_mm: float | None
    cl_mm: float | None
    reasons: str  #: why the gate declined the model's labels ('' when measured)


def evaluate_fugc(
    segmenter: Segmenter,
    folder: str | Path,
    *,
    mm_per_pixel: float | Mapping[str, float] | None = None,
    limits: QualityLimits = QualityLimits(),
) -> list[LabelledOutcome]:
    """Segment each image of a labelled PNG folder (:func:`~cervical_length.train.labelled_pairs`:
    a clinic's own images in the FUGC layout) in its own geometry, with the Dice of each lip against
    its label map; given the images' square pixel size (mm: one for all, or by file name), also
    measure the cervical length on the model's labels and on the image's own label map, each through
    the quality gate. ValueError naming an image that has no pixel size in ``mm_per_pixel``."""
    outcomes = []
    for image_path, label_path in labelled_pairs(folder):
        grey, reference = read_labelled(image_path, label_path)
        (seg,) = segmenter.segment([grey], [None])
        dice = [_dice(seg.labels == k, reference == k) for k in (1, 2)]
        measured = reference_measured = None
        if mm_per_pixel is not None:
            if isinstance(mm_per_pixel, Mapping) and image_path.name not in mm_per_pixel:
                raise ValueError(f"{image_path}: no pixel size for {image_path.name} in the table of pixel sizes")
            size = mm_per_pixel[image_path.name] if isinstance(mm_per_pixel, Mapping) else mm_per_pixel
            fan, apex = sector_mask(grey, None)
            spacing = (size, size)
            measured = measure_cervix(seg.labels, spacing, probabilities=seg.probabilities, grey=grey, fan=fan, apex_px=apex, limits=limits)
            reference_measured = measure_cervix(reference, spacing, grey=grey, fan=fan, apex_px=apex, limits=limits)
        outcomes.append(
            LabelledOutcome(
                image=image_path.name,
                dice_anterior=dice[0],
                dice_posterior=dice[1],
                reference_measurable=reference_measured.measurable if reference_measured else None,
                measurable=measured.measurable if measured else None,
                reference_cl_mm=reference_measured.cl_mm if reference_measured else None,
                cl_mm=measured.cl_mm if measured else None,
                reasons="; ".join(measured.reasons) if measured else "",
            )
        )
    return outcomes


def summarise_fugc(outcomes: list[LabelledOutcome]) -> dict[str, object]:
    """Dice of each lip (frame geometry); with lengths, how often the model's labels were declined
    where the image's own were measured, and the cervical length on the model's labels against that
    on the image's own (mm: median error, limits of agreement, the <= 25 mm call)."""
    dice = np.array([(o.dice_anterior, o.dice_posterior) for o in outcomes])
    summary: dict[str, object] = {
        "frames": len(outcomes),
        "dice_anterior": round(float(dice[:, 0].mean()), 4),
        "dice_posterior": round(float(dice[:, 1].mean()), 4),
        "dice_lips_mean": round(float(dice.mean()), 4),
    }
    reference = [o for o in outcomes if o.reference_measurable]
    if reference:
        both = [o for o in reference if o.measurable]
        summary["measured_frames"] = len(both)
        summary.update(_rate("declined_where_reference_measured", len(reference) - len(both), len(reference)))
        if both:
            summary.update(_cl_figures(np.array([o.cl_mm for o in both]), np.array([o.reference_cl_mm for o in both])))
    return summary
