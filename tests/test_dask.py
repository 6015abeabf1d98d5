"""The Dask engine on a LocalCluster (loopback): the same rows as the local engine, resumable."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest

from cervical_length import __version__
from cervical_length.cli import main
from cervical_length.engine import FrameResult, measure_files, worker_model
from cervical_length.errors import ClusterMismatchError
from cervical_length.model_info import DEFAULT_MODEL, read_model_info

from .conftest import gradient_rgb


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as local:
        yield local.scheduler_address


@pytest.mark.slow
def test_dask_gives_the_rows_of_the_local_engine(make_dicom, tmp_path, random_model, cluster):
    for k in range(3):
        make_dicom(f"in/{k}.dcm", frames_rgb=gradient_rgb(frames=2))
    (tmp_path / "in" / "bad.dcm").write_text("not DICOM")
    local = [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model, workers=1) for r, _ in outcomes]
    remote = [r for _, outcomes in measure_files([tmp_path / "in"], model=random_model, scheduler=cluster) for r, _ in outcomes]
    assert remote == local and len(remote) == 7


@pytest.mark.slow
def test_relative_paths_mean_this_process_s_folder_not_the_workers(make_dicom, tmp_path, random_model, cluster, monkeypatch):
    # The cluster's workers were started in another working folder (the one the tests started in).
    for k in range(2):
        make_dicom(f"in/{k}.dcm", frames_rgb=gradient_rgb(frames=2))
    monkeypatch.chdir(tmp_path)
    for name in ("local", "remote"):
        Path(name, "overlays").mkdir(parents=True)
    local = [r for _, outcomes in measure_files(["in"], model=random_model, workers=1, overlays=Path("local/overlays")) for r, _ in outcomes]
    remote = [r for _, outcomes in measure_files(["in"], model=random_model, scheduler=cluster, overlays=Path("remote/overlays")) for r, _ in outcomes]
    assert remote == local and [r.file for r in remote] == ["in/0.dcm"] * 2 + ["in/1.dcm"] * 2
    assert sorted(p.name for p in Path("remote/overlays").iterdir()) == sorted(p.name for p in Path("local/overlays").iterdir())
    assert len(list(Path("local/overlays").iterdir())) == 4


@pytest.mark.slow
def test_measure_on_the_cluster_resumes_into_the_same_database(make_dicom, tmp_path, random_model, cluster, capsys):
    make_dicom("in/a.dcm")
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "-q", "--engine", "dask", "--scheduler", cluster]
    assert main(argv) == 0
    make_dicom("in/b.dcm")
    assert main(argv) == 0
    assert "1 file already in results.sqlite" in capsys.readouterr().out
    with open(tmp_path / "out" / "measurements.csv", newline="") as handle:
        assert [r["file"].rsplit("/", 1)[-1] for r in csv.DictReader(handle)] == ["a.dcm", "b.dcm"]


def test_a_file_that_kills_the_clusters_workers_is_a_failure_row(tmp_path, random_model, monkeypatch):
    # Dask retries a task whose worker died on other workers, then gives up with KilledWorker.
    import distributed

    class Future:
        def __init__(self, path):
            self.path = path

        def result(self):
            if self.path.name == "bad.dcm":
                raise distributed.KilledWorker("cluster_task-bad", "tcp://127.0.0.1:1", 3)
            return [(FrameResult(str(self.path), "1.2.3", "", "", 1, 0.1, 0.1, "us_region", "not_measurable"), None)]

    class Client:
        def __init__(self, address):
            assert address == "tcp://scheduler:8786"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, task, paths, options, pure):
            return [Future(path) for path in paths]

    monkeypatch.setattr(distributed, "Client", Client)
    for name in ("a.dcm", "bad.dcm", "c.dcm"):
        (tmp_path / name).write_bytes(b"")
    rows = list(measure_files([tmp_path], model=random_model, scheduler="tcp://scheduler:8786"))
    assert [path.name for path, _ in rows] == ["a.dcm", "bad.dcm", "c.dcm"]
    ((failure, measurement),) = rows[1][1]
    assert failure.status == "failed" and measurement is None
    assert failure.error.startswith("WorkerDiedError: the Dask workers measuring it died")
    assert rows[2][1] == [(FrameResult(str(tmp_path / "c.dcm"), "1.2.3", "", "", 1, 0.1, 0.1, "us_region", "not_measurable"), None)]


def test_engine_and_scheduler_go_together(tmp_path, random_model, capsys):
    assert main(["measure", str(tmp_path), "--out", str(tmp_path / "o"), "--model", str(random_model), "--engine", "dask"]) == 2
    assert "go together" in capsys.readouterr().err


class TestWorkerModel:
    def test_the_clients_path_when_the_worker_holds_that_model_there(self, random_model):
        assert worker_model(random_model, read_model_info(random_model).sha256, __version__) == random_model

    def test_the_workers_own_shipped_model_when_the_clients_path_is_not_there(self, tmp_path):
        # The same wheel installed at another path on the worker.
        shipped = read_model_info(DEFAULT_MODEL).sha256
        assert worker_model(tmp_path / "elsewhere" / "cervix-unet.json", shipped, __version__) == DEFAULT_MODEL

    def test_the_workers_own_shipped_model_when_the_clients_path_holds_another(self, random_model):
        assert worker_model(random_model, read_model_info(DEFAULT_MODEL).sha256, __version__) == DEFAULT_MODEL

    def test_no_model_with_the_runs_checksum_measures_nothing(self, tmp_path):
        with pytest.raises(ClusterMismatchError, match=r"has no model with sha256 0{16}\.\.\. \(.*missing\.json.*; .*cervix-unet\.json is another model\)"):
            worker_model(tmp_path / "missing.json", "0" * 64, __version__)

    def test_another_tool_version_measures_nothing(self, random_model):
        with pytest.raises(ClusterMismatchError, match=rf"runs cervical-length {__version__}, this run 0\.0\.1: install the same version"):
            worker_model(random_model, read_model_info(random_model).sha256, "0.0.1")


@pytest.mark.slow
def test_a_cluster_without_the_runs_model_is_refused_with_the_reason(make_dicom, tmp_path, random_model, cluster, capsys, monkeypatch):
    # The client's model is on no worker: its file is replaced by another model after the client
    # read its checksum, as a worker whose file at that path differs would see it.
    import cervical_length.engine._run as run

    make_dicom("in/a.dcm")
    monkeypatch.setattr(run, "read_model_info", lambda path: SimpleNamespace(sha256="f" * 64))
    argv = ["measure", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(random_model), "-q", "--engine", "dask", "--scheduler", cluster]
    assert main(argv) == 2
    assert "has no model with sha256 ffffffffffffffff..." in capsys.readouterr().err
