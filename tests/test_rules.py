"""The Online Proctoring Rules catalog and the review decision, as the seed states them."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from proctoring_results import api
from proctoring_results.rules import BUILTIN_RULES, ProviderStatus, Severity, catalog, decide

SEED_INTEGRITY = ["no_photo_id", "second_computer", "reading_exam_aloud", "explicit_content"]
INTEGRITY = [r.code for r in BUILTIN_RULES if r.severity == Severity.INTEGRITY]
DISCOURAGED = [r.code for r in BUILTIN_RULES if r.severity == Severity.DISCOURAGED]


def test_catalog_has_the_seeds_rules_with_their_severities():
    rules = catalog()
    for code in SEED_INTEGRITY:
        assert rules[code].severity == "integrity"
    assert rules["music_or_tv"].severity == "discouraged"
    # The rest of Open edX's Online Proctoring Rules are there too.
    for code in (
        "desk_not_clear",
        "poor_lighting",
        "second_display",
        "other_programs",
        "phone",
        "headphones",
        "left_room",
        "another_person",
        "communicating",
    ):
        assert code in rules and rules[code].description
    assert len({r.code for r in BUILTIN_RULES}) == len(BUILTIN_RULES)


@pytest.mark.parametrize("code", INTEGRITY)
def test_one_integrity_flag_is_unsatisfactory(code):
    decision = decide("violation", [code])
    assert decision.outcome == "rejected"
    assert decision.integrity_codes == (code,)
    assert decision.disagreement == ""


@pytest.mark.parametrize("code", DISCOURAGED)
def test_discouraged_flags_can_still_be_satisfactory(code):
    decision = decide("passed", [code, code])
    assert decision.outcome == "verified"
    assert decision.severities == ((code, "discouraged"), (code, "discouraged"))


def test_music_plus_one_integrity_violation_is_unsatisfactory():
    assert decide("violation", ["music_or_tv", "music_or_tv", "second_computer"]).outcome == "rejected"


@pytest.mark.parametrize(
    "status, codes, outcome, disagrees",
    [
        ("passed", [], "verified", False),
        ("passed", ["music_or_tv"], "verified", False),
        ("passed", ["phone"], "rejected", True),  # the flags are stricter than the status
        ("violation", ["phone"], "rejected", False),
        ("violation", [], "rejected", True),  # the status is stricter than the flags
        ("violation", ["music_or_tv"], "rejected", True),
        ("suspicious", ["no_photo_id"], "rejected", False),
        ("suspicious", [], "rejected", True),
        ("not_reviewed", [], "error", False),
        ("not_reviewed", ["music_or_tv"], "error", False),
        ("not_reviewed", ["explicit_content"], "rejected", True),  # one instance is enough
        ("passed", ["looked_at_ceiling"], "second_review_required", False),  # unknown: a person reads it
        ("not_reviewed", ["looked_at_ceiling"], "second_review_required", False),
        ("violation", ["looked_at_ceiling", "phone"], "rejected", False),
    ],
)
def test_every_provider_status_and_disagreement(status, codes, outcome, disagrees):
    decision = decide(status, codes)
    assert decision.outcome == outcome
    assert bool(decision.disagreement) == disagrees
    if disagrees:
        assert "stricter" in decision.disagreement or "one instance" in decision.disagreement


def test_unknown_codes_are_kept_raw_without_severity():
    decision = decide("passed", ["Looked Away", "music_or_tv"])
    assert decision.unknown_codes == ("Looked Away",)
    assert decision.severities == (("Looked Away", ""), ("music_or_tv", "discouraged"))


@pytest.mark.parametrize("status, codes", [("violation", ["phone"]), ("passed", ["phone"]), ("suspicious", [])])
def test_failure_goes_to_second_review_when_asked_or_configured(status, codes):
    assert decide(status, codes, second_review_requested=True).outcome == "second_review_required"
    assert decide(status, codes, second_review_on_failure=True).outcome == "second_review_required"
    with override_settings(PROCTORING_RESULTS={"SECOND_REVIEW_ON_FAILURE": True}):
        assert decide(status, codes).outcome == "second_review_required"


def test_a_provider_asking_for_a_second_review_gets_one_and_passes_are_not_affected_by_the_setting():
    assert decide("passed", [], second_review_requested=True).outcome == "second_review_required"
    assert decide("passed", ["music_or_tv"], second_review_on_failure=True).outcome == "verified"
    assert decide("not_reviewed", [], second_review_on_failure=True).outcome == "error"


def test_unknown_provider_status_is_refused():
    with pytest.raises(ValueError, match="passed, violation, suspicious, not_reviewed"):
        decide("clean", [])
    assert set(ProviderStatus.ALL) == {"passed", "violation", "suspicious", "not_reviewed"}


def test_institution_adds_and_regrades_rules_through_settings():
    rules = {
        "calculator": {"description": "Used a calculator.", "severity": "integrity"},
        "headphones": {"severity": "integrity"},  # stricter than the default
        "another_person": {"severity": "discouraged"},  # e.g. a proctored exam at home with a carer
    }
    with override_settings(PROCTORING_RESULTS={"RULES": rules}):
        assert decide("passed", ["calculator"]).outcome == "rejected"
        assert decide("violation", ["headphones"]).outcome == "rejected"
        assert decide("passed", ["another_person"]).outcome == "verified"
        by_code = {r.code: r for r in api.get_rule_catalog()}
        assert by_code["calculator"].description == "Used a calculator."
        assert by_code["headphones"].severity == "integrity"
        assert by_code["headphones"].description  # kept from the built-in rule
    assert decide("passed", ["calculator"]).outcome == "second_review_required"
    assert decide("passed", ["headphones"]).outcome == "verified"


def check_ids():
    return {m.id for m in run_checks() if m.id.startswith("proctoring_results.")}


@pytest.mark.parametrize(
    "rules",
    [
        [],
        {"calculator": {"severity": "integrity"}},  # a new rule needs a description
        {"phone": {"severity": "fatal"}},
        {"phone": "integrity"},
        {" phone": {"severity": "integrity"}},
        {"x" * 101: {"description": "Too long.", "severity": "integrity"}},
        {"phone": {"severity": "integrity", "weight": 3}},
        {"phone": {"severity": "integrity", "description": ""}},
    ],
)
def test_bad_rules_setting_is_reported_by_system_check_e006(rules):
    with override_settings(PROCTORING_RESULTS={"RULES": rules}):
        assert "proctoring_results.E006" in check_ids()
        # and nothing half-applies: the built-in catalog stays in force
        assert catalog()["phone"].severity == "integrity"


def test_good_rules_setting_passes_the_checks():
    rules = {"calculator": {"description": "Calc.", "severity": "discouraged"}}
    with override_settings(PROCTORING_RESULTS={"RULES": rules}):
        assert "proctoring_results.E006" not in check_ids()


def test_docs_rules_catalog_matches_the_code():
    """docs/rules.rst is the catalog's documentation: every built-in rule, with the severity it has."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "rules.rst").read_text()
    documented = dict(re.findall(r"\* - ``([a-z_]+)``\n\s+- (integrity|discouraged)", text))
    assert documented == {rule.code: rule.severity for rule in BUILTIN_RULES}
