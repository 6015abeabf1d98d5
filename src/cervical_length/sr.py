"""DICOM Structured Report of an exam's cervical length: a TID 1500 Measurement Report (highdicom).

The cervical length is LOINC 11961-0 "Cervix Length" (DICOM CID 12011) in mm (UCUM), finding site
SNOMED CT 71252005 "Cervix", INFERRED FROM the traced canal as an SCOORD POLYLINE in (column, row)
order on the source image and frame; the funnel's length and width follow when there is one, then
the anterior uterocervical angle in degrees when the frame shows the wall, and the algorithm is
identified by name, version and model checksum. The SR joins the source study
(its Study Instance UID and patient module come from the source image, as a PACS needs).
"""

from __future__ import annotations

import os

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from .dicom import number_of_frames, require_referenceable, with_identity_type2
from .engine import FrameResult

__all__ = ["cervical_length_report", "write_report_sr", "FUNNEL_LENGTH", "FUNNEL_WIDTH", "AUCA"]

#: No standard code names the funnel's dimensions: a private coding scheme, declared as such.
FUNNEL_LENGTH = hd.sr.CodedConcept("FUNNEL-LENGTH", "99CERVLEN", "Cervical funnel length")
FUNNEL_WIDTH = hd.sr.CodedConcept("FUNNEL-WIDTH", "99CERVLEN", "Cervical funnel width")
AUCA = hd.sr.CodedConcept("AUCA", "99CERVLEN", "Anterior uterocervical angle")
_DEVICE_UID = generate_uid(entropy_srcs=["cervical-length", "observer device"])


def cervical_length_report(source: Dataset, row: FrameResult, *, tool_version: str) -> hd.sr.Comprehensive3DSR:
    """The SR for a measured frame ``row`` of the image whose header is ``source``.

    source : the source image's header (pixel data not needed). row : a ``measured`` row whose
    ``canal_px`` holds the traced canal as (row, col) pixels. Raises ValueError for another row, or
    a source whose Study, Series, SOP Class or SOP Instance UID is missing or not a valid UID.
    """
    if row.status != "measured" or row.cl_mm is None or len(row.canal_px) < 2:
        raise ValueError(f"{row.file} frame {row.frame}: only a measured frame with its canal can be reported")
    require_referenceable(source, "a report")
    frames = [row.frame] if number_of_frames(source) > 1 else None
    image = hd.sr.SourceImageForRegion(source.SOPClassUID, source.SOPInstanceUID, referenced_frame_numbers=frames)
    canal = np.asarray(row.canal_px, dtype=np.float32)[:, ::-1]  # SCOORD is (column, row)
    algorithm = hd.sr.AlgorithmIdentification(name="cervical-length", version=tool_version, parameters=[f"model sha256 {row.model_sha256}"])
    site = [hd.sr.FindingSite(codes.SCT.Cervix)]
    measurements = [
        hd.sr.Measurement(
            name=codes.LN.CervixLength,
            value=float(row.cl_mm),
            unit=codes.UCUM.Millimeter,
            algorithm_id=algorithm,
            finding_sites=site,
            referenced_coordinates=[hd.sr.CoordinatesForMeasurement(hd.sr.GraphicTypeValues.POLYLINE, canal, image)],
        )
    ]
    if row.funnel:
        for name, value in ((FUNNEL_LENGTH, row.funnel_length_mm), (FUNNEL_WIDTH, row.funnel_width_mm)):
            measurements.append(hd.sr.Measurement(name=name, value=float(value), unit=codes.UCUM.Millimeter, algorithm_id=algorithm, finding_sites=site))
    if row.auca_deg is not None:
        measurements.append(hd.sr.Measurement(name=AUCA, value=float(row.auca_deg), unit=codes.UCUM.Degree, algorithm_id=algorithm, finding_sites=site))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="Cervical length"),
        finding_type=codes.SCT.Cervix,
        finding_sites=site,
        measurements=measurements,
    )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=_DEVICE_UID, name="cervical-length", model_name=tool_version),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.Ultrasonography,
        imaging_measurements=[group],
    )
    return hd.sr.Comprehensive3DSR(
        evidence=[with_identity_type2(source)],
        content=report,
        series_instance_uid=generate_uid(),
        series_number=901,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="cervical-length",
        is_complete=True,
    )


def write_report_sr(path: str | os.PathLike[str], source: Dataset, row: FrameResult, *, tool_version: str) -> None:
    """Write :func:`cervical_length_report` to ``path``."""
    cervical_length_report(source, row, tool_version=tool_version).save_as(path)
