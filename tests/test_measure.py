"""Measurement from label maps: exact geometry, anisotropic pixels, funnels, every quality reason."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from cervical_length.measure import (
    Measurement,
    QualityLimits,
    anterior_uterocervical_angle,
    exam_result,
    funnel_shape,
    hidden_tip_mm,
    is_small_funnel,
    labelled_box,
    measure_cervix,
    polyline_length_mm,
    smooth_polyline,
)
from cervical_length.measure._canal import course_px
from cervical_length.phantom import generate


def straight_lips(length_px: int = 200, thickness_px: int = 60, shape: tuple[int, int] = (300, 400)) -> np.ndarray:
    """Anterior lip above, posterior lip below a horizontal canal ``length_px`` pixels long."""
    labels = np.zeros(shape, dtype=np.uint8)
    r, c = shape[0] // 2, (shape[1] - length_px) // 2
    labels[r - thickness_px : r, c : c + length_px] = 1
    labels[r : r + thickness_px, c : c + length_px] = 2
    return labels


def arc_lips(radius_px: float, angle_deg: float, thickness_px: float = 50, shape: tuple[int, int] = (700, 700)) -> np.ndarray:
    """Lips either side of a circular canal of ``radius_px`` spanning ``angle_deg``."""
    rows, cols = np.indices(shape)
    centre = (shape[0] - 60, shape[1] / 2)
    rho = np.hypot(rows - centre[0], cols - centre[1])
    theta = np.degrees(np.arctan2(cols - centre[1], centre[0] - rows))
    within = np.abs(theta) <= angle_deg / 2
    labels = np.zeros(shape, dtype=np.uint8)
    labels[within & (rho > radius_px) & (rho <= radius_px + thickness_px)] = 1
    labels[within & (rho <= radius_px) & (rho > radius_px - thickness_px)] = 2
    return labels


def grey_for(labels: np.ndarray, canal_visible: bool = True) -> np.ndarray:
    """A grey image: lips mid-grey, background dark, a bright line at the lips' interface."""
    grey = np.where(labels > 0, 120, 20).astype(np.uint8)
    if canal_visible:
        interface = cv2.dilate((labels == 1).astype(np.uint8), np.ones((3, 3))) & (labels == 2)
        grey[cv2.dilate(interface, np.ones((3, 3))).astype(bool)] = 250
    return grey


def test_labelled_box_is_the_labels_bounds_widened():
    labels = np.zeros((50, 60), np.uint8)
    labels[10:20, 30:45] = 2
    assert labelled_box(labels, 3) == (7, 27, 23, 48)
    assert labelled_box(labels, 12) == (-2, 18, 32, 57)  # past the image: the caller clips or pads


class TestLengths:
    def test_no_labels_is_no_cervix(self):
        m = measure_cervix(np.zeros((300, 400), dtype=np.uint8), (0.1, 0.1))
        assert not m.measurable and m.reasons == ("cervix not found",) and m.cl_mm is None

    @pytest.mark.parametrize("length_px,spacing", [(200, 0.1), (150, 0.2), (333, 0.07)])
    def test_straight_canal_to_a_tenth_of_a_mm(self, length_px, spacing):
        m = measure_cervix(straight_lips(length_px), (spacing, spacing))
        assert m.measurable, m.reasons
        assert m.cl_mm == pytest.approx(length_px * spacing, abs=0.1)
        assert m.cl_straight_mm == pytest.approx(length_px * spacing, abs=0.1)

    @pytest.mark.parametrize("radius_px,angle_deg", [(250, 60), (180, 90), (400, 40)])
    def test_circular_arc_within_one_percent(self, radius_px, angle_deg):
        m = measure_cervix(arc_lips(radius_px, angle_deg), (0.1, 0.1))
        expected = radius_px * np.radians(angle_deg) * 0.1
        assert m.cl_mm == pytest.approx(expected, rel=0.01)
        chord = 2 * radius_px * np.sin(np.radians(angle_deg) / 2) * 0.1
        assert m.cl_straight_mm == pytest.approx(chord, rel=0.01)
        assert m.cl_straight_mm < m.cl_two_segment_mm < m.cl_mm

    @pytest.mark.parametrize("spacing,transpose,expected", [((0.2, 0.1), False, 20.0), ((0.2, 0.1), True, 40.0), ((0.05, 0.15), False, 30.0)])
    def test_anisotropic_pixels(self, spacing, transpose, expected):
        labels = straight_lips(200)
        if transpose:
            labels = np.ascontiguousarray(labels.T)
            labels = np.where(labels == 1, 2, np.where(labels == 2, 1, 0)).astype(np.uint8)
        m = measure_cervix(labels, spacing)
        assert m.cl_mm == pytest.approx(expected, abs=0.1)

    def test_external_os_is_the_end_nearer_the_probe(self):
        labels = straight_lips(200)
        left = measure_cervix(labels, (0.1, 0.1), apex_px=(0.0, 0.0))
        right = measure_cervix(labels, (0.1, 0.1), apex_px=(0.0, 399.0))
        assert left.external_os_px[1] < left.internal_os_px[1]
        assert right.external_os_px[1] > right.internal_os_px[1]

    # The cervix's window inside the frame (read through views), and past its edge (padded copies:
    # the lips touch the frame's edge, which is outside the sector).
    @pytest.mark.parametrize("shape,cl_mm", [((300, 400), 20.0), ((122, 400), None)])
    def test_inputs_not_modified(self, shape, cl_mm):
        labels = straight_lips(thickness_px=60, shape=shape)
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32)
        grey, fan = grey_for(labels), np.ones(labels.shape, dtype=bool)
        inputs = (labels, probabilities, grey, fan)
        before = [a.copy() for a in inputs]
        m = measure_cervix(labels, (0.1, 0.1), probabilities=probabilities, grey=grey, fan=fan)
        assert m.cl_mm == (None if cl_mm is None else pytest.approx(cl_mm, abs=0.1))
        assert m.measurable or m.reasons == ("canal not fully inside the ultrasound sector",)
        for array, original in zip(inputs, before):
            np.testing.assert_array_equal(array, original)

    def test_column_major_inputs_measure_as_their_row_major_copies(self):
        # OpenCV reads row-major memory: a frame handed over in another layout must give the same answer.
        labels = straight_lips(thickness_px=60)
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32)
        grey, fan = grey_for(labels), np.ones(labels.shape, dtype=bool)
        rows_first = measure_cervix(labels, (0.1, 0.1), probabilities=probabilities, grey=grey, fan=fan)
        columns_first = measure_cervix(
            np.asfortranarray(labels), (0.1, 0.1), probabilities=np.asfortranarray(probabilities), grey=np.asfortranarray(grey), fan=np.asfortranarray(fan)
        )
        assert rows_first.measurable and columns_first.measurable, (rows_first.reasons, columns_first.reasons)
        assert columns_first.cl_mm == rows_first.cl_mm == pytest.approx(20.0, abs=0.1)
        assert columns_first.internal_os_px == rows_first.internal_os_px

    def test_polyline_and_smoothing(self):
        assert polyline_length_mm(np.array([[0, 0], [3, 4]]), (1.0, 1.0)) == 5.0
        assert polyline_length_mm(np.array([[0, 0], [3, 4]]), (2.0, 0.5)) == pytest.approx(np.hypot(6, 2))
        zigzag = np.array([[i % 2, i] for i in range(101)], dtype=float)  # a staircase along a line
        assert polyline_length_mm(smooth_polyline(zigzag, 6.0), (1, 1)) == pytest.approx(100.0, rel=0.01)

    def test_course_follows_a_bend_and_not_a_waver(self):
        t = np.linspace(0.0, 1.0, 200)
        bend = np.stack([40 * t**2 - 30 * t**3, 120 * t], axis=1)  # bends once: followed within a tenth of a pixel
        np.testing.assert_allclose(course_px(bend), bend, atol=0.1)
        waver = bend + np.stack([1.5 * np.sin(2 * np.pi * 9 * t), np.zeros_like(t)], axis=1)  # 1.5 px, 9 times along
        before = waver.copy()
        assert np.abs(course_px(waver) - bend).max() < 0.6  # the waver itself strays 1.5 px
        np.testing.assert_array_equal(waver, before)
        short = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 3.0]])
        np.testing.assert_array_equal(course_px(short), short)


