"""Reading ultrasound DICOM files: frames, their identity and their millimetre calibration; and
sonographers' cervical lengths from OB-GYN ultrasound reports."""

from ._calibration import (
    Calibration,
    CalibrationSource,
    UltrasoundRegion,
    calibration_from_dataset,
    user_spacing,
)
from ._calipers import CaliperReport, latest_per_study, read_caliper_report
from ._pixels import GRAPHICS_CHROMA, SUPPORTED_PHOTOMETRIC, colour_graphics, to_grey_and_rgb, ybr_full_to_rgb
from ._reader import IGNORE_FILE, Frame, PatientIdentity, SourceImage, iter_dicom_paths, iter_frames, read_frames, read_source
from ._values import (
    header_warnings_said,
    is_valid_uid,
    number_of_frames,
    require_referenceable,
    unreferenceable_uids,
    with_identity_type2,
)
from ._writer import Compression, Photometric, RegionSpec, write_us_dicom

__all__ = [
    "CaliperReport",
    "latest_per_study",
    "read_caliper_report",
    "Calibration",
    "Compression",
    "PatientIdentity",
    "Photometric",
    "RegionSpec",
    "write_us_dicom",
    "CalibrationSource",
    "Frame",
    "IGNORE_FILE",
    "SUPPORTED_PHOTOMETRIC",
    "SourceImage",
    "UltrasoundRegion",
    "calibration_from_dataset",
    "iter_dicom_paths",
    "is_valid_uid",
    "iter_frames",
    "number_of_frames",
    "read_frames",
    "read_source",
    "require_referenceable",
    "to_grey_and_rgb",
    "colour_graphics",
    "GRAPHICS_CHROMA",
    "unreferenceable_uids",
    "with_identity_type2",
    "header_warnings_said",
    "user_spacing",
    "ybr_full_to_rgb",
]
