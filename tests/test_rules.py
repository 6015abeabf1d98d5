"""Insufficiency rules: scenarios written from the guideline texts, each with the rule ids expected.

Sources: SMFM Consult Series #40 (2016); ACOG Practice Bulletins 142 (2014) and 234 (2021); NICE NG25
section 1.2 and NG137 section 1.8. The expected sets list every finding, suggestion and
contraindication that must apply (notes are checked separately): nothing more may apply.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cervical_length.cli import main
from cervical_length.rules import (
    PROFILES,
    ClinicalContext,
    assess,
    format_ga,
    ga_from_edd,
    ga_from_lmp,
    near_short_cervix_threshold,
    parse_gestational_age,
)

W = 7
#: A singleton with every history question answered "no", membranes intact, nothing acute.
NO_HISTORY = dict(
    plurality="singleton",
    prior_sptb=False,
    second_trimester_losses=0,
    prior_cerclage_for_painless_dilation=False,
    prior_pprom=False,
    cervical_surgery=False,
    deep_cervical_lacerations=False,
    mullerian_anomaly=False,
    connective_tissue_disorder=False,
    prior_mechanical_dilation=False,
    membranes="intact",
    labour=False,
    dilation_cm=0.0,
    membranes_at_external_os=False,
    cerclage_in_place=False,
    infection=False,
    bleeding=False,
    fetal_anomaly_or_demise=False,
    placenta_previa=False,
)
PRIOR_28 = {**NO_HISTORY, "prior_sptb": True, "prior_sptb_ga_days": 28 * W}


def ctx(ga: str, **changes: object) -> ClinicalContext:
    return ClinicalContext(ga_days=parse_gestational_age(ga), **{**NO_HISTORY, **changes})


SCENARIOS = [
    # id, profile, context, CL mm, funnel, expected findings/suggestions/contraindications
    ("normal length", "smfm-acog", ctx("20w"), 35.0, False, set()),
    ("25.0 is short (<= 25)", "smfm-acog", ctx("20w"), 25.0, False, {"SHORT-CERVIX"}),
    ("24.9 is short", "smfm-acog", ctx("20w"), 24.9, False, {"SHORT-CERVIX"}),
    ("25.1 is not short", "smfm-acog", ctx("20w"), 25.1, False, set()),
    ("20.0 mm: progesterone", "smfm-acog", ctx("20w"), 20.0, False, {"SHORT-CERVIX", "PROGESTERONE-VAGINAL"}),
    ("20.1 mm: no progesterone", "smfm-acog", ctx("20w"), 20.1, False, {"SHORT-CERVIX"}),
    ("23+6 within the window", "smfm-acog", ctx("23w6d"), 18.0, False, {"SHORT-CERVIX", "PROGESTERONE-VAGINAL"}),
    ("24+0: past the screening window, progesterone 'at or before 24 weeks', cerclage not offered", "smfm-acog", ctx("24w0d"), 18.0, False, {"PROGESTERONE-VAGINAL", "CERCLAGE-CI-VIABILITY"}),
    ("15+6: before the window", "smfm-acog", ctx("15w6d"), 18.0, False, {"PROGESTERONE-VAGINAL"}),
    ("16+0: window opens", "smfm-acog", ctx("16w0d"), 18.0, False, {"SHORT-CERVIX", "PROGESTERONE-VAGINAL"}),
    ("prior sPTB 28w, CL 24.9: US cerclage", "smfm-acog", ctx("20w", **PRIOR_28), 24.9, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "CERCLAGE-US"}),
    ("prior sPTB 28w, CL 25.0: not < 25, weekly", "smfm-acog", ctx("20w", **PRIOR_28), 25.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "SCREEN-WEEKLY"}),
    ("prior sPTB 28w, CL 25.1: weekly", "smfm-acog", ctx("20w", **PRIOR_28), 25.1, False, {"SCREEN-SERIAL", "SCREEN-WEEKLY"}),
    ("prior sPTB 28w, CL 29.0: weekly", "smfm-acog", ctx("20w", **PRIOR_28), 29.0, False, {"SCREEN-SERIAL", "SCREEN-WEEKLY"}),
    ("prior sPTB 28w, CL 29.1: every 2 weeks", "smfm-acog", ctx("20w", **PRIOR_28), 29.1, False, {"SCREEN-SERIAL"}),
    ("prior sPTB at 35w is not < 34w", "smfm-acog", ctx("20w", **{**PRIOR_28, "prior_sptb_ga_days": 35 * W}), 22.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL"}),
    ("prior sPTB, 23+6: cerclage still", "smfm-acog", ctx("23w6d", **PRIOR_28), 22.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "CERCLAGE-US"}),
    ("prior sPTB, 24+0: beyond viability", "smfm-acog", ctx("24w0d", **PRIOR_28), 22.0, False, {"CERCLAGE-CI-VIABILITY"}),
    ("prior sPTB, 15+6: too early to screen", "smfm-acog", ctx("15w6d", **PRIOR_28), 22.0, False, set()),
    ("twins with short cervix", "smfm-acog", ctx("20w", plurality="twins"), 22.0, False, {"SHORT-CERVIX", "CERCLAGE-CI-MULTIPLE"}),
    ("ruptured membranes with short cervix", "smfm-acog", ctx("20w", **{**PRIOR_28, "membranes": "ruptured"}), 20.0, False, {"SHORT-CERVIX", "CERCLAGE-CI-ROM"}),
    ("cerclage already in place", "smfm-acog", ctx("20w", **{**PRIOR_28, "cerclage_in_place": True}), 22.0, False, {"SHORT-CERVIX"}),
    ("two painless losses: history cerclage", "smfm-acog", ctx("13w", second_trimester_losses=2), 35.0, False, {"CERCLAGE-HISTORY"}),
    ("prior cerclage for painless dilation", "smfm-acog", ctx("12w", prior_cerclage_for_painless_dilation=True), 38.0, False, {"CERCLAGE-HISTORY"}),
    ("painless dilation 2 cm: exam-indicated cerclage", "smfm-acog", ctx("20w", dilation_cm=2.0), 10.0, False, {"SHORT-CERVIX", "PROGESTERONE-VAGINAL", "CERCLAGE-EXAM"}),
    ("dilation in labour: no rescue", "smfm-acog", ctx("20w", dilation_cm=2.0, labour=True), 10.0, False, {"SHORT-CERVIX", "PROGESTERONE-VAGINAL", "CERCLAGE-CI-LABOUR"}),
    ("infection", "smfm-acog", ctx("20w", **{**PRIOR_28, "infection": True}), 20.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "CERCLAGE-CI-INFECTION"}),
    ("bleeding", "smfm-acog", ctx("20w", **{**PRIOR_28, "bleeding": True}), 20.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "CERCLAGE-CI-BLEEDING"}),
    ("fetal demise", "smfm-acog", ctx("20w", **{**PRIOR_28, "fetal_anomaly_or_demise": True}), 20.0, False, {"SHORT-CERVIX", "SCREEN-SERIAL", "CERCLAGE-CI-FETAL"}),
    ("funnelling", "smfm-acog", ctx("20w"), 30.0, True, {"FUNNEL"}),
    ("membranes at the external os", "smfm-acog", ctx("21w", membranes_at_external_os=True), 30.0, False, {"MEMBRANES-AT-OS"}),
    ("not measurable, prior sPTB: screening still applies", "smfm-acog", ctx("20w", **PRIOR_28), None, None, {"SCREEN-SERIAL"}),
    ("NICE: 25.0 is not < 25", "nice", ctx("20w"), 25.0, False, set()),
    ("NICE: 24.9 progesterone", "nice", ctx("20w"), 24.9, False, {"NICE-SHORT-CERVIX", "NICE-PROGESTERONE"}),
    ("NICE: 25.1", "nice", ctx("20w"), 25.1, False, set()),
    ("NICE: prior sPTB, choice", "nice", ctx("20w", **PRIOR_28), 24.9, False, {"NICE-SHORT-CERVIX", "NICE-CHOICE"}),
    ("NICE: mid-trimester loss, choice", "nice", ctx("20w", second_trimester_losses=1), 20.0, False, {"NICE-SHORT-CERVIX", "NICE-CHOICE"}),
    ("NICE: 24+0 is inside 16+0-24+0", "nice", ctx("24w0d"), 20.0, False, {"NICE-SHORT-CERVIX", "NICE-PROGESTERONE"}),
    ("NICE: 24+1 is outside", "nice", ctx("24w1d"), 20.0, False, set()),
    ("NICE: 15+6 is outside", "nice", ctx("15w6d"), 20.0, False, set()),
    ("NICE: 16+0 is inside", "nice", ctx("16w0d"), 20.0, False, {"NICE-SHORT-CERVIX", "NICE-PROGESTERONE"}),
    ("NICE: previous P-PROM", "nice", ctx("20w", prior_pprom=True), 22.0, False, {"NICE-SHORT-CERVIX", "NICE-PROGESTERONE", "NICE-CERCLAGE-PPROM-TRAUMA"}),
    ("NICE: cone biopsy", "nice", ctx("20w", cervical_surgery=True), 22.0, False, {"NICE-SHORT-CERVIX", "NICE-PROGESTERONE", "NICE-CERCLAGE-PPROM-TRAUMA"}),
    ("NICE: rescue cerclage", "nice", ctx("22w", dilation_cm=2.0, membranes_at_external_os=True), None, None, {"MEMBRANES-AT-OS", "NICE-RESCUE"}),
    ("NICE: rescue with contractions", "nice", ctx("22w", dilation_cm=2.0, membranes_at_external_os=True, labour=True), None, None, {"MEMBRANES-AT-OS", "NICE-RESCUE-CI"}),
    ("NICE: rescue at 28+0 too late", "nice", ctx("28w", dilation_cm=2.0, membranes_at_external_os=True), None, None, {"MEMBRANES-AT-OS"}),
    ("NICE: twins", "nice", ctx("20w", plurality="twins"), 20.0, False, {"NICE-SHORT-CERVIX", "NICE-CI-MULTIPLE"}),
]


@pytest.mark.parametrize("name,profile,context,cl_mm,funnel,expected", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(name, profile, context, cl_mm, funnel, expected):
    result = assess(context, cl_mm=cl_mm, funnel=funnel, profile=profile)
    applied = {r.id for group in (result.findings, result.suggestions, result.contraindications) for r in group}
    assert applied == expected


class TestOutputs:
    def test_comparison_and_citation_shown(self):
        result = assess(ctx("20w3d", **PRIOR_28), cl_mm=24.9)
        rule = next(r for r in result.suggestions if r.id == "CERCLAGE-US")
        assert "CL 24.9 mm < 25 mm" in rule.comparisons and "GA 20+3 < 24+0" in rule.comparisons
        assert rule.citation.startswith("ACOG Practice Bulletin No. 142")
        assert "not a diagnosis" in result.to_text()

    def test_withheld_suggestion_says_why(self):
        result = assess(ctx("20w", **{**PRIOR_28, "membranes": "ruptured"}), cl_mm=20.0)
        assert [r.id for r in result.withheld] == ["CERCLAGE-US"]
        assert "Withheld" in result.to_text()

    def test_missing_history_is_not_assessed_not_guessed(self):
        result = assess(ClinicalContext(ga_days=20 * W), cl_mm=18.0)
        assert {r.id for r in result.findings} == {"SHORT-CERVIX"} and not result.suggestions
        needs = {r.id: r.needs for r in result.not_assessed}
        assert "plurality" in needs["CERCLAGE-US"]
        assert "prior_sptb" in needs["PROGESTERONE-VAGINAL"]

    @pytest.mark.parametrize("cl,band", [(9.9, "BAND-LT10"), (15.5, "BAND-10-15"), (20.0, "BAND-16-20"), (25.0, "BAND-21-25"), (25.1, "BAND-26-29"), (30.0, "BAND-GE30")])
    def test_bands(self, cl, band):
        notes = {r.id for r in assess(ctx("20w"), cl_mm=cl).notes}
        assert {n for n in notes if n.startswith("BAND")} == {band}

    @pytest.mark.parametrize(
        "profile,context,cl,expected",
        [
            ("smfm-acog", ctx("20w"), 22.5, {"NEAR-25", "NEAR-20"}),  # both bounds inclusive
            ("smfm-acog", ctx("20w"), 27.5, {"NEAR-25"}),
            ("smfm-acog", ctx("20w"), 22.4, {"NEAR-20"}),
            ("smfm-acog", ctx("20w"), 27.6, set()),
            ("smfm-acog", ctx("20w"), 17.5, {"NEAR-20"}),
            ("smfm-acog", ctx("20w"), 17.4, set()),
            ("smfm-acog", ctx("20w", **PRIOR_28), 21.0, set()),  # 20 mm decides nothing after a prior preterm birth
            ("smfm-acog", ctx("24w1d"), 25.0, set()),  # past 24 weeks neither threshold decides
            ("nice", ctx("24w0d"), 25.0, {"NEAR-25"}),  # NICE's window ends at 24+0 inclusive
            ("nice", ctx("20w"), 20.0, set()),  # no 20 mm threshold in NICE NG25
        ],
    )
    def test_lengths_near_a_threshold_get_a_note(self, profile, context, cl, expected):
        notes = assess(context, cl_mm=cl, profile=profile).notes
        assert {r.id for r in notes if r.id.startswith("NEAR-")} == expected
        for r in notes:
            if r.id == "NEAR-25":
                assert r.statement.startswith("Cervical length within 2.5 mm of 25 mm")
                assert f"CL {cl:.1f} mm >= 22.5 mm" in r.comparisons and "limits of agreement" in r.citation

    @pytest.mark.parametrize("cl,shown", [(25.04, "CL 25.04 mm > 25 mm"), (24.96, "CL 24.96 mm < 25 mm"), (25.004, "CL 25.004 mm > 25 mm"), (24.5, "CL 24.5 mm < 25 mm")])
    def test_a_length_never_reads_on_the_wrong_side_of_its_limit(self, cl, shown):
        # To 0.1 mm 25.04 reads 25.0: "CL 25.0 mm > 25 mm" would contradict itself, so it is shown as given.
        result = assess(ctx("20w3d", **PRIOR_28), cl_mm=cl)
        comparisons = [c for group in (result.findings, result.suggestions, result.notes) for r in group for c in r.comparisons]
        assert shown in comparisons

    @pytest.mark.parametrize("cl,near", [(22.4, False), (22.5, True), (25.0, True), (27.5, True), (27.6, False), (None, False)])
    def test_near_short_cervix_threshold_matches_the_rule(self, cl, near):
        assert near_short_cervix_threshold(cl) is near
        if cl is not None:
            assert ("NEAR-25" in {r.id for r in assess(ctx("20w"), cl_mm=cl).notes}) is near

    def test_near_threshold_without_gestational_age_is_not_assessed(self):
        result = assess(ClinicalContext(plurality="singleton"), cl_mm=24.0)
        needs = {r.id: r.needs for r in result.not_assessed}
        assert needs["NEAR-25"] == ("gestational age",)
        assert "NEAR-25" not in {r.id for r in result.notes}

    def test_recurrence_and_risk_notes(self):
        notes = {r.id for r in assess(ctx("13w", second_trimester_losses=2, cervical_surgery=True), cl_mm=30.0).notes}
        assert {"RECURRENCE", "RISK-LOSS", "RISK-SURGERY"} <= notes

    def test_17ohpc_note_instead_of_a_suggestion(self):
        result = assess(ctx("20w", **PRIOR_28), cl_mm=32.0)
        assert "17OHPC-WITHDRAWN" in {r.id for r in result.notes}
        assert not any("17-OHPC" in r.statement for r in result.suggestions)

    def test_json_round_trip(self):
        data = json.loads(json.dumps(assess(ctx("20w"), cl_mm=22.0).to_json()))
        assert data["profile"] == "smfm-acog" and data["findings"][0]["id"] == "SHORT-CERVIX"

    def test_every_rule_has_a_known_source(self):
        for rules in PROFILES.values():
            assert len({r.id for r in rules}) == len(rules)
            for rule in rules:
                assert rule.statement and rule.source


class TestContext:
    @pytest.mark.parametrize("text,days", [("20w3d", 143), ("20w", 140), ("20+3", 143), ("20 weeks 3 days", 143), ("0w0d", 0)])
    def test_ga_parsing(self, text, days):
        assert parse_gestational_age(text) == days
        assert format_ga(days) == f"{days // 7}+{days % 7}"

    def test_ga_from_dates(self):
        scan = dt.date(2026, 6, 1)
        assert ga_from_lmp(dt.date(2026, 1, 12), scan) == 140
        assert ga_from_edd(scan + dt.timedelta(days=140), scan) == 140

    @pytest.mark.parametrize(
        "build,message",
        [
            (lambda: parse_gestational_age("50w"), "outside 0-44 weeks"),
            (lambda: parse_gestational_age("soon"), "not a gestational age"),
            (lambda: parse_gestational_age("20w9d"), "'20w9d' has 9 days; the days of a gestational age are 0-6"),
            (lambda: parse_gestational_age("20+7"), "'20\\+7' has 7 days"),
            (lambda: ClinicalContext(dilation_cm=30.0), "dilation_cm"),
            (lambda: ClinicalContext(ga_days=-3), "ga_days"),
            (lambda: ClinicalContext(plurality="quads"), "plurality"),
            (lambda: ClinicalContext(second_trimester_losses=-1), "second_trimester_losses"),
            (lambda: ClinicalContext(prior_sptb=False, prior_sptb_ga_days=200), "prior_sptb_ga_days"),
            (lambda: assess(ClinicalContext(), cl_mm=-4.0), "cl_mm"),
            (lambda: assess(ClinicalContext(), cl_mm=20.0, profile="rcog"), "profile"),
            (lambda: ga_from_lmp(dt.date(2026, 1, 1), dt.date(2025, 1, 1)), "lmp"),
        ],
    )
    def test_invalid_input_names_the_field(self, build, message):
        with pytest.raises(ValueError, match=message):
            build()


class TestCommandLine:
    def test_list_rules_with_sources(self, capsys):
        assert main(["assess", "--list-rules", "--profile", "nice"]) == 0
        out = capsys.readouterr().out
        for rule in PROFILES["nice"]:
            assert rule.id in out
        assert "NICE guideline NG25" in out and "NICE guideline NG137" in out

    def test_assess_text_and_json(self, capsys):
        argv = ["assess", "--cl-mm", "22", "--ga", "20w3d", "--prior-sptb", "28w", "--plurality", "singleton", "--cerclage-in-place", "no"]
        assert main(argv) == 0
        assert "[CERCLAGE-US v1]" in capsys.readouterr().out
        assert main([*argv, "--json", "--profile", "nice"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert [r["id"] for r in data["suggestions"]] == ["NICE-CHOICE"]

    def test_ga_from_lmp(self, capsys):
        assert main(["assess", "--cl-mm", "22", "--lmp", "2026-01-12", "--scan-date", "2026-06-01", "--json"]) == 0
        assert "GA 20+0 >= 16+0" in json.loads(capsys.readouterr().out)["findings"][0]["comparisons"]

    @pytest.mark.parametrize("argv,field", [(["--ga", "50w"], "--ga"), (["--dilation-cm", "30"], "dilation_cm"), (["--cl-mm", "-2"], "cl_mm"), (["--lmp", "2026-01-01"], "--scan-date")])
    def test_invalid_input_exit_two(self, capsys, argv, field):
        assert main(["assess", *argv]) == 2
        assert field in capsys.readouterr().err
