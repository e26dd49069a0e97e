"""
Provider reviews and staff decisions: validate, record once, move the attempt.

``api.py`` is the door to this module. A review is validated completely before
anything is written, then recorded in one transaction with the attempt's row
locked: the review, its flags and the status change land together or not at
all. The decision itself is ``rules.decide``; this module only applies it.

Reviews are append-only. The same ``(provider, review_id)`` again returns the
first delivery's outcome and writes nothing; the database's unique constraint
``proctoring_results_review_unique`` settles two deliveries racing each other.

Nothing here logs a comment, a reviewer's name or a learner's email.
"""

import json
import logging
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from . import attempts, rules, statuses
from .data import ReviewData, ReviewFlagData, ReviewResult, RuleData, StaffDecisionResult
from .exceptions import AttemptNotFound, InvalidReview, ReviewConflict
from .models import ExamAttempt, Review, ReviewFlag
from .statuses import AttemptStatus

log = logging.getLogger(__name__)

MAX_FLAGS = 1000
MAX_NESTING = 32
#: Recording offsets above this (115 days) are typos, whatever the exam.
MAX_OFFSET_SECONDS = 10_000_000

#: A review of these is refused (409): nothing has been recorded for review yet.
NOT_YET_SUBMITTED = frozenset({AttemptStatus.CREATED, AttemptStatus.READY_TO_START, AttemptStatus.STARTED})
#: A review of these proves the session was submitted; the attempt passes through submitted first.
ENDED_NOT_SUBMITTED = frozenset({AttemptStatus.COMPLETED, AttemptStatus.TIMED_OUT})
#: Staff may confirm a second review, or move an outcome on appeal, from these.
STAFF_DECIDABLE = frozenset({AttemptStatus.SECOND_REVIEW_REQUIRED, AttemptStatus.VERIFIED, AttemptStatus.REJECTED})
STAFF_OUTCOMES = (AttemptStatus.VERIFIED, AttemptStatus.REJECTED)


# ---------------------------------------------------------------- input

