"""Files and folders to :class:`Frame` records.

Files are opened read-only and never written. Every way a file can fail becomes a named
:class:`~cervical_length.errors.DicomReadError` that names the file and the reason.
"""

from __future__ import annotations

import fnmatch
import os
import warnings
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import iter_pixels
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    RLELossless,
)

from ..errors import (
    CorruptDicomError,
    HeaderValueWarning,
    MissingPixelDataError,
    NonUltrasoundWarning,
    NotDicomError,
    UnreadableFileError,
    UnsupportedImageError,
    UnsupportedTransferSyntaxError,
)
from ._calibration import Calibration, calibration_from_dataset
from ._pixels import SUPPORTED_PHOTOMETRIC, to_grey_and_rgb
from ._values import header_numbers, number_of_frames, several_values

__all__ = ["IGNORE_FILE", "PatientIdentity", "SourceImage", "Frame", "iter_dicom_paths", "read_source", "iter_frames", "read_frames"]

#: Largest (0028,0010) Rows / (0028,0011) Columns we accept: no ultrasound screen is bigger.
MAX_SIDE_PX = 8192
#: Largest (0028,0008) Number of Frames we accept (10 minutes of cine at 30 frames/s).
MAX_FRAMES = 18000

#: What pydicom raises on a damaged header, in dcmread or when it first converts an element: a file
#: cut inside an element (EOFError, KeyError), a VR no standard has (NotImplementedError), a length
#: its VR cannot hold (BytesLengthException), a value of the wrong kind or count (TypeError,
#: ValueError, AttributeError), a sequence item without its tag (OSError without an errno).
HEADER_DAMAGE = (EOFError, KeyError, NotImplementedError, BytesLengthException, TypeError, AttributeError, ValueError, OSError)
#: Attributes the image is decoded and keyed by, each of one value: several (a damaged header, a
#: stray backslash) make the file corrupt.
SINGLE_VALUED = ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "PhotometricInterpretation", "SOPClassUID", "SOPInstanceUID")
#: Files in a folder scan that are never images: skipped, not failures.
_SKIPPED_NAMES = frozenset({"DICOMDIR"})
#: Decoder plug-in per transfer syntax, chosen by measured speed on ultrasound frames (scripts/benchmark):
#: Pillow decodes JPEG baseline ~1.8x faster than pylibjpeg-libjpeg; on JPEG 2000 the two are equal
#: within noise; pylibjpeg-rle is ~15x faster than pydicom's own RLE decoder. Other syntaxes (JPEG-LS,
#: JPEG lossless) have one decoder, pylibjpeg-libjpeg, which pydicom picks by itself.
PREFERRED_PLUGIN = {
    JPEGBaseline8Bit: "pillow",
    JPEGExtended12Bit: "pillow",
    JPEG2000: "pylibjpeg",
    JPEG2000Lossless: "pylibjpeg",
    RLELossless: "pylibjpeg",
}
#: A file of glob patterns, one a line, naming files of its folder tree that are not images.
IGNORE_FILE = ".cervical-length-ignore"


@dataclass(frozen=True)
class PatientIdentity:
    """(0010,0010) *Patient's Name*, (0010,0020) *Patient ID*, (0010,0030) *Patient's Birth Date*.

    Read only when asked for (``include_identifiers``); never part of a repr, so never logged.
    """

    name: str = field(repr=False)
    patient_id: str = field(repr=False)
    birth_date: str = field(repr=False)


