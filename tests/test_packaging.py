"""The wheel a hospital installs carries the shipped model, and the tool installed from it measures."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from cervical_length.model_info import file_sha256, read_model_info

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("cervix-unet.json", "cervix-unet.pt", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout (a build writes build/ beside its sources)."""
    tree = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for folder in ("src", "models"):
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", str(out), str(tree)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("cervical_length-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_model_byte_for_byte(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path, members=[f"cervical_length/_weights/{name}" for name in SHIPPED])
    for name in SHIPPED:
        assert file_sha256(tmp_path / "cervical_length" / "_weights" / name) == file_sha256(ROOT / "models" / name)


@pytest.mark.slow
def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    # pyproject.toml lists the packages: a subpackage left off that list would be missing here.
    source = {path.relative_to(ROOT / "src").as_posix() for path in (ROOT / "src" / "cervical_length").rglob("*.py")}
    with zipfile.ZipFile(wheel) as archive:
        assert {name for name in archive.namelist() if name.endswith(".py")} == source


def _python_from(site: Path) -> list[str]:
    """A Python command that imports cervical-length from ``site`` only: -S leaves this
    environment's .pth files unread, so the checkout's editable install is out of sight, and its
    site-packages is put back on the path, after ``site``, for the dependencies."""
    paths = [str(site), sysconfig.get_paths()["purelib"]]
    return [sys.executable, "-S", "-c", f"import runpy, sys; sys.path[1:1] = {paths!r}; sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__')"]


@pytest.mark.slow
def test_the_tool_installed_from_the_wheel_measures_with_its_own_copy_of_the_model(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = tmp_path / "probe.py"
    probe.write_text("import cervical_length.engine, cervical_length.model_info as m\nprint(cervical_length.engine.__file__)\nprint(m.DEFAULT_MODEL)\n")
    done = subprocess.run([*_python_from(site), "probe"], capture_output=True, text=True, cwd=tmp_path, check=True)
    module, model = done.stdout.split()
    assert Path(module).is_relative_to(site) and Path(model) == site / "cervical_length" / "_weights" / "cervix-unet.json"

    out = tmp_path / "results"
    sample = ROOT / "sample_dicoms" / "02_jpeg_short_cervix.dcm"
    command = [*_python_from(site), "cervical_length.cli", "measure", str(sample), "--out", str(out), "--no-sr", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(out / "measurements.csv", newline="") as handle:
        (row,) = csv.DictReader(handle)
    assert row["status"] == "measured"
    assert row["model_sha256"] == read_model_info(ROOT / "models" / "cervix-unet.json").sha256
    assert float(row["cl_mm"]) == pytest.approx(9.611, abs=2.0)  # sample_dicoms/ground_truth.csv, within #6's limits
