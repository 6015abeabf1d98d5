"""Phantoms: reproducibility, ground truth against the mask and the geometry, speckle statistics."""

from __future__ import annotations

import csv
import dataclasses
import json

import cv2
import numpy as np
import pytest

from cervical_length.cli import main
from cervical_length.phantom import (
    APPEARANCES,
    CASES,
    GROUND_TRUTH_COLUMNS,
    Canal,
    beam_envelope,
    generate,
    generate_cine,
    with_calipers,
    write_phantom,
)
from cervical_length.phantom._imaging import BeamSettings

MEASURABLE = ("normal", "short", "funnel")


def _polyline_mm(points_px: np.ndarray, mm_per_pixel: float) -> float:
    return float(np.linalg.norm(np.diff(points_px, axis=0), axis=1).sum() * mm_per_pixel)


class TestCalipers:
    """A frame saved after the examiner measured it: the calipers burned in, nothing else changed."""

    @pytest.mark.parametrize(("seed", "look", "colour"), [(3, "train", (255, 255, 0)), (4, "shifted", (90, 255, 120))])
    def test_the_marks_lie_on_the_os_points_and_the_line_between(self, seed, look, colour):
        plain = generate(seed, appearance=look, case="normal")
        before = plain.rgb.copy()
        saved = with_calipers(plain)
        assert np.array_equal(plain.rgb, before)  # the phantom given is not modified
        assert saved.labels is plain.labels and saved.truth is plain.truth
        changed = np.argwhere(np.any(saved.rgb != plain.rgb, axis=2))
        ext, internal = plain.truth.external_os_px, plain.truth.internal_os_px
        # Each mark is centred within ~1 mm (0.3 mm placement error per axis) of its os point.
        for point in (ext, internal):
            near = changed[np.hypot(*(changed - point).T) < 1.0 / plain.truth.mm_per_pixel + 9]
            assert len(near) > 10
        # Every changed pixel is a mark, the dotted line between them, or the result's text.
        span = internal - ext
        along = np.clip(((changed - ext) @ span) / (span @ span), 0.0, 1.0)
        off_line = np.hypot(*(changed - (ext + along[:, None] * span)).T)
        text = (changed[:, 0] < 0.12 * plain.rgb.shape[0] + 14) & (changed[:, 1] > 0.6 * plain.rgb.shape[1])
        assert np.all((off_line < 1.0 / plain.truth.mm_per_pixel + 9) | text)
        assert np.any(np.all(saved.rgb == colour, axis=2))  # the vendor's caliper colour

    def test_the_same_frame_gets_the_same_calipers(self):
        plain = generate(5)
        assert with_calipers(plain).rgb.tobytes() == with_calipers(plain).rgb.tobytes()


class TestCanal:
    @pytest.mark.parametrize("curvature", [0.0, 0.015, -0.04])
    def test_arc_length_and_inverse(self, curvature):
        canal = Canal((3.0, 25.0), 0.6, curvature, 40.0)
        s = np.linspace(0.0, 40.0, 4001)
        assert np.linalg.norm(np.diff(canal.point(s), axis=0), axis=1).sum() == pytest.approx(40.0, abs=1e-4)
        probe = canal.point(s[::400]) + 2.5 * canal.normal(s[::400])
        back_s, back_d = canal.curvilinear(probe[:, 0], probe[:, 1])
        np.testing.assert_allclose(back_s, s[::400], atol=1e-9)
        np.testing.assert_allclose(back_d, 2.5, atol=1e-9)