def measure_exact(phantom) -> Measurement:
    """A phantom measured on its exact label map, with its image, sector and probe position."""
    sector = phantom.scene.sector
    grey = cv2.cvtColor(phantom.rgb, cv2.COLOR_RGB2GRAY)
    return measure_cervix(phantom.labels, phantom.truth.spacing_mm, grey=grey, fan=np.asarray(sector.fan_mask), apex_px=(sector.apex_row, sector.apex_col))


class TestPhantomGroundTruth:
    """From exact label masks of phantoms (not from the model): the geometry must come back."""

    @pytest.mark.parametrize("seed", range(200, 206))
    @pytest.mark.parametrize("case", ["normal", "short", "funnel"])
    def test_cl_and_funnel(self, seed, case):
        phantom = generate(seed, case=case)
        truth, m = phantom.truth, measure_exact(phantom)
        assert m.measurable, m.reasons
        assert m.cl_mm == pytest.approx(truth.cl_mm, abs=0.3)
        assert np.hypot(*(np.array(m.external_os_px) - truth.external_os_px)) * truth.mm_per_pixel < 1.0
        assert (m.funnel is not None) == truth.funnel
        if truth.funnel:
            assert m.funnel.length_mm == pytest.approx(truth.funnel_length_mm, abs=1.0)
            assert m.funnel.width_mm == pytest.approx(truth.funnel_width_mm, abs=1.0)
            assert m.funnel.shape == truth.funnel_shape

    @pytest.mark.parametrize("case", ["out_of_sector", "out_of_plane", "shadow", "probe_pressure"])
    def test_hard_cases_rejected_with_their_reason(self, case):
        m = measure_exact(generate(300, case=case))
        assert not m.measurable and m.cl_mm is None
        key = {"out_of_sector": "sector", "out_of_plane": "not visible", "shadow": "shadow", "probe_pressure": "unequal"}[case]
        assert any(key in reason for reason in m.reasons), m.reasons


