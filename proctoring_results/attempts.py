"""
The attempt state machine: moving an exam attempt from one status to another.

Every caller that changes an attempt's status (``api`` for the host LMS,
``reviews`` for providers and course staff, ``importers`` for edx-proctoring's
history) comes here. The caller opens the transaction and locks the row once
with ``lock()``; ``transition()`` then checks the move against
``statuses.TRANSITIONS``, sets the timestamps the move implies, saves, and
records the change in ``AttemptStatusChange``. Because the row stays locked
until the caller's transaction ends, two concurrent changes of one attempt run
one after the other and the second is checked against the first one's result:
no change is lost, and nothing locks the same row twice.
"""

from django.utils import timezone

from . import statuses
from .exceptions import AttemptNotFound
from .models import AttemptStatusChange, ExamAttempt
from .statuses import AttemptStatus

Source = AttemptStatusChange.Source

#: Reaching one of these sets ``completed_at``, once.
_ENDS_THE_EXAM = frozenset({AttemptStatus.COMPLETED, AttemptStatus.TIMED_OUT, AttemptStatus.SUBMITTED})

_NOT_FOUND = "No exam attempt with that attempt code."


def lock(attempt_code, *, provider=None):
    """
    The attempt with this code, its row locked until the caller's transaction ends.

    With ``provider``, an attempt at another provider's exam is not found: a
    provider judges only its own exams' attempts (an exam without a provider
    takes any). Raises ``AttemptNotFound``. Django refuses the lock outside
    ``transaction.atomic()``.
    """
    # PostgreSQL refuses NUL in text parameters (DataError); no attempt code holds one.
    if not isinstance(attempt_code, str) or "\x00" in attempt_code:
        raise AttemptNotFound(_NOT_FOUND)
    try:
        attempt = ExamAttempt.objects.locked().get(attempt_code=attempt_code)
    except ExamAttempt.DoesNotExist:
        raise AttemptNotFound(_NOT_FOUND) from None
    if provider is not None and attempt.exam.provider and attempt.exam.provider != provider:
        raise AttemptNotFound(_NOT_FOUND)
    return attempt


def change_record(attempt_id, from_status, to_status, *, source, actor=None, reason=""):
    """The (unsaved) history row of one status change; the importer writes these in bulk."""
    return AttemptStatusChange(
        attempt_id=attempt_id,
        from_status=from_status,
        to_status=to_status,
        source=source,
        actor=actor,
        reason=(reason or "")[:255],
    )


def transition(attempt, new_status, *, source=Source.HOST, actor=None, reason="", external_id=None):
    """
    Move a locked ``attempt`` to ``new_status`` if the status graph allows it; return the attempt.

    Raises ``UnknownStatus`` or ``InvalidTransition`` before changing anything.
    Starting sets ``started_at``; completing, timing out or submitting sets
    ``completed_at`` (each once). ``external_id``, when given, is the
    provider's session id, recorded with the move.
    """
    new_status = statuses.parse_status(new_status)
    old_status = attempt.status
    statuses.check_transition(old_status, new_status)
    now = timezone.now()
    attempt.status = new_status
    attempt.status_changed_at = now
    if new_status == AttemptStatus.STARTED and attempt.started_at is None:
        attempt.started_at = now
    if new_status in _ENDS_THE_EXAM and attempt.completed_at is None:
        attempt.completed_at = now
    if external_id is not None:
        attempt.external_id = external_id
    attempt.save()
    change_record(attempt.pk, old_status, new_status, source=source, actor=actor, reason=reason).save()
    return attempt
