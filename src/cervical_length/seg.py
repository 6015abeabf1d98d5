"""DICOM Segmentation of the cervical lips (highdicom), written beside the measurement with
``measure --dicom-seg``: two binary segments, anterior and posterior lip, on the measured frames of
the source image, identified as the output of this algorithm and model.

highdicom (0.28) builds a SEG of a multi-frame image only when the image has a Frame of Reference;
ultrasound cine loops rarely do, so such files get no SEG, with a note in their rows.
"""

from __future__ import annotations

import os

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from .dicom import number_of_frames, require_referenceable, with_identity_type2

__all__ = ["lip_segmentation", "write_lip_segmentation", "SEGMENTS"]

#: Segment number -> label; the numbers are the model's label values.
SEGMENTS = {1: "Anterior lip of cervix", 2: "Posterior lip of cervix"}


def lip_segmentation(source: Dataset, labels_by_frame: dict[int, np.ndarray], *, model_sha256: str, tool_version: str) -> hd.seg.Segmentation:
    """The SEG of the lips on ``source``'s measured frames.

    source : the source image's header (pixel data not needed).
    labels_by_frame : 1-based frame number -> (Rows, Columns) uint8 label map (0 background,
        1 anterior lip, 2 posterior lip); frames left out are stored as empty (omitted).
    Raises ValueError when highdicom cannot reference the frames (multi-frame without a Frame of
    Reference), a label map does not fit the image, or the source's Study, Series, SOP Class or SOP
    Instance UID is missing or not a valid UID.
    """
    require_referenceable(source, "a segmentation")
    frames = number_of_frames(source)
    shape = (int(source.Rows), int(source.Columns))
    for number, labels in labels_by_frame.items():
        if not 1 <= number <= frames or labels.shape != shape:
            raise ValueError(f"frame {number} with a {labels.shape} label map does not fit a {frames}-frame {shape} image")
    stack = np.zeros((frames, *shape), dtype=np.uint8)
    for number, labels in labels_by_frame.items():
        stack[number - 1] = labels
    algorithm = hd.AlgorithmIdentificationSequence(
        name="cervical-length", family=codes.cid7162.ArtificialIntelligence, version=f"{tool_version} model sha256 {model_sha256[:16]}"
    )
    segments = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Cervix,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for number, label in SEGMENTS.items()
    ]
    return hd.seg.Segmentation(
        source_images=[with_identity_type2(source)],
        pixel_array=stack if frames > 1 else stack[0],
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segments,
        series_instance_uid=generate_uid(),
        series_number=902,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="cervical-length",
        manufacturer_model_name="cervix-unet",
        software_versions=tool_version,
        device_serial_number=model_sha256[:16],
    )


def write_lip_segmentation(path: str | os.PathLike[str], source: Dataset, labels_by_frame: dict[int, np.ndarray], *,
                           model_sha256: str, tool_version: str) -> None:
    """Write :func:`lip_segmentation` to ``path``."""
    lip_segmentation(source, labels_by_frame, model_sha256=model_sha256, tool_version=tool_version).save_as(path)