class TestQualityGate:
    def _reasons(self, labels, spacing=(0.1, 0.1), **kwargs) -> Measurement:
        m = measure_cervix(labels, spacing, **kwargs)
        assert not m.measurable and m.cl_mm is None and m.cl_straight_mm is None and m.funnel is None
        return m

    def test_uncalibrated(self):
        assert "uncalibrated" in self._reasons(straight_lips(), None).reasons[0]

    def test_lip_missing(self):
        labels = straight_lips()
        labels[labels == 2] = 0
        assert "a lip is missing" in self._reasons(labels).reasons[0]

    def test_lips_do_not_meet(self):
        labels = straight_lips()
        labels[140:160] = 0  # a gap all along: no canal between the lips
        assert "os not found" in self._reasons(labels).reasons[0]

    def test_canal_cut_by_the_sector_edge(self):
        labels = straight_lips()
        fan = np.ones(labels.shape, dtype=bool)
        fan[:, :110] = False  # the fan's edge cuts the lips' left ends
        assert any("sector" in r for r in self._reasons(labels, fan=fan).reasons)

    @pytest.mark.parametrize(("gap_px", "cut"), [(0, True), (2, True), (3, False)])
    def test_lips_within_the_margin_of_the_sector_edge_are_cut(self, gap_px, cut):
        labels = straight_lips()  # the lips span columns 100-299
        fan = np.ones(labels.shape, dtype=bool)
        fan[:, : 100 - gap_px] = False  # gap_px columns of the fan between its edge and the lips
        m = measure_cervix(labels, (0.1, 0.1), fan=fan)
        assert ("canal not fully inside the ultrasound sector" in m.reasons) is cut
        assert m.measurable is not cut

    def test_unequal_lips(self):
        labels = straight_lips(thickness_px=60)
        labels[:120][labels[:120] == 1] = 0  # anterior lip 30 px, posterior 60 px
        assert any("unequal" in r for r in self._reasons(labels).reasons)

    @pytest.mark.parametrize(("start", "declined"), [(200, True), (170, False)])
    def test_a_lip_running_on_past_the_external_os(self, start, declined):
        labels = straight_lips()  # canal along row 150 from column 100 (external os) to 299
        labels[150:][labels[150:] == 2] = 0
        labels[150:210, start:300] = 2  # the posterior lip drawn only from ``start`` on
        m = measure_cervix(labels, (0.1, 0.1))
        external_col = m.external_os_px[1]  # where the lips start to meet, a few pixels before ``start``
        assert start - 5 < external_col <= start
        assert m.measurable is not declined
        if declined:
            (reason,) = m.reasons
            found = re.fullmatch(r"external os not found: the anterior lip runs on ([\d.]+) mm past the canal's end", reason)
            assert found and float(found[1]) == pytest.approx((external_col - 100) / 10, abs=0.1)

    @pytest.mark.parametrize("length_px,spacing", [(30, 0.1), (350, 0.2)])
    def test_not_anatomical_length(self, length_px, spacing):
        labels = straight_lips(length_px, thickness_px=80, shape=(300, 420))
        assert any("anatomical" in r for r in self._reasons(labels, (spacing, spacing)).reasons)

    def test_low_confidence(self):
        labels = straight_lips()
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32) * 0.5 + 0.5 / 3
        assert any("confidence" in r for r in self._reasons(labels, probabilities=probabilities).reasons)

    def test_unsure_where_the_canal_ends(self):
        labels = straight_lips()  # canal along row 150, external os at column 100 (nearer the probe)
        spacing = (0.1, 0.15)  # 3 mm is 30 rows and 20 columns
        probabilities = np.stack([labels == k for k in range(3)]).astype(np.float32)
        rows, cols = np.indices(labels.shape)
        unsure = (rows - 150) ** 2 + ((cols - 299) * 1.5) ** 2 <= 25**2  # lips and fluid around the internal os
        probabilities[:, unsure] = probabilities[:, unsure] * 0.25 + 0.25  # each class still wins its pixels, at 0.5
        m = self._reasons(labels, spacing, probabilities=probabilities)
        r, c = m.internal_os_px
        near = ((rows - r) * spacing[0]) ** 2 + ((cols - c) * spacing[1]) ** 2 <= 3.0**2
        expected = probabilities.max(axis=0)[near].mean()
        assert m.os_confidence == pytest.approx(expected, abs=1e-6) and m.os_confidence < 0.75
        assert m.confidence > 0.95  # over the whole cervix the model is sure
        assert m.reasons == (f"internal os not clearly seen (model confidence {expected:.2f} < 0.75 within 3 mm of it)",)
        assert measure_cervix(labels, spacing).os_confidence == 1.0  # one-hot labels: sure everywhere

    def test_canal_not_visible(self):
        labels = straight_lips()
        assert any("not visible" in r for r in self._reasons(labels, grey=grey_for(labels, canal_visible=False)).reasons)

    @staticmethod
    def dotted_line(labels: np.ndarray, gap_px: int) -> tuple[np.ndarray, np.ndarray]:
        """A caliper's dotted line drawn bright along the canal of an image that does not show it,
        and the mask of its dots (as a colour export's marks are found)."""
        grey = grey_for(labels, canal_visible=False)
        marks = np.zeros(labels.shape, bool)
        row = labels.shape[0] // 2
        for col in range(100, 300, gap_px):
            marks[row - 1 : row + 2, col - 1 : col + 2] = True
        grey[marks] = 255
        return grey, marks

    @pytest.mark.parametrize("gap_px", [6, 4])
    def test_a_caliper_line_does_not_pass_for_the_canal(self, gap_px):
        labels = straight_lips()
        grey, marks = self.dotted_line(labels, gap_px)
        assert measure_cervix(labels, (0.1, 0.1), grey=grey).measurable  # taken for the canal when not known as marks
        reasons = self._reasons(labels, grey=grey, graphics=marks).reasons
        assert reasons == ("out-of-plane view: the endocervical canal is not visible",)

    def test_a_canal_under_a_caliper_line_is_seen_between_its_dots(self):
        labels = straight_lips()
        _, marks = self.dotted_line(labels, 6)
        grey = grey_for(labels)
        grey[marks] = 255
        m = measure_cervix(labels, (0.1, 0.1), grey=grey, graphics=marks)
        assert m.measurable and m.marked_share == pytest.approx(0.5, abs=0.02)  # 3 of every 6 columns
        assert measure_cervix(labels, (0.1, 0.1), grey=grey).marked_share is None

    def test_shadow_over_the_canal(self):
        labels = straight_lips()
        grey = grey_for(labels)
        grey[:, 150:260] = 3  # a shadow cone over the middle of the canal
        assert any("shadow" in r for r in self._reasons(labels, grey=grey).reasons)

    def test_good_image_passes(self):
        labels = straight_lips()
        assert measure_cervix(labels, (0.1, 0.1), grey=grey_for(labels)).measurable


class TestFunnelCut:
    """Where the fluid of a funnel ends the canal, whatever the label map says about it."""

    def test_fluid_drawn_as_lip_ends_the_canal(self):
        # A V funnel from col 270 (half-width 0.5 px per px) to the internal os at col 300; the
        # labels keep it as lip up to col 285. In the image it is fluid once its 1 mm neighbourhood
        # is dark (about 0.8 mm wide, col 278-280): the canal ends there, 17.9 mm, not at 18.5 mm.
        labels, (rows, cols) = straight_lips(), np.indices((300, 400))
        grey = grey_for(labels)
        wedge = (cols >= 270) & (cols < 300) & (np.abs(rows - 149.5) < (cols - 270) * 0.5)
        grey[wedge] = 20
        labels[wedge & (cols >= 285)] = 0
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.measurable, m.reasons
        assert m.cl_mm == pytest.approx(17.9, abs=0.25)

    def test_cyst_beside_the_canal_does_not_cut_it(self):
        # A funnel opening at col 260, and an anechoic cyst 0.4 mm from the canal inside the
        # anterior lip: the cyst is not the funnel's fluid, so the canal runs on to col 260.
        labels, (rows, cols) = straight_lips(), np.indices((300, 400))
        grey = grey_for(labels)
        gap = (cols >= 260) & (cols < 300) & (np.abs(rows - 149.5) < (cols - 260) * 0.5 + 1)
        grey[gap], labels[gap] = 20, 0
        grey[np.hypot(rows - 138, cols - 200) < 8] = 20
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.measurable and m.funnel is not None, m.reasons
        assert m.cl_mm == pytest.approx(16.0, abs=0.05)

    def test_shadow_joining_the_gap_is_not_a_funnel(self):
        # A shadow over the last 40 % of the canal where the labels leave a gap beside it: its
        # darkness joins that gap, yet the frame is an acoustic shadow, not a 12 mm funnelled canal.
        labels = straight_lips()
        grey = grey_for(labels)
        grey[:, 220:] = 3
        labels[140:146, 260:300] = 0
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert not m.measurable and m.cl_mm is None
        assert m.reasons == ("acoustic shadow over the canal",)