class TestReproducible:
    def test_same_seed_same_bytes(self):
        a, b = generate(7, case="funnel"), generate(7, case="funnel")
        assert a.rgb.tobytes() == b.rgb.tobytes() and a.labels.tobytes() == b.labels.tobytes()
        assert a.truth.to_json() == b.truth.to_json()

    def test_different_seeds_differ(self):
        assert generate(7).rgb.tobytes() != generate(8).rgb.tobytes()

    def test_appearances_differ_for_the_same_anatomy_seed(self):
        train, shifted = generate(3, appearance="train"), generate(3, appearance="shifted")
        assert train.truth.appearance == "train" and shifted.truth.appearance == "shifted"
        assert np.array_equal(train.rgb[..., 2], train.rgb[..., 0])  # vendor A is grey
        assert not np.array_equal(shifted.rgb[..., 2], shifted.rgb[..., 0])  # vendor B is tinted


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("case", MEASURABLE)
class TestGroundTruth:
    def test_traced_cl_is_the_centreline_length(self, seed, case):
        truth = generate(seed, case=case).truth
        assert _polyline_mm(truth.centreline_px, truth.mm_per_pixel) == pytest.approx(truth.cl_mm, abs=0.1)
        chord = np.linalg.norm(truth.internal_os_px - truth.external_os_px) * truth.mm_per_pixel
        assert chord == pytest.approx(truth.cl_straight_mm, abs=1e-6)
        assert truth.cl_straight_mm <= truth.cl_mm + 1e-9

    def test_os_points_end_the_canal_between_the_lips(self, seed, case):
        phantom = generate(seed, case=case)
        truth, labels = phantom.truth, phantom.labels
        np.testing.assert_allclose(truth.external_os_px, truth.centreline_px[0])
        np.testing.assert_allclose(truth.internal_os_px, truth.centreline_px[-1])
        # Across the canal, 1.5 mm to each side, lie the anterior (1) and posterior (2) lips.
        points = truth.centreline_px[len(truth.centreline_px) // 4 : -len(truth.centreline_px) // 4 or None]
        tangent = np.gradient(points, axis=0)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        offset = normal * 1.5 / truth.mm_per_pixel
        sides = []
        for sign in (1, -1):
            rc = np.rint(points + sign * offset).astype(int)
            sides.append(labels[rc[:, 0], rc[:, 1]])
        assert {int(np.median(sides[0])), int(np.median(sides[1]))} == {1, 2}
        assert (sides[0] > 0).mean() > 0.95 and (sides[1] > 0).mean() > 0.95

    def test_anterior_lip_is_the_upper_one(self, seed, case):
        labels = generate(seed, case=case).labels
        rows = np.indices(labels.shape)[0]
        assert rows[labels == 1].mean() < rows[labels == 2].mean()

    def test_measurable_with_no_reasons(self, seed, case):
        truth = generate(seed, case=case).truth
        assert truth.measurable and truth.reasons == ()


class TestAucaVisible:
    def test_wall_in_the_sector_with_fluid_beside_it(self):
        assert generate(200, case="normal").truth.auca_visible

    def test_wall_leaving_the_sector(self):
        from cervical_length.phantom._generate import AUCA_WALL_MM

        phantom = generate(203, case="normal")
        start, direction, _ = phantom.scene.anatomy.wall_surfaces()[0]
        far = start + AUCA_WALL_MM[1] * direction
        assert not phantom.scene.sector.inside(far[:1], far[1:], margin_mm=1.0).all()
        assert not phantom.truth.auca_visible

    def test_fetal_head_against_the_wall_hides_it(self):
        from cervical_length.phantom._generate import _auca_visible

        phantom = generate(1_000_026)
        scene, anatomy = phantom.scene, phantom.scene.anatomy
        assert anatomy.fetal_head is not None and not phantom.truth.auca_visible
        assert _auca_visible(scene, dataclasses.replace(anatomy, fetal_head=None))


class TestCases:
    @pytest.mark.parametrize("case", [c for c in CASES if c not in MEASURABLE])
    def test_hard_cases_are_not_measurable_with_a_reason(self, case):
        truth = generate(1, case=case).truth
        assert not truth.measurable and truth.reasons

    @pytest.mark.parametrize("seed", range(8))
    def test_short_cervix_range(self, seed):
        assert 5.0 <= generate(seed, case="short").truth.cl_mm <= 25.0

    @pytest.mark.parametrize("seed", range(8))
    def test_funnel_truth(self, seed):
        truth = generate(seed, case="funnel").truth
        assert truth.funnel and truth.funnel_shape in ("Y", "V", "U")
        assert 0 < truth.funnel_length_mm <= 25.0
        assert truth.funnel_percent == pytest.approx(100 * truth.funnel_length_mm / (truth.funnel_length_mm + truth.cl_mm))
        apex, ant, post = truth.funnel_points_px
        np.testing.assert_allclose(apex, truth.internal_os_px)
        assert np.linalg.norm(ant - post) * truth.mm_per_pixel == pytest.approx(truth.funnel_width_mm, rel=1e-9)

    def test_funnel_is_not_lip(self):
        phantom = generate(2, case="funnel")
        apex, ant, post = phantom.truth.funnel_points_px
        inside = np.rint((apex + ant + post) / 3).astype(int)  # the funnel's centroid: fluid
        assert phantom.labels[inside[0], inside[1]] == 0

    def test_scale_and_depth_in_range(self):
        for seed in range(20):
            truth = generate(seed).truth
            assert 0.05 <= truth.mm_per_pixel <= 0.25


class TestCine:
    def test_probe_motion_and_bad_frames(self):
        loop = generate_cine(5, 10)
        assert [p.truth.frame for p in loop] == list(range(1, 11))
        assert sum(not p.truth.measurable for p in loop) >= 2
        assert len({p.truth.cl_mm for p in loop}) == 1  # same cervix
        starts = np.array([p.truth.external_os_px for p in loop])
        assert np.ptp(starts, axis=0).max() > 2.0  # it moves


class TestSpeckle:
    @pytest.mark.parametrize("appearance", sorted(APPEARANCES))
    def test_rayleigh_mean_over_std(self, appearance):
        look = APPEARANCES[appearance]
        settings = BeamSettings(
            frequency_mhz=6.0,
            axial_psf_mm=look.axial_psf_mm[0],
            lateral_psf_mm=look.lateral_psf_mm[0],
            lines=256,
            sample_mm=look.axial_psf_mm[0],
            dynamic_range_db=60.0,
            gain_db=0.0,
            tgc_error_db=np.zeros(600, dtype=np.float32),
            noise_db=-200.0,
            reverberation=0.0,
        )
        amplitude = np.ones((600, 256), dtype=np.float32)
        # Soft tissue of 0.6 dB/cm/MHz is exactly what the ideal TGC compensates: a stationary patch.
        attenuation = np.full_like(amplitude, 0.6)
        envelope = beam_envelope(np.random.default_rng(0), amplitude, attenuation, settings, line_spacing_mm=0.3, probe_radius_mm=10.0)
        patch = envelope[100:500, 20:236]
        # Fully developed speckle: Rayleigh envelope, mean/std = sqrt(pi / (4 - pi)) = 1.913
        assert patch.mean() / patch.std() == pytest.approx(1.913, abs=0.06)


class TestExport:
    def test_files_written_and_read_back(self, tmp_path):
        phantom = generate(4, case="funnel")
        row = write_phantom(phantom, tmp_path, "x")
        label = cv2.imread(str(tmp_path / "x_label.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(label, phantom.labels)
        image = cv2.cvtColor(cv2.imread(str(tmp_path / "x.png")), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(image, phantom.rgb)
        sidecar = json.loads((tmp_path / "x.json").read_text())
        assert sidecar["cl_mm"] == phantom.truth.cl_mm and sidecar["label"] == "x_label.png"
        assert row["funnel"] == 1 and float(row["cl_mm"]) == pytest.approx(phantom.truth.cl_mm, abs=5e-4)

    def test_cli_writes_a_set(self, tmp_path, capsys):
        assert main(["phantoms", "--out", str(tmp_path / "set"), "--count", "3", "--seed", "40", "--workers", "1"]) == 0
        with open(tmp_path / "set" / "ground_truth.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [r["file"] for r in rows] == ["train_000040.png", "train_000041.png", "train_000042.png"]
        assert set(GROUND_TRUTH_COLUMNS) <= set(rows[0])
        assert (tmp_path / "set" / "montage.png").is_file()
        assert "Wrote 3 phantoms" in capsys.readouterr().out
