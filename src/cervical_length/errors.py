"""Named failures of cervical-length.

Every exception names the file (and frame, where there is one) and the reason, and where it can,
the fix. Recoverable oddities are warnings, not exceptions.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CervicalLengthError",
    "DicomReadError",
    "UnreadableFileError",
    "NotDicomError",
    "CorruptDicomError",
    "MissingPixelDataError",
    "UnsupportedTransferSyntaxError",
    "UnsupportedImageError",
    "NoTissueRegionError",
    "NotCaliperReportError",
    "WorkerDiedError",
    "UnforeseenError",
    "CalibrationError",
    "ModelError",
    "ClusterMismatchError",
    "ResultsDatabaseError",
    "ResultsInUseError",
    "ClinicalDataError",
    "ComparisonDataError",
    "CervicalLengthWarning",
    "RegionBoundsClippedWarning",
    "NonUltrasoundWarning",
    "HeaderValueWarning",
]


class CervicalLengthError(Exception):
    """Base class of every error raised by cervical-length."""


class DicomReadError(CervicalLengthError):
    """A file could not be turned into frames; ``path`` names it and ``reason`` says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnreadableFileError(DicomReadError):
    """The operating system refused to open or read the file (permissions, a folder, I/O error)."""


class NotDicomError(DicomReadError):
    """The file is not a DICOM Part 10 file (no 'DICM' after its preamble): a raw data set without
    a preamble, as very old systems wrote, is refused too."""


class CorruptDicomError(DicomReadError):
    """The file is DICOM but truncated or damaged: its header or pixel data cannot be read."""


class MissingPixelDataError(DicomReadError):
    """The DICOM file has no (7FE0,0010) *Pixel Data* (for example a report or a DICOMDIR)."""


class UnsupportedTransferSyntaxError(DicomReadError):
    """No installed pixel-data decoder handles the file's (0002,0010) *Transfer Syntax UID*."""


class UnsupportedImageError(DicomReadError):
    """The image module describes something we cannot measure (size, samples, bit depth)."""


class NoTissueRegionError(DicomReadError):
    """(0018,6011) *Sequence of Ultrasound Regions* holds no usable 2D tissue region inside the image
    (only Doppler, M-mode or waveform regions, or tissue regions outside the image or without bounds)."""


class NotCaliperReportError(DicomReadError):
    """A DICOM file given for sonographers' calipers is not an OB-GYN ultrasound report with a
    usable (11961-0, LN) *Cervix Length* reading."""


class WorkerDiedError(DicomReadError):
    """A worker process died measuring the file alone, after a pool that held the file lost a worker
    (a decoder crashing on its data, or more memory than the machine has)."""


class UnforeseenError(DicomReadError):
    """Reading, segmenting or measuring the file raised an error that no check foresaw (a defect of
    cervical-length or of a library on this file's data, to be reported): the file is recorded as
    failed and the run goes on."""


class CalibrationError(CervicalLengthError, ValueError):
    """A millimetre scale given by the user is not a usable number."""


class ClinicalDataError(CervicalLengthError, ValueError):
    """The clinical CSV cannot be used; the message names the file, the row and the column."""


class ComparisonDataError(CervicalLengthError, ValueError):
    """A measurement table given to ``compare`` cannot be used; the message names the file, the row
    and the column."""


class ModelError(CervicalLengthError):
    """The model's weights or metadata are missing, damaged, tampered with or do not fit the network."""


class ClusterMismatchError(CervicalLengthError):
    """A Dask worker lacks the run's model (by its checksum) or runs another cervical-length version:
    its numbers would be filed under the run's, so it measures nothing."""


class ResultsDatabaseError(CervicalLengthError):
    """An output folder's ``results.sqlite`` is not a results database or is damaged (left as it is)."""


class ResultsInUseError(ResultsDatabaseError):
    """Another run (``measure`` or ``export``) is writing into the same output folder."""


class CervicalLengthWarning(UserWarning):
    """Base class of every warning issued by cervical-length."""


class RegionBoundsClippedWarning(CervicalLengthWarning):
    """An ultrasound region's bounds ran past the image edges and were clipped to the image."""


class NonUltrasoundWarning(CervicalLengthWarning):
    """The file's (0008,0060) *Modality* is not ``US``: it is read, and measured only if calibrated."""


class HeaderValueWarning(CervicalLengthWarning):
    """A header value the reader would use is malformed or implausible (text where a number belongs,
    a zero scale) and is ignored: the file is read without it."""