def funnel_lips(closed_below_mm: float, *, profile: float = 1.0) -> np.ndarray:
    """:func:`straight_lips` (canal from col 100, 0.1 mm pixels) opening into a funnel from its apex
    at col 240 (14.0 mm) to a base 4.8 mm wide at col 300, the lips' end: straight walls (width in
    proportion to the distance from the apex) for ``profile`` 1, rounded below 1. The labels keep as
    lip the part of the funnel narrower than ``closed_below_mm``."""
    labels, (rows, cols) = straight_lips(), np.indices((300, 400))
    width_px = 48.0 * np.clip((cols - 240) / 60, 0, 1) ** profile
    labels[(cols >= 240) & (cols < 300) & (np.abs(rows - 149.5) < width_px / 2) & (width_px >= 10 * closed_below_mm)] = 0
    return labels


class TestHiddenFunnelTip:
    """A straight-walled funnel whose tip the labels draw closed ends where its walls meet."""

    def test_apex_put_back_where_the_walls_meet(self):
        labels = funnel_lips(1.0)  # closed for 1.25 mm past the apex
        as_drawn = measure_cervix(labels, (0.1, 0.1))
        m = measure_cervix(labels, (0.1, 0.1), limits=QualityLimits(funnel_tip_mm=1.0))
        assert as_drawn.cl_mm == pytest.approx(15.3, abs=0.1)
        assert m.cl_mm == pytest.approx(14.0, abs=0.1)
        assert m.funnel.length_mm == pytest.approx(6.0, abs=0.15) and m.funnel.shape == "V"  # 30 %: V, no longer Y
        assert m.funnel.mid_width_mm == pytest.approx(2.4, abs=0.15)  # the walls' width halfway from their meeting point
        assert m.internal_os_px == pytest.approx(m.funnel.apex_px)
        assert m.funnel.apex_extended_mm == pytest.approx(1.0 * 4.65 / (4.8 - 1.0))  # from the funnel first found
        assert as_drawn.funnel.apex_extended_mm == 0.0

    def test_exact_labels_are_measured_as_drawn(self):
        assert measure_cervix(funnel_lips(0.0), (0.1, 0.1)).cl_mm == pytest.approx(14.0, abs=0.25)

    def test_a_funnel_is_judged_on_its_length_with_the_tip_put_back(self):
        # funnel_lips' V funnel drawn only where it is at least 3 mm wide: 2.15 mm seen, under the
        # 3.5 mm of funnelling, so no funnel and the canal runs to where the lips part (17.8 mm).
        # With a 3 mm tip drawn closed (the most put back), it is 5.15 mm long and counts.
        labels = funnel_lips(3.0)
        as_drawn = measure_cervix(labels, (0.1, 0.1))
        m = measure_cervix(labels, (0.1, 0.1), limits=QualityLimits(funnel_tip_mm=3.0))
        assert as_drawn.funnel is None and as_drawn.cl_mm == pytest.approx(17.8, abs=0.05)
        assert measure_cervix(labels, (0.1, 0.1), limits=QualityLimits(min_funnel_mm=2.0)).funnel.length_mm == pytest.approx(2.15, abs=0.05)
        assert m.funnel.length_mm == pytest.approx(5.15, abs=0.05) and m.funnel.apex_extended_mm == 3.0
        assert m.cl_mm == pytest.approx(14.8, abs=0.05)

    def test_a_rounded_funnel_is_left_as_found(self):
        labels = funnel_lips(1.0, profile=0.45)
        m = measure_cervix(labels, (0.1, 0.1), limits=QualityLimits(funnel_tip_mm=1.0))
        assert m.funnel.shape == "U"
        assert m.cl_mm == measure_cervix(labels, (0.1, 0.1)).cl_mm

    @pytest.mark.parametrize(
        ("length", "width", "mid", "tip", "hidden"),
        [
            (6.0, 4.0, 2.5, 1.0, 2.0),  # straight walls: (4 + 1) / 2 wide halfway
            (4.75, 4.8, 2.9, 1.0, 1.25),  # the funnel of the tests above
            (6.0, 4.0, 2.7, 1.0, 2.0),  # 0.55 x 4 + 1 / 2: still straight
            (6.0, 4.0, 2.8, 1.0, 0.0),  # rounded: wider halfway
            (20.0, 3.0, 1.5, 1.0, 3.0),  # at most 3 mm
            (6.0, 1.0, 0.5, 1.0, 0.0),  # no wider than the tip
            (6.0, 4.0, 2.0, 0.0, 0.0),  # exact label maps
        ],
    )
    def test_length_of_the_tip_drawn_closed(self, length, width, mid, tip, hidden):
        assert hidden_tip_mm(length, width, mid, tip) == pytest.approx(hidden)

    def test_arrays_broadcast(self):
        assert hidden_tip_mm([6.0, 20.0], [4.0, 3.0], [2.0, 1.5], [[0.0], [1.0]]).tolist() == [[0.0, 0.0], [2.0, 3.0]]


@pytest.mark.parametrize("length_mm,small", [(3.5, True), (4.994, True), (4.995, False), (5.0, False), (12.0, False)])
def test_a_small_funnel_is_judged_on_its_length_to_a_hundredth_of_a_mm(length_mm, small):
    assert is_small_funnel(length_mm) is small  # 4.995 is kept as 5.0 in the results database: not small


class TestFunnelBase:
    """The base of a funnel is where its fluid meets the lips' hull, not the hull's whole chord."""

    def test_tissue_left_between_rounded_lips_and_the_hull_is_not_funnel(self):
        # funnel_lips' V funnel opens 4.8 mm wide at the lips' end (col 300). A model rounds the
        # lips' corners there: its labels leave 1.2 mm of each lip's end out, 2.0-5.5 mm either side
        # of the axis, tissue in the image. That gap joins the funnel's: from the labels alone the
        # base is the hull's chord, 11.0 mm; with the image, the funnel's fluid (4.8 mm) and
        # FLUID_REACH_MM (1.5 mm) either side of it, 7.8 mm, whatever the darkness just outside the hull's
        # corners reads as (the fluid of the funnel's own gap counts). The length and canal stay.
        exact = funnel_lips(0.0)
        grey = grey_for(exact)
        rows, cols = np.indices(exact.shape)
        drawn = exact.copy()
        drawn[(cols >= 288) & (np.abs(rows - 149.5) >= 20) & (np.abs(rows - 149.5) < 55)] = 0
        as_exact, labels_only, m = (measure_cervix(lips, (0.1, 0.1), grey=g) for lips, g in ((exact, grey), (drawn, None), (drawn, grey)))
        assert as_exact.funnel.width_mm == pytest.approx(4.8)
        assert labels_only.funnel.width_mm == pytest.approx(11.0)
        assert m.funnel.width_mm == pytest.approx(7.8, abs=0.05)
        assert m.funnel.length_mm == as_exact.funnel.length_mm and m.cl_mm == as_exact.cl_mm

    def test_fluid_that_fades_before_the_mouth_keeps_the_funnel(self):
        # funnel_lips' V funnel (apex at col 240, base 4.8 mm wide at col 300) dark only from its apex
        # to col 280: beyond, echoes (in the amniotic fluid, or the beam's falling gain) as bright as
        # half the lips. Its fluid and FLUID_REACH_MM beyond stop 0.4 mm short of the lips' end, yet
        # the funnel is there: the whole gap is taken, its base on the hull's chord, and it measures
        # as the same funnel dark to its mouth does.
        labels = funnel_lips(0.0)
        dark = grey_for(labels)
        fading = dark.copy()
        fading[(np.indices(labels.shape)[1] >= 280) & (labels == 0)] = 100
        m, as_dark = (measure_cervix(labels, (0.1, 0.1), grey=g) for g in (fading, dark))
        assert m.measurable and m.funnel is not None, m.reasons
        assert (m.funnel.length_mm, m.funnel.width_mm, m.cl_mm) == (as_dark.funnel.length_mm, as_dark.funnel.width_mm, as_dark.cl_mm)
        assert as_dark.funnel.width_mm == pytest.approx(4.8)
        assert (m.funnel.base_on_hull, as_dark.funnel.base_on_hull) == (True, False)
        assert type(m.funnel.base_on_hull) is bool  # the record's type, not numpy's bool