@dataclass(frozen=True)
class SourceImage:
    """Identity and header facts of one DICOM image file; patient identifiers only when asked for."""

    path: Path
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    accession_number: str
    modality: str
    rows: int
    cols: int
    number_of_frames: int
    frame_time_ms: float | None  #: (0018,1063) *Frame Time*, for cine loops
    photometric_interpretation: str  #: as stored, before decoding
    transfer_syntax_uid: str
    calibration: Calibration
    patient: PatientIdentity | None = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame with its source and calibration.

    grey : (rows, cols) uint8, bright = echogenic, the model's input.
    rgb : (rows, cols, 3) uint8, the image as the scanner showed it, for overlays.
    frame_number : 1-based, as in DICOM frame references.
    Both arrays are read-only: no stage may change the image it measures.
    """

    source: SourceImage
    frame_number: int
    grey: np.ndarray
    rgb: np.ndarray

    @property
    def calibration(self) -> Calibration:
        return self.source.calibration


def _ignore_patterns(folder: Path) -> tuple[str, ...]:
    """Glob patterns listed in ``folder/.cervical-length-ignore`` (one a line, ``#`` comments)."""
    listing = folder / IGNORE_FILE
    if not listing.is_file():
        return ()
    lines = listing.read_text(encoding="utf-8", errors="replace").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def iter_dicom_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every candidate file under ``paths``, in sorted order, folders walked recursively.

    Any regular file is a candidate, with or without a ``.dcm`` suffix. Skipped: hidden files
    (``.name``), ``DICOMDIR`` index files, and names matching a glob listed in a
    ``.cervical-length-ignore`` file of the folder or of a folder above it (for example the CSV
    companions of an export). A path that does not exist raises ``FileNotFoundError``.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inherited: dict[Path, tuple[str, ...]] = {}
            for root, dirs, files in os.walk(path):
                here = Path(root)
                patterns = inherited.get(here, ()) + _ignore_patterns(here)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for d in dirs:
                    inherited[here / d] = patterns
                for name in sorted(files):
                    skipped = name.startswith(".") or name in _SKIPPED_NAMES
                    if not skipped and not any(fnmatch.fnmatch(name, p) for p in patterns):
                        yield here / name
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")


def _read_header(path: Path) -> Dataset:
    if path.is_fifo() or path.is_socket() or path.is_char_device() or path.is_block_device():
        # Reading a pipe or a device would wait for data forever and hold up the whole run.
        raise UnreadableFileError(path, "not a regular file (a pipe, socket or device): not read")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Pixel data stays on disk (defer_size) and is streamed frame by frame by iter_pixels.
            ds = pydicom.dcmread(path, defer_size="256 KB")
    except InvalidDicomError as err:
        raise NotDicomError(path, "not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from err
    except OSError as err:
        if err.errno is None:  # pydicom's own: bytes that are no DICOM element where one belongs
            raise CorruptDicomError(path, f"the DICOM header cannot be parsed ({err})") from err
        raise UnreadableFileError(path, f"cannot be opened: {err.strerror or err}") from err
    except HEADER_DAMAGE as err:
        raise CorruptDicomError(path, f"the DICOM header cannot be parsed ({type(err).__name__}: {err})") from err
    # pydicom only warns when a file ends inside an element; for us that file is truncated.
    ended_early = any("End of file reached" in str(w.message) for w in caught)
    if ended_early or len(ds) == 0:
        raise CorruptDicomError(path, "the file ends before its data set does: it is truncated")
    return ds


def _frame_count(ds: Dataset, path: Path) -> int:
    """(0028,0008) *Number of Frames*, 1 when absent; a file whose count is not an integer is corrupt."""
    try:
        return number_of_frames(ds)
    except ValueError as err:
        raise CorruptDicomError(path, f"{err}: its frames cannot be counted") from err


def _frame_time_ms(ds: Dataset, path: Path) -> float | None:
    """(0018,1063) *Frame Time* in ms, None when absent; a malformed one is ignored with a warning."""
    try:
        time_ms = header_numbers(ds, "FrameTime", float)
    except ValueError as err:
        warnings.warn(f"{path}: {err}: ignored", HeaderValueWarning, stacklevel=4)
        return None
    return None if time_ms is None else time_ms[0]


def _check_image(ds: Dataset, path: Path) -> int:
    """Raise the named error for a header that cannot give measurable frames; else its number of frames."""
    if "PixelData" not in ds:
        sop_class = ds.get("SOPClassUID")
        if sop_class is not None and "Image Storage" in sop_class.name:
            # An image object whose pixels pydicom never reached: the file ends early.
            raise CorruptDicomError(path, f"{sop_class.name} object without Pixel Data (7FE0,0010): the file is truncated")
        raise MissingPixelDataError(path, "has no Pixel Data (7FE0,0010): not an image (report, DICOMDIR), nothing to measure")
    missing = [k for k in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "PhotometricInterpretation") if k not in ds]
    if missing:
        raise CorruptDicomError(path, f"the Image Pixel module lacks {', '.join(missing)}")
    rows, cols, frames = int(ds.Rows), int(ds.Columns), _frame_count(ds, path)
    if not (1 <= rows <= MAX_SIDE_PX and 1 <= cols <= MAX_SIDE_PX):
        raise UnsupportedImageError(path, f"image size {cols}x{rows} pixels is zero or absurd (limit {MAX_SIDE_PX})")
    if not 1 <= frames <= MAX_FRAMES:
        raise UnsupportedImageError(path, f"Number of Frames {frames} is outside 1-{MAX_FRAMES}")
    if int(ds.SamplesPerPixel) not in (1, 3) or int(ds.BitsAllocated) not in (8, 16):
        raise UnsupportedImageError(
            path, f"{ds.SamplesPerPixel} samples of {ds.BitsAllocated} bits per pixel: expected 1 or 3 samples of 8 or 16 bits"
        )
    photometric = str(ds.PhotometricInterpretation).strip()
    if photometric not in SUPPORTED_PHOTOMETRIC:
        raise UnsupportedImageError(path, f"Photometric Interpretation {photometric!r} is not supported")
    if "SOPInstanceUID" not in ds:
        raise CorruptDicomError(path, "no SOP Instance UID (0008,0018): results could not be keyed to the image")
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is None:
        raise UnsupportedTransferSyntaxError(path, "the file meta has no Transfer Syntax UID (0002,0010)")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as err:
        raise UnsupportedTransferSyntaxError(
            path, f"transfer syntax {syntax.name} ({syntax}) has no pixel-data decoder (video and private syntaxes are not read)"
        ) from err
    if not decoder.is_available:
        raise UnsupportedTransferSyntaxError(
            path, f"transfer syntax {syntax.name} ({syntax}) needs a decoder plug-in that is not installed"
        )
    if decoder.is_native:
        _warn_of_excess_pixel_data(ds, path)
    return frames


#: The uncompressed transfer syntax of a data set written (implicit VR, little endian) as pydicom read it.
_NATIVE_SYNTAX = {(True, True): ImplicitVRLittleEndian, (False, True): ExplicitVRLittleEndian, (False, False): ExplicitVRBigEndian}


def _infer_transfer_syntax(ds: Dataset, path: Path) -> None:
    """Give a header without (0002,0010) *Transfer Syntax UID* (a file meta that lost it) the
    uncompressed syntax its data set is written in, with a warning; compressed (encapsulated)
    pixels name no codec, so they are left to the missing-syntax error."""
    if ds.file_meta.get("TransferSyntaxUID") is not None or "PixelData" not in ds:
        return
    element = ds.get_item("PixelData", keep_deferred=True)
    encapsulated = element.length == 0xFFFFFFFF if isinstance(element, RawDataElement) else element.is_undefined_length
    syntax = _NATIVE_SYNTAX.get(ds.original_encoding)
    if encapsulated or syntax is None:
        return
    ds.file_meta.TransferSyntaxUID = syntax
    warnings.warn(f"{path}: no Transfer Syntax UID (0002,0010): read as {syntax.name}, as its data set is written", HeaderValueWarning, stacklevel=4)


def _warn_of_excess_pixel_data(ds: Dataset, path: Path) -> None:
    """Warn when uncompressed Pixel Data holds more bytes than the header's image size says (a
    missing Number of Frames, a wrong Rows): only the bytes the header describes are read."""
    element = ds.get_item("PixelData", keep_deferred=True)  # its length, without reading the pixels
    held = element.length if isinstance(element, RawDataElement) else len(element.value)
    described = get_expected_length(ds)
    if described + described % 2 < held < 0xFFFFFFFF:  # one byte pads an odd length; the last: undefined length
        warnings.warn(
            f"{path}: Pixel Data (7FE0,0010) holds {held} bytes, {held / described:.2f} times the {described} its Rows, "
            "Columns, Samples per Pixel, Bits Allocated and Number of Frames describe: only those are read",
            HeaderValueWarning,
            stacklevel=4,
        )


def read_source(
    path: str | os.PathLike[str],
    *,
    user_mm_per_pixel: tuple[float, float] | None = None,
    include_identifiers: bool = False,
) -> SourceImage:
    """Read and check the header of one file.

    include_identifiers : also read the patient's name, ID and birth date (default: never read).

    user_mm_per_pixel : (x, y) mm per pixel, used only when the header has no scale of its own.
    Raises a :class:`~cervical_length.errors.DicomReadError` subclass naming the file and the reason.
    Warns :class:`~cervical_length.errors.NonUltrasoundWarning` for a Modality other than US and
    :class:`~cervical_length.errors.HeaderValueWarning` for a header value it ignores or reads
    around (a malformed Frame Time or Pixel Spacing, a missing Transfer Syntax UID, Pixel Data
    longer than described, a backslash in an identifying text).
    """
    path = Path(path)
    ds = _read_header(path)
    try:
        return _source_image(ds, path, user_mm_per_pixel=user_mm_per_pixel, include_identifiers=include_identifiers)
    except HEADER_DAMAGE as err:
        raise damaged_header(path, err) from err


def damaged_header(path: Path, err: Exception) -> CorruptDicomError:
    """The error of a header whose element ``err`` arose from when it was first converted (pydicom
    converts lazily, so damage dcmread passed over shows only then)."""
    return CorruptDicomError(path, f"the DICOM header is damaged ({type(err).__name__}: {err})")


def _source_image(ds: Dataset, path: Path, *, user_mm_per_pixel: tuple[float, float] | None, include_identifiers: bool) -> SourceImage:
    """The :class:`SourceImage` of a parsed header (see :func:`read_source`)."""
    if several := several_values(ds, SINGLE_VALUED) or several_values(ds.file_meta, ("TransferSyntaxUID",)):
        raise CorruptDicomError(path, f"{several} where the standard has one: the header is damaged")
    _infer_transfer_syntax(ds, path)
    frames = _check_image(ds, path)
    modality = _text(ds, "Modality", path)
    if modality != "US":
        warnings.warn(
            f"{path}: Modality is {modality or 'missing'}, not US: measured only if calibrated",
            NonUltrasoundWarning,
            stacklevel=3,
        )
    return SourceImage(
        path=path,
        sop_instance_uid=str(ds.SOPInstanceUID),
        study_instance_uid=_text(ds, "StudyInstanceUID", path),
        series_instance_uid=_text(ds, "SeriesInstanceUID", path),
        accession_number=_text(ds, "AccessionNumber", path),
        modality=modality,
        rows=int(ds.Rows),
        cols=int(ds.Columns),
        number_of_frames=frames,
        frame_time_ms=_frame_time_ms(ds, path),
        photometric_interpretation=str(ds.PhotometricInterpretation).strip(),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        calibration=calibration_from_dataset(ds, user_mm_per_pixel=user_mm_per_pixel, path=str(path)),
        patient=PatientIdentity(
            str(ds.get("PatientName", "") or ""), str(ds.get("PatientID", "") or ""), str(ds.get("PatientBirthDate", "") or "")
        )
        if include_identifiers
        else None,
    )


def _pixel_source(source: SourceImage, handle: BinaryIO) -> tuple[BinaryIO | Dataset, Dataset]:
    """What pydicom reads the frames from, and the header it describes them with: the open file,
    frame by frame, and the header pydicom fills as it goes; a deflated data set (Deflated Explicit
    VR Little Endian: all of it one zlib stream) is inflated whole first, and is its own header."""
    if source.transfer_syntax_uid == DeflatedExplicitVRLittleEndian:
        inflated = pydicom.dcmread(handle)
        return inflated, inflated
    return handle, Dataset()


def _text(ds: Dataset, keyword: str, path: Path) -> str:
    """The text of an attribute of one value ('' when absent). A backslash in it (which DICOM
    reserves to part values, so pydicom reads several) is kept as written, with a warning: the image
    can still be measured, and the rows show the attribute as the header has it."""
    if several := several_values(ds, (keyword,)):
        warnings.warn(f"{path}: {several} where the standard has one: read as one text, backslashes kept", HeaderValueWarning, stacklevel=4)
        return "\\".join(str(v) for v in ds[keyword].value)
    return str(ds.get(keyword, "") or "")


def iter_frames(source: SourceImage) -> Iterator[Frame]:
    """Yield every frame of a file whose header :func:`read_source` has checked, one at a time.

    Raises :class:`~cervical_length.errors.CorruptDicomError` naming the frame when pixel data cannot
    be decoded (truncated file, damaged JPEG stream); frames decoded before the failure are yielded.
    """
    decoder = get_decoder(source.transfer_syntax_uid)
    plugin = PREFERRED_PLUGIN.get(source.transfer_syntax_uid, "")
    if plugin and plugin not in decoder.available_plugins:
        plugin = ""  # let pydicom use whatever is installed
    # Uncompressed frames that need no resampling are views of the bytes read (pydicom's
    # view_only), not copies: 0.5-1 ms a 600 x 800 RGB frame. YBR comes as Y, Cb, Cr (as_rgb=False),
    # converted by to_grey_and_rgb: pydicom's own conversion took 5-10 ms of a JPEG frame's 12-18.
    view_only = decoder.is_native and source.photometric_interpretation != "YBR_FULL_422"
    with open(source.path, "rb") as handle:
        pixels, decoded_header = _pixel_source(source, handle)
        with closing(
            iter_pixels(
                pixels, ds_out=decoded_header, decoding_plugin=plugin, view_only=view_only, as_rgb=False,
                transfer_syntax_uid=UID(source.transfer_syntax_uid),  # the inferred one, for a file without it
            )
        ) as frames:  # closing() ends pydicom's generator while the file is open (it seeks back on exit)
            for number in range(1, source.number_of_frames + 1):
                try:
                    arr = next(frames)
                    grey, rgb = to_grey_and_rgb(arr, decoded_header)
                    grey.flags.writeable = rgb.flags.writeable = False
                except StopIteration as err:
                    raise CorruptDicomError(
                        source.path, f"pixel data ends after frame {number - 1} of {source.number_of_frames}"
                    ) from err
                except Exception as err:  # decoders raise many types; each means this frame is unreadable
                    raise CorruptDicomError(
                        source.path,
                        f"frame {number}: pixel data cannot be decoded, the file is truncated or damaged "
                        f"({type(err).__name__}: {err})",
                    ) from err
                yield Frame(source=source, frame_number=number, grey=grey, rgb=rgb)


def read_frames(
    path: str | os.PathLike[str], *, user_mm_per_pixel: tuple[float, float] | None = None
) -> Iterator[Frame]:
    """Yield every frame of one DICOM file: :func:`read_source` then :func:`iter_frames`."""
    return iter_frames(read_source(path, user_mm_per_pixel=user_mm_per_pixel))
