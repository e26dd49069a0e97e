"""
Provider reviews and staff decisions: record once, move the attempt.

``api.py`` is the door to this module. A review arrives validated, as a
``data.ReviewSubmission`` (the callback's serializer checks the JSON), and is
recorded in one transaction with the attempt's row locked once
(``attempts.lock``): the review, its flags and the status change
(``attempts.transition``) land together or not at all. The decision itself
is ``rules.decide``; this module only applies it.

Reviews are append-only. The same ``(provider, review_id)`` again returns the
first delivery's outcome and writes nothing; the database's unique constraint
``proctoring_results_review_unique`` settles two deliveries racing each other.

Nothing here logs a comment, a reviewer's name or a learner's email.
"""

import logging
from dataclasses import asdict

from django.db import IntegrityError, transaction

from . import attempts, rules, statuses
from .data import ReviewData, ReviewFlagData, ReviewResult, RuleData, StaffDecisionResult
from .exceptions import AttemptNotFound, InvalidReview, ReviewConflict
from .models import ExamAttempt, Review, ReviewFlag
from .statuses import AttemptStatus

log = logging.getLogger(__name__)

#: A review of these is refused (409): nothing has been recorded for review yet.
NOT_YET_SUBMITTED = frozenset({AttemptStatus.CREATED, AttemptStatus.READY_TO_START, AttemptStatus.STARTED})
#: A review of these proves the session was submitted; the attempt passes through submitted first.
ENDED_NOT_SUBMITTED = frozenset({AttemptStatus.COMPLETED, AttemptStatus.TIMED_OUT})
#: Staff may confirm a second review, or move an outcome on appeal, from these.
STAFF_DECIDABLE = frozenset({AttemptStatus.SECOND_REVIEW_REQUIRED, AttemptStatus.VERIFIED, AttemptStatus.REJECTED})


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw_payload(submission):
    """What the review stores as posted: the provider's body, or for a Python caller the submission itself."""
    if submission.raw is not None:
        return submission.raw
    raw = asdict(submission)
    del raw["raw"]
    raw["flags"] = [{k: v for k, v in flag.items() if v is not None} for flag in raw["flags"]]
    raw["reviewed_at"] = submission.reviewed_at.isoformat() if submission.reviewed_at else None
    return raw


# ---------------------------------------------------------------- recording a review


def record_review(provider, submission):
    """
    Record a provider's review of an attempt (a ``ReviewSubmission``) and apply its decision.

    Returns a ``ReviewResult``. Raises ``AttemptNotFound`` (no such attempt for
    this provider) or ``ReviewConflict`` (attempt not yet submitted, or the
    review id already used for another attempt). The submission's fields were
    validated where it came in (the callback's serializer).
    """
    decision = rules.decide(
        submission.status,
        [flag.rule for flag in submission.flags],
        second_review_requested=submission.second_review,
    )
    with transaction.atomic():
        attempt = attempts.lock(submission.attempt_code, provider=provider)
        existing = Review.objects.filter(provider=provider, review_id=submission.review_id).first()
        if existing is not None:
            return _duplicate(existing, attempt, submission)
        if attempt.status in NOT_YET_SUBMITTED:
            raise ReviewConflict.on(
                "attempt_code",
                (
                    f"The attempt has not been submitted for review yet (its status is '{attempt.status}'); "
                    "send the review once the learner has completed the exam."
                ),
            )
        try:
            # A savepoint, so losing the race on the unique constraint leaves the transaction usable.
            with transaction.atomic():
                review = Review.objects.create(
                    attempt=attempt,
                    provider=provider,
                    review_id=submission.review_id,
                    provider_status=submission.status,
                    second_review_requested=submission.second_review,
                    outcome=decision.outcome,
                    disagreement=decision.disagreement,
                    reviewer=submission.reviewer,
                    reviewed_at=submission.reviewed_at,
                    raw_payload=_raw_payload(submission),
                )
        except IntegrityError:
            existing = Review.objects.get(provider=provider, review_id=submission.review_id)
            return _duplicate(existing, attempt, submission)
        ReviewFlag.objects.bulk_create(
            [
                ReviewFlag(
                    review=review,
                    rule_code=flag.rule,
                    severity=severity,
                    comment=flag.comment,
                    start_seconds=flag.start,
                    stop_seconds=flag.stop,
                )
                for flag, (_code, severity) in zip(submission.flags, decision.severities, strict=True)
            ]
        )
        status = _apply(attempt, review, submission, decision)
    log.info(
        "Recorded review %s from provider %s for attempt %s: outcome %s, attempt now %s (%d flag(s), %d unknown).",
        review.review_id,
        provider,
        attempt.attempt_code,
        decision.outcome,
        status,
        len(submission.flags),
        len(decision.unknown_codes),
    )
    return ReviewResult(
        attempt_code=attempt.attempt_code,
        review_id=review.review_id,
        status=status,
        outcome=review.outcome,
        duplicate=False,
    )