class TestFunnelWalls:
    """A funnel's two walls are about equally long; a wedge of the cavity beside one lip's end is no funnel."""

    @staticmethod
    def wedge(*, both_sides: bool) -> tuple[np.ndarray, np.ndarray]:
        # straight_lips 12 mm thick, the canal closed to its end (col 300, 20.0 mm). The posterior
        # lip is drawn on past that end for 3.6 mm, sloping away at 45 degrees, as a model draws
        # the uterine wall beyond the os; the amniotic fluid fills the rest beyond the os.
        labels, (rows, cols) = straight_lips(thickness_px=120, shape=(400, 400)), np.indices((400, 400))
        drawn_on = (cols >= 300) & (cols < 336) & (rows >= cols - 96) & (rows < 320)
        labels[drawn_on] = 2
        if both_sides:
            labels[np.flipud(drawn_on)] = 1
        grey = grey_for(labels)
        grey[(cols >= 300) & (labels == 0)] = 20
        return labels, grey

    def test_a_wedge_beside_one_lips_end_is_no_funnel(self):
        # The fluid inside the hull runs from the canal's end 11.7 mm along the anterior lip's end
        # and 5.2 mm along the drawn-on tissue: 4.3 mm "long", but its walls are lopsided.
        labels, grey = self.wedge(both_sides=False)
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.measurable and m.funnel is None, m.reasons
        assert m.cl_mm == pytest.approx(20.0, abs=0.05)

    def test_walls_are_compared_in_mm(self):
        # The same labels with pixels twice as wide (0.2 mm) as tall: the drawn-on wall is now 8.1 mm
        # against 11.7, not lopsided, and the wedge is a 5.3 mm funnel on a 40.0 mm canal.
        labels, grey = self.wedge(both_sides=False)
        m = measure_cervix(labels, (0.1, 0.2), grey=grey)
        assert m.funnel is not None and m.funnel.length_mm == pytest.approx(5.31, abs=0.05)
        assert m.cl_mm == pytest.approx(40.0, abs=0.05)

    def test_the_same_wedge_on_both_sides_is_a_funnel(self):
        labels, grey = self.wedge(both_sides=True)
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.funnel is not None and m.funnel.length_mm == pytest.approx(3.55, abs=0.05)
        assert m.funnel.width_mm == pytest.approx(7.8, abs=0.05)
        assert m.cl_mm == pytest.approx(20.0, abs=0.05)


class TestBridging:
    """Notches between the lips narrower than the scanner resolves do not end the canal."""

    def test_lips_drawn_short_of_the_internal_os(self):
        # The anterior lip's labels stop 0.6 mm short of the canal over its last 1.5 mm: the image
        # still shows tissue and the canal there, so the canal runs to the lips' end, 20.0 mm.
        full = straight_lips()
        labels = full.copy()
        labels[144:150, 285:300] = 0
        m = measure_cervix(labels, (0.1, 0.1), grey=grey_for(full))
        assert m.measurable, m.reasons
        assert m.cl_mm == pytest.approx(20.0, abs=0.1)

    def test_lips_drawn_short_with_fluid_elsewhere_between_them(self):
        # The same notch, and 4 mm^2 of fluid in a dent of the anterior lip's outer surface, inside
        # the lips' hull: enough for a funnel, so the unbridged canal is followed first; its end
        # holds no fluid, so no funnel, and the notch is bridged as before.
        full = straight_lips()
        labels = full.copy()
        labels[144:150, 285:300] = 0
        labels[90:100, 180:220] = 0
        grey = grey_for(full)
        grey[90:100, 180:220] = 20
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.measurable and m.funnel is None, m.reasons
        assert m.cl_mm == pytest.approx(20.0, abs=0.1)

    def test_a_funnel_apex_is_not_bridged(self):
        # The canal opening into a funnel 4 mm long whose labels part at col 262 (two pixels wide):
        # the apex stays there, 16.2 mm, though the funnel's first 2 mm are narrower than a bridge.
        labels, (rows, cols) = straight_lips(), np.indices((300, 400))
        grey = grey_for(labels)
        gap = (cols >= 260) & (cols < 300) & (np.abs(rows - 149.5) < (cols - 260) * 0.5)
        grey[gap], labels[gap] = 20, 0
        m = measure_cervix(labels, (0.1, 0.1), grey=grey)
        assert m.measurable and m.funnel is not None, m.reasons
        assert m.cl_mm == pytest.approx(16.2, abs=0.05)

    def test_closing_treats_the_array_edge_as_background(self):
        from cervical_length.measure._masks import close

        mask = np.zeros((30, 40), dtype=bool)
        mask[:25, :20] = True  # touches the top and left edges
        slot = np.zeros_like(mask)
        slot[12:14, 10:20] = True  # a notch 2 pixels wide, open to the right
        closed = close(mask & ~slot, 3)
        np.testing.assert_array_equal(closed, mask)  # the notch filled, nothing grown at the edges


