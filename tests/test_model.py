"""The network, its weights file (checksum, no code execution), inference geometry and training."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from cervical_length.engine import quality_limits
from cervical_length.errors import ModelError
from cervical_length.evaluate import (
    OS_CONFIDENCE_QUANTILE,
    VALIDATION_SEEDS,
    calibrate,
    confidence_floor,
    evaluate_phantoms,
    funnel_tip_width_mm,
)
from cervical_length.measure import QualityLimits
from cervical_length.model import UNet, load_model, save_model
from cervical_length.model_info import (
    DEFAULT_MODEL,
    TrainConfig,
    amend_metadata,
    calibration_metadata,
    file_sha256,
    read_model_info,
)
from cervical_length.segment import (
    Segmenter,
    back_to_frame,
    content_window,
    labels_of,
    letterbox,
    letterbox_labels,
    run_network,
    to_original,
)
from cervical_length.train import (
    CALIPER_DRAW,
    EXTRA_FUNNEL_SEEDS,
    EXTRA_SHORT_SEEDS,
    SEPARATION_SIGMA_PX,
    augment,
    dice_per_class,
    phantom_squares,
    read_pixel_sizes,
    separation_weights,
    train,
    training_squares,
)


class TestWeightsFile:
    def test_round_trip(self, tmp_path):
        torch.manual_seed(1)
        model = UNet((4, 8, 16))
        info = save_model(model, tmp_path / "m.json", working_size=64, card={"seed": 1})
        loaded, back = load_model(tmp_path / "m.json")
        assert back.sha256 == info.sha256 == file_sha256(tmp_path / "m.pt")
        assert back.widths == (4, 8, 16) and back.working_size == 64 and back.card["seed"] == 1
        x = torch.rand(2, 1, 64, 64)
        with torch.inference_mode():
            torch.testing.assert_close(loaded(x), model.eval()(x))

    def test_tampered_weights(self, tmp_path):
        save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={})
        data = bytearray((tmp_path / "m.pt").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / "m.pt").write_bytes(bytes(data))
        with pytest.raises(ModelError, match="m.pt: SHA-256 .* differs .*damaged or were changed"):
            load_model(tmp_path / "m.json")

    def test_missing_files(self, tmp_path):
        with pytest.raises(ModelError, match="metadata cannot be read"):
            load_model(tmp_path / "none.json")
        save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={})
        (tmp_path / "m.pt").unlink()
        with pytest.raises(ModelError, match="weights file missing"):
            load_model(tmp_path / "m.json")

    def test_weights_that_do_not_fit(self, tmp_path):
        save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={})
        meta = json.loads((tmp_path / "m.json").read_text())
        meta["architecture"]["widths"] = [8, 16, 32]
        (tmp_path / "m.json").write_text(json.dumps(meta))
        assert read_model_info(tmp_path / "m.json").widths == (8, 16, 32)  # the checksum holds: known only at loading
        with pytest.raises(ModelError, match="do not fit"):
            load_model(tmp_path / "m.json")

    def test_the_info_is_read_without_building_the_network(self, tmp_path):
        saved = save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={"seed": 3})
        assert read_model_info(tmp_path / "m.json") == saved == load_model(tmp_path / "m.json")[1]
        (tmp_path / "m.pt").write_bytes(b"x")
        with pytest.raises(ModelError, match="m.pt: SHA-256 .* differs"):
            read_model_info(tmp_path / "m.json")

    def test_calibration_reaches_the_measurement(self, tmp_path):
        info = save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={})
        assert info.min_confidence is None and info.funnel_tip_mm is None and quality_limits(info) == QualityLimits()
        amend_metadata(tmp_path / "m.json", calibration_metadata(min_confidence=0.81, min_os_confidence=0.78, funnel_tip_mm=1.25))
        _, amended = load_model(tmp_path / "m.json")  # the checksum still holds: the weights are untouched
        assert (amended.min_confidence, amended.min_os_confidence, amended.funnel_tip_mm) == (0.81, 0.78, 1.25)
        assert quality_limits(amended) == QualityLimits(min_confidence=0.81, min_os_confidence=0.78, funnel_tip_mm=1.25)

    def test_amending_cannot_change_the_weights_or_checksum(self, tmp_path):
        save_model(UNet((4, 8, 16)), tmp_path / "m.json", working_size=64, card={})
        before = (tmp_path / "m.json").read_text()
        with pytest.raises(ValueError, match="cannot be amended"):
            amend_metadata(tmp_path / "m.json", {"sha256": "0" * 64})
        assert (tmp_path / "m.json").read_text() == before

    def test_shipped_model_is_calibrated(self):
        _, info = load_model(DEFAULT_MODEL)
        assert 0.5 < info.min_confidence < 1.0
        assert 0.5 < info.min_os_confidence < 1.0
        assert 0.5 < info.funnel_tip_mm < 2.0

    def test_weights_path_cannot_escape_the_model_folder(self, tmp_path):
        (tmp_path / "sub").mkdir()
        save_model(UNet((4, 8, 16)), tmp_path / "sub" / "m.json", working_size=64, card={})
        meta = json.loads((tmp_path / "sub" / "m.json").read_text())
        meta["weights"] = "../../etc/passwd"
        (tmp_path / "sub" / "m.json").write_text(json.dumps(meta))
        with pytest.raises(ModelError, match="sub/passwd: weights file missing"):
            load_model(tmp_path / "sub" / "m.json")


class TestInference:
    def test_fused_network_gives_the_same_outputs(self):
        torch.manual_seed(0)
        model = UNet((4, 8, 16))
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
        model.eval()
        x = torch.rand(2, 1, 64, 64)
        with torch.inference_mode():
            torch.testing.assert_close(model.fused()(x), model(x), atol=1e-5, rtol=1e-4)
            # As the segmenter feeds it: channels-last in, class planes out contiguous (NCHW).
            out = model.fused()(x.contiguous(memory_format=torch.channels_last))
            assert out.is_contiguous()
            torch.testing.assert_close(out, model(x), atol=1e-5, rtol=1e-4)

    def test_a_grown_network_keeps_every_layer_at_its_level(self):
        torch.manual_seed(0)
        small = UNet((4, 8, 16))
        before = {k: v.clone() for k, v in small.state_dict().items()}
        grown = small.grown((4, 8, 16, 32, 64))
        assert grown.widths == (4, 8, 16, 32, 64)
        state = grown.state_dict()
        # Encoder blocks and head by name; decoder blocks (deepest first) two places on.
        for name, tensor in before.items():
            moved = name if not name.startswith("up.") else f"up.{int(name.split('.')[1]) + 2}.{name.split('.', 2)[2]}"
            torch.testing.assert_close(state[moved], tensor, rtol=0, atol=0)
        with torch.no_grad():
            next(iter(grown.parameters())).add_(1.0)  # the copy is the grown network's own
        torch.testing.assert_close(small.state_dict(), before, rtol=0, atol=0)
        assert grown.eval()(torch.rand(1, 1, 32, 32)).shape == (1, 3, 32, 32)

    @pytest.mark.parametrize("widths", [(4, 8, 16), (4, 8), (4, 16, 16, 32), (8, 8, 16, 32)])
    def test_growing_needs_new_levels_below_the_old(self, widths):
        with pytest.raises(ValueError, match=r"do not add levels below this network's \(4, 8, 16\)"):
            UNet((4, 8, 16)).grown(widths)

    @pytest.mark.parametrize("shape", [(1, 4, 8, 8), (2, 3, 7, 9), (1, 8, 6, 5)])
    def test_inference_max_pool_equals_torchs(self, shape):
        from cervical_length.model import _MaxPool2x2

        # Ties included (ReLU zeros), odd sizes dropping their last row or column, channels-last memory.
        x = torch.relu(torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))).contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(_MaxPool2x2()(x), torch.nn.MaxPool2d(2)(x), rtol=0, atol=0)

    def test_letterbox_round_trip_keeps_geometry(self):
        labels = np.zeros((300, 500), dtype=np.uint8)
        labels[100:180, 150:400] = 1
        labels[180:240, 150:400] = 2
        square, box = letterbox(labels * 100, (50, 100, 290, 480), 128)
        assert square.shape == (128, 128) and box.scale == pytest.approx(128 / 380)
        small = letterbox_labels(labels, box)
        onehot = np.stack([small == k for k in range(3)]).astype(np.float32)
        back = to_original(onehot, box, labels.shape)[0].argmax(axis=0)
        agreement = (back == labels)[50:290, 100:480].mean()
        assert agreement > 0.98
        assert (back[:50] == 0).all()  # outside the crop: background

    def test_labels_are_the_argmax_inside_the_crop_and_background_outside(self):
        rng = np.random.default_rng(0)
        probabilities = rng.random((3, 60, 80)).astype(np.float32)
        probabilities[:, :5] = 0.5  # three-way ties: the lowest class wins, as with argmax
        probabilities[2, 10:15] = probabilities[1, 10:15]
        labels = labels_of(probabilities, (2, 4, 55, 70))
        expected = np.zeros((60, 80), dtype=np.uint8)
        expected[2:55, 4:70] = probabilities[:, 2:55, 4:70].argmax(axis=0)
        np.testing.assert_array_equal(labels, expected)
        assert labels[2:5].max() == 0 and labels.dtype == np.uint8

    def test_back_to_frame_equals_resizing_the_whole_crop(self):
        # Working probabilities: a lip blob in a letterboxed crop, noisy background elsewhere.
        rng = np.random.default_rng(1)
        _, box = letterbox(np.zeros((300, 500), dtype=np.uint8), (20, 30, 290, 480), 128)
        logits = rng.normal(0.0, 0.5, (3, 128, 128)).astype(np.float32)
        logits[0] += 3.0
        logits[1, 50:70, 40:90] += 6.0
        logits[2, 68:80, 40:90] += 6.0
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
        full, labels = back_to_frame(probabilities, box, (300, 500))
        # The reference: every class resized over the whole crop, then the argmax.
        (r0, c0, r1, c1), (h, w), (top, left) = box.crop, box.content_shape, box.offset
        reference = np.zeros((3, 300, 500), dtype=np.float32)
        reference[0] = 1.0
        for k in range(3):
            reference[k, r0:r1, c0:c1] = cv2.resize(probabilities[k, top : top + h, left : left + w], (c1 - c0, r1 - r0))
        np.testing.assert_array_equal(labels, reference.argmax(axis=0))
        assert 0 < (labels == 1).sum() and 0 < (labels == 2).sum()
        near = np.zeros(labels.shape, dtype=bool)  # what the measurement reads: 20 px around the lips
        rows, cols = np.nonzero(labels)
        near[rows.min() - 20 : rows.max() + 21, cols.min() - 20 : cols.max() + 21] = True
        np.testing.assert_allclose(full[:, near], reference[:, near], atol=1e-5)  # float32 rounding
        np.testing.assert_allclose(full.sum(axis=0), 1.0, atol=1e-5)

    def test_content_window_covers_every_image_on_the_network_grid(self):
        squares = np.zeros((2, 256, 256), dtype=np.uint8)
        squares[0, 36:219, 5:250] = 1  # a typical sector's letterbox: rows 36-218 hold the image
        squares[1, 40:100, 0:3] = 7
        assert content_window(squares, 16) == (slice(32, 224), slice(0, 256))
        assert content_window(squares[1:], 16) == (slice(32, 112), slice(0, 16))
        assert content_window(squares[1:], 4) == (slice(40, 100), slice(0, 4))
        assert content_window(np.zeros((1, 64, 64), dtype=np.uint8), 16) == (slice(0, 0), slice(0, 0))

    def test_network_runs_on_the_content_window_only(self):
        torch.manual_seed(0)
        network = UNet((4, 8, 16)).eval()
        seen = []
        network.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape)))
        squares = np.zeros((1, 64, 64), dtype=np.uint8)
        squares[0, 10:30] = np.random.default_rng(0).integers(1, 255, size=(20, 64))
        original = squares.copy()
        out = run_network(network, squares)
        assert seen == [(1, 1, 24, 64)]  # rows 8-31: the grid of a 3-level net is 4 pixels
        with torch.inference_mode():
            expected = torch.softmax(network(torch.from_numpy(squares[:, 8:32] / 255.0).float()[:, None]), dim=1).numpy()
        np.testing.assert_allclose(out[:, :, 8:32], expected, atol=1e-6)
        assert (out[:, 0, :8] == 1).all() and (out[:, 0, 32:] == 1).all() and (out[:, 1:, 32:] == 0).all()
        np.testing.assert_array_equal(squares, original)
        seen.clear()
        blank = run_network(network, np.zeros((2, 64, 64), dtype=np.uint8))
        assert seen == [] and (blank[:, 0] == 1).all() and blank.shape == (2, 3, 64, 64)

    def test_segmenter_returns_original_geometry(self, random_model):
        model, info = load_model(random_model)
        segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size)
        images = [np.zeros((120, 160), dtype=np.uint8), np.full((90, 70), 50, dtype=np.uint8)]
        out = segmenter.segment(images, [None, (10, 10, 80, 60)])
        assert [s.labels.shape for s in out] == [(120, 160), (90, 70)]
        assert out[0].probabilities.shape == (3, 120, 160)
        np.testing.assert_allclose(out[1].probabilities.sum(axis=0), 1.0, atol=1e-5)
        assert out[0].model_sha256 == info.sha256


class TestTraining:
    def test_dice(self):
        a = np.array([[[0, 1, 1, 2]]])
        assert dice_per_class(a, a).tolist() == [1.0, 1.0, 1.0]
        b = np.array([[[0, 1, 2, 2]]])
        assert dice_per_class(a, b)[1] == pytest.approx(2 / 3)

    def test_augment_keeps_pairs_aligned(self):
        rng = np.random.default_rng(0)
        image = np.zeros((64, 64), dtype=np.uint8)
        label = np.zeros((64, 64), dtype=np.uint8)
        image[20:40, 20:40], label[20:40, 20:40] = 200, 1
        aug_image, aug_label = augment(rng, image, label)
        assert aug_image[aug_label == 1].mean() > 4 * max(1.0, aug_image[aug_label == 0].mean())

    def test_separation_weights_follow_the_distance_between_the_lips(self):
        # Anterior lip rows 0-9, posterior rows 14-23: a 4-pixel gap, the lips absent from column 30 on.
        labels = np.zeros((1, 24, 40), dtype=np.uint8)
        labels[0, :10, :30], labels[0, 14:, :30] = 1, 2
        original = labels.copy()
        weights = separation_weights(labels, 5.0)
        np.testing.assert_array_equal(labels, original)

        def expected(d1_plus_d2: float) -> float:
            return 1 + 5.0 * np.exp(-(d1_plus_d2**2) / (2 * SEPARATION_SIGMA_PX**2))

        # Inside the gap, d1 + d2 is the gap width wherever the pixel sits; inside a lip it is the distance to the other.
        assert weights[0, 10, 5] == pytest.approx(expected(5.0), rel=1e-3)
        assert weights[0, 12, 5] == pytest.approx(expected(5.0), rel=1e-3)
        assert weights[0, 9, 5] == pytest.approx(expected(5.0), rel=1e-3)
        assert weights[0, 0, 5] == pytest.approx(expected(14.0), rel=1e-3)
        assert weights[0, 12, 39] == pytest.approx(1.0, abs=1e-3)
        assert separation_weights(np.zeros((2, 8, 8), np.uint8), 5.0) == pytest.approx(1.0)

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"epochs": 0}, "epochs must be 1 or more, got 0"),
            ({"extra_funnels": -1}, "extra_funnels must be 0 or more, got -1"),
            ({"extra_short": -2}, "extra_short must be 0 or more, got -2"),
            ({"epochs": 8, "average_from": 9}, r"average_from must be 0 \(off\) or an epoch from 1 to epochs \(8\), got 9"),
            ({"average_from": -1}, "average_from must be 0"),
            ({"calipers": 1.5}, "calipers must be a share from 0 to 1, got 1.5"),
        ],
    )
    def test_config_refuses_settings_out_of_range(self, settings, message):
        with pytest.raises(ValueError, match=message):
            TrainConfig(**settings)

    def test_extra_funnels_follow_the_default_mix(self):
        config = TrainConfig(seed=1, train_count=3, extra_funnels=2, working_size=32, workers=1)
        images, labels = training_squares(config)
        mix = phantom_squares(10_000_000, 3, appearance="train", size=32, workers=1)
        funnels = phantom_squares(EXTRA_FUNNEL_SEEDS + 10_000_000, 2, appearance="train", size=32, workers=1, case="funnel")
        np.testing.assert_array_equal(images, np.concatenate([mix[0], funnels[0]]))
        np.testing.assert_array_equal(labels, np.concatenate([mix[1], funnels[1]]))
        np.testing.assert_array_equal(training_squares(replace(config, extra_funnels=0))[0], mix[0])

    def test_extra_short_cervices_follow_the_extra_funnels(self):
        config = TrainConfig(seed=1, train_count=2, extra_funnels=1, extra_short=2, working_size=32, workers=1)
        images, labels = training_squares(config)
        parts = [
            phantom_squares(10_000_000, 2, appearance="train", size=32, workers=1),
            phantom_squares(EXTRA_FUNNEL_SEEDS + 10_000_000, 1, appearance="train", size=32, workers=1, case="funnel"),
            phantom_squares(EXTRA_SHORT_SEEDS + 10_000_000, 2, appearance="train", size=32, workers=1, case="short"),
        ]
        np.testing.assert_array_equal(images, np.concatenate([p[0] for p in parts]))
        np.testing.assert_array_equal(labels, np.concatenate([p[1] for p in parts]))
        np.testing.assert_array_equal(training_squares(replace(config, extra_funnels=0))[0], np.concatenate([parts[0][0], parts[2][0]]))

    def test_a_share_of_the_phantoms_is_saved_with_calipers(self):
        plain = phantom_squares(0, 6, appearance="train", size=64, workers=1)
        half = phantom_squares(0, 6, appearance="train", size=64, workers=1, calipers=0.5)
        every = phantom_squares(0, 6, appearance="train", size=64, workers=1, calipers=1.0)
        np.testing.assert_array_equal(half[1], plain[1])  # the labels are the lips, calipers or not
        with_marks = [k for k in range(6) if not np.array_equal(half[0][k], plain[0][k])]
        assert with_marks == [k for k in range(6) if np.random.default_rng([k, CALIPER_DRAW]).random() < 0.5] == [0, 2, 3, 4, 5]
        assert all(not np.array_equal(every[0][k], plain[0][k]) for k in range(6))
        np.testing.assert_array_equal(every[0][with_marks], half[0][with_marks])

    @pytest.mark.parametrize("separation_weight", [0.0, 5.0])
    def test_a_few_steps_reduce_the_loss(self, tmp_path, separation_weight):
        squares = phantom_squares(0, 8, appearance="train", size=64, workers=1)
        config = TrainConfig(
            seed=0, train_count=8, val_count=8, epochs=6, batch_size=4, learning_rate=1e-2, working_size=64,
            widths=(4, 8, 16), workers=1, separation_weight=separation_weight,
        )
        info = train(config, tmp_path / "m.json", train_data=squares, validation={"train": squares}, log=lambda _: None)
        history = info.card["history"]
        assert history[-1]["loss"] < history[0]["loss"]
        assert load_model(tmp_path / "m.json")[1].sha256 == info.sha256

    def test_averaging_keeps_the_mean_of_the_epochs_weights(self, tmp_path):
        squares = phantom_squares(0, 8, appearance="train", size=64, workers=1)
        config = TrainConfig(
            seed=0, train_count=8, val_count=8, epochs=3, batch_size=4, learning_rate=1e-2, working_size=64,
            widths=(4, 8, 16), workers=1, average_from=2,
        )
        model, seen = UNet(config.widths), []

        def log(text: str) -> None:  # called after each epoch's validation, before its weights are averaged
            if text.startswith("epoch"):
                seen.append({k: v.clone() for k, v in model.named_parameters()})

        info = train(config, tmp_path / "m.json", train_data=squares, validation={"train": squares}, init=model, log=log)
        saved = dict(load_model(tmp_path / "m.json")[0].named_parameters())
        assert len(seen) == 3 and info.card["averaged"]["epochs"] == 2
        for name, value in saved.items():
            torch.testing.assert_close(value, (seen[1][name] + seen[2][name]) / 2)
        assert not torch.equal(saved["head.weight"], seen[2]["head.weight"])

    def test_a_run_stopped_before_averaging_keeps_its_last_epoch(self, tmp_path):
        squares = phantom_squares(0, 4, appearance="train", size=64, workers=1)
        config = TrainConfig(
            seed=0, train_count=4, val_count=4, epochs=3, batch_size=4, learning_rate=1e-2, working_size=64,
            widths=(4, 8, 16), workers=1, average_from=2, max_minutes=0.0,
        )
        model, seen = UNet(config.widths), []

        def log(text: str) -> None:
            if text.startswith("epoch"):
                seen.append({k: v.clone() for k, v in model.named_parameters()})

        info = train(config, tmp_path / "m.json", train_data=squares, validation={"train": squares}, init=model, log=log)
        assert len(seen) == 1 and info.card["averaged"]["epochs"] == 1
        for name, value in load_model(tmp_path / "m.json")[0].named_parameters():
            torch.testing.assert_close(value, seen[0][name])


@pytest.mark.slow
class TestShippedModel:
    """The shipped weights segment phantoms they were not trained on (seeds beyond the training range)."""

    def test_dice_floor_on_held_out_phantoms(self):
        model, info = load_model(DEFAULT_MODEL)
        squares = phantom_squares(3_000_000, 12, appearance="train", size=info.working_size, workers=1)
        segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size)
        predicted = segmenter.probabilities(squares[0]).argmax(axis=1)
        dice = dice_per_class(predicted, squares[1])
        assert dice[1:].mean() > 0.85, dice


def test_calibration_is_made_on_the_validation_frames_measured_as_found():
    model, info = load_model(DEFAULT_MODEL)
    segmenter = Segmenter(model, model_sha256=info.sha256, working_size=info.working_size)
    # No confidence floors and no funnel tip: the settings being calibrated must not shape their own data.
    unfloored = QualityLimits(min_confidence=0.0, min_os_confidence=0.0)
    outcomes = [
        o
        for appearance, first in VALIDATION_SEEDS.items()
        for o in evaluate_phantoms(segmenter, range(first, first + 4), appearance=appearance, limits=unfloored)
    ]
    expected = QualityLimits(
        min_confidence=confidence_floor(outcomes),
        min_os_confidence=confidence_floor(outcomes, of="os_confidence", quantile=OS_CONFIDENCE_QUANTILE),
        funnel_tip_mm=funnel_tip_width_mm(outcomes),
    )
    assert calibrate(segmenter, count=4) == expected


class TestReadPixelSizes:
    @pytest.mark.parametrize("column", ["image", "file"])  # file: a phantom set's ground_truth.csv
    def test_sizes_by_image(self, tmp_path, column):
        (tmp_path / "s.csv").write_text(f"{column},frame,mm_per_pixel\na.png,1,0.12\nb.png,1,0.2\n", encoding="utf-8")
        assert read_pixel_sizes(tmp_path / "s.csv") == {"a.png": 0.12, "b.png": 0.2}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("image,size\na.png,0.1\n", "needs the columns image \\(or file\\) and mm_per_pixel"),
            ("image,mm_per_pixel\na.png,0.1\nb.png,-1\n", "row 3: mm_per_pixel must be a number above 0, not '-1'"),
            ("image,mm_per_pixel\na.png,nan\n", "row 2: mm_per_pixel must be a number above 0, not 'nan'"),
            ("image,mm_per_pixel\na.png,0,12\n", "s.csv: row 2 has 3 fields, the header 2"),
        ],
    )
    def test_bad_tables_are_named(self, tmp_path, text, message):
        (tmp_path / "s.csv").write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            read_pixel_sizes(tmp_path / "s.csv")
