"""Guideline-based decision support for cervical insufficiency: the clinical context, the rules as
data in guideline profiles (``smfm-acog``, ``nice``), and their application. Decision support for a
clinician, not a diagnosis."""

from ._assess import DISCLAIMER, AppliedRule, Assessment, assess, facts_from
from ._catalogue import (
    GUIDELINES,
    NEAR_THRESHOLD_MM,
    PROFILES,
    SHORT_CERVIX_MM,
    AnyOf,
    Condition,
    Rule,
    near_short_cervix_threshold,
)
from ._context import ClinicalContext, format_ga, ga_from_edd, ga_from_lmp, parse_gestational_age

__all__ = [
    "DISCLAIMER",
    "GUIDELINES",
    "NEAR_THRESHOLD_MM",
    "PROFILES",
    "SHORT_CERVIX_MM",
    "AnyOf",
    "AppliedRule",
    "Assessment",
    "ClinicalContext",
    "Condition",
    "Rule",
    "assess",
    "facts_from",
    "format_ga",
    "ga_from_edd",
    "ga_from_lmp",
    "near_short_cervix_threshold",
    "parse_gestational_age",
]