class TestWindow:
    def test_a_view_inside_and_a_padded_copy_past_the_edge(self):
        from cervical_length.measure._masks import window

        array = np.arange(2 * 4 * 5).reshape(2, 4, 5)
        inside = window(array, (1, 1, 3, 4), -1)
        np.testing.assert_array_equal(inside, array[:, 1:3, 1:4])
        assert np.shares_memory(inside, array)
        past = window(array, (-1, 3, 2, 7), -1)
        assert past.shape == (2, 3, 4) and not np.shares_memory(past, array)
        np.testing.assert_array_equal(past[0], [[-1, -1, -1, -1], [3, 4, -1, -1], [8, 9, -1, -1]])


class TestLargestComponent:
    def test_keeps_only_the_largest_four_connected_part(self):
        from cervical_length.measure._masks import largest_component

        mask = np.zeros((20, 30), dtype=bool)
        mask[1:3, 1:4] = True  # 6 pixels
        mask[5:9, 5:8] = True  # 12 pixels
        mask[9, 8] = True  # touches the 12 only diagonally: a part of its own
        mask[12:15, 20:23] = True  # 9 pixels
        expected = np.zeros_like(mask)
        expected[5:9, 5:8] = True
        before = mask.copy()
        np.testing.assert_array_equal(largest_component(mask), expected)
        np.testing.assert_array_equal(mask, before)

    def test_one_part_is_returned_as_it_is(self):
        from cervical_length.measure._masks import largest_component

        mask = np.zeros((5, 5), dtype=bool)
        mask[1:3, 1:3] = True
        np.testing.assert_array_equal(largest_component(mask), mask)


class TestLipThickness:
    @pytest.mark.parametrize("rows", [60, 45])  # 45: the posterior lip reaches the image's last row
    def test_rectangular_lips_with_anisotropic_pixels(self, rows):
        from cervical_length.measure._canal import lip_thicknesses_mm

        anterior, posterior = np.zeros((rows, 100), dtype=bool), np.zeros((rows, 100), dtype=bool)
        anterior[10:30, 10:90] = True  # 20 rows of 0.2 mm: 4.0 mm
        posterior[30:45, 10:90] = True  # 15 rows: 3.0 mm
        canal = np.stack([np.full(161, 29.5), np.linspace(10.0, 90.0, 161)], axis=1)  # on the lips' interface
        before = anterior.copy(), posterior.copy()
        # Probes every 0.25 mm: the last one inside each lip lies at exactly 4.0 and 3.0 mm.
        assert lip_thicknesses_mm((anterior, posterior), canal, (0.2, 0.1)) == (4.0, 3.0)
        np.testing.assert_array_equal(anterior, before[0])
        np.testing.assert_array_equal(posterior, before[1])


def wedge_image(auca_deg: float, spacing: tuple[float, float], *, fluid: bool = True) -> tuple[np.ndarray, dict]:
    """A frame with amniotic fluid (grey 20) in tissue (grey 150) beyond an internal os at pixel
    (300, 400): the fluid lies between the anterior wall, at ``auca_deg`` from the canal's line,
    and a posterior wall at 110 degrees on the other side. Returns the image and the call's points."""
    scale = np.asarray(spacing)
    os_px = np.array([300.0, 400.0])
    chord = np.array([-0.6, -0.8])  # (row, col) mm, toward the external os
    normal = np.array([0.8, -0.6])  # the anterior side
    rows, cols = np.mgrid[0:600, 0:800]
    rel = (np.stack([rows, cols], axis=-1) - os_px) * scale
    theta = np.degrees(np.arctan2(rel @ normal, rel @ chord)) % 360.0
    grey = np.full((600, 800), 150, dtype=np.uint8)
    if fluid:
        grey[(theta > auca_deg) & (theta < 250.0)] = 20
    points = {
        "internal_os_px": tuple(os_px),
        "external_os_px": tuple(os_px + 30.0 * chord / scale),
        "wall_start_px": tuple(os_px),
        "anterior_px": tuple(os_px + (5.0 * chord + 5.0 * normal) / scale),
        "spacing_mm": spacing,
        "lip_level": 150.0,
    }
    return grey, points


class TestAuca:
    @pytest.mark.parametrize("auca", [95.0, 120.0, 145.0])
    @pytest.mark.parametrize("spacing", [(0.1, 0.1), (0.15, 0.1)])
    def test_angle_of_a_known_wall(self, auca, spacing):
        grey, points = wedge_image(auca, spacing)
        before = grey.copy()
        result = anterior_uterocervical_angle(grey, None, **points)
        assert result is not None and result.angle_deg == pytest.approx(auca, abs=1.0)
        # The wall's drawn line starts near the os (within the first radius looked at) and runs outward.
        os_px = np.array(points["internal_os_px"])
        near, far = (np.hypot(*((np.array(p) - os_px) * spacing)) for p in result.wall_px)
        assert near <= 6.0 and far >= 20.0
        np.testing.assert_array_equal(grey, before)

    def test_a_sludge_echo_in_the_fluid_does_not_bend_the_wall(self):
        grey, points = wedge_image(120.0, (0.1, 0.1))
        cv2.circle(grey, (439, 392), 12, 150, -1)  # 2.4 mm across, in the fluid 10 mm out at 150 degrees: it stops the walk
        result = anterior_uterocervical_angle(grey, None, **points)
        assert result is not None and result.angle_deg == pytest.approx(120.0, abs=1.0)

    def test_fluid_bounded_by_a_lip_is_no_wall(self):
        # The same tissue labelled as lip within 12 mm of the os (a window of the lips' mask placed
        # at (170, 270)): the fluid's edge there is the lip, and the wall seen only from 12.5 mm
        # out starts too far from the os for an angle.
        grey, points = wedge_image(120.0, (0.1, 0.1))
        assert anterior_uterocervical_angle(grey, None, **points) is not None
        rows, cols = np.mgrid[0:600, 0:800]
        lips = (grey == 150) & (np.hypot(rows - 300, cols - 400) * 0.1 <= 12.0)
        window = lips[170:430, 270:530]
        assert anterior_uterocervical_angle(grey, None, lips=window, lips_origin_px=(170, 270), **points) is None

    def test_no_fluid_beyond_the_os_gives_no_angle(self):
        grey, points = wedge_image(120.0, (0.1, 0.1), fluid=False)
        assert anterior_uterocervical_angle(grey, None, **points) is None

    def test_a_wall_that_leaves_the_sector_within_8_mm_gives_no_angle(self):
        grey, points = wedge_image(120.0, (0.1, 0.1))
        rows, cols = np.mgrid[0:600, 0:800]
        fan = np.hypot(rows - 300, cols - 400) * 0.1 <= 9.0  # the sector ends 9 mm from the os
        assert anterior_uterocervical_angle(grey, fan, **points) is None

    @pytest.mark.parametrize(("case", "seed"), [("normal", 200), ("short", 203), ("funnel", 204)])
    def test_phantoms_that_show_the_wall(self, case, seed):
        phantom = generate(seed, case=case)
        truth, m = phantom.truth, measure_exact(phantom)
        assert truth.auca_visible
        assert m.auca is not None and m.auca.angle_deg == pytest.approx(truth.auca_deg, abs=2.5)

    @pytest.mark.parametrize(("case", "seed"), [("normal", 203), ("short", 204)])  # the wall leaves the sector; a fetal head against it
    def test_phantoms_that_do_not_show_the_wall(self, case, seed):
        phantom = generate(seed, case=case)
        truth, m = phantom.truth, measure_exact(phantom)
        assert not truth.auca_visible
        assert m.measurable and m.auca is None


