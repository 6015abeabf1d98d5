"""Applying a guideline profile to a measurement and its clinical context."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass

from ._catalogue import GUIDELINES, PROFILES, AnyOf, Node, Rule, RuleKind
from ._context import ClinicalContext, format_ga

__all__ = ["AppliedRule", "Assessment", "DISCLAIMER", "assess", "facts_from"]

DISCLAIMER = "Decision support for a clinician, not a diagnosis."

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
#: What to ask for when a fact is missing: the context field (or measurement) behind it.
_NEEDS = {
    "cl_mm": "a measurable cervical length",
    "funnel": "funnelling seen or not",
    "singleton": "plurality",
    "multiple": "plurality",
    "prior_sptb_lt34": "gestational age of the prior spontaneous preterm birth",
    "mid_trimester_loss": "second_trimester_losses",
    "membranes_ruptured": "membranes",
    "cervical_trauma": "cervical_surgery or deep_cervical_lacerations",
    "ga_days": "gestational age",
}


def _any_known(*values: bool | None) -> bool | None:
    """True if any is True, False if all are False, None otherwise."""
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def facts_from(context: ClinicalContext, *, cl_mm: float | None, funnel: bool | None) -> dict[str, object]:
    """The facts the rules read: the context's fields plus derived ones; None where unknown."""
    facts: dict[str, object] = asdict(context)
    plurality = context.plurality
    facts.update(
        cl_mm=cl_mm,
        funnel=funnel,
        singleton=None if plurality is None else plurality == "singleton",
        multiple=None if plurality is None else plurality != "singleton",
        membranes_ruptured=None if context.membranes is None else context.membranes == "ruptured",
        mid_trimester_loss=None if context.second_trimester_losses is None else context.second_trimester_losses >= 1,
        cervical_trauma=_any_known(context.cervical_surgery, context.deep_cervical_lacerations),
        prior_sptb_lt34=(
            False
            if context.prior_sptb is False
            else None
            if context.prior_sptb is None or context.prior_sptb_ga_days is None
            else context.prior_sptb_ga_days < 34 * 7
        ),
    )
    return facts


#: How facts read in the comparisons shown to the clinician.
_LABELS = {
    "cl_mm": "CL",
    "ga_days": "GA",
    "prior_sptb": "prior spontaneous preterm birth",
    "prior_sptb_lt34": "prior spontaneous preterm birth before 34 weeks",
    "mid_trimester_loss": "prior mid-trimester loss",
    "membranes_ruptured": "membranes ruptured",
    "membranes_at_external_os": "membranes at the external os",
    "dilation_cm": "dilation",
}


def _show(fact: str, value: object, *, exact: bool = False) -> str:
    """A fact as a comparison shows it; ``exact`` shows a length in full, not to 0.1 mm."""
    label = _LABELS.get(fact, fact.replace("_", " "))
    if fact == "ga_days":
        return f"{label} {format_ga(int(value))}"
    if fact == "cl_mm":
        return f"{label} {float(value):{'g' if exact else '.1f'}} mm"
    if fact == "dilation_cm":
        return f"{label} {float(value):g} cm"
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    return f"{label} {value}"


def _limit(fact: str, value: object) -> str:
    if fact.endswith("ga_days"):
        return format_ga(int(value))
    if fact == "cl_mm":
        return f"{float(value):g} mm"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check(node: Node, facts: dict[str, object]) -> tuple[bool | None, list[str], list[str]]:
    """(holds, comparisons made, facts missing) for one condition or AnyOf."""
    if isinstance(node, AnyOf):
        results = [_check(option, facts) for option in node.options]
        held = [r for r in results if r[0] is True]
        if held:
            return True, held[0][1], []
        missing = [m for r in results for m in r[2]]
        return (None if missing else False), [c for r in results for c in r[1]], missing
    value = facts.get(node.fact)
    if value is None:
        return None, [], [node.fact]
    holds = bool(_OPS[node.op](value, node.value))
    if isinstance(node.value, bool) and node.op == "==":
        comparison = _show(node.fact, value)
    else:
        # 25.04 mm reads 25.0 at 0.1 mm, yet is not <= 25 mm: shown in full where 0.1 mm reads across the limit.
        across = node.fact == "cl_mm" and _OPS[node.op](round(float(value), 1), node.value) != holds
        comparison = f"{_show(node.fact, value, exact=across)} {node.op} {_limit(node.fact, node.value)}"
    return holds, [comparison + ("" if holds else " (does not hold)")], []