def parse_json_body(raw):
    """Decode a callback body; malformed, non-UTF-8 or non-finite JSON is an ``InvalidReview`` on ``body``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidReview.on("body", "The body must be JSON encoded as UTF-8.") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise InvalidReview.on("body", "The body is not valid JSON.") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


@dataclass(frozen=True)
class _Flag:
    rule: str
    comment: str
    start: float | None
    stop: float | None


@dataclass(frozen=True)
class _Submission:
    attempt_code: str
    review_id: str
    status: str
    flags: tuple
    reviewer: str
    reviewed_at: object
    second_review: bool
    raw: dict


def _storable_text_problems(value, path, depth, errors):
    """Every string (keys too) must be storable in PostgreSQL's text and jsonb: no NUL, no lone surrogate."""
    if depth > MAX_NESTING:
        errors.setdefault(path or "body", []).append("The JSON is nested too deeply.")
        return
    if isinstance(value, str):
        if "\x00" in value or not _encodable(value):
            errors.setdefault(path or "body", []).append(
                "Text must not contain NUL characters or unpaired surrogates.")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key or not _encodable(key):
                errors.setdefault(path or "body", []).append(
                    "Keys must not contain NUL characters or unpaired surrogates.")
                continue
            _storable_text_problems(item, child[:200], depth + 1, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable_text_problems(item, f"{path}[{index}]", depth + 1, errors)


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(payload, field, errors, *, required, max_length, path=None):
    path = path or field
    value = payload.get(field)
    if value is None:
        if required:
            errors.setdefault(path, []).append("This field is required.")
        return ""
    if not isinstance(value, str):
        errors.setdefault(path, []).append("Must be text.")
        return ""
    if required and not value.strip():
        errors.setdefault(path, []).append("This field may not be blank.")
    if max_length is not None and len(value) > max_length:
        errors.setdefault(path, []).append(f"At most {max_length} characters.")
    return value


def _offset(value, path, errors):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.setdefault(path, []).append("Must be a number of seconds from the start of the recording, or null.")
        return None
    if not 0 <= value <= MAX_OFFSET_SECONDS:
        errors.setdefault(path, []).append(f"Must be between 0 and {MAX_OFFSET_SECONDS} seconds.")
        return None
    return float(value)


def clean_payload(payload):
    """Validate a review payload completely; raise ``InvalidReview`` naming every bad field."""
    if not isinstance(payload, dict):
        raise InvalidReview.on("body", "The body must be a JSON object.")
    errors = {}
    _storable_text_problems(payload, "", 0, errors)
    if errors:
        raise InvalidReview(errors)

    attempt_code = _text(payload, "attempt_code", errors, required=True, max_length=64)
    review_id = payload.get("review_id")
    if isinstance(review_id, int) and not isinstance(review_id, bool):
        review_id = str(review_id)  # a numeric id is the same id as its text
    if review_id is None:
        errors.setdefault("review_id", []).append("This field is required.")
    elif not isinstance(review_id, str):
        errors.setdefault("review_id", []).append("Must be text.")
    elif not review_id.strip():
        errors.setdefault("review_id", []).append("This field may not be blank.")
    elif len(review_id) > 255:
        errors.setdefault("review_id", []).append("At most 255 characters.")

    status = payload.get("status")
    if status is None:
        errors.setdefault("status", []).append("This field is required.")
    elif status not in rules.ProviderStatus.ALL:
        errors.setdefault("status", []).append(f"Must be one of: {', '.join(rules.ProviderStatus.ALL)}.")

    flags = []
    raw_flags = payload.get("flags")
    if raw_flags is None:
        errors.setdefault("flags", []).append("This field is required (an empty list when nothing was flagged).")
    elif not isinstance(raw_flags, list):
        errors.setdefault("flags", []).append("Must be a list of {rule, comment, start, stop} objects.")
    elif len(raw_flags) > MAX_FLAGS:
        errors.setdefault("flags", []).append(f"At most {MAX_FLAGS} flags per review.")
    else:
        for index, item in enumerate(raw_flags):
            path = f"flags[{index}]"
            if not isinstance(item, dict):
                errors.setdefault(path, []).append("Must be an object with at least a 'rule'.")
                continue
            rule = _text(item, "rule", errors, required=True, max_length=rules.MAX_RULE_CODE_LENGTH,
                         path=f"{path}.rule")
            comment = _text(item, "comment", errors, required=False, max_length=None, path=f"{path}.comment")
            start = _offset(item.get("start"), f"{path}.start", errors)
            stop = _offset(item.get("stop"), f"{path}.stop", errors)
            if start is not None and stop is not None and stop < start:
                errors.setdefault(f"{path}.stop", []).append("Must not be before start.")
            flags.append(_Flag(rule=rule.strip(), comment=comment, start=start, stop=stop))

    reviewer = _text(payload, "reviewer", errors, required=False, max_length=255)
    reviewed_at = None
    raw_reviewed_at = payload.get("reviewed_at")
    if raw_reviewed_at is not None:
        try:
            reviewed_at = parse_datetime(raw_reviewed_at) if isinstance(raw_reviewed_at, str) else None
        except ValueError:
            reviewed_at = None
        if reviewed_at is None:
            errors.setdefault("reviewed_at", []).append(
                "Must be an ISO 8601 date and time with a UTC offset, e.g. 2026-03-01T14:05:00Z.")
        elif reviewed_at.utcoffset() is None:
            errors.setdefault("reviewed_at", []).append("Must include a UTC offset, e.g. Z or +02:00.")
            reviewed_at = None
    second_review = payload.get("second_review", False)
    if second_review is None:
        second_review = False
    if not isinstance(second_review, bool):
        errors.setdefault("second_review", []).append("Must be true or false.")

    if errors:
        raise InvalidReview(errors)
    return _Submission(
        attempt_code=attempt_code.strip(), review_id=review_id.strip(), status=status, flags=tuple(flags),
        reviewer=reviewer.strip(), reviewed_at=reviewed_at, second_review=second_review, raw=payload,
    )


# ---------------------------------------------------------------- recording a review

def record_review(provider, payload):
    """
    Record a provider's review of an attempt and apply its decision; return a ``ReviewResult``.

    Raises ``InvalidReview`` (bad payload), ``AttemptNotFound`` (no such attempt
    for this provider) or ``ReviewConflict`` (attempt not yet submitted, or the
    review id already used for another attempt). ``payload`` is the parsed JSON,
    or the raw bytes of the callback's body.
    """
    if isinstance(payload, (bytes, bytearray)):
        payload = parse_json_body(bytes(payload))
    submission = clean_payload(payload)
    decision = rules.decide(
        submission.status, [flag.rule for flag in submission.flags],
        second_review_requested=submission.second_review,
    )
    with transaction.atomic():
        attempt = attempts.lock(submission.attempt_code, provider=provider)
        existing = Review.objects.filter(provider=provider, review_id=submission.review_id).first()
        if existing is not None:
            return _duplicate(existing, attempt, submission)
        if attempt.status in NOT_YET_SUBMITTED:
            raise ReviewConflict.on("attempt_code", (
                f"The attempt has not been submitted for review yet (its status is '{attempt.status}'); "
                "send the review once the learner has completed the exam."))
        try:
            # A savepoint, so losing the race on the unique constraint leaves the transaction usable.
            with transaction.atomic():
                review = Review.objects.create(
                    attempt=attempt, provider=provider, review_id=submission.review_id,
                    provider_status=submission.status, second_review_requested=submission.second_review,
                    outcome=decision.outcome, disagreement=decision.disagreement, reviewer=submission.reviewer,
                    reviewed_at=submission.reviewed_at, raw_payload=submission.raw,
                )
        except IntegrityError:
            existing = Review.objects.get(provider=provider, review_id=submission.review_id)
            return _duplicate(existing, attempt, submission)
        ReviewFlag.objects.bulk_create([
            ReviewFlag(review=review, rule_code=flag.rule, severity=severity, comment=flag.comment,
                       start_seconds=flag.start, stop_seconds=flag.stop)
            for flag, (_code, severity) in zip(submission.flags, decision.severities)
        ])
        status = _apply(attempt, review, submission, decision)
    log.info(
        "Recorded review %s from provider %s for attempt %s: outcome %s, attempt now %s (%d flag(s), %d unknown).",
        review.review_id, provider, attempt.attempt_code, decision.outcome, status,
        len(submission.flags), len(decision.unknown_codes),
    )
    return ReviewResult(attempt_code=attempt.attempt_code, review_id=review.review_id, status=status,
                        outcome=review.outcome, duplicate=False)


def _duplicate(existing, attempt, submission):
    if existing.attempt_id != attempt.id:
        raise ReviewConflict.on("review_id", "This review id was already used for another attempt.")
    log.info("Review %s from provider %s delivered again; nothing changed.", existing.review_id, existing.provider)
    return ReviewResult(attempt_code=attempt.attempt_code, review_id=existing.review_id, status=attempt.status,
                        outcome=existing.outcome, duplicate=True)


def _apply(attempt, review, submission, decision):
    """Move the attempt to the review's outcome, unless a review decided later is already recorded."""
    if submission.reviewed_at is not None and Review.objects.filter(
        attempt=attempt, reviewed_at__gt=submission.reviewed_at,
    ).exclude(pk=review.pk).exists():
        # A late redelivery of an older review: kept in the history, but it does not undo the newer one.
        log.info("Review %s is older than one already recorded; attempt %s left as it was.",
                 review.review_id, attempt.attempt_code)
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
    if status not in STAFF_OUTCOMES:
        errors["status"] = [f"Must be one of: {', '.join(STAFF_OUTCOMES)}."]
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = ["Say why, in a few words."]
    elif len(reason) > 255 or "\x00" in reason or not _encodable(reason):
        errors["reason"] = ["At most 255 characters of text."]
    if errors:
        raise InvalidReview(errors)
    with transaction.atomic():
        attempt = attempts.lock(attempt_code)
        if attempt.status not in STAFF_DECIDABLE:
            raise ReviewConflict.on("status", (
                f"Only an attempt awaiting a second review, or already Satisfactory or Unsatisfactory, can be "
                f"decided by course staff; this attempt's status is '{attempt.status}'."))
        if attempt.status == status:
            # Deciding what is already decided is a no-op, so a retried request is harmless.
            return StaffDecisionResult(attempt_code=attempt.attempt_code, status=attempt.status,
                                       status_label=str(AttemptStatus(attempt.status).label), changed=False)
        old_status = attempt.status
        attempts.transition(attempt, status, source=attempts.Source.STAFF, actor=actor, reason=reason.strip())
    log.info("Staff user %s moved attempt %s from %s to %s.", getattr(actor, "pk", None), attempt_code,
             old_status, status)
    return StaffDecisionResult(attempt_code=attempt.attempt_code, status=attempt.status,
                               status_label=str(statuses.label(attempt.status)), changed=True)


# ---------------------------------------------------------------- reading

def _flag_data(flag):
    return ReviewFlagData(rule_code=flag.rule_code, severity=flag.severity, comment=flag.comment,
                          start_seconds=flag.start_seconds, stop_seconds=flag.stop_seconds)


def review_data(review, attempt_code):
    return ReviewData(
        id=review.id, attempt_code=attempt_code, provider=review.provider, review_id=review.review_id,
        provider_status=review.provider_status, second_review_requested=review.second_review_requested,
        outcome=review.outcome, disagreement=review.disagreement, reviewer=review.reviewer,
        reviewed_at=review.reviewed_at, received_at=review.received_at,
        flags=tuple(_flag_data(flag) for flag in review.flags.all()),
    )


def list_attempt_reviews(attempt_code):
    """An attempt's reviews, oldest first: the append-only history."""
    if not ExamAttempt.objects.filter(attempt_code=attempt_code).exists():
        raise AttemptNotFound("No exam attempt with that attempt code.")
    reviews = (Review.objects.filter(attempt__attempt_code=attempt_code)
               .order_by("received_at", "id").prefetch_related("flags"))
    return [review_data(review, attempt_code) for review in reviews]


def rule_catalog():
    """The Online Proctoring Rules in force, integrity rules first, then by code."""
    ordered = sorted(rules.catalog().values(), key=lambda r: (not r.is_integrity, r.code))
    return [RuleData(code=r.code, description=str(r.description), severity=r.severity) for r in ordered]
