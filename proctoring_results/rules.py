"""
The Online Proctoring Rules and the decision a review leads to (docs/rules.rst).

The seed documentation sorts the rules into two kinds: behaviour that is
*discouraged* (flagged, and the learner can still be Satisfactory) and
*integrity* violations (one instance makes the result Unsatisfactory). The
catalog below is data: ``PROCTORING_RESULTS["RULES"]`` adds rules or re-grades
them without code changes, and ``decide()`` is the only place that turns a
provider's review into an attempt status.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .conf import app_settings
from .statuses import AttemptStatus, ProviderStatus


class Severity:
    """How much a flagged rule weighs in the decision."""

    INTEGRITY = "integrity"  # one instance -> Unsatisfactory
    DISCOURAGED = "discouraged"  # flagged, still Satisfactory

    ALL = (INTEGRITY, DISCOURAGED)


@dataclass(frozen=True)
class Rule:
    code: str
    description: str
    severity: str

    @property
    def is_integrity(self):
        return self.severity == Severity.INTEGRITY


_I, _D = Severity.INTEGRITY, Severity.DISCOURAGED

#: Open edX's Online Proctoring Rules ("closed book" exams). Severities are
#: argued in docs/rules.rst; an institution re-grades them through settings.
BUILTIN_RULES = (
    # The seed names these four as failing the review on a single instance.
    Rule("no_photo_id", _("Did not show a photo ID whose name matches the account."), _I),
    Rule("second_computer", _("Used a second computer during the exam."), _I),
    Rule("reading_exam_aloud", _("Read the exam aloud, or appeared to read it to another person in the room."), _I),
    Rule("explicit_content", _("Displayed nudity or explicit materials, or browsed adult content."), _I),
    # The seed's example of discouraged behaviour.
    Rule("music_or_tv", _("Music or a TV playing in the background."), _D),
    # The rest of the Online Proctoring Rules.
    Rule("desk_not_clear", _("The desk or the walls around it were not clear of materials and writing."), _D),
    Rule("poor_lighting", _("The room was too dark to see the learner and the desk clearly."), _D),
    Rule("headphones", _("Wore headphones, earbuds or another listening device."), _D),
    Rule("unauthorized_materials", _("Consulted notes, books or other materials not allowed for the exam."), _I),
    Rule("second_display", _("Used more than one display or monitor."), _I),
    Rule("other_programs", _("Used other programs or web pages than the exam."), _I),
    Rule("phone", _("Used a phone during the exam."), _I),
    Rule("left_room", _("Left the room during the exam."), _I),
    Rule("another_person", _("Another person was in the room during the exam."), _I),
    Rule("communicating", _("Communicated with another person by any means during the exam."), _I),
)

#: Rule codes are compared exactly as the provider sends them; a flag stores at most this many characters.
MAX_RULE_CODE_LENGTH = 100


def is_valid_rule_code(code):
    """Non-empty text of at most 100 printable characters, without surrounding spaces."""
    return (
        isinstance(code, str) and 0 < len(code) <= MAX_RULE_CODE_LENGTH and code == code.strip() and code.isprintable()
    )


def validate_rules_setting(value):
    """Return a list of problems with a ``RULES`` setting (empty when it is fine); used by system check E006."""
    if not isinstance(value, dict):
        return ['RULES must be a dict: {"code": {"description": "...", "severity": "integrity"}}.']
    builtin = {rule.code for rule in BUILTIN_RULES}
    problems = []
    for code, spec in value.items():
        if not is_valid_rule_code(code):
            problems.append(
                f"rule code {str(code)[:110]!r} must be 1-100 printable characters without surrounding spaces."
            )
            continue
        if not isinstance(spec, dict):
            problems.append(f"rule '{code}' must be a dict with 'severity' (and 'description' for a new rule).")
            continue
        unknown = sorted(set(spec) - {"description", "severity"})
        if unknown:
            problems.append(f"rule '{code}' has unknown key(s): {', '.join(map(str, unknown))}.")
        if spec.get("severity") not in Severity.ALL:
            problems.append(f"rule '{code}' severity must be one of: {', '.join(Severity.ALL)}.")
        description = spec.get("description")
        if description is not None and (not isinstance(description, str) or not description.strip()):
            problems.append(f"rule '{code}' description must be non-empty text.")
        if code not in builtin and description is None:
            problems.append(f"rule '{code}' is new, so it needs a 'description'.")
    return problems


def catalog():
    """The rules in force: the built-in ones, re-graded and extended by ``PROCTORING_RESULTS["RULES"]``."""
    rules = {rule.code: rule for rule in BUILTIN_RULES}
    overrides = app_settings.RULES
    if validate_rules_setting(overrides):
        # A bad setting is reported by system check E006; never half-apply it.
        return rules
    for code, spec in overrides.items():
        base = rules.get(code)
        rules[code] = Rule(
            code=code,
            description=spec.get("description") or (base.description if base else code),
            severity=spec["severity"],
        )
    return rules


# ---------------------------------------------------------------- the decision

#: How strict each outcome is: when the provider's status and its flags point
#: to different outcomes, the stricter one wins. An incomplete review (error)
#: is stricter than a pass, a person looking again is stricter than that, and
#: Unsatisfactory is the strictest.
STRICTNESS = (AttemptStatus.VERIFIED, AttemptStatus.ERROR, AttemptStatus.SECOND_REVIEW_REQUIRED, AttemptStatus.REJECTED)

#: What the provider's overall status says on its own. ``suspicious`` fails, as
#: in Open edX: the seed's Unsatisfactory is "some suspicious activity has been observed".
STATUS_OUTCOMES = {
    ProviderStatus.PASSED: AttemptStatus.VERIFIED,
    ProviderStatus.VIOLATION: AttemptStatus.REJECTED,
    ProviderStatus.SUSPICIOUS: AttemptStatus.REJECTED,
    ProviderStatus.NOT_REVIEWED: AttemptStatus.ERROR,
}


@dataclass(frozen=True)
class Decision:
    """The outcome of one review, and why."""

    outcome: str
    #: (rule code, severity or "" when unknown) for each flag, in the order sent.
    severities: tuple
    integrity_codes: tuple
    unknown_codes: tuple
    #: Empty, or one sentence saying how the status and the flags disagreed.
    disagreement: str


def _stricter(*outcomes):
    return max(outcomes, key=STRICTNESS.index)


def decide(provider_status, rule_codes, *, second_review_requested=False, second_review_on_failure=None):
    """
    Turn a provider's status and flagged rule codes into an attempt status.

    - No integrity flag: verified (Satisfactory); discouraged flags do not count.
    - One or more integrity flags: rejected (Unsatisfactory).
    - A flag whose code the catalog does not know: second_review_required, so a
      person reads it (unless a known integrity flag already decides rejected).
    - ``not_reviewed``: error, the provider could not complete the review.
    - Status and flags disagreeing: the stricter outcome, and the disagreement is recorded.
    - Unsatisfactory becomes second_review_required when the provider asks for a
      second review or ``SECOND_REVIEW_ON_FAILURE`` is set; a provider asking
      for a second review always gets one.
    """
    if provider_status not in STATUS_OUTCOMES:
        raise ValueError(
            f"'{provider_status}' is not a provider status; expected one of: {', '.join(ProviderStatus.ALL)}."
        )
    if second_review_on_failure is None:
        second_review_on_failure = bool(app_settings.SECOND_REVIEW_ON_FAILURE)
    rules = catalog()
    severities = []
    for code in rule_codes:
        rule = rules.get(code)
        severities.append((code, rule.severity if rule else ""))
    integrity = tuple(dict.fromkeys(code for code, sev in severities if sev == Severity.INTEGRITY))
    unknown = tuple(dict.fromkeys(code for code, sev in severities if not sev))

    if integrity:
        flag_outcome = AttemptStatus.REJECTED
    elif unknown:
        flag_outcome = AttemptStatus.SECOND_REVIEW_REQUIRED
    else:
        flag_outcome = AttemptStatus.VERIFIED
    status_outcome = STATUS_OUTCOMES[provider_status]
    outcome = _stricter(status_outcome, flag_outcome)

    disagreement = ""
    if status_outcome == AttemptStatus.VERIFIED and integrity:
        disagreement = (
            f"Provider status 'passed' but integrity flag(s) {', '.join(integrity)}; "
            f"the stricter outcome 'rejected' was applied."
        )
    elif status_outcome == AttemptStatus.REJECTED and not integrity:
        disagreement = (
            f"Provider status '{provider_status}' but no integrity flag; the stricter outcome 'rejected' was applied."
        )
    elif status_outcome == AttemptStatus.ERROR and integrity:
        disagreement = (
            f"Provider status 'not_reviewed' but integrity flag(s) {', '.join(integrity)}; "
            f"one instance is Unsatisfactory, so 'rejected' was applied."
        )

    if outcome == AttemptStatus.REJECTED and (second_review_requested or second_review_on_failure):
        outcome = AttemptStatus.SECOND_REVIEW_REQUIRED
    elif second_review_requested:
        outcome = AttemptStatus.SECOND_REVIEW_REQUIRED
    return Decision(
        outcome=outcome,
        severities=tuple(severities),
        integrity_codes=integrity,
        unknown_codes=unknown,
        disagreement=disagreement[:255],
    )
