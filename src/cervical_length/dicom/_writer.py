"""Writing ultrasound DICOM exports, for the sample files and the tests.

Writes what a scanner export holds: US Image Storage (one frame) or US Multi-frame Image Storage
(cine), the (0018,6011) *Sequence of Ultrasound Regions*, burned-in annotation flag, synthetic
identifiers. Pixel data in any photometric interpretation and compression the reader accepts.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

__all__ = ["RegionSpec", "Photometric", "Compression", "write_us_dicom", "US_IMAGE_STORAGE", "US_MULTIFRAME_STORAGE"]

US_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.6.1")
US_MULTIFRAME_STORAGE = UID("1.2.840.10008.5.1.4.1.1.3.1")

Photometric = Literal["MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR"]
Compression = Literal["none", "jpeg_baseline", "rle", "jpeg2000"]


@dataclass(frozen=True)
class RegionSpec:
    """One item of (0018,6011) to write.

    bounds_px : (min_col, min_row, max_col, max_row), 0-based inclusive pixels, as in
        (0018,6018)-(0018,601E); they may run past the image, as some exports do.
    delta_x_cm, delta_y_cm : (0018,602C)/(0018,602E) *Physical Delta X/Y* in ``units`` per pixel.
    """

    bounds_px: tuple[int, int, int, int]
    delta_x_cm: float
    delta_y_cm: float
    spatial_format: int = 1  #: 1 = 2D, 2 = M-mode, 3 = spectral, 4 = waveform
    data_type: int = 1  #: 1 = tissue, 2 = colour flow, 3 = PW Doppler, 9 = ECG trace
    units_x: int = 3  #: 3 = cm
    units_y: int = 3

    def to_item(self) -> Dataset:
        item = Dataset()
        item.RegionSpatialFormat = self.spatial_format
        item.RegionDataType = self.data_type
        item.RegionFlags = 0
        item.RegionLocationMinX0, item.RegionLocationMinY0, item.RegionLocationMaxX1, item.RegionLocationMaxY1 = (
            int(v) for v in self.bounds_px
        )
        item.PhysicalUnitsXDirection = self.units_x
        item.PhysicalUnitsYDirection = self.units_y
        item.PhysicalDeltaX = float(self.delta_x_cm)
        item.PhysicalDeltaY = float(self.delta_y_cm)
        return item


def _palette(ds: Dataset, grey: np.ndarray) -> np.ndarray:
    """Store ``grey`` as indices into a warm 16-bit palette, the look of many scanners' B-mode tint."""
    ramp = np.arange(256, dtype=np.float64) / 255.0
    for colour, gain in (("Red", 1.0), ("Green", 0.92), ("Blue", 0.8)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        lut = np.rint(ramp * gain * 65535).astype("<u2")
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.tobytes())
    return grey


def _encode(frames_rgb: np.ndarray, photometric: Photometric, compression: Compression, ds: Dataset) -> None:
    """Set the Image Pixel module and Pixel Data of ``ds`` from (N, rows, cols, 3) uint8 RGB."""
    n, rows, cols, _ = frames_rgb.shape
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    colour = photometric in ("RGB", "YBR_FULL", "YBR_FULL_422")
    ds.SamplesPerPixel = 3 if colour else 1
    if colour:
        ds.PlanarConfiguration = 0
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames_rgb])
    if compression == "jpeg_baseline":
        if photometric != "YBR_FULL_422":
            raise ValueError("compression 'jpeg_baseline' is written as photometric 'YBR_FULL_422', as scanners do")
        params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422]
        encoded = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), params)[1].tobytes() for f in frames_rgb]
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PixelData = encapsulate(encoded)
        ds["PixelData"].VR = "OB"
        return
    if photometric == "YBR_FULL_422":
        raise ValueError("photometric 'YBR_FULL_422' is written only with compression 'jpeg_baseline'")
    if photometric == "RGB":
        pixels = frames_rgb
    elif photometric == "YBR_FULL":
        # copy: pydicom converts in place, and the caller's array must stay unchanged
        pixels = convert_color_space(frames_rgb.copy(), "RGB", "YBR_FULL", per_frame=True)
    elif photometric == "MONOCHROME1":
        pixels = 255 - grey
    elif photometric == "PALETTE COLOR":
        pixels = _palette(ds, grey)
    else:
        pixels = grey
    ds.PhotometricInterpretation = photometric
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = np.ascontiguousarray(pixels if n > 1 else pixels[0]).tobytes()
    if compression == "rle":
        ds.compress(RLELossless)
    elif compression == "jpeg2000":
        ds.compress(JPEG2000Lossless)


def write_us_dicom(
    path: str | os.PathLike[str],
    frames_rgb: np.ndarray,
    *,
    photometric: Photometric = "RGB",
    compression: Compression = "none",
    regions: Sequence[RegionSpec] = (),
    pixel_spacing_mm: tuple[float, float] | None = None,
    frame_time_ms: float | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    patient_id: str = "PHANTOM-0001",
    patient_name: str = "Phantom^Cervix",
    accession_number: str = "",
    modality: str = "US",
    manufacturer: str = "cervical-length phantom",
    content_time: dt.datetime | None = None,
) -> Dataset:
    """Write an ultrasound export to ``path`` and return the written data set.

    frames_rgb : (rows, cols, 3) or (N, rows, cols, 3) uint8 RGB, the image as the scanner shows it.
        More than one frame gives a US Multi-frame Image with ``frame_time_ms`` (0018,1063).
    pixel_spacing_mm : (row, col) mm, written as (0028,0030) *Pixel Spacing*.
    Identifiers are synthetic; UIDs are generated when not given.
    """
    frames_rgb = np.asarray(frames_rgb, dtype=np.uint8)
    if frames_rgb.ndim == 3:
        frames_rgb = frames_rgb[None]
    if frames_rgb.ndim != 4 or frames_rgb.shape[-1] != 3:
        raise ValueError(f"frames_rgb must be (rows, cols, 3) or (N, rows, cols, 3), got {frames_rgb.shape}")
    n = frames_rgb.shape[0]
    sop_class = US_MULTIFRAME_STORAGE if n > 1 else US_IMAGE_STORAGE
    sop_uid = sop_uid or generate_uid()
    when = content_time or dt.datetime(2026, 1, 1, 9, 0, 0)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient_name, patient_id, "19900101", "F"
    ds.AccessionNumber = accession_number
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = when.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = when.strftime("%H%M%S")
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "", "0001"]
    ds.BodyPartExamined = "CERVIX"
    ds.BurnedInAnnotation = "YES"
    if n > 1:
        ds.NumberOfFrames = n
        ds.FrameTime = float(frame_time_ms if frame_time_ms is not None else 33.3)
        ds.FrameIncrementPointer = 0x00181063
    if regions:
        ds.SequenceOfUltrasoundRegions = [r.to_item() for r in regions]
    if pixel_spacing_mm is not None:
        ds.PixelSpacing = [float(pixel_spacing_mm[0]), float(pixel_spacing_mm[1])]
    _encode(frames_rgb, photometric, compression, ds)
    ds.save_as(path, enforce_file_format=True)
    return ds
