"""The clinical context of a scan: gestational age, history, the current pregnancy. Validated at once.

Every field may be missing (None): rules that need a missing fact say "not assessed: needs ..."
instead of guessing. Invalid values raise ``ValueError`` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Literal

__all__ = ["ClinicalContext", "parse_gestational_age", "ga_from_lmp", "ga_from_edd", "format_ga", "Plurality", "Membranes"]

Plurality = Literal["singleton", "twins", "higher"]
Membranes = Literal["intact", "ruptured"]
_GA = re.compile(r"^\s*(\d{1,2})\s*w(?:eeks?)?\s*(?:\+?\s*(\d)\s*d?(?:ays?)?)?\s*$|^\s*(\d{1,2})\s*\+\s*(\d)\s*$", re.IGNORECASE)
_MAX_GA_DAYS = 44 * 7  #: beyond 44 weeks a gestational age is an error, not a pregnancy


def parse_gestational_age(text: str, *, field_name: str = "gestational age") -> int:
    """Days from ``'20w3d'``, ``'20w'``, ``'20+3'`` or ``'20 weeks 3 days'``; ValueError naming the field."""
    match = _GA.match(str(text))
    if not match:
        raise ValueError(f"{field_name}: {text!r} is not a gestational age such as 20w3d or 20+3")
    weeks, days = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    if int(days or 0) > 6:
        # 20w9d is a typing slip (20w3d? 29w?), not 21w2d: guessing would move the gestational-age rules.
        raise ValueError(f"{field_name}: {text!r} has {days} days; the days of a gestational age are 0-6")
    total = int(weeks) * 7 + int(days or 0)
    if not 0 <= total <= _MAX_GA_DAYS:
        raise ValueError(f"{field_name}: {text!r} is outside 0-44 weeks")
    return total


def format_ga(days: int) -> str:
    """``'20+3'`` (weeks+days) from days."""
    return f"{days // 7}+{days % 7}"


def ga_from_lmp(lmp: dt.date, scan: dt.date) -> int:
    """Gestational age in days at ``scan`` from the first day of the last menstrual period."""
    return _checked((scan - lmp).days, "lmp")


def ga_from_edd(edd: dt.date, scan: dt.date) -> int:
    """Gestational age in days at ``scan`` from the estimated date of delivery (40+0 weeks)."""
    return _checked(280 - (edd - scan).days, "edd")


def _checked(days: int, name: str) -> int:
    if not 0 <= days <= _MAX_GA_DAYS:
        raise ValueError(f"{name}: gives a gestational age of {days} days at the scan, outside 0-44 weeks")
    return days


@dataclass(frozen=True)
class ClinicalContext:
    """What the clinician knows; ``None`` means unknown. Gestational ages are in days.

    prior_sptb_ga_days : gestational age of the earliest prior spontaneous preterm birth.
    second_trimester_losses : prior losses from painless cervical dilation (14-27 weeks).
    dilation_cm : cervical dilation on examination, cm.
    """

    ga_days: int | None = None
    plurality: Plurality | None = None
    prior_sptb: bool | None = None
    prior_sptb_ga_days: int | None = None
    second_trimester_losses: int | None = None
    prior_cerclage_for_painless_dilation: bool | None = None
    prior_pprom: bool | None = None
    cervical_surgery: bool | None = None  #: cone biopsy or LEEP
    deep_cervical_lacerations: bool | None = None
    mullerian_anomaly: bool | None = None
    connective_tissue_disorder: bool | None = None  #: e.g. Ehlers-Danlos
    prior_mechanical_dilation: bool | None = None
    membranes: Membranes | None = None
    labour: bool | None = None  #: regular contractions or labour
    dilation_cm: float | None = None
    membranes_at_external_os: bool | None = None
    cerclage_in_place: bool | None = None
    progesterone_given: bool | None = None
    infection: bool | None = None  #: signs of intra-amniotic infection
    bleeding: bool | None = None  #: active vaginal bleeding
    fetal_anomaly_or_demise: bool | None = None  #: lethal fetal anomaly or fetal demise
    placenta_previa: bool | None = None
    symptoms: tuple[str, ...] = ()  #: pelvic pressure, spotting, cramps, discharge

    def __post_init__(self) -> None:
        for name in ("ga_days", "prior_sptb_ga_days"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 0 <= value <= _MAX_GA_DAYS):
                raise ValueError(f"{name}: {value!r} days is outside 0-44 weeks")
        if self.plurality not in (None, "singleton", "twins", "higher"):
            raise ValueError(f"plurality: {self.plurality!r} is not one of singleton, twins, higher")
        if self.membranes not in (None, "intact", "ruptured"):
            raise ValueError(f"membranes: {self.membranes!r} is not one of intact, ruptured")
        if self.second_trimester_losses is not None and not (isinstance(self.second_trimester_losses, int) and 0 <= self.second_trimester_losses <= 20):
            raise ValueError(f"second_trimester_losses: {self.second_trimester_losses!r} is not a count from 0 to 20")
        if self.dilation_cm is not None and not 0.0 <= float(self.dilation_cm) <= 10.0:
            raise ValueError(f"dilation_cm: {self.dilation_cm!r} cm is outside 0-10 cm")
        if self.prior_sptb_ga_days is not None and self.prior_sptb is False:
            raise ValueError("prior_sptb_ga_days: given although prior_sptb is no")
        unknown = {s for s in self.symptoms} - {"pelvic pressure", "spotting", "cramps", "discharge"}
        if unknown:
            raise ValueError(f"symptoms: {sorted(unknown)} are not among pelvic pressure, spotting, cramps, discharge")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
