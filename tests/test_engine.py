"""Per-file work over folders: one result per frame, one recorded failure per bad file, exams."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cervical_length.dicom import RegionSpec, UltrasoundRegion
from cervical_length.engine import ExamCollector, iter_frame_results, measure_files
from cervical_length.measure import Auca, Funnel, Measurement
from cervical_length.rules import ClinicalContext

from .conftest import alive, cervix_length_item, gradient_rgb, live_children, write_obgyn_report


def test_good_corrupt_and_text_files(make_dicom, tmp_path, pipeline):
    good = make_dicom("exam/good.dcm", frames_rgb=gradient_rgb(frames=3), photometric="MONOCHROME2")
    corrupt = make_dicom("exam/corrupt.dcm", photometric="YBR_FULL_422", compression="jpeg_baseline")
    corrupt.write_bytes(corrupt.read_bytes()[:900])
    (tmp_path / "exam" / "readme.txt").write_text("not an image")
    write_obgyn_report(tmp_path / "exam" / "report.dcm", "1.2.3", [cervix_length_item("30.0")])
    results = [item.result for item in iter_frame_results(pipeline, [tmp_path / "exam"])]
    by_file = {}
    for r in results:
        by_file.setdefault(r.file.rsplit("/", 1)[-1], []).append(r)
    assert [r.frame for r in by_file["good.dcm"]] == [1, 2, 3]
    assert by_file["good.dcm"][0].mm_per_pixel_x == pytest.approx(0.1)
    # A ramp holds no cervix: read, segmented, and honestly not measured.
    assert {r.status for r in by_file["good.dcm"]} == {"not_measurable"}
    assert all(r.cl_mm is None and r.reasons for r in by_file["good.dcm"])
    (bad,) = by_file["corrupt.dcm"]
    assert bad.status == "failed" and bad.frame is None and bad.error.startswith("CorruptDicomError: ")
    (text,) = by_file["readme.txt"]
    assert text.status == "failed" and "NotDicomError: not a DICOM file" in text.error
    (report,) = by_file["report.dcm"]  # a PACS export's structured report: no image, and no failure
    assert report.status == "not_an_image" and report.frame is None and report.error.startswith("MissingPixelDataError: has no Pixel Data")
    assert str(good) in by_file["good.dcm"][0].file


@pytest.mark.parametrize("seg, held", [(False, [0, 1, 1]), (True, [0, 1, 2])])
def test_label_maps_are_held_only_for_a_dicom_seg(tmp_path, seg, held):
    # A cine of thousands of frames would otherwise keep every label map until its last frame (the
    # loop's last item holds one while the next is made).
    import weakref
    from types import SimpleNamespace

    from cervical_length.engine import FrameResult, MeasuredFrame
    from cervical_length.engine._run import _measured_file, _Options

    maps, still_held = [], []

    class Frames:
        def measure_file(self, path, **options):
            for number in (1, 2, 3):
                still_held.append(sum(ref() is not None for ref in maps))  # earlier maps still in memory
                labels = np.zeros((4, 4), np.uint8)
                maps.append(weakref.ref(labels))
                row = FrameResult(str(path), "1.2.3", "", "", number, 0.1, 0.1, "region", "measured")
                yield MeasuredFrame(row, object(), SimpleNamespace(labels=labels), Measurement(True, ()))

    options = _Options(None, None, False, tmp_path if seg else None)
    outcomes = _measured_file(Frames(), tmp_path / "cine.dcm", options)
    assert still_held == held and len(outcomes) == 3


def test_uncalibrated_and_user_scale(make_dicom, pipeline):
    path = make_dicom(regions=[])
    (plain,) = iter_frame_results(pipeline, [path])
    assert (plain.result.status, plain.result.calibration_source, plain.result.mm_per_pixel_x) == ("uncalibrated", "none", None)
    assert "uncalibrated" in plain.result.reasons
    (scaled,) = iter_frame_results(pipeline, [path], user_mm_per_pixel=(0.2, 0.25))
    assert (scaled.result.calibration_source, scaled.result.mm_per_pixel_y) == ("user", 0.25)


def test_header_warnings_become_notes_not_output(make_dicom, recwarn, pipeline):
    path = make_dicom(regions=[RegionSpec((0, 0, 999, 999), 0.01, 0.01)], modality="OT")
    (item,) = iter_frame_results(pipeline, [path])
    assert "clipped" in item.result.notes and "Modality is OT" in item.result.notes
    assert str(path) not in item.result.notes  # the file is its own column
    assert not [w for w in recwarn if "cervical_length" in str(w.category)]


def test_output_folder_inside_input_is_skipped(make_dicom, tmp_path, pipeline):
    make_dicom("a.dcm")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "measurements.csv").write_text("file\n")
    files = {i.result.file for i in iter_frame_results(pipeline, [tmp_path], exclude=[tmp_path / "results"])}
    assert files == {str(tmp_path / "a.dcm")}


def test_exam_rows_group_frames_by_study(make_dicom, pipeline):
    items = list(iter_frame_results(pipeline, [make_dicom(frames_rgb=gradient_rgb(frames=2), study_uid="1.2.3", accession_number="ACC1")]))
    # Known measurements in place of the untrained model's: the exam takes the shortest of the best three.
    collector = ExamCollector()
    for item, (cl, conf, angle) in zip(items, [(31.0, 0.95, 131.0), (29.5, 0.9, 112.0)]):
        auca = Auca(angle, ((0.0, 0.0), (1.0, 1.0)))
        collector.add(item.result, Measurement(True, (), cl_mm=cl, cl_straight_mm=cl, confidence=conf, auca=auca))
    (row,) = collector.rows()
    assert (row.study_instance_uid, row.accession_number, row.frames, row.valid_frames, row.cl_mm, row.spread_mm) == ("1.2.3", "ACC1", 2, 2, 29.5, 1.5)
    assert row.chosen_frame == 2 and row.frames_used.endswith(":1;" + row.chosen_sop_instance_uid + ":2")
    assert row.auca_deg == 112.0  # the chosen frame's
    assert row.near_25_mm == 0  # 29.5 mm: more than 2.5 mm from 25


def test_a_study_whose_files_carry_different_accession_numbers_is_not_combined(make_dicom, pipeline):
    # One Study Instance UID over two orders: most often two patients' images under a reused UID.
    paths = [make_dicom(study_uid="1.2.3", accession_number=acc) for acc in ("ACC1", "ACC2", "", "ACC1")]
    items = [item for path in paths for item in iter_frame_results(pipeline, [path])]
    collector = ExamCollector()
    for item, cl in zip(items, (31.0, 18.0, 24.0, 30.0)):
        collector.add(item.result, Measurement(True, (), cl_mm=cl, cl_straight_mm=cl, confidence=0.95))
    contexts = {("accession_number", "ACC1"): ClinicalContext(ga_days=20 * 7, plurality="twins")}
    (row,) = collector.rows(contexts)
    assert (row.study_instance_uid, row.accession_number, row.status, row.files, row.frames, row.valid_frames) == ("1.2.3", "ACC1; ACC2", "not_combined", 4, 4, 4)
    assert (row.cl_mm, row.chosen_frame, row.frames_used, row.spread_mm, row.near_25_mm, row.assessment) == (None, None, "", None, None, None)
    assert row.reasons == (
        "its files carry 2 accession numbers (ACC1, ACC2): not combined into one exam, as one Study Instance UID "
        "may hold different patients' images (check the archive)"
    )
    collector = ExamCollector()  # a file without an accession number contradicts none
    for item in (items[0], items[2], items[3]):
        collector.add(item.result, Measurement(True, (), cl_mm=30.0, cl_straight_mm=30.0, confidence=0.95))
    (row,) = collector.rows(contexts)
    assert (row.accession_number, row.status, row.cl_mm, row.assessment is not None) == ("ACC1", "measured", 30.0, True)


def test_an_image_in_several_files_counts_once_in_its_exam(make_dicom, pipeline, tmp_path):
    first = make_dicom("a/cine.dcm", frames_rgb=gradient_rgb(frames=2), study_uid="1.2.3")
    copy = tmp_path / "backup" / "cine.dcm"  # an archive holding a copy of a folder
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    collector = ExamCollector()
    for path in (first, copy):
        for item, cl in zip(iter_frame_results(pipeline, [path]), (31.0, 29.5)):
            collector.add(item.result, Measurement(True, (), cl_mm=cl, cl_straight_mm=cl, confidence=0.95))
    (row,) = collector.rows()
    sop = row.chosen_sop_instance_uid
    assert (row.files, row.frames, row.valid_frames, row.cl_mm, row.spread_mm) == (1, 2, 2, 29.5, 1.5)
    assert row.frames_used == f"{sop}:1;{sop}:2"
    assert collector.copies() == {sop: [str(first), str(copy)]}


def test_a_copy_cut_short_loses_no_frame_the_whole_one_has(make_dicom, pipeline, tmp_path):
    whole = make_dicom("a/cine.dcm", frames_rgb=gradient_rgb(frames=3), study_uid="1.2.3", photometric="MONOCHROME2")
    cut = tmp_path / "cut" / "cine.dcm"  # the same image, its copy cut inside frame 2, listed first
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: -int(1.5 * 160 * 120)])
    collector = ExamCollector()
    for path in (cut, whole):
        for item in iter_frame_results(pipeline, [path]):
            m = Measurement(True, (), cl_mm=30.0 - item.result.frame, cl_straight_mm=30.0, confidence=0.95) if item.result.frame else None
            collector.add(item.result, m)
    (row,) = collector.rows()
    assert (row.files, row.frames, row.cl_mm, row.chosen_frame) == (2, 3, 27.0, 3)  # frame 1 from the cut copy, 2 and 3 from the whole one


@pytest.mark.parametrize("cl,near", [(22.4, 0), (22.5, 1), (27.5, 1), (27.6, 0), (22.496, 1), (27.504, 1), (None, None)])
def test_exam_rows_flag_a_length_near_25_mm(make_dicom, pipeline, cl, near):
    # 27.504 mm is the 27.50 the row carries: flagged as that value is, not left unflagged beside it.
    (item,) = iter_frame_results(pipeline, [make_dicom(study_uid="1.2.3")])
    collector = ExamCollector()
    measured = Measurement(True, (), cl_mm=cl, cl_straight_mm=cl, confidence=0.95) if cl is not None else Measurement(False, ("os not found",))
    collector.add(item.result, measured)
    (row,) = collector.rows()
    assert row.near_25_mm == near


def test_the_rules_judge_the_length_the_exam_row_carries(make_dicom, pipeline):
    # 25.004 mm is carried as 25.00 and shown as 25.0 with a "CL <= 25 mm" badge: the short-cervix
    # rule must agree with it, not judge the unrounded length on the other side of 25 mm.
    (item,) = iter_frame_results(pipeline, [make_dicom(study_uid="1.2.3")])
    collector = ExamCollector()
    collector.add(item.result, Measurement(True, (), cl_mm=25.004, cl_straight_mm=25.0, confidence=0.95))
    (row,) = collector.rows({("study_instance_uid", "1.2.3"): ClinicalContext(ga_days=20 * 7)})
    assert row.cl_mm == 25.0 and "SHORT-CERVIX" in row.rule_findings.split(";")
    assert "CL 25.0 mm <= 25 mm" in next(r for r in row.assessment.findings if r.id == "SHORT-CERVIX").comparisons


def test_an_exam_with_no_measurable_frame_says_why_its_first_frame_was_declined(make_dicom, pipeline):
    items = list(iter_frame_results(pipeline, [make_dicom(frames_rgb=gradient_rgb(frames=2), study_uid="1.2.3")]))
    collector = ExamCollector()
    reasons = [("out-of-plane view: the endocervical canal is not visible", "acoustic shadow over the canal"), ("cervix not found",)]
    for item, why in zip(items, reasons):
        collector.add(item.result, Measurement(False, why))
    (row,) = collector.rows()
    assert (row.status, row.cl_mm) == ("not_measurable", None)
    assert row.reasons == "out-of-plane view: the endocervical canal is not visible; acoustic shadow over the canal"
    collector.add(items[0].result, Measurement(True, (), cl_mm=30.0, cl_straight_mm=30.0, confidence=0.95))
    (row,) = collector.rows()
    assert (row.status, row.reasons) == ("measured", "")  # a measured exam's declined frames are in measurements.csv


@pytest.mark.parametrize("funnel_mm,length,small", [(4.99, 4.99, 1), (4.996, 5.0, 0), (5.0, 5.0, 0), (19.5, 19.5, 0), (None, None, 0), ("not measured", None, None)])
def test_exam_rows_give_the_chosen_frame_s_funnel_and_flag_a_small_one(make_dicom, pipeline, funnel_mm, length, small):
    (item,) = iter_frame_results(pipeline, [make_dicom(study_uid="1.2.3")])
    collector = ExamCollector()
    if funnel_mm == "not measured":
        measured = Measurement(False, ("os not found",))
    else:
        funnel = None if funnel_mm is None else Funnel(funnel_mm, 8.0, 20.0, "V", (0.0, 0.0), ((0.0, 0.0), (0.0, 1.0)))
        measured = Measurement(True, (), cl_mm=30.0, cl_straight_mm=30.0, confidence=0.95, funnel=funnel)
    collector.add(item.result, measured)
    (row,) = collector.rows()
    assert (row.funnel_length_mm, row.small_funnel) == (length, small)


def test_worker_processes_give_the_same_rows_in_the_same_order(make_dicom, tmp_path, random_model):
    for k in range(3):
        make_dicom(f"in/{k}.dcm", frames_rgb=gradient_rgb(frames=2))
    (tmp_path / "in" / "bad.dcm").write_text("not DICOM")
    one = [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model, workers=1) for r, _ in outcomes]
    two = [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model, workers=2, overlays=tmp_path) for r, _ in outcomes]
    assert one == two and len(one) == 7
    assert len(list(tmp_path.glob("*.png"))) == 6  # the workers wrote every frame's overlay


def _dies_on(path: Path) -> list:
    """A pool task that kills its process on files named bad*, and on once* the first time only."""
    marker = path.with_suffix(".died")
    if path.name.startswith("bad") or (path.name.startswith("once") and not marker.exists()):
        marker.touch()
        os._exit(3)
    return [(path.name, None)]


def _spawned(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


@pytest.mark.parametrize("doomed", ["bad", "once"])
def test_a_worker_that_dies_neither_hangs_nor_stops_the_run(tmp_path, doomed):
    # "bad" kills every process it is given to (a decoder crashing on its data): it gets a failure
    # row. "once" kills the first only (a worker killed from outside): measured on the second try.
    from cervical_length.engine._run import _pooled

    names = ["a", "b", "c", doomed, "d", "e", "f", "g", "h", "i", "j", "k"]
    rows = list(_pooled([tmp_path / n for n in names], _dies_on, _spawned, 2))
    assert [path.name for path, _ in rows] == names  # file order kept through the broken pools
    by_name = {path.name: outcomes for path, outcomes in rows}
    assert all(by_name[n] == [(n, None)] for n in names if n != "bad"), by_name
    if doomed == "bad":
        ((failure, measurement),) = by_name["bad"]
        assert failure.status == "failed" and measurement is None
        assert failure.error.startswith("WorkerDiedError: its worker process died measuring it alone")


def test_workers_end_with_a_run_killed_by_sigkill(make_dicom, tmp_path, random_model):
    for k in range(6):
        make_dicom(f"in/{k}.dcm", frames_rgb=gradient_rgb(frames=2))
    command = [sys.executable, "-m", "cervical_length.cli", "measure", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--model", str(random_model), "--workers", "2", "-q"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and run.poll() is None and time.monotonic() < deadline:
        workers = live_children(run.pid, b"spawn_main")
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert len(workers) == 2  # seen while the run was going
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "workers outlived the killed run"


def test_a_single_file_is_measured_without_a_pool(make_dicom, tmp_path, random_model, monkeypatch):
    import cervical_length.engine._run as run

    path = make_dicom("one.dcm", frames_rgb=gradient_rgb(frames=2))
    expected = [r for _, outcomes in measure_files([path], model=random_model, workers=1) for r, _ in outcomes]

    def no_pool(method):
        raise AssertionError("a pool was started for one file")

    monkeypatch.setattr(run.multiprocessing, "get_context", no_pool)
    assert [r for _, outcomes in measure_files([path], model=random_model, workers=2) for r, _ in outcomes] == expected


def test_frames_counted_from_headers_until_enough(make_dicom, tmp_path):
    from cervical_length.engine._run import _frames_at_least

    files = [make_dicom("three.dcm", frames_rgb=gradient_rgb(frames=3)), tmp_path / "bad.dcm", make_dicom("one.dcm")]
    files[1].write_text("not DICOM")  # counts as one frame: its own run reports it
    assert _frames_at_least(files, 5) and not _frames_at_least(files, 6)
    assert _frames_at_least(files, 3) and not _frames_at_least([], 1)


@pytest.mark.parametrize("threshold, pooled", [(1000, False), (4, True)])
def test_default_workers_start_a_pool_only_for_enough_frames(make_dicom, tmp_path, random_model, monkeypatch, threshold, pooled):
    import multiprocessing

    import cervical_length.engine._run as run

    for k in range(2):
        make_dicom(f"in/{k}.dcm", frames_rgb=gradient_rgb(frames=2))
    expected = [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model, workers=1) for r, _ in outcomes]
    started, original = [], multiprocessing.get_context

    def get_context(method):
        started.append(method)
        return original(method)

    monkeypatch.setattr(run.multiprocessing, "get_context", get_context)
    monkeypatch.setattr(run, "POOL_MIN_FRAMES", threshold)
    assert [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model) for r, _ in outcomes] == expected
    assert started == (["spawn"] if pooled else [])


def test_a_funnel_apex_put_past_the_tip_seen_or_its_base_on_the_hull_is_noted_in_the_row(make_dicom):
    from cervical_length.dicom import read_frames
    from cervical_length.engine._rows import frame_row
    from cervical_length.measure import Funnel

    (frame,) = read_frames(make_dicom("one.dcm", frames_rgb=gradient_rgb(frames=1)))
    funnel = Funnel(6.0, 4.8, 30.0, "V", (1.0, 2.0), ((0.0, 0.0), (0.0, 4.8)), mid_width_mm=2.9, apex_extended_mm=1.32)
    measured = Measurement(
        True, (), cl_mm=14.0, cl_straight_mm=14.0, cl_two_segment_mm=14.0, funnel=funnel, confidence=0.9,
        external_os_px=(0.0, 0.0), internal_os_px=(1.0, 2.0), centreline_px=np.array([[0.0, 0.0], [1.0, 2.0]]),
    )
    assert frame_row(frame, measured, "sha", "a header note").notes == "a header note; funnel apex put 1.3 mm past the tip seen, where its straight walls meet"
    assert frame_row(frame, replace(measured, funnel=replace(funnel, apex_extended_mm=0.0)), "sha", "").notes == ""
    on_hull = replace(measured, funnel=replace(funnel, apex_extended_mm=0.0, base_on_hull=True))
    assert frame_row(frame, on_hull, "sha", "").notes == "funnel base taken on the lips' outline, its fluid fading before the mouth: the width may read wide"


def test_the_overlay_shows_the_digits_the_row_carries(make_dicom):
    from cervical_length.dicom import read_frames
    from cervical_length.engine._rows import frame_row
    from cervical_length.measure import Auca, Funnel
    from cervical_length.outputs import overlay_caption

    (frame,) = read_frames(make_dicom("one.dcm", frames_rgb=gradient_rgb(frames=1)))
    # Each figure one rounding away from another digit: 26.046 mm is stored 26.05, read 26.1.
    funnel = Funnel(7.046, 9.953, 42.54, "V", (1.0, 2.0), ((0.0, 0.0), (0.0, 4.8)), mid_width_mm=2.9)
    measured = Measurement(
        True, (), cl_mm=26.046, cl_straight_mm=25.949, cl_two_segment_mm=26.0, funnel=funnel, confidence=0.9753,
        external_os_px=(0.0, 0.0), internal_os_px=(1.0, 2.0), centreline_px=np.array([[0.0, 0.0], [1.0, 2.0]]), auca=Auca(118.54, ((0.0, 0.0), (5.0, 5.0))),
    )
    row = frame_row(frame, measured, "sha", "")
    assert (row.cl_mm, row.cl_straight_mm, row.funnel_length_mm, row.funnel_width_mm, row.funnel_percent, row.auca_deg, row.confidence) == (26.05, 25.95, 7.05, 9.95, 42.5, 118.5, 0.975)
    assert overlay_caption(measured) == ["CL 26.1 mm traced, 25.9 mm straight", "Funnel 7.0 x 9.9 mm, 42 %, V", "AUCA 118 deg", "confidence 0.97"]
    assert overlay_caption(measured)[0] == f"CL {row.cl_mm:.1f} mm traced, {row.cl_straight_mm:.1f} mm straight"


def test_an_unforeseen_error_fails_its_file_and_the_run_goes_on(make_dicom, tmp_path, pipeline, monkeypatch):
    import cervical_length.engine._pipeline as pipeline_module

    make_dicom("a.dcm", frames_rgb=gradient_rgb(frames=3), photometric="MONOCHROME2")
    make_dicom("b.dcm")
    calls = iter(range(100))
    measure = pipeline_module.measure_cervix

    def fails_on_the_second_frame(*args, **kwargs):
        if next(calls) == 1:
            raise ZeroDivisionError("float division by zero")
        return measure(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "measure_cervix", fails_on_the_second_frame)
    rows = [(Path(i.result.file).name, i.result.frame, i.result.status, i.result.error) for i in iter_frame_results(pipeline, [tmp_path])]
    # The frame measured before the fault keeps its row; the file then fails, naming the fault.
    assert rows[0] == ("a.dcm", 1, "not_measurable", "")
    assert rows[1][:3] == ("a.dcm", None, "failed")
    assert rows[1][3].startswith("UnforeseenError: ZeroDivisionError: float division by zero (unforeseen: please report it")
    assert rows[2:] == [("b.dcm", 1, "not_measurable", "")]


class TestSplitScreens:
    """A split screen's tissue regions are measured apart; a frame's row is its shortest measurable view."""

    LEFT = UltrasoundRegion(0, 0, 91, 399, 376, 0.318, 0.318, False)  # item 1, one row smaller
    RIGHT = UltrasoundRegion(1, 400, 90, 799, 376, 0.246, 0.246, False)  # item 2: the largest
    PLAIN = UltrasoundRegion(2, 0, 0, 99, 99, None, None, False)  # a tissue item without centimetres

    @staticmethod
    def measured(cl_mm):
        return Measurement(True, (), cl_mm=cl_mm, cl_straight_mm=cl_mm, cl_two_segment_mm=cl_mm, confidence=0.9)

    def test_every_calibrated_region_of_a_split_screen_is_measured_largest_first(self):
        from cervical_length.dicom import Calibration
        from cervical_length.engine import measured_regions

        split = Calibration(0.246, 0.246, "us_region", (self.RIGHT, self.LEFT, self.PLAIN))
        assert measured_regions(split) == (self.RIGHT, self.LEFT)
        # A thumbnail (a quarter of the largest region's pixels, less one row) is not a view to measure.
        thumbnail = UltrasoundRegion(5, 0, 0, 199, 142, 0.5, 0.5, False)
        quarter = replace(thumbnail, max_row=143)
        assert (self.RIGHT.area_px, quarter.area_px) == (400 * 287, 200 * 144) and quarter.area_px * 4 > self.RIGHT.area_px
        assert measured_regions(Calibration(0.246, 0.246, "us_region", (self.RIGHT, thumbnail))) == (self.RIGHT,)
        assert measured_regions(Calibration(0.246, 0.246, "us_region", (self.RIGHT, quarter))) == (self.RIGHT, quarter)
        assert measured_regions(Calibration(0.246, 0.246, "us_region", (self.RIGHT,))) == (self.RIGHT,)
        # Scaled by Pixel Spacing: one image, cropped to the main region or not at all.
        assert measured_regions(Calibration(0.1, 0.1, "pixel_spacing", (self.PLAIN,))) == (self.PLAIN,)
        assert measured_regions(Calibration(0.1, 0.1, "pixel_spacing")) == (None,)
        assert measured_regions(Calibration(None, None, "none")) == (None,)

    @pytest.mark.parametrize(
        ("lengths", "chosen"),
        [((None, 30.2), 1), ((31.0, 30.2), 1), ((29.0, 30.2), 0), ((None, None), 0), ((41.0,), 0)],
    )
    def test_the_row_is_the_shortest_measurable_view_else_the_largest(self, lengths, chosen):
        from cervical_length.engine import chosen_region

        views = [Measurement(False, ("cervix not found",)) if cl is None else self.measured(cl) for cl in lengths]
        assert chosen_region(views) == chosen

    def test_the_row_says_what_each_region_gave(self):
        from cervical_length.engine._pipeline import _split_screen_note

        views = [Measurement(False, ("out-of-plane view: the endocervical canal is not visible",)), self.measured(30.19)]
        assert _split_screen_note((self.RIGHT, self.LEFT), views, 1) == (
            "split screen: 2 tissue regions measured apart; this row is ultrasound region item 1 (the shortest measurable); "
            "item 2 not measurable (out-of-plane view: the endocervical canal is not visible)"
        )
        declined = [Measurement(False, ("cervix not found",)), Measurement(False, ("low model confidence (0.50 < 0.93)", "cervix not found"))]
        assert _split_screen_note((self.RIGHT, self.LEFT), declined, 0) == (
            "split screen: 2 tissue regions measured apart; this row is ultrasound region item 2 (none measurable: the largest); "
            "item 1 not measurable (low model confidence (0.50 < 0.93), cervix not found)"
        )
        assert _split_screen_note((self.RIGHT,), views[:1], 0) == ""
        assert _split_screen_note((None,), views[:1], 0) == ""

    def test_a_view_is_measured_at_its_own_region_s_scale(self):
        from cervical_length.dicom import Calibration
        from cervical_length.engine import view_spacing

        anisotropic = UltrasoundRegion(3, 0, 0, 99, 99, 0.1, 0.15, False)
        inset = UltrasoundRegion(4, 20, 20, 59, 59, 0.05, 0.05, False)  # a zoom box inside that region
        split = Calibration(0.1, 0.15, "us_region", (anisotropic, inset))
        assert view_spacing(split, anisotropic) == (0.15, 0.1)  # (row, col)
        # Each view's own scale, though the inset's pixels lie in the larger region too.
        assert view_spacing(split, inset) == (0.05, 0.05)
        # A region without centimetres: the frame's scale (Pixel Spacing here); none at all: None.
        assert view_spacing(Calibration(0.12, 0.2, "pixel_spacing", (self.PLAIN,)), self.PLAIN) == (0.2, 0.12)
        assert view_spacing(Calibration(0.12, 0.2, "pixel_spacing"), None) == (0.2, 0.12)
        assert view_spacing(Calibration(None, None, "none", (self.PLAIN,)), self.PLAIN) is None

    def test_the_row_carries_the_scale_of_the_region_measured(self, make_dicom):
        from cervical_length.dicom import read_frames
        from cervical_length.engine._rows import frame_row

        (frame,) = read_frames(make_dicom("one.dcm", frames_rgb=gradient_rgb(frames=1)))
        measured = replace(self.measured(30.19), external_os_px=(0.0, 0.0), internal_os_px=(0.0, 95.0), centreline_px=np.array([[0.0, float(c)] for c in range(96)]))
        row = frame_row(frame, measured, "sha", "", self.LEFT)
        assert (row.mm_per_pixel_x, row.mm_per_pixel_y) == (0.318, 0.318)
        # The canal thinned to about one point per 0.5 mm at that scale: every 3rd point of 0.318 mm.
        assert row.canal_px[:3] == ((0.0, 0.0), (0.0, 3.0), (0.0, 6.0)) and row.canal_px[-1] == (0.0, 95.0)
        assert (frame_row(frame, measured, "sha", "").mm_per_pixel_x, frame_row(frame, measured, "sha", "", self.PLAIN).mm_per_pixel_x) == (0.1, 0.1)
