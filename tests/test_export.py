"""The export from the results database: the work shared among forked processes for large archives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from cervical_length.export import POOL_MIN, _map

from .conftest import alive, live_children


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("count", [3, 40])
def test_work_maps_in_order_in_forked_processes_from_the_threshold(count):
    results = _map(_square_and_pid, list(range(count)))
    assert [r for r, _ in results] == [k * k for k in range(count)]
    pids = {pid for _, pid in results}
    in_process = count < POOL_MIN or (os.cpu_count() or 1) < 2 or not sys.platform.startswith("linux")
    assert (os.getpid() in pids) == in_process


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="the export forks only on Linux with 2 cores or more")
def test_forked_export_processes_end_with_a_killed_run():
    # The workers sleep far longer than the test waits: only their watch on the parent ends them.
    script = f"import time; from cervical_length.export import _map; _map(time.sleep, [60.0] * {POOL_MIN})"
    run = subprocess.Popen([sys.executable, "-c", script])
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = live_children(run.pid, b"cervical_length.export")  # forked: the parent's command line
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert len(workers) == 2
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "export processes outlived the killed run"


def test_an_sr_whose_source_is_gone_is_reported_not_raised(tmp_path):
    from contextlib import closing

    from cervical_length.engine import FrameResult
    from cervical_length.export import export_results
    from cervical_length.store import ResultsStore

    source = tmp_path / "gone.dcm"
    source.write_bytes(b"x")
    row = FrameResult(str(source), "1.2", "1.2.3", "ACC1", 1, 0.1, 0.1, "us_region", "measured", measurable=1, cl_mm=31.0,
                      cl_straight_mm=30.5, confidence=0.95, canal_px=((10.0, 20.0), (30.0, 40.0)))
    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        store.add_file(source, [(row, None)])
        source.unlink()  # moved away after the run
        exported = export_results(store, tmp_path)
    assert (exported.rows, [e.cl_mm for e in exported.exams], exported.reports) == (1, [31.0], 0)
    (problem,) = exported.problems
    assert problem.startswith(f"no SR for ACC1: {source} cannot be read")
    assert not list((tmp_path / "sr").iterdir())
    assert "ACC1" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "problems.txt").read_text(encoding="utf-8") == problem + "\n"


def test_problems_txt_escapes_header_and_csv_text(tmp_path):
    from contextlib import closing

    from cervical_length.export import export_results
    from cervical_length.rules import ClinicalContext
    from cervical_length.store import ResultsStore

    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        exported = export_results(store, tmp_path, {("accession_number", "A1\n\x1b[2Jforged line"): ClinicalContext()}, sr=False)
    assert exported.problems == ["clinical row matches no study: accession_number A1\n\x1b[2Jforged line"]
    assert (tmp_path / "problems.txt").read_text(encoding="utf-8") == "clinical row matches no study: accession_number A1\\n\\x1b[2Jforged line\n"
    assert "<li>clinical row matches no study: accession_number A1\\n\\x1b[2Jforged line</li>" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_clinical_rows_of_a_study_not_combined_are_said_so_not_unmatched(tmp_path):
    from contextlib import closing

    from cervical_length.engine import FrameResult
    from cervical_length.export import export_results
    from cervical_length.rules import ClinicalContext
    from cervical_length.store import ResultsStore

    with closing(ResultsStore(tmp_path / "results.sqlite", model_sha256="ab" * 32, tool_version="0.1.0")) as store:
        for k, accession in enumerate(("A1", "A2")):  # one Study UID over two orders
            source = tmp_path / f"{k}.dcm"
            source.write_bytes(b"x")
            row = FrameResult(str(source), f"1.2.{k}", "1.2.3", accession, 1, 0.1, 0.1, "us_region", "measured", measurable=1, cl_mm=30.0 + k, confidence=0.95)
            store.add_file(source, [(row, None)])
        contexts = {("accession_number", a): ClinicalContext() for a in ("A1", "A2")}
        exported = export_results(store, tmp_path, contexts, sr=False)
    (exam,) = exported.exams
    assert (exam.status, exam.accession_number, exam.clinical_context) == ("not_combined", "A1; A2", "")
    assert exported.problems == ["study A1; A2: not combined (several accession numbers), so no clinical row by accession joined"]
