"""The rules, as data: each with an id, a plain statement, its conditions, its kind and its source.

Thresholds are written exactly as each guideline states them ("< 25 mm" for cerclage, "<= 20 mm"
for progesterone in ACOG PB 234, "< 25 mm" throughout NICE NG25). Gestational ages are in days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Condition", "AnyOf", "Rule", "RuleKind", "PROFILES", "GUIDELINES", "SHORT_CERVIX_MM", "NEAR_THRESHOLD_MM", "near_short_cervix_threshold"]

RuleKind = Literal["finding", "suggestion", "contraindication", "note"]
Op = Literal["<", "<=", ">", ">=", "==", "!="]

W = 7  # days per week


@dataclass(frozen=True)
class Condition:
    """``fact op value``, e.g. ``Condition("cl_mm", "<", 25.0)``."""

    fact: str
    op: Op
    value: object


@dataclass(frozen=True)
class AnyOf:
    """True when any of its conditions holds."""

    options: tuple[Condition, ...]


Node = Condition | AnyOf


@dataclass(frozen=True)
class Rule:
    """One guideline statement. It applies when every condition holds."""

    id: str
    kind: RuleKind
    statement: str
    conditions: tuple[Node, ...]
    source: str  #: key of :data:`GUIDELINES`
    blocked_by: tuple[str, ...] = ()  #: contraindication ids that withhold this suggestion
    version: str = "1"  #: bumped whenever the rule's wording or conditions change


GUIDELINES = {
    "SMFM40": "SMFM Consult Series #40: The role of routine cervical length screening in selected high- and low-risk women for preterm birth prevention (2016)",
    "ACOG142": "ACOG Practice Bulletin No. 142: Cerclage for the management of cervical insufficiency (2014, reaffirmed)",
    "ACOG234": "ACOG Practice Bulletin No. 234: Prediction and prevention of spontaneous preterm birth (2021)",
    "FDA2023": "US FDA: withdrawal of approval of hydroxyprogesterone caproate (Makena) injection (April 2023)",
    "NG25": "NICE guideline NG25: Preterm labour and birth (2015, updated 2022), section 1.2",
    "NG137": "NICE guideline NG137: Twin and triplet pregnancy (2019), section 1.8",
    "BANDS": "cervical-length report bands (descriptive, not a guideline threshold)",
    "AGREEMENT": (
        "cervical-length README, 'Model and accuracy': the tool's 95 % limits of agreement with the truth of generated "
        "phantoms reach about 2.5 mm either way; examiners on real scans differ by up to about 4 mm"
    ),
}

SINGLETON = Condition("singleton", "==", True)
GA_16_TO_24 = (Condition("ga_days", ">=", 16 * W), Condition("ga_days", "<", 24 * W))
GA_16_TO_24_INCLUSIVE = (Condition("ga_days", ">=", 16 * W), Condition("ga_days", "<=", 24 * W))
#: Where ACOG PB 234's 20 mm threshold for vaginal progesterone decides: a singleton, no prior
#: spontaneous preterm birth, at or before 24 weeks.
PROGESTERONE_WITHOUT_PRIOR_SPTB = (SINGLETON, Condition("prior_sptb", "==", False), Condition("ga_days", "<=", 24 * W))



def _band(name: str, label: str, *conditions: Condition) -> Rule:
    return Rule(f"BAND-{name}", "note", f"Cervical length band {label}.", conditions, "BANDS")


# Bands cover every length once: half-open between whole numbers, except that 21-25 ends at 25.0
# inclusive so that the band agrees with the "25 mm or less" short-cervix definition.
_BANDS = (
    _band("LT10", "< 10 mm", Condition("cl_mm", "<", 10.0)),
    _band("10-15", "10-15 mm", Condition("cl_mm", ">=", 10.0), Condition("cl_mm", "<", 16.0)),
    _band("16-20", "16-20 mm", Condition("cl_mm", ">=", 16.0), Condition("cl_mm", "<", 21.0)),
    _band("21-25", "21-25 mm", Condition("cl_mm", ">=", 21.0), Condition("cl_mm", "<=", 25.0)),
    _band("26-29", "26-29 mm", Condition("cl_mm", ">", 25.0), Condition("cl_mm", "<", 30.0)),
    _band("GE30", ">= 30 mm", Condition("cl_mm", ">=", 30.0)),
)

#: The short-cervix threshold (mm) of both profiles: "25 mm or less" (ACOG), "less than 25 mm" (NICE).
SHORT_CERVIX_MM = 25.0
#: A cervical length within this many mm of a guideline threshold (mm) can fall on either side of
#: it by the tool's own error: the widest 95 % limits of agreement on the test phantoms, about
#: 2.5 mm either way (-2.47 to +2.64 mm, shifted look, 10,000 phantoms; README, "Model and accuracy").
NEAR_THRESHOLD_MM = 2.5


def _near_range_mm(threshold_mm: float) -> tuple[float, float]:
    """The lengths (mm, both included) within :data:`NEAR_THRESHOLD_MM` of ``threshold_mm``."""
    return threshold_mm - NEAR_THRESHOLD_MM, threshold_mm + NEAR_THRESHOLD_MM


def near_short_cervix_threshold(cl_mm: float | None) -> bool:
    """Whether a cervical length (mm; None when not measured) lies within :data:`NEAR_THRESHOLD_MM`
    of :data:`SHORT_CERVIX_MM`, bounds included: the range of the ``NEAR-25`` rule, for outputs shown
    without the clinical context that rule also asks for."""
    low, high = _near_range_mm(SHORT_CERVIX_MM)
    return cl_mm is not None and low <= cl_mm <= high


def _near(threshold_mm: float, what: str, *where: Node) -> Rule:
    """A note that the length is near ``threshold_mm``, where (``where``) that threshold decides."""
    low, high = _near_range_mm(threshold_mm)
    return Rule(
        f"NEAR-{threshold_mm:g}",
        "note",
        f"Cervical length within {NEAR_THRESHOLD_MM:g} mm of {threshold_mm:g} mm, {what}: a measurement error of that size "
        "(the tool's on phantoms; more between examiners) can put it on either side; confirm it with a careful caliper "
        "measurement before acting on it.",
        (Condition("cl_mm", ">=", low), Condition("cl_mm", "<=", high), *where),
        "AGREEMENT",
    )


_COMMON = (
    *_BANDS,
    _near(SHORT_CERVIX_MM, "the short-cervix threshold", *GA_16_TO_24_INCLUSIVE),
    Rule(
        "FUNNEL",
        "finding",
        "Funnelling (membranes protruding into the endocervical canal) strongly suggests cervical insufficiency.",
        (Condition("funnel", "==", True),),
        "ACOG142",
    ),
    Rule(
        "MEMBRANES-AT-OS",
        "finding",
        "Membranes visible at or beyond the external os: advanced cervical change.",
        (Condition("membranes_at_external_os", "==", True),),
        "ACOG142",
    ),
    Rule(
        "CERCLAGE-REMOVAL",
        "note",
        "A cerclage is in place: remove it at 36+0 to 37+0 weeks, or at the onset of labour.",
        (Condition("cerclage_in_place", "==", True),),
        "ACOG142",
    ),
    *(
        Rule(f"RISK-{key}", "note", f"Risk factor for cervical insufficiency or preterm birth: {text}.", (Condition(fact, "==", True),), "ACOG142")
        for key, fact, text in (
            ("PRIOR-SPTB", "prior_sptb", "prior spontaneous preterm birth"),
            ("LOSS", "mid_trimester_loss", "prior second-trimester loss with painless dilation"),
            ("SURGERY", "cervical_surgery", "prior cervical surgery (cone biopsy, LEEP)"),
            ("LACERATION", "deep_cervical_lacerations", "deep cervical lacerations"),
            ("MULLERIAN", "mullerian_anomaly", "Mullerian anomaly"),
            ("CONNECTIVE", "connective_tissue_disorder", "connective-tissue disorder (e.g. Ehlers-Danlos)"),
            ("DILATION", "prior_mechanical_dilation", "prior mechanical cervical dilation"),
        )
    ),
    Rule(
        "RECURRENCE",
        "note",
        "Two or more second-trimester losses: the risk of recurrence is about 30 %.",
        (Condition("second_trimester_losses", ">=", 2),),
        "ACOG142",
    ),
)

_ACOG_CERCLAGE_CI = ("CERCLAGE-CI-MULTIPLE", "CERCLAGE-CI-ROM", "CERCLAGE-CI-LABOUR", "CERCLAGE-CI-INFECTION", "CERCLAGE-CI-BLEEDING", "CERCLAGE-CI-FETAL", "CERCLAGE-CI-VIABILITY")

_CERCLAGE_CONTRAINDICATIONS_ACOG = tuple(
    Rule(f"CERCLAGE-CI-{key}", "contraindication", f"Cerclage is contraindicated: {text}.", (Condition(fact, "==", True),), "ACOG142")
    for key, fact, text in (
        ("MULTIPLE", "multiple", "multiple pregnancy (cerclage may increase preterm birth in twins)"),
        ("ROM", "membranes_ruptured", "ruptured membranes"),
        ("LABOUR", "labour", "active preterm labour"),
        ("INFECTION", "infection", "intra-amniotic infection"),
        ("BLEEDING", "bleeding", "active bleeding"),
        ("FETAL", "fetal_anomaly_or_demise", "lethal fetal anomaly or fetal demise"),
    )
)

SMFM_ACOG = (
    *_COMMON,
    _near(20.0, "ACOG's threshold for vaginal progesterone without a prior preterm birth", *PROGESTERONE_WITHOUT_PRIOR_SPTB),
    Rule(
        "SHORT-CERVIX",
        "finding",
        "Short cervix: transvaginal cervical length 25 mm or less before 24+0 weeks.",
        (Condition("cl_mm", "<=", SHORT_CERVIX_MM), *GA_16_TO_24),
        "ACOG234",
    ),
    Rule(
        "SCREEN-SERIAL",
        "suggestion",
        "Serial transvaginal cervical length every 2 weeks from 16+0 to 23+6 weeks (singleton, prior spontaneous preterm birth).",
        (
            SINGLETON,
            Condition("prior_sptb", "==", True),
            *GA_16_TO_24,
            Condition("cerclage_in_place", "==", False),
            Condition("placenta_previa", "==", False),
            Condition("membranes_ruptured", "==", False),
        ),
        "SMFM40",
    ),
    Rule(
        "SCREEN-WEEKLY",
        "suggestion",
        "Cervical length 25-29 mm with prior spontaneous preterm birth: repeat weekly.",
        (SINGLETON, Condition("prior_sptb", "==", True), Condition("cl_mm", ">=", 25.0), Condition("cl_mm", "<=", 29.0), *GA_16_TO_24),
        "SMFM40",
    ),
    Rule(
        "SCREEN-NOT-RECOMMENDED",
        "note",
        "Routine cervical length screening is not recommended with a cerclage in place, a multiple pregnancy, placenta previa or ruptured membranes.",
        (AnyOf((Condition("cerclage_in_place", "==", True), Condition("multiple", "==", True), Condition("placenta_previa", "==", True), Condition("membranes_ruptured", "==", True))),),
        "SMFM40",
    ),
    Rule(
        "CERCLAGE-US",
        "suggestion",
        "Ultrasound-indicated cerclage may be offered: singleton, prior spontaneous preterm birth before 34 weeks, cervical length < 25 mm before 24+0 weeks.",
        (SINGLETON, Condition("prior_sptb_lt34", "==", True), Condition("cl_mm", "<", SHORT_CERVIX_MM), *GA_16_TO_24, Condition("cerclage_in_place", "==", False)),
        "ACOG142",
        _ACOG_CERCLAGE_CI,
    ),
    Rule(
        "CERCLAGE-HISTORY",
        "suggestion",
        "History-indicated cerclage, usually placed at 12-14 weeks: one or more second-trimester losses from painless dilation, or a prior cerclage for painless dilation.",
        (AnyOf((Condition("mid_trimester_loss", "==", True), Condition("prior_cerclage_for_painless_dilation", "==", True))), Condition("cerclage_in_place", "==", False)),
        "ACOG142",
        _ACOG_CERCLAGE_CI,
    ),
    Rule(
        "CERCLAGE-EXAM",
        "suggestion",
        "Physical-examination-indicated (rescue) cerclage may be considered: painless cervical dilation in the second trimester without labour or infection.",
        (Condition("dilation_cm", ">", 0.0), Condition("ga_days", ">=", 14 * W), Condition("ga_days", "<", 24 * W), Condition("labour", "==", False), Condition("infection", "==", False)),
        "ACOG142",
        _ACOG_CERCLAGE_CI,
    ),
    Rule(
        "CERCLAGE-CI-VIABILITY",
        "contraindication",
        "Cerclage is not offered beyond the limit of viability (about 24 weeks).",
        (Condition("ga_days", ">=", 24 * W),),
        "ACOG142",
    ),
    *_CERCLAGE_CONTRAINDICATIONS_ACOG,
    Rule(
        "PROGESTERONE-VAGINAL",
        "suggestion",
        "Vaginal progesterone: singleton without prior spontaneous preterm birth, cervical length 20 mm or less at or before 24 weeks.",
        (Condition("cl_mm", "<=", 20.0), *PROGESTERONE_WITHOUT_PRIOR_SPTB),
        "ACOG234",
    ),
    Rule(
        "17OHPC-WITHDRAWN",
        "note",
        "Weekly intramuscular 17-OHPC, still described in many texts, was withdrawn from the US market in 2023: not suggested.",
        (Condition("prior_sptb", "==", True),),
        "FDA2023",
    ),
)

NICE = (
    *_COMMON,
    Rule(
        "NICE-SHORT-CERVIX",
        "finding",
        "Cervical length less than 25 mm on transvaginal ultrasound between 16+0 and 24+0 weeks.",
        (Condition("cl_mm", "<", SHORT_CERVIX_MM), *GA_16_TO_24_INCLUSIVE),
        "NG25",
    ),
    Rule(
        "NICE-CHOICE",
        "suggestion",
        "Offer a choice of prophylactic vaginal progesterone or prophylactic cervical cerclage: history of spontaneous preterm birth or mid-trimester loss, and cervical length < 25 mm at 16+0-24+0 weeks.",
        (AnyOf((Condition("prior_sptb", "==", True), Condition("mid_trimester_loss", "==", True))), Condition("cl_mm", "<", SHORT_CERVIX_MM), *GA_16_TO_24_INCLUSIVE),
        "NG25",
        ("NICE-CI-MULTIPLE",),
    ),
    Rule(
        "NICE-PROGESTERONE",
        "suggestion",
        "Offer prophylactic vaginal progesterone: no history of spontaneous preterm birth or mid-trimester loss, and cervical length < 25 mm at 16+0-24+0 weeks.",
        (Condition("prior_sptb", "==", False), Condition("mid_trimester_loss", "==", False), Condition("cl_mm", "<", SHORT_CERVIX_MM), *GA_16_TO_24_INCLUSIVE),
        "NG25",
        ("NICE-CI-MULTIPLE",),
    ),
    Rule(
        "NICE-CERCLAGE-PPROM-TRAUMA",
        "suggestion",
        "Consider prophylactic cervical cerclage: cervical length < 25 mm at 16+0-24+0 weeks and previous P-PROM or a history of cervical trauma.",
        (AnyOf((Condition("prior_pprom", "==", True), Condition("cervical_trauma", "==", True))), Condition("cl_mm", "<", SHORT_CERVIX_MM), *GA_16_TO_24_INCLUSIVE),
        "NG25",
        ("NICE-CI-MULTIPLE",),
    ),
    Rule(
        "NICE-RESCUE",
        "suggestion",
        "Consider rescue cerclage: 16+0-27+6 weeks, dilated cervix with exposed, unruptured membranes.",
        (Condition("ga_days", ">=", 16 * W), Condition("ga_days", "<", 28 * W), Condition("dilation_cm", ">", 0.0), Condition("membranes_at_external_os", "==", True), Condition("membranes_ruptured", "==", False)),
        "NG25",
        ("NICE-RESCUE-CI", "NICE-CI-MULTIPLE"),
    ),
    Rule(
        "NICE-RESCUE-CI",
        "contraindication",
        "Do not offer rescue cerclage with signs of infection, active vaginal bleeding or uterine contractions.",
        (AnyOf((Condition("infection", "==", True), Condition("bleeding", "==", True), Condition("labour", "==", True))),),
        "NG25",
    ),
    Rule(
        "NICE-CI-MULTIPLE",
        "contraindication",
        "Do not use cervical cerclage or progesterone routinely to prevent spontaneous preterm birth in twin or triplet pregnancy.",
        (Condition("multiple", "==", True),),
        "NG137",
    ),
)

#: Guideline profiles: the rule sets a user can choose from.
PROFILES: dict[str, tuple[Rule, ...]] = {"smfm-acog": SMFM_ACOG, "nice": NICE}
