"""The results database: written per file, resumed without duplicates, survives kill -9."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from cervical_length.cli import main
from cervical_length.store import ResultsStore

from .conftest import gradient_rgb


def _make_folder(make_dicom, count: int) -> None:
    for k in range(count):
        make_dicom(f"in/{k:02d}.dcm", frames_rgb=gradient_rgb(frames=2), accession_number=f"A{k}")


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_second_run_skips_done_files_and_retries_failures_only_when_asked(make_dicom, tmp_path, random_model, capsys):
    _make_folder(make_dicom, 2)
    (tmp_path / "in" / "bad.dcm").write_text("x")
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--workers", "1", "-q"]
    assert main(argv) == 1
    first = _rows(tmp_path / "out" / "measurements.csv")
    capsys.readouterr()
    assert main(argv) == 0  # nothing measured again: the failure is remembered, not retried
    assert "3 files already in results.sqlite, skipped" in capsys.readouterr().out
    assert _rows(tmp_path / "out" / "measurements.csv") == first
    assert main([*argv, "--retry-failed"]) == 1
    assert "2 files already in" in capsys.readouterr().out
    assert _rows(tmp_path / "out" / "measurements.csv") == first  # replaced, not duplicated


def test_changed_file_is_measured_again(make_dicom, tmp_path, random_model):
    _make_folder(make_dicom, 1)
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--workers", "1", "-q"]
    main(argv)
    make_dicom("in/00.dcm", frames_rgb=gradient_rgb(frames=3))  # a new export under the same name
    main(argv)
    assert [r["frame"] for r in _rows(tmp_path / "out" / "measurements.csv")] == ["1", "2", "3"]


def test_a_broken_link_is_a_failed_row_and_is_measured_once_its_file_is_there(make_dicom, tmp_path, random_model, capsys):
    _make_folder(make_dicom, 1)
    (tmp_path / "in" / "link.dcm").symlink_to(tmp_path / "later.dcm")  # an export still being copied
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--workers", "1", "-q"]
    assert main(argv) == 1
    failed = [r for r in _rows(tmp_path / "out" / "measurements.csv") if r["status"] == "failed"]
    assert [(Path(r["file"]).name, r["error"]) for r in failed] == [("link.dcm", "UnreadableFileError: cannot be opened: No such file or directory")]
    assert main(argv) == 0  # remembered as failed, like any other failure
    make_dicom("later.dcm", frames_rgb=gradient_rgb(frames=2))
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 file already in results.sqlite, skipped" in capsys.readouterr().out  # the link's file was measured
    assert sorted(r["status"] for r in _rows(tmp_path / "out" / "measurements.csv")) == ["not_measurable"] * 4


def test_export_rebuilds_the_outputs(make_dicom, tmp_path, random_model):
    _make_folder(make_dicom, 2)
    main(["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--workers", "1", "-q"])
    before = (tmp_path / "out" / "measurements.csv").read_text()
    (tmp_path / "out" / "measurements.csv").unlink()
    assert main(["export", str(tmp_path / "out"), "--model", str(random_model), "-q"]) == 0
    assert (tmp_path / "out" / "measurements.csv").read_text() == before
    assert main(["export", str(tmp_path / "nowhere"), "--model", str(random_model)]) == 2


def test_kill_minus_nine_then_resume_equals_an_uninterrupted_run(make_dicom, tmp_path, random_model):
    _make_folder(make_dicom, 8)
    command = [sys.executable, "-m", "cervical_length.cli", "measure", str(tmp_path / "in"), "--model", str(random_model), "--workers", "1", "-q"]
    subprocess.run([*command, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    killed = subprocess.Popen([*command, "--out", str(tmp_path / "killed")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = tmp_path / "killed" / "results.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and killed.poll() is None:
        if database.exists():
            with sqlite3.connect(database) as db:
                try:
                    if db.execute("SELECT COUNT(*) FROM files").fetchone()[0] >= 2:
                        break
                except sqlite3.OperationalError:
                    pass
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    subprocess.run([*command, "--out", str(tmp_path / "killed")], check=True, capture_output=True)

    def table(folder):
        with sqlite3.connect(folder / "results.sqlite") as db:
            return sorted(db.execute("SELECT path, sop_instance_uid, frame, row_json FROM results").fetchall())

    assert table(tmp_path / "killed") == table(tmp_path / "whole")
    assert len(table(tmp_path / "whole")) == 16
    assert _rows(tmp_path / "killed" / "measurements.csv") == _rows(tmp_path / "whole" / "measurements.csv")


def test_a_stored_row_gives_back_what_the_exam_needs():
    from cervical_length.engine import FrameResult
    from cervical_length.store import _measurement

    row = FrameResult("a.dcm", "1.2", "1", "", 1, 0.1, 0.1, "regions", "measured", measurable=1, cl_mm=28.4, cl_straight_mm=27.9,
                      funnel=1, funnel_length_mm=6.0, funnel_width_mm=7.5, funnel_percent=17.4, funnel_shape="Y", auca_deg=104.5, confidence=0.93)
    m = _measurement(row)
    assert (m.measurable, m.cl_mm, m.cl_straight_mm, m.confidence) == (True, 28.4, 27.9, 0.93)
    assert (m.funnel.length_mm, m.funnel.width_mm, m.funnel.shape, m.auca.angle_deg) == (6.0, 7.5, "Y", 104.5)
    assert _measurement(FrameResult("a.dcm", "1.2", "1", "", None, None, None, "", "failed")) is None


def test_a_report_is_current_until_its_row_source_or_file_changes(tmp_path):
    from dataclasses import replace

    from cervical_length.engine import FrameResult
    from cervical_length.store import StoredFrame

    source = tmp_path / "a.dcm"
    source.write_bytes(b"image")
    row = StoredFrame(source, FrameResult("a.dcm", "1.2", "1", "", 1, 0.1, 0.1, "us_region", "measured", measurable=1, cl_mm=28.4, canal_px=((1.0, 2.0), (3.0, 4.0))))
    report = tmp_path / "r.dcm"
    report.write_bytes(b"report")
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        assert not store.report_is_current(report, row)  # never recorded
        store.add_reports([(report, row)])
        assert store.report_is_current(report, row)
        assert not store.report_is_current(report, replace(row, row=replace(row.row, cl_mm=28.5)))  # another value
        os.utime(source, ns=(1, 10**18))
        assert not store.report_is_current(report, row)  # the source file changed (its header may have)
        store.add_reports([(report, row)])
        report.write_bytes(b"edited by hand")
        assert not store.report_is_current(report, row)  # the report is not the one written
        store.add_reports([(report, row)])
        report.unlink()
        assert not store.report_is_current(report, row)
    report.write_bytes(b"report")
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        store.add_reports([(report, row)])
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.2.0")) as other:
        assert not other.report_is_current(report, row)  # recorded for another tool version only


def test_one_frames_row_is_looked_up_without_reading_every_row(tmp_path):
    from contextlib import closing

    from cervical_length.engine import FrameResult
    from cervical_length.store import ResultsStore

    paths = [tmp_path / "a.dcm", tmp_path / "copy" / "a.dcm"]
    paths[1].parent.mkdir()

    def row(path, cl_mm):
        return FrameResult(str(path), "1.2", "1", "", 1, 0.1, 0.1, "us_region", "measured", measurable=1, cl_mm=cl_mm, canal_px=((1.0, 2.0), (3.0, 4.5)))

    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        for path, cl_mm in zip(paths, (30.0, 31.0)):  # the same image stored twice, at two paths
            path.write_bytes(b"x")
            store.add_file(path, [(row(path, cl_mm), None)])
        found = store.stored_frame("1.2", 1)
        # The first stored: the copy the exam counts (engine.ExamCollector), so its SR is made from that row.
        assert (found.source, found.row.cl_mm, found.row.canal_px) == (paths[0].resolve(), 30.0, ((1.0, 2.0), (3.0, 4.5)))
        assert store.stored_frame("1.2", 2) is None and store.stored_frame("9.9", 1) is None
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.2.0")) as other:
        assert other.stored_frame("1.2", 1) is None  # stored by another tool version


def test_a_damaged_database_is_named_and_left_as_it_is(make_dicom, tmp_path, random_model, capsys):
    _make_folder(make_dicom, 1)
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "--workers", "1", "-q"]
    assert main(argv) == 0
    database = tmp_path / "out" / "results.sqlite"
    damaged = database.read_bytes()[:5000]  # a copy cut short
    database.write_bytes(damaged)
    capsys.readouterr()
    assert main(argv) == 2
    assert f"{database}: not a results database, or damaged (database disk image is malformed)" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "out"), "--model", str(random_model)]) == 2
    assert "measure the files again into a new folder" in capsys.readouterr().err
    assert database.read_bytes() == damaged
    assert main([*argv, "--no-resume"]) == 0  # starting afresh replaces it, as asked


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_holds_it(make_dicom, tmp_path, random_model, capsys):
    from contextlib import closing

    from cervical_length.errors import ResultsInUseError
    from cervical_length.store import ResultsStore

    _make_folder(make_dicom, 1)
    out = tmp_path / "out"
    args = ["--out", str(out), "--model", str(random_model), "--workers", "1", "-q"]
    assert main(["measure", str(tmp_path / "in"), *args]) == 0
    with closing(ResultsStore(out / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")):  # a run in progress
        with pytest.raises(ResultsInUseError, match=rf"{out}: in use by another cervical-length run \(process {os.getpid()} on "):
            ResultsStore(out / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")
        before = (out / "measurements.csv").read_bytes()
        capsys.readouterr()
        assert main(["measure", str(tmp_path / "in"), *args]) == 2
        assert main(["measure", str(tmp_path / "in"), *args, "--no-resume"]) == 2  # which would delete its database
        assert main(["export", str(out), "-q"]) == 2
        assert (out / "results.sqlite").stat().st_size > 0
        assert "in use by another cervical-length run" in capsys.readouterr().err
        assert (out / "measurements.csv").read_bytes() == before  # nothing of the first run's outputs touched
    assert main(["export", str(out), "-q"]) == 0  # free once that run has ended


def test_the_lock_of_a_killed_run_does_not_outlive_it(tmp_path):
    code = (
        "import time, sys; from cervical_length.store import ResultsStore; "
        f"s = ResultsStore({str(tmp_path / 'results.sqlite')!r}, model_sha256='ab' * 32, tool_version='0.1.0'); "
        "print('held', flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")):
        pass  # taken at once: the system dropped the killed process's lock
