"""The accuracy summary's figures from outcomes of known error."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cervical_length.evaluate import (
    LoopOutcome,
    PhantomOutcome,
    confidence_floor,
    evaluate_fugc,
    evaluate_phantoms,
    funnel_tip_width_mm,
    summarise,
    summarise_fugc,
    summarise_loops,
)
from cervical_length.model import DEFAULT_MODEL, load_model
from cervical_length.phantom import PhantomTruth, generate, with_calipers
from cervical_length.segment import Segmentation, Segmenter


def outcome(
    seed: int,
    truth_cl: float,
    cl: float | None,
    *,
    funnel: tuple[float, float, float, float] | None = None,
    truth_measurable: bool = True,
    auca: tuple[bool, float | None] = (False, None),
    shape: str = "V",
    mid_width: float | None = None,
    confidence: float = 0.95,
    os_confidence: float | None = 0.9,
) -> PhantomOutcome:
    """A measured frame; ``funnel`` = (truth length, length, truth width, width) in mm; ``auca`` =
    (whether the frame shows the wall, the measured angle) against a true angle of 120 degrees;
    ``shape`` the letter of the funnel found, ``mid_width`` its width halfway (mm; default: straight
    walls, half the width)."""
    f = funnel or (0.0, 0.0, 0.0, 0.0)
    measured = cl is not None
    return PhantomOutcome(
        seed=seed,
        appearance="train",
        case="funnel" if funnel else "normal",
        dice_anterior=0.9,
        dice_posterior=0.8,
        hd95_anterior_mm=1.0,
        hd95_posterior_mm=2.0,
        truth_measurable=truth_measurable,
        measurable=measured,
        truth_cl_mm=truth_cl,
        cl_mm=cl,
        truth_funnel=funnel is not None,
        funnel=(funnel is not None) if measured else None,
        truth_funnel_length_mm=f[0],
        funnel_length_mm=f[1] if measured else None,
        truth_funnel_width_mm=f[2],
        funnel_width_mm=f[3] if measured else None,
        measure_ms=2.0,
        confidence=confidence,
        os_confidence=os_confidence,
        reasons="" if measured else "canal not fully inside the ultrasound sector",
        funnel_shape=shape if (funnel and measured) else "",
        funnel_mid_width_mm=(f[3] / 2 if mid_width is None else mid_width) if (funnel and measured) else None,
        truth_auca_deg=120.0,
        truth_auca_visible=auca[0],
        auca_deg=auca[1],
    )


class TestSummarise:
    def test_errors_agreement_and_funnel_figures(self):
        outcomes = [
            outcome(1, 30.0, 31.0),
            outcome(2, 24.0, 26.0),  # crosses the 25 mm line: the short-cervix call disagrees
            outcome(3, 20.0, 20.0, funnel=(8.0, 7.0, 6.0, 9.0)),
            outcome(4, 18.0, 18.0, funnel=(5.0, 5.5, 7.0, 6.0)),
            outcome(5, 15.0, None, truth_measurable=False),  # caught by the gate
        ]
        s = summarise(outcomes)
        assert s["frames"] == 5 and s["measured_frames"] == 4
        assert s["dice_anterior"] == 0.9 and s["dice_posterior"] == 0.8 and s["dice_lips_mean"] == 0.85
        assert s["hd95_mm_median"] == 1.5
        assert s["cl_abs_error_mm_median"] == 0.5  # errors 1, 2, 0, 0
        assert s["cl_bias_mm"] == 0.75
        assert s["cl_sd_mm"] == pytest.approx(0.96, abs=0.005)
        # bias +/- 1.96 SD; each limit +/- t(0.975, 3) SD sqrt((1 + 1.96^2 / 2) / 4) (Bland & Altman 1986).
        assert s["cl_loa_mm"] == [-1.13, 2.63]
        assert s["cl_loa_mm_ci95"] == [[-3.73, 1.48], [0.02, 5.23]]
        # Errors 1, 2, 0, 0: linear percentiles of (0, 0, 1, 2); 97.5 % lies at 2.925 of 3 steps: 1.925, kept as 1.92.
        assert s["cl_loa_percentiles_mm"] == [0.0, 1.92]
        assert s["short_cervix_agreement"] == 0.75
        assert s["short_cervix_agreement_ci95"] == [0.3006, 0.9544]  # Wilson: 3 of 4
        assert s["funnel_detection_accuracy"] == 1.0
        assert s["funnel_detection_accuracy_ci95"] == [0.5101, 1.0]  # 4 of 4
        assert s["funnel_length_abs_error_mm_median"] == 0.75  # 1.0 and 0.5
        assert s["funnel_width_abs_error_mm_median"] == 2.0  # 3.0 and 1.0
        assert s["not_measurable_caught"] == 1.0 and s["measurable_wrongly_rejected"] == 0.0
        assert s["not_measurable_caught_ci95"] == [0.2065, 1.0] and s["measurable_wrongly_rejected_ci95"] == [0.0, 0.4899]

    def test_what_the_two_requests_to_confirm_hold(self):
        def false_funnel(seed, length):  # a funnel called where the phantom has none
            return dataclasses.replace(outcome(seed, 20.0, 20.0, funnel=(0.0, length, 0.0, 8.0)), truth_funnel=False, truth_funnel_length_mm=0.0)

        outcomes = [
            outcome(1, 24.0, 26.0),  # a wrong short-cervix call within 2.5 mm of 25: flagged
            outcome(2, 26.0, 22.0),  # a wrong call 3 mm below 25: not flagged
            outcome(3, 24.0, 23.5),  # flagged, and right
            outcome(4, 30.0, 30.5),
            outcome(5, 20.0, 20.0, funnel=(4.0, 4.5, 6.0, 6.0)),  # a true funnel under 5 mm
            false_funnel(6, 4.0),
            false_funnel(7, 4.99),
            false_funnel(8, 5.0),  # 5 mm is not under 5 mm
            outcome(9, 15.0, None, truth_measurable=False),  # not measured: in no figure
        ]
        s = summarise(outcomes)
        assert s["near_25_mm_flagged"] == 0.25  # 2 of 8 measured frames
        assert s["wrong_short_cervix_calls_near_25_mm"] == 0.5  # 1 of 2
        assert s["small_funnel_calls_false"] == 0.6667  # 2 of the 3 calls under 5 mm
        assert s["false_funnels_small"] == 0.6667 and s["false_funnels_small_ci95"] == [0.2077, 0.9385]  # Wilson: 2 of 3

    def test_funnel_call_as_a_diagnostic_test(self):
        def missed(seed, truth_length):  # a phantom's funnel that the measurement called closed
            return dataclasses.replace(outcome(seed, 20.0, 20.0, funnel=(truth_length, 0.0, 6.0, 0.0)), funnel=False)

        def false_funnel(seed):
            return dataclasses.replace(outcome(seed, 30.0, 30.0, funnel=(0.0, 4.0, 0.0, 8.0)), truth_funnel=False, truth_funnel_length_mm=0.0)

        outcomes = [
            outcome(1, 20.0, 20.0, funnel=(4.0, 4.2, 6.0, 6.0)),  # found, under 5 mm
            outcome(2, 20.0, 20.0, funnel=(5.0, 5.3, 6.0, 6.0)),  # found; 5 mm is not under 5 mm
            outcome(3, 20.0, 20.0, funnel=(12.0, 11.0, 9.0, 9.0)),  # found
            missed(4, 3.99),  # missed, under 5 mm
            missed(5, 8.0),  # missed
            outcome(6, 30.0, 30.0),  # closed, called closed
            outcome(7, 32.0, 32.0),
            outcome(8, 34.0, 34.0),
            false_funnel(9),  # closed, called a funnel
            outcome(10, 15.0, None, truth_measurable=False, funnel=(6.0, 0.0, 6.0, 0.0)),  # not measured: in no figure
        ]
        s = summarise(outcomes)
        assert s["funnel_sensitivity"] == 0.6 and s["funnel_sensitivity_ci95"] == [0.2307, 0.8824]  # Wilson: 3 of 5
        assert s["funnel_sensitivity_from_5_mm"] == 0.6667  # 2 of the 3 at least 5 mm long
        assert s["funnel_specificity"] == 0.75  # 3 of 4 closed canals
        assert s["funnel_detection_accuracy"] == 0.6667  # 6 of 9 calls right

    def test_limits_of_agreement_need_three_measured_frames(self):
        s = summarise([outcome(1, 30.0, 31.0), outcome(2, 24.0, 26.0), outcome(3, 15.0, None, truth_measurable=False)])
        assert s["cl_abs_error_mm_median"] == 1.5
        assert not {"cl_loa_mm", "cl_loa_mm_ci95", "cl_loa_percentiles_mm"} & set(s)

    def test_a_rate_without_frames_has_no_interval(self):
        s = summarise([outcome(1, 30.0, 31.0)])  # no frame built not to be measured
        assert s["not_measurable_caught"] is None and s["not_measurable_caught_ci95"] is None

    def test_auca_figures_split_by_whether_the_wall_is_shown(self):
        outcomes = [
            outcome(1, 30.0, 30.0, auca=(True, 121.0)),
            outcome(2, 30.0, 30.0, auca=(True, 117.0)),
            outcome(3, 30.0, 30.0, auca=(True, None)),  # wall shown, not found
            outcome(4, 30.0, 30.0, auca=(False, 150.0)),  # given where the wall is not shown
            outcome(5, 30.0, 30.0, auca=(False, None)),
            outcome(6, 30.0, None, auca=(True, None)),  # not measured: counts nowhere
        ]
        s = summarise(outcomes)
        assert s["auca_given_where_wall_shown"] == round(2 / 3, 4)
        assert s["auca_abs_error_deg_median"] == 2.0  # errors 1 and 3
        assert s["auca_abs_error_deg_p95"] == 2.9
        assert s["auca_given_where_wall_not_shown"] == 0.5
        assert s["auca_abs_error_deg_max_where_wall_not_shown"] == 30.0


def loop(seed: int, truth_cl: float, cl: float | None, frame_errors: tuple[float, ...], spread: float | None = None) -> LoopOutcome:
    """A cine loop of 12 frames whose valid frames read ``truth_cl`` plus ``frame_errors`` mm and
    whose exam-level length is ``cl``."""
    return LoopOutcome(
        seed=seed, appearance="train", case="normal", frames=12, truth_cl_mm=truth_cl, valid_frames=len(frame_errors),
        cl_mm=cl, spread_mm=spread, chosen_frame=1 if cl is not None else None, frame_errors_mm=frame_errors,
    )


class TestSummariseLoops:
    def test_exam_figures_beside_every_valid_frames(self):
        loops = [
            loop(1, 30.0, 29.0, (-1.0, 0.5, 1.0), spread=2.0),
            loop(2, 24.0, 26.0, (2.0, 3.0), spread=1.0),  # read long of 25 mm: the short-cervix call fails
            loop(3, 20.0, None, ()),  # no valid frame: no result
            loop(4, 40.0, 40.5, (0.5, 0.5, 1.0, 2.0), spread=0.5),
        ]
        s = summarise_loops(loops)
        assert s["loops"] == 4 and s["loops_with_a_result"] == 0.75
        assert s["valid_frames_per_loop_median"] == 2.5 and s["spread_mm_median"] == 1.0
        # Exam errors -1, +2, +0.5: bias 0.5, SD 1.5, limits 0.5 -/+ 2.94.
        assert s["exam_cl_abs_error_mm_median"] == 1.0
        assert s["exam_cl_loa_mm"] == [-2.44, 3.44]
        assert s["exam_short_cervix_agreement"] == round(2 / 3, 4)
        # The nine valid frames alone: |errors| 0.5 x 3, 1 x 3, 2 x 2, 3; loop 2's two both read long.
        assert s["frame_cl_abs_error_mm_median"] == 1.0
        assert s["frame_short_cervix_agreement"] == round(7 / 9, 4)
        # Within 2.5 mm of 25 mm: loop 2's 26.0 mm exam, and its frames at 26 and 27 mm; every wrong call among them.
        assert (s["exam_near_25_mm_flagged"], s["exam_wrong_short_cervix_calls_near_25_mm"]) == (round(1 / 3, 4), 1.0)
        assert (s["frame_near_25_mm_flagged"], s["frame_wrong_short_cervix_calls_near_25_mm"]) == (round(2 / 9, 4), 1.0)

    def test_a_loop_of_one_valid_frame_has_no_spread_to_count(self):
        s = summarise_loops([loop(1, 30.0, 29.0, (-1.0, 0.5), spread=1.5), loop(2, 30.0, 30.5, (0.5,))])
        assert s["spread_mm_median"] == 1.5

    def test_loops_without_any_result(self):
        s = summarise_loops([loop(1, 30.0, None, ())])
        assert s["loops_with_a_result"] == 0.0 and s["spread_mm_median"] is None
        assert not any(key.startswith(("exam_", "frame_")) for key in s)


class TestCalibration:
    def test_funnel_tip_width_explains_the_straight_funnels_errors(self):
        # Tips 0.8 mm wide drawn closed: each straight funnel's canal reads 0.8 * length / (width - 0.8)
        # mm long, its width halfway (width + 0.8) / 2. A rounded funnel, a closed canal and a frame
        # not measured read otherwise and do not count.
        straight = [(6.0, 4.8), (10.0, 8.8), (4.0, 2.4)]
        outcomes = [
            outcome(k, 20.0, 20.0 + 0.8 * length / (width - 0.8), funnel=(0, length, 0, width), mid_width=(width + 0.8) / 2)
            for k, (length, width) in enumerate(straight)
        ]
        outcomes += [
            outcome(5, 20.0, 17.0, funnel=(6.0, 6.0, 5.0, 5.0), shape="U", mid_width=3.7),
            outcome(7, 30.0, 31.0),
            outcome(8, 20.0, None, funnel=(6.0, 6.0, 5.0, 5.0)),
        ]
        assert funnel_tip_width_mm(outcomes) == pytest.approx(0.8)

    def test_no_straight_funnel_found_gives_no_tip(self):
        rounded = outcome(2, 20.0, 21.0, funnel=(6.0, 6.0, 5.0, 5.0), shape="U", mid_width=3.7)
        assert funnel_tip_width_mm([outcome(1, 20.0, 22.0), rounded]) == 0.0

    def test_canals_reading_short_give_no_tip(self):
        assert funnel_tip_width_mm([outcome(1, 20.0, 19.0, funnel=(6.0, 6.0, 5.0, 5.0))]) == 0.0

    def test_confidence_floor_is_the_quantile_of_measurable_frames_rounded_down(self):
        outcomes = [outcome(k, 20.0, 20.0, confidence=c) for k, c in enumerate([0.937, 0.95, 0.99])]
        outcomes.append(outcome(9, 20.0, None, truth_measurable=False, confidence=0.2))
        assert confidence_floor(outcomes, quantile=0.0) == 0.93

    def test_os_confidence_floor_leaves_out_frames_without_a_canal(self):
        outcomes = [outcome(k, 20.0, 20.0, os_confidence=c) for k, c in enumerate([0.868, 0.9, 0.97])]
        outcomes.append(outcome(8, 20.0, None, os_confidence=None))  # no canal found: no os
        outcomes.append(outcome(9, 20.0, None, truth_measurable=False, os_confidence=0.3))
        assert confidence_floor(outcomes, of="os_confidence", quantile=0.0) == 0.86
        assert confidence_floor(outcomes, of="os_confidence", quantile=0.5) == 0.9
        assert confidence_floor(outcomes[3:], of="os_confidence") == 0.0  # no canal found anywhere: no floor


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> tuple[Path, PhantomTruth]:
    """A labelled folder in the FUGC layout holding one normal phantom (36.1 mm) and its label map."""
    folder = tmp_path_factory.mktemp("labelled")
    for sub in ("images", "labels"):
        (folder / sub).mkdir()
    phantom = generate(41, case="normal")
    cv2.imwrite(str(folder / "images" / "a.png"), cv2.cvtColor(phantom.rgb, cv2.COLOR_RGB2GRAY))
    cv2.imwrite(str(folder / "labels" / "a.png"), phantom.labels)
    return folder, phantom.truth


@pytest.mark.parametrize("calipers", [False, True])
def test_phantoms_are_measured_as_saved_with_or_without_calipers(calipers):
    class Recording:
        """A segmenter that finds no cervix and keeps the images it was given."""

        def __init__(self):
            self.seen: list[np.ndarray] = []

        def segment(self, images, crops):
            self.seen.extend(images)
            return [Segmentation(np.zeros(i.shape, np.uint8), np.zeros((3, *i.shape), np.float32), "stub") for i in images]

    stub = Recording()
    (outcome,) = evaluate_phantoms(stub, [3_000_001], appearance="train", calipers=calipers)
    phantom = generate(3_000_001, appearance="train")
    expected = with_calipers(phantom) if calipers else phantom
    np.testing.assert_array_equal(stub.seen[0], cv2.cvtColor(expected.rgb, cv2.COLOR_RGB2GRAY))
    assert outcome.seed == 3_000_001 and outcome.reasons == "cervix not found"


@pytest.fixture(scope="module")
def shipped() -> Segmenter:
    model, info = load_model(DEFAULT_MODEL)
    return Segmenter(model, model_sha256=info.sha256, working_size=info.working_size)


class TestLabelledFolder:
    def test_lengths_on_the_models_labels_and_the_folders_own(self, labelled, shipped):
        folder, truth = labelled
        (outcome,) = evaluate_fugc(shipped, folder, mm_per_pixel=truth.mm_per_pixel)
        assert outcome.image == "a.png" and min(outcome.dice_anterior, outcome.dice_posterior) > 0.85
        assert outcome.reference_measurable and outcome.measurable
        assert outcome.reference_cl_mm == pytest.approx(truth.cl_mm, abs=0.3)  # the measurement on exact labels
        assert outcome.cl_mm == pytest.approx(truth.cl_mm, abs=2.0)
        s = summarise_fugc([outcome])
        assert s["frames"] == 1 and s["measured_frames"] == 1 and s["declined_where_reference_measured"] == 0.0
        assert s["cl_abs_error_mm_median"] == round(abs(outcome.cl_mm - outcome.reference_cl_mm), 2)

    def test_pixel_sizes_by_image(self, labelled, shipped):
        folder, truth = labelled
        (one,) = evaluate_fugc(shipped, folder, mm_per_pixel=truth.mm_per_pixel)
        (by_name,) = evaluate_fugc(shipped, folder, mm_per_pixel={"a.png": truth.mm_per_pixel})
        assert by_name == one
        with pytest.raises(ValueError, match=r"a\.png: no pixel size for a\.png"):
            evaluate_fugc(shipped, folder, mm_per_pixel={"b.png": 0.1})

    def test_without_a_pixel_size_only_the_dice(self, labelled, shipped):
        folder, _ = labelled
        (outcome,) = evaluate_fugc(shipped, folder)
        assert outcome.cl_mm is None and outcome.reference_cl_mm is None and outcome.measurable is None
        assert set(summarise_fugc([outcome])) == {"frames", "dice_anterior", "dice_posterior", "dice_lips_mean"}

    def test_a_label_map_of_another_size_is_named(self, labelled, shipped, tmp_path):
        folder, _ = labelled
        shutil.copytree(folder, tmp_path / "bad")
        cv2.imwrite(str(tmp_path / "bad" / "labels" / "a.png"), np.zeros((10, 10), dtype=np.uint8))
        with pytest.raises(ValueError, match=r"a\.png: labels must be 0/1/2 and the image's size"):
            evaluate_fugc(shipped, tmp_path / "bad")