@dataclass(frozen=True)
class AppliedRule:
    """A rule that applied, or could not be assessed: with the comparisons made and its source."""

    id: str
    kind: RuleKind
    statement: str
    comparisons: tuple[str, ...]
    citation: str
    version: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    """What applies under one guideline profile. ``not_assessed`` lists rules missing a fact."""

    profile: str
    findings: tuple[AppliedRule, ...]
    suggestions: tuple[AppliedRule, ...]
    contraindications: tuple[AppliedRule, ...]
    notes: tuple[AppliedRule, ...]
    not_assessed: tuple[AppliedRule, ...]
    withheld: tuple[AppliedRule, ...] = ()  #: suggestions that applied but a contraindication blocks
    disclaimer: str = DISCLAIMER

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"Cervical insufficiency rules, profile {self.profile}. {self.disclaimer}"]
        for title, group in (("Findings", self.findings), ("Suggestions", self.suggestions), ("Contraindications", self.contraindications), ("Notes", self.notes)):
            if group:
                lines.append(f"{title}:")
                lines.extend(f"  [{r.id} v{r.version}] {r.statement}\n      because {'; '.join(r.comparisons)}\n      source: {r.citation}" for r in group)
        if self.withheld:
            lines.append("Withheld (a contraindication applies):")
            lines.extend(f"  [{r.id}] {r.statement}" for r in self.withheld)
        if self.not_assessed:
            lines.append("Not assessed:")
            lines.extend(f"  [{r.id}] needs {', '.join(r.needs)}" for r in self.not_assessed)
        return "\n".join(lines)


def _apply(rule: Rule, facts: dict[str, object]) -> tuple[bool | None, AppliedRule]:
    holds, comparisons, missing = True, [], []
    for node in rule.conditions:
        result, made, lacking = _check(node, facts)
        if result is False:
            return False, AppliedRule(rule.id, rule.kind, rule.statement, (), GUIDELINES[rule.source], rule.version)
        if result is None:
            holds = None
            missing.extend(lacking)
        comparisons.extend(made)
    needs = tuple(dict.fromkeys(_NEEDS.get(m, m) for m in missing))
    return holds, AppliedRule(rule.id, rule.kind, rule.statement, tuple(comparisons), GUIDELINES[rule.source], rule.version, needs)


def assess(
    context: ClinicalContext,
    *,
    cl_mm: float | None,
    funnel: bool | None = None,
    profile: str = "smfm-acog",
) -> Assessment:
    """Apply ``profile``'s rules to a cervical length (mm; None when not measurable) and its context.

    A rule applies when all its conditions hold; one whose conditions hold except for missing facts
    is "not assessed" with what it needs; one with a failing condition is silent.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile: {profile!r} is not one of {', '.join(PROFILES)}")
    if cl_mm is not None and not 0.0 < cl_mm <= 80.0:
        raise ValueError(f"cl_mm: {cl_mm} mm is not a cervical length (0-80 mm)")
    facts = facts_from(context, cl_mm=cl_mm, funnel=funnel)
    groups: dict[str, list[AppliedRule]] = {"finding": [], "suggestion": [], "contraindication": [], "note": [], "unknown": []}
    rules = PROFILES[profile]
    for rule in rules:
        holds, applied = _apply(rule, facts)
        if holds is True:
            groups[rule.kind].append(applied)
        elif holds is None:
            groups["unknown"].append(applied)
    contraindicated = {r.id for r in groups["contraindication"]}
    blocked = {rule.id for rule in rules if contraindicated.intersection(rule.blocked_by)}
    return Assessment(
        profile,
        tuple(groups["finding"]),
        tuple(r for r in groups["suggestion"] if r.id not in blocked),
        tuple(groups["contraindication"]),
        tuple(groups["note"]),
        tuple(groups["unknown"]),
        tuple(r for r in groups["suggestion"] if r.id in blocked),
    )
