"""Cervical length from the two lip regions: canal, os points, lengths in mm, funnel, quality gate,
and the exam-level result.

Pure functions on arrays and records: no file is read here. Points are (row, col) pixels, float,
0-based; lengths are in mm computed with the frame's (row, col) spacing, so anisotropic pixels are
honoured. The canal is the interface between the anterior and posterior lips, found with
sub-pixel precision as the zero level of (p_anterior - p_posterior) inside the cervix, then
smoothed: a raw 8-connected skeleton would over-measure a curved canal by several per cent. The
anterior uterocervical angle is read where the anterior uterine wall is seen beside the fluid.
"""

from ._auca import Auca, anterior_uterocervical_angle
from ._canal import polyline_length_mm, smooth_polyline
from ._cervix import Measurement, QualityLimits, measure_cervix
from ._exam import ExamResult, FrameKey, exam_result
from ._funnel import SMALL_FUNNEL_MM, Funnel, funnel_shape, hidden_tip_mm, is_small_funnel
from ._masks import labelled_box
from ._sector import sector_mask

__all__ = [
    "Auca",
    "anterior_uterocervical_angle",
    "QualityLimits",
    "Funnel",
    "SMALL_FUNNEL_MM",
    "is_small_funnel",
    "Measurement",
    "polyline_length_mm",
    "smooth_polyline",
    "measure_cervix",
    "funnel_shape",
    "hidden_tip_mm",
    "FrameKey",
    "ExamResult",
    "exam_result",
    "sector_mask",
    "labelled_box",
]