def _duplicate(existing, attempt, submission):
    if existing.attempt_id != attempt.id:
        raise ReviewConflict.on("review_id", "This review id was already used for another attempt.")
    log.info("Review %s from provider %s delivered again; nothing changed.", existing.review_id, existing.provider)
    return ReviewResult(
        attempt_code=attempt.attempt_code,
        review_id=existing.review_id,
        status=attempt.status,
        outcome=existing.outcome,
        duplicate=True,
    )


def _apply(attempt, review, submission, decision):
    """Move the attempt to the review's outcome, unless a review decided later is already recorded."""
    if (
        submission.reviewed_at is not None
        and Review.objects.filter(
            attempt=attempt,
            reviewed_at__gt=submission.reviewed_at,
        )
        .exclude(pk=review.pk)
        .exists()
    ):
        # A late redelivery of an older review: kept in the history, but it does not undo the newer one.
        log.info(
            "Review %s is older than one already recorded; attempt %s left as it was.",
            review.review_id,
            attempt.attempt_code,
        )
        return attempt.status
    source = attempts.Source.PROVIDER
    reason = f"Review {review.review_id} by {review.provider}"
    if attempt.status in ENDED_NOT_SUBMITTED:
        attempts.transition(attempt, AttemptStatus.SUBMITTED, source=source, reason=reason)
    if attempt.status != decision.outcome:
        attempts.transition(attempt, decision.outcome, source=source, reason=reason)
    return attempt.status


# ---------------------------------------------------------------- staff decisions


def record_staff_decision(attempt_code, status, *, actor, reason):
    """
    Course staff decide an attempt: confirm a second review, or move rejected <-> verified on appeal.

    The caller has checked that ``actor`` may see the course's results. Who and
    when are recorded in the attempt's status history (``AttemptStatusChange``).
    Deciding the status the attempt already has changes and records nothing.
    """
    errors = {}
    if status not in statuses.STAFF_OUTCOMES:
        errors["status"] = [f"Must be one of: {', '.join(statuses.STAFF_OUTCOMES)}."]
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = ["Say why, in a few words."]
    elif len(reason) > 255 or "\x00" in reason or not _encodable(reason):
        errors["reason"] = ["At most 255 characters of text."]
    if errors:
        raise InvalidReview(errors)
    with transaction.atomic():
        attempt = attempts.lock(attempt_code)
        if attempt.status not in STAFF_DECIDABLE:
            raise ReviewConflict.on(
                "status",
                (
                    f"Only an attempt awaiting a second review, or already Satisfactory or Unsatisfactory, can be "
                    f"decided by course staff; this attempt's status is '{attempt.status}'."
                ),
            )
        if attempt.status == status:
            # Deciding what is already decided is a no-op, so a retried request is harmless.
            return StaffDecisionResult(
                attempt_code=attempt.attempt_code,
                status=attempt.status,
                status_label=str(AttemptStatus(attempt.status).label),
                changed=False,
            )
        old_status = attempt.status
        attempts.transition(attempt, status, source=attempts.Source.STAFF, actor=actor, reason=reason.strip())
    log.info(
        "Staff user %s moved attempt %s from %s to %s.", getattr(actor, "pk", None), attempt_code, old_status, status
    )
    return StaffDecisionResult(
        attempt_code=attempt.attempt_code,
        status=attempt.status,
        status_label=str(statuses.label(attempt.status)),
        changed=True,
    )


# ---------------------------------------------------------------- reading


def _flag_data(flag):
    return ReviewFlagData(
        rule_code=flag.rule_code,
        severity=flag.severity,
        comment=flag.comment,
        start_seconds=flag.start_seconds,
        stop_seconds=flag.stop_seconds,
    )


def review_data(review, attempt_code):
    return ReviewData(
        id=review.id,
        attempt_code=attempt_code,
        provider=review.provider,
        review_id=review.review_id,
        provider_status=review.provider_status,
        second_review_requested=review.second_review_requested,
        outcome=review.outcome,
        disagreement=review.disagreement,
        reviewer=review.reviewer,
        reviewed_at=review.reviewed_at,
        received_at=review.received_at,
        flags=tuple(_flag_data(flag) for flag in review.flags.all()),
    )


def list_attempt_reviews(attempt_code):
    """An attempt's reviews, oldest first: the append-only history."""
    if not ExamAttempt.objects.filter(attempt_code=attempt_code).exists():
        raise AttemptNotFound("No exam attempt with that attempt code.")
    reviews = (
        Review.objects.filter(attempt__attempt_code=attempt_code)
        .order_by("received_at", "id")
        .prefetch_related("flags")
    )
    return [review_data(review, attempt_code) for review in reviews]


def rule_catalog():
    """The Online Proctoring Rules in force, integrity rules first, then by code."""
    ordered = sorted(rules.catalog().values(), key=lambda r: (not r.is_integrity, r.code))
    return [RuleData(code=r.code, description=str(r.description), severity=r.severity) for r in ordered]