class TestFunnelShape:
    @pytest.mark.parametrize("percent,ratio,letter", [(10, 0.5, "Y"), (24.9, 0.5, "Y"), (25, 0.5, "V"), (45, 0.6, "V"), (45, 0.65, "U"), (15, 0.8, "U")])
    def test_rule(self, percent, ratio, letter):
        assert funnel_shape(percent, ratio) == letter


class TestExam:
    def _m(self, cl, confidence, measurable=True):
        return Measurement(measurable, () if measurable else ("x",), cl_mm=cl if measurable else None, cl_straight_mm=cl, confidence=confidence)

    def test_shortest_of_best_three(self):
        frames = [(("1.2", k), self._m(cl, conf)) for k, (cl, conf) in enumerate([(30, 0.99), (28, 0.98), (33, 0.97), (20, 0.90), (31, 0.5)], 1)]
        frames.append((("1.2", 6), self._m(None, 0.99, measurable=False)))
        exam = exam_result(frames)
        assert exam.frames_used == (("1.2", 1), ("1.2", 2), ("1.2", 3))
        assert exam.chosen == ("1.2", 2) and exam.cl_mm == 28
        assert exam.spread_mm == 5 and exam.valid_frames == 5 and exam.total_frames == 6

    def test_one_valid_frame_has_no_spread(self):
        exam = exam_result([(("1.2", 1), self._m(27.5, 0.9)), (("1.2", 2), self._m(None, 0.99, measurable=False))])
        assert (exam.cl_mm, exam.frames_used, exam.spread_mm, exam.valid_frames) == (27.5, (("1.2", 1),), None, 1)

    def test_no_valid_frame(self):
        exam = exam_result([(("1.2", 1), self._m(None, 0.9, measurable=False))])
        assert exam.cl_mm is None and exam.frames_used == () and exam.valid_frames == 0


def test_band_around_a_dense_line_reaches_as_far_as_asked():
    from scipy.spatial import cKDTree

    from cervical_length.measure._masks import near_line

    theta = np.arange(0.0, 1.5, 0.5 / 100.0)  # an arc of radius 100 px sampled every 0.5 px
    points = np.stack([150 + 100 * np.sin(theta), 50 + 100 * (1 - np.cos(theta))], axis=1)
    band = near_line(points, (300, 300), 6.0)
    distance, _ = cKDTree(points).query(np.indices((300, 300)).reshape(2, -1).T)
    distance = distance.reshape(300, 300)
    assert band[distance <= 5.5].all()  # drawn from every 4th point, yet nothing near is missed
    assert not band[distance > 8.0].any()


def test_select_labels_equals_isin():
    from cervical_length.measure._masks import select_labels

    labels = np.random.default_rng(1).integers(0, 9, size=(30, 40)).astype(np.int32)
    for wanted in ([3], [1, 4], [1, 4, 8], [8], []):
        np.testing.assert_array_equal(select_labels(labels, np.array(wanted, dtype=int)), np.isin(labels, wanted))


class TestMaskHelpers:
    """The measurement's faster forms of standard operations give the standard results exactly."""

    @pytest.mark.parametrize("radius", [1, 3, 7, 10])
    def test_closing_equals_opencv_closing_by_its_elliptic_disc(self, radius):
        from cervical_length.measure._masks import close

        rng = np.random.default_rng(radius)
        mask = cv2.GaussianBlur(rng.random((60, 70)).astype(np.float32), (0, 0), 2.0) > 0.5
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        padded = np.pad(mask.view(np.uint8), radius + 1)
        expected = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[radius + 1 : -radius - 1, radius + 1 : -radius - 1]
        before = mask.copy()
        np.testing.assert_array_equal(close(mask, radius), expected.view(bool))
        np.testing.assert_array_equal(mask, before)

    def test_pixels_of_lists_them_as_argwhere_does(self):
        from cervical_length.measure._masks import pixels_of

        mask = np.random.default_rng(2).random((20, 30)) < 0.2
        np.testing.assert_array_equal(pixels_of(mask), np.argwhere(mask))
        assert pixels_of(np.zeros((4, 5), dtype=bool)).shape == (0, 2)

    def test_centroid_of_a_rectangle_and_of_an_l_shape(self):
        from cervical_length.measure._masks import centroid_px

        mask = np.zeros((20, 30), dtype=bool)
        mask[4:8, 10:20] = True
        np.testing.assert_allclose(centroid_px(mask), [5.5, 14.5], rtol=0, atol=1e-12)
        mask[8:14, 10:12] = True  # 12 more pixels, centred at (10.5, 10.5)
        np.testing.assert_allclose(centroid_px(mask), np.argwhere(mask).mean(axis=0), rtol=0, atol=1e-12)

    def test_quantiles_are_the_lowest_levels_reaching_each_share(self):
        from cervical_length.measure._masks import quantiles_u8

        image = np.arange(100, dtype=np.uint8).reshape(10, 10)
        mask = image >= 40  # the levels 40-99, 60 pixels
        np.testing.assert_array_equal(quantiles_u8(image, mask, (0.5, 0.9)), [69.0, 93.0])  # 30 and 54 pixels reach them

    @pytest.mark.parametrize(("centre", "expected_px"), [((20.0, 25.0), 23), ((0.0, 25.0), 14), ((20.5, 0.6), 16)])
    def test_disc_with_anisotropic_pixels_clipped_to_the_array(self, centre, expected_px):
        from cervical_length.measure._masks import disc

        # 0.32 mm across 0.1 mm rows and 0.15 mm columns: an ellipse 3.2 rows and 2.13 columns in radius.
        box, inside = disc((40, 50), np.array(centre), 0.32, (0.1, 0.15))
        rows, cols = np.indices((40, 50))
        expected = ((rows - centre[0]) / 3.2) ** 2 + ((cols - centre[1]) / (0.32 / 0.15)) ** 2 <= 1.0
        found = np.zeros((40, 50), dtype=bool)
        found[box] = inside
        np.testing.assert_array_equal(found, expected)
        assert int(inside.sum()) == expected_px

    def test_1mm_mean_is_the_box_mean(self):
        from cervical_length.measure._masks import box_side_1mm_px, mean_1mm

        grey = np.random.default_rng(3).integers(0, 256, size=(40, 50)).astype(np.uint8)
        assert box_side_1mm_px((0.1, 0.1)) == 11
        expected = cv2.blur(grey.astype(np.float64), (11, 11))
        np.testing.assert_allclose(mean_1mm(grey, (0.1, 0.1)), expected, rtol=0, atol=1e-4)


