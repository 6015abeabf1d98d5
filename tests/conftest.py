"""Shared fixtures: small synthetic ultrasound DICOM files built with the package's own writer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from cervical_length.dicom import RegionSpec, write_us_dicom


def gradient_rgb(rows: int = 120, cols: int = 160, frames: int = 1) -> np.ndarray:
    """(frames, rows, cols, 3) uint8 grey ramps, smooth enough for lossy JPEG to stay close."""
    ramp = (np.add.outer(np.arange(rows) * 1.0, np.arange(cols) * 0.5) % 256).astype(np.uint8)
    out = np.stack([np.roll(ramp, 7 * f, axis=1) for f in range(frames)])
    return np.repeat(out[..., None], 3, axis=3)


def with_raw_value(path: Path, keyword: str, text: bytes) -> Path:
    """Give attribute ``keyword`` of the file at ``path`` the raw header text ``text`` (even length),
    malformed as a scanner may write it: pydicom itself refuses to write a malformed number."""
    ds = dcmread(path)
    tag = Tag(keyword)
    ds[tag] = RawDataElement(tag, dictionary_VR(tag), len(text), text, 0, False, True)
    ds.save_as(path)
    return path


@pytest.fixture
def make_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Write a US DICOM into tmp_path; keyword arguments go to :func:`write_us_dicom`."""
    counter = iter(range(10_000))

    def make(name: str | None = None, frames_rgb: np.ndarray | None = None, **kwargs: object) -> Path:
        path = tmp_path / (name or f"image_{next(counter)}.dcm")
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("regions", [RegionSpec((0, 0, 159, 119), 0.01, 0.01)])
        write_us_dicom(path, gradient_rgb() if frames_rgb is None else frames_rgb, **kwargs)
        return path

    return make


def live_children(parent: int, command_part: bytes) -> set[int]:
    """Pids of the running (not zombie) processes whose parent is ``parent`` and whose command line
    holds ``command_part``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(ppid) == parent and state != "Z" and command_part in command:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (exists and is not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small network saved as a model: for tests of the plumbing, not of accuracy."""
    import torch

    from cervical_length.model import UNet, save_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "random.json"
    save_model(UNet((4, 8, 16)), path, working_size=64, card={"note": "untrained, tests only"})
    return path


@pytest.fixture(scope="session")
def pipeline(random_model: Path):
    from cervical_length.engine import Pipeline

    return Pipeline(random_model)


COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def cervix_length_item(value: str, unit: str = "mm", *, derived: bool = False) -> Dataset:
    """A (11961-0, LN) Cervix Length NUM content item; ``derived`` adds a Derivation (Mean) modifier."""
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "NUM"
    item.ConceptNameCodeSequence = Sequence([_code("11961-0", "LN", "Cervix Length")])
    measured = Dataset()
    measured.NumericValue = value
    measured.MeasurementUnitsCodeSequence = Sequence([_code(unit, "UCUM", unit)])
    item.MeasuredValueSequence = Sequence([measured])
    if derived:
        modifier = Dataset()
        modifier.RelationshipType, modifier.ValueType = "HAS CONCEPT MOD", "CODE"
        modifier.ConceptNameCodeSequence = Sequence([_code("121401", "DCM", "Derivation")])
        modifier.ConceptCodeSequence = Sequence([_code("R-00317", "SRT", "Mean")])
        item.ContentSequence = Sequence([modifier])
    return item


def write_obgyn_report(
    path: Path, study_uid: str, items: list[Dataset], *, written: str = "20261127101500", root: tuple[str, str, str] = ("125000", "DCM", "OB-GYN Ultrasound Procedure Report")
) -> Path:
    """An OB-GYN report as a scanner writes it: the readings inside the pelvis and uterus section."""
    section = Dataset()
    section.RelationshipType, section.ValueType = "CONTAINS", "CONTAINER"
    section.ConceptNameCodeSequence = Sequence([_code("121070", "DCM", "Findings")])
    section.ContinuityOfContent = "SEPARATE"
    section.ContentSequence = Sequence(items)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = COMPREHENSIVE_SR, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study_uid, generate_uid(), "SR"
    ds.ContentDate, ds.ContentTime = written[:8], written[8:]
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code(*root)])
    ds.ContentSequence = Sequence([section])
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = COMPREHENSIVE_SR, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
