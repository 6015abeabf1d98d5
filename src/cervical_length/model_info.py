"""A model's metadata file, its weights' checksum and the settings it is trained with, without PyTorch.

The metadata JSON names the weights file beside it, the network's architecture, the working size
and the weights' SHA-256. Reading and checking it needs no PyTorch, so a process that only checks a
model before handing it to workers, or only keys results by its checksum (the CLI's main process,
``export``), does not pay PyTorch's seconds of import; :func:`cervical_length.model.load_model`
builds the network from it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

__all__ = ["ModelInfo", "TrainConfig", "CLASSES", "DEFAULT_MODEL", "DEFAULT_WIDTHS", "WORKING_SIZE", "amend_metadata", "calibration_metadata", "file_sha256", "read_model_info", "write_metadata"]

#: Output classes, in channel order (FUGC 2025 label values).
CLASSES = ("background", "anterior_lip", "posterior_lip")
_PACKAGE = Path(__file__).resolve().parent
#: The shipped model's metadata file, its weights beside it: the copy of ``models/`` an installed
#: wheel carries (``cervical_length/_weights``), else ``models/`` of the source checkout (an editable
#: install, which has no such copy).
DEFAULT_MODEL = (_PACKAGE / "_weights" if (_PACKAGE / "_weights").is_dir() else _PACKAGE.parents[1] / "models") / "cervix-unet.json"
#: Side of the square the sector crop is letterboxed into, in pixels.
WORKING_SIZE = 256
#: Channels per level of a network trained afresh: 5 levels (receptive field over the whole crop),
#: 0.12 M parameters. The shipped model grew a sixth level onto such a network (model card).
DEFAULT_WIDTHS = (4, 8, 16, 32, 64)
#: Metadata fields that describe the weights file itself; everything else is the card.
_FILE_FIELDS = ("weights", "sha256", "architecture", "working_size")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (recorded in the model card)."""

    seed: int = 0
    train_count: int = 2400
    val_count: int = 200
    epochs: int = 24  #: validation Dice still rose at 14 (the previous model); 24 took the CL error from 0.67 to 0.56 mm
    batch_size: int = 16
    learning_rate: float = 3e-3
    max_minutes: float = 200.0  #: a safety stop after the epoch that passes it; 24 epochs take ~80 min on 2 cores
    working_size: int = WORKING_SIZE
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    workers: int = 2
    separation_weight: float = 0.0  #: w0 of :func:`~cervical_length.train.separation_weights`; 0 is plain cross-entropy
    #: Funnelled phantoms added to the ``train_count`` of the default mix (:func:`~cervical_length.train.training_squares`)
    extra_funnels: int = 0
    #: Closed short cervices (5-25 mm) added after those (:func:`~cervical_length.train.training_squares`):
    #: the case with the most false funnels, so that the extra funnels do not tilt the data toward funnelling
    extra_short: int = 0
    #: 0: keep the best epoch of a one-cycle schedule. k >= 1: train at the constant learning rate and
    #: keep the average of the weights at the end of epochs k to ``epochs`` (stochastic weight averaging)
    average_from: int = 0
    #: Share (0-1) of the training phantoms saved with the sonographer's calipers burned in
    #: (:func:`~cervical_length.phantom.with_calipers`), as most frames of an archive are
    calipers: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be 1 or more, got {self.epochs}")
        for name in ("extra_funnels", "extra_short"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if not 0.0 <= self.calipers <= 1.0:
            raise ValueError(f"calipers must be a share from 0 to 1, got {self.calipers}")
        if not 0 <= self.average_from <= self.epochs:
            raise ValueError(f"average_from must be 0 (off) or an epoch from 1 to epochs ({self.epochs}), got {self.average_from}")


@dataclass(frozen=True)
class ModelInfo:
    """What the metadata file says of a weights file: architecture, working size, checksum, history."""

    weights: Path
    sha256: str
    widths: tuple[int, ...]
    working_size: int
    classes: tuple[str, ...]
    card: dict  #: training data, seed, metrics: everything else in the metadata file

    def _calibrated(self, section: str, name: str) -> float | None:
        value = self.card.get(section, {}).get(name)
        return None if value is None else float(value)

    @property
    def min_confidence(self) -> float | None:
        """The quality gate's confidence floor calibrated for this model on its validation phantoms
        (``quality_gate.min_confidence`` in the metadata); None: the measurement's default."""
        return self._calibrated("quality_gate", "min_confidence")

    @property
    def min_os_confidence(self) -> float | None:
        """The quality gate's floor of the confidence at the internal os, calibrated for this model
        (``quality_gate.min_os_confidence`` in the metadata); None: the measurement's default."""
        return self._calibrated("quality_gate", "min_os_confidence")

    @property
    def funnel_tip_mm(self) -> float | None:
        """How narrow (mm) a funnel's tip this model draws closed, calibrated on its validation
        phantoms (``measurement.funnel_tip_mm`` in the metadata); None: the measurement's default."""
        return self._calibrated("measurement", "funnel_tip_mm")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_model_info(metadata_path: str | os.PathLike[str] = DEFAULT_MODEL) -> ModelInfo:
    """The :class:`ModelInfo` of a metadata file, after checking its weights' SHA-256.

    Raises :class:`~cervical_length.errors.ModelError` naming the file when the metadata is missing or
    unreadable, the weights file is missing, or the checksum differs (damaged or tampered weights).
    Whether the tensors fit the architecture is known only when they are loaded.
    """
    metadata_path = Path(metadata_path)
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        weights = metadata_path.parent / Path(metadata["weights"]).name  # never a path from elsewhere
        widths = tuple(int(w) for w in metadata["architecture"]["widths"])
        expected, size = str(metadata["sha256"]), int(metadata["working_size"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{metadata_path}: model metadata cannot be read ({type(err).__name__}: {err})") from err
    if not weights.is_file():
        raise ModelError(f"{weights}: weights file missing (named by {metadata_path.name})")
    actual = file_sha256(weights)
    if actual != expected:
        raise ModelError(
            f"{weights}: SHA-256 {actual[:16]}... differs from {expected[:16]}... in {metadata_path.name}: "
            "the weights are damaged or were changed; restore them from the repository or retrain"
        )
    card = {k: v for k, v in metadata.items() if k not in _FILE_FIELDS}
    return ModelInfo(weights, actual, widths, size, CLASSES, card)


def write_metadata(metadata_path: str | os.PathLike[str], weights: str | os.PathLike[str], *, widths: tuple[int, ...], working_size: int, card: dict) -> ModelInfo:
    """Write the metadata file of a weights file just saved beside it; returns its :class:`ModelInfo`."""
    weights = Path(weights)
    info = ModelInfo(weights, file_sha256(weights), tuple(widths), working_size, CLASSES, card)
    metadata = {
        "weights": weights.name,
        "sha256": info.sha256,
        "architecture": {"name": "UNet", "widths": list(widths), "classes": list(CLASSES)},
        "working_size": working_size,
        **card,
    }
    Path(metadata_path).write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
    return info


def calibration_metadata(*, min_confidence: float, min_os_confidence: float, funnel_tip_mm: float) -> dict:
    """The metadata fields of a model's calibration (see :func:`cervical_length.evaluate.calibrate`),
    read back by :attr:`ModelInfo.min_confidence`, :attr:`ModelInfo.min_os_confidence` and
    :attr:`ModelInfo.funnel_tip_mm`."""
    return {
        "quality_gate": {
            "min_confidence": min_confidence,
            "rule": "2nd percentile of the confidence of measurable validation phantoms",
            "min_os_confidence": min_os_confidence,
            "os_rule": "0.5th percentile of the confidence within 3 mm of the internal os of measurable validation phantoms",
        },
        "measurement": {
            "funnel_tip_mm": funnel_tip_mm,
            "rule": "least-squares tip width that explains the cervical-length errors of validation phantoms with a straight-walled funnel",
        },
    }


def amend_metadata(metadata_path: str | os.PathLike[str], fields: dict) -> None:
    """Add or replace top-level ``fields`` of a metadata file (the weights and checksum stay)."""
    metadata_path = Path(metadata_path)
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    if set(_FILE_FIELDS) & set(fields):
        raise ValueError("the weights, checksum, architecture and working size of a model cannot be amended")
    metadata.update(fields)
    metadata_path.write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
