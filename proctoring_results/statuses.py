"""
The ten statuses of an exam attempt, the words the report uses for them, and
which moves between them are allowed.

The seed documentation (``proctored_session_results.rst``) names the statuses
twice: lower-case words in the CSV ``status`` column, and title-case labels in
its table, where ``verified`` is shown as "Satisfactory" and ``rejected`` as
"Unsatisfactory". Both vocabularies live here and nowhere else, beside the two
other status vocabularies every layer shares: a provider's overall verdict
(``ProviderStatus``) and what course staff may decide (``STAFF_OUTCOMES``).
The model choices, the review rules, the REST serializers and the OpenAPI
schema all derive from these. The statuses and their moves are argued in
docs/decisions/0008-attempt-statuses-and-transitions.rst; ``attempts.py``
applies the moves.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .exceptions import InvalidTransition, UnknownStatus


class AttemptStatus(models.TextChoices):
    """Stored value and dashboard label of each attempt status (ADR 0008)."""

    CREATED = "created", _("Created")
    READY_TO_START = "ready_to_start", _("Ready to Start")
    STARTED = "started", _("Started")
    TIMED_OUT = "timed_out", _("Timed Out")
    COMPLETED = "completed", _("Completed")
    SUBMITTED = "submitted", _("Submitted")
    SECOND_REVIEW_REQUIRED = "second_review_required", _("Second Review Required")
    VERIFIED = "verified", _("Satisfactory")
    REJECTED = "rejected", _("Unsatisfactory")
    ERROR = "error", _("Error")


S = AttemptStatus

#: The word written in the report's ``status`` column, exactly as the seed lists them.
CSV_WORDS = {
    S.CREATED: "created",
    S.READY_TO_START: "ready to start",
    S.STARTED: "started",
    S.TIMED_OUT: "timed out",
    S.COMPLETED: "completed",
    S.SUBMITTED: "submitted",
    S.SECOND_REVIEW_REQUIRED: "second review required",
    S.VERIFIED: "verified",
    S.REJECTED: "rejected",
    S.ERROR: "error",
}

#: Outcomes of a proctoring review.
REVIEW_OUTCOMES = frozenset({S.VERIFIED, S.REJECTED, S.SECOND_REVIEW_REQUIRED})

#: What course staff may decide for a reviewed attempt: confirm a second review, or move on appeal.
STAFF_OUTCOMES = (S.VERIFIED, S.REJECTED)


class ProviderStatus(models.TextChoices):
    """A provider's overall verdict on a session: the vocabulary of Open edX's REST proctoring backends."""

    PASSED = "passed", _("Passed")
    VIOLATION = "violation", _("Violation")
    SUSPICIOUS = "suspicious", _("Suspicious")
    NOT_REVIEWED = "not_reviewed", _("Not reviewed")


# The values in the order above, for messages that list them (``rules.ProviderStatus.ALL``
# has been public since 0.1). Set after the class, as a member would be a fifth status.
ProviderStatus.ALL = tuple(ProviderStatus.values)

# Forward only: created -> ready_to_start -> started -> completed/timed_out ->
# submitted -> review outcome. A practice exam may start without ready_to_start,
# and a learner may submit straight from started. Any status may go to error.
# A new provider review, a second review, or a staff appeal moves between outcomes;
# a later review may resolve an error.
_FORWARD = {
    S.CREATED: {S.READY_TO_START, S.STARTED},
    S.READY_TO_START: {S.STARTED},
    S.STARTED: {S.COMPLETED, S.TIMED_OUT, S.SUBMITTED},
    S.COMPLETED: {S.SUBMITTED},
    S.TIMED_OUT: {S.SUBMITTED},
    S.SUBMITTED: set(REVIEW_OUTCOMES),
    S.SECOND_REVIEW_REQUIRED: {S.VERIFIED, S.REJECTED},
    S.VERIFIED: {S.REJECTED, S.SECOND_REVIEW_REQUIRED},
    S.REJECTED: {S.VERIFIED, S.SECOND_REVIEW_REQUIRED},
    S.ERROR: set(REVIEW_OUTCOMES),
}

#: status -> the statuses it may move to.
TRANSITIONS = {
    status: frozenset(targets | ({S.ERROR} if status != S.ERROR else set())) for status, targets in _FORWARD.items()
}


def parse_status(value):
    """Return the ``AttemptStatus`` for a stored value, or raise ``UnknownStatus``."""
    try:
        return AttemptStatus(value)
    except ValueError:
        raise UnknownStatus(
            f"'{value}' is not an exam attempt status; expected one of: {', '.join(AttemptStatus.values)}."
        ) from None


def can_transition(from_status, to_status):
    return parse_status(to_status) in TRANSITIONS[parse_status(from_status)]


def check_transition(from_status, to_status):
    """Raise ``InvalidTransition`` unless the move is in the graph above."""
    if not can_transition(from_status, to_status):
        raise InvalidTransition(from_status, to_status)


def csv_word(status):
    return CSV_WORDS[parse_status(status)]


def label(status):
    return parse_status(status).label