class TestCanalLines:
    """The canal inside the lips' mask is read off the contours of the bridged mask; it must be what
    marching squares finds inside the lips' mask itself."""

    @staticmethod
    def _direct(difference: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from skimage.measure import find_contours

        from cervical_length.measure._canal import _longest

        return _longest(find_contours(cv2.GaussianBlur(difference, (0, 0), 1.0), 0.0, mask=mask))

    @pytest.mark.parametrize("seed", range(6))
    def test_lips_mask_line_equals_contouring_that_mask(self, seed):
        from cervical_length.measure._canal import canal_lines
        from cervical_length.measure._masks import close

        rng = np.random.default_rng(seed)
        labels = arc_lips(150, 60, shape=(400, 400)) if seed % 2 else straight_lips(120, 40, shape=(160, 200))
        rows, cols = np.nonzero(labels)
        for r, c in zip(rows[rng.integers(0, len(rows), 4)], cols[rng.integers(0, len(cols), 4)]):
            labels[r - 2 : r + 2, c - 3 : c + 3] = 0  # notches and holes, some across the canal
        p_ant, p_post = (labels == 1).astype(np.float32), (labels == 2).astype(np.float32)
        cervix = labels > 0
        bridged = close(cervix, 4)
        line, bridged_line = canal_lines(p_ant, p_post, cervix, bridged)
        np.testing.assert_array_equal(line, self._direct(p_ant - p_post, cervix))
        np.testing.assert_array_equal(bridged_line, self._direct(p_ant - p_post, bridged))

    def test_a_closed_loop_broken_by_a_hole(self):
        """An island of one lip inside the other gives a closed zero-level loop; a hole across it,
        closed by the bridging, breaks the loop inside the lips' mask only."""
        from cervical_length.measure._canal import canal_lines
        from cervical_length.measure._masks import close

        labels = np.zeros((80, 100), np.uint8)
        labels[10:70, 10:90] = 1
        labels[25:55, 30:70] = 2
        labels[24:27, 45:48] = 0
        p_ant, p_post = (labels == 1).astype(np.float32), (labels == 2).astype(np.float32)
        cervix = labels > 0
        bridged = close(cervix, 3)
        line, bridged_line = canal_lines(p_ant, p_post, cervix, bridged)
        direct = self._direct(p_ant - p_post, cervix)
        np.testing.assert_array_equal(line, direct)
        np.testing.assert_array_equal(bridged_line, self._direct(p_ant - p_post, bridged))
        assert len(bridged_line) > len(line)  # the loop, whole once the hole is bridged

    def test_no_canal(self):
        from cervical_length.measure._canal import canal_lines

        lip = np.zeros((20, 20), dtype=np.float32)
        lip[5:15, 5:15] = 1
        assert canal_lines(lip, np.zeros_like(lip), lip > 0, lip > 0) == (None, None)


class TestSectorMask:
    def _fan(self):
        """A 60-degree fan from (10, 100) with an anechoic cyst inside and a caption beside it."""
        rows, cols = np.indices((200, 200))
        rho, theta = np.hypot(rows - 10, cols - 100), np.degrees(np.arctan2(cols - 100, rows - 10))
        fan = (rho < 180) & (np.abs(theta) <= 30)
        grey = np.where(fan, 90, 0).astype(np.uint8)
        grey[100:130, 90:115] = 0  # fluid inside the fan
        grey[5:15, 5:40] = 255  # annotation text outside it
        return grey, fan

    def test_fan_holes_filled_annotations_left_out(self):
        from cervical_length.measure import sector_mask

        grey, fan = self._fan()
        before = grey.copy()
        found, apex = sector_mask(grey, None)
        np.testing.assert_array_equal(grey, before)
        assert found[100:130, 90:115].all() and not found[5:15, 5:40].any()
        assert (found != fan).sum() < 0.01 * fan.sum()  # only the fan's pointed tip, rounded by the closing
        assert apex[0] == pytest.approx(10, abs=3) and apex[1] == pytest.approx(100, abs=1)

    def test_fluid_reaching_the_fans_edge_stays_inside_the_probes_footprint_out(self):
        from cervical_length.measure import sector_mask

        rows, cols = np.indices((200, 240))
        rho, theta = np.hypot(rows + 10, cols - 120), np.degrees(np.arctan2(cols - 120, rows + 10))
        fan = (rho >= 40) & (rho < 190) & (np.abs(theta) <= 30)  # a probe 40 px in radius, its apex above the image
        grey = np.where(fan, 90, 0).astype(np.uint8)
        bay = fan & (rho > 140) & (np.abs(theta) < 8)  # amniotic fluid out to the fan's far edge
        grey[bay] = 0
        found, apex = sector_mask(grey, None)
        assert found[bay & (rho < 187)].all()  # the hull's chord across the bay cuts the arc's 2-pixel sagitta
        footprint = (rho < 38) & (np.abs(theta) <= 25)  # under the probe's face: not imaged
        assert not found[footprint].any()
        # Beyond the fan, only the hull's pixels across the staircase of its far arc: each touches the fan.
        assert not (found & ~cv2.dilate(fan.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)).any()
        assert found[fan & ~bay].all()
        assert apex[1] == pytest.approx(120, abs=1)

    def test_bounds_limit_the_search(self):
        from cervical_length.measure import sector_mask

        grey, fan = self._fan()
        found, _ = sector_mask(grey, (0, 0, 199, 99))  # (min col, min row, max col, max row)
        assert not found[100:].any() and found[50, 100]

    def test_black_frame(self):
        from cervical_length.measure import sector_mask

        found, apex = sector_mask(np.zeros((50, 60), np.uint8), None)
        assert not found.any() and apex == (0.0, 29.5)
