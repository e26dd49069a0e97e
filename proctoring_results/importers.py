"""
Copy edx-proctoring's exams, attempts, reviews and review comments into this app.

An Open edX site that ran edx-proctoring keeps its data in edx-proctoring's
tables. This module reads them with plain SQL from any database alias (so
edx-proctoring need not be installed) and writes this app's models:

=======================================================  ==========================================
edx-proctoring table                                     becomes
=======================================================  ==========================================
``proctoring_proctoredexam``                             ``ProctoredExam``, keyed on (course, content id)
``proctoring_proctoredexamstudentattempt``               ``ExamAttempt``, keyed on the attempt code
``proctoring_proctoredexamstudentallowance``             extra minutes, when an attempt has no time limit
``proctoring_proctoredexamsoftwaresecurereview``         ``Review``, keyed on ``edx-proctoring:<review id>``
``proctoring_proctoredexamstudentattemptcomment``        ``ReviewFlag`` of that review
=======================================================  ==========================================

edx-proctoring has nineteen attempt statuses; ``STATUS_MAP`` sends each to the
nearest of the seed's ten (docs/howto/import_edx_proctoring.rst argues each
line), ``agree_with_timestamps`` then makes it agree with the row's own start
and completion times, and the original status is kept in the attempt's status
history. An attempt without an allowed time (never started) gets what
edx-proctoring would allot it (``unstarted_allowed_minutes``), or none.

"An edx-proctoring row becomes these rows here" is one function per row kind,
free of the database, for the import and the live sync alike: ``exam_values``,
``attempt_status`` and ``attempt_values``, ``review_values``, ``flag_values``
(each reading a named source row: ``ExamRow``, ``AttemptRow``, ``ReviewRow``,
``CommentRow``). Each batch is first planned (``_plan_*``: read, map, compare
with what is here) and then written (``_write_*``, in one transaction; a dry
run plans and writes nothing).

The import is idempotent (running it twice changes nothing the second time)
and resumable: it reads each table in id order, in batches, and commits each
batch on its own, so an interrupted run loses at most one batch; ``resume``
then skips rows already imported instead of refreshing them.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from types import SimpleNamespace
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import attempts, jsonbody, rules
from .data import ImportCounts, ImportSummary
from .exceptions import InvalidImportSource
from .models import MAX_TIME_LIMIT_MINS, AttemptStatusChange, ExamAttempt, ProctoredExam, Review, ReviewFlag
from .statuses import AttemptStatus

log = logging.getLogger(__name__)

S = AttemptStatus

#: edx-proctoring attempt status -> the nearest of the seed's ten.
STATUS_MAP = {
    "eligible": S.CREATED,  # eligible for credit, nothing started
    "created": S.CREATED,
    "download_software_clicked": S.CREATED,  # installing the software; not ready yet
    "ready_to_start": S.READY_TO_START,
    "started": S.STARTED,
    "ready_to_submit": S.COMPLETED,  # ended the exam, not yet confirmed the submission
    "declined": S.CREATED,  # chose to take it without proctoring: no proctored session ever started
    "timed_out": S.TIMED_OUT,
    "submitted": S.SUBMITTED,
    "second_review_required": S.SECOND_REVIEW_REQUIRED,
    "verified": S.VERIFIED,
    "rejected": S.REJECTED,
    "error": S.ERROR,
    "expired": S.TIMED_OUT,  # the course ended before the learner finished
    "onboarding_reset": S.CREATED,  # set aside to be taken again: started or completed, by its timestamps
    "onboarding_missing": S.CREATED,  # blocked before starting: no onboarding yet
    "onboarding_pending": S.CREATED,  # blocked before starting: onboarding under review
    "onboarding_failed": S.ERROR,  # blocked: onboarding failed
    "onboarding_expired": S.ERROR,  # blocked: onboarding expired
}

#: Status given to an attempt whose edx-proctoring status is none of the above.
UNKNOWN_STATUS = S.ERROR

#: The seed's statuses that say the exam was not started yet, and those that say it was
#: (review outcomes and errors are left as they are: a review or an error says more).
_NOT_STARTED = frozenset({S.CREATED, S.READY_TO_START})
_STARTED = frozenset({S.STARTED, S.TIMED_OUT, S.COMPLETED})


def agree_with_timestamps(status, started_at, completed_at):
    """
    ``status`` moved to the seed's status that the row's own times show, where they disagree.

    "Created" and "Ready to Start" mean not started: a row with a start time is
    "completed" if it also has a completion time, else "started" (``onboarding_reset``
    keeps the times of the attempt that was set aside). "Started", "Timed Out" and
    "Completed" mean the exam was started: a row without a start time is "created"
    (``declined``, or an ``expired`` attempt that never began).
    """
    if status in _NOT_STARTED and started_at is not None:
        return S.COMPLETED if completed_at is not None else S.STARTED
    if status in _STARTED and started_at is None:
        return S.CREATED
    return status


def unstarted_allowed_minutes(time_limit_mins, extra_mins, time_remaining_seconds, due_date, now):
    """
    The minutes edx-proctoring would allot an attempt that has none yet, at ``now``; None when unknowable.

    edx-proctoring sets an attempt's allowed time when it starts (``_calculate_allowed_mins``):
    the time left of a resumed attempt, else the exam's limit plus the extra-time
    allowance, cut so the exam ends by its due date (0 once it is past). Its due date
    comes from edx-when first, which this import cannot read, and then from the exam's
    own ``due_date``: without that, the time cannot be known and the cell stays empty,
    rather than claim more time than the learner would have had.
    """
    if due_date is None:
        return None
    try:
        remaining = max(int(time_remaining_seconds or 0), 0)
    except (TypeError, ValueError):
        remaining = 0
    minutes = remaining // 60 if remaining else time_limit_mins + (extra_mins or 0)
    if now + timedelta(minutes=minutes) > due_date:
        minutes = max(int((due_date - now).total_seconds() // 60), 0)
    return _minutes(minutes)


#: edx-proctoring review status (SoftwareSecure words, or the REST backends' ones) -> ``Review.provider_status``.
REVIEW_STATUS_MAP = {
    "clean": Review.ProviderStatus.PASSED,
    "passed": Review.ProviderStatus.PASSED,
    "rules violation": Review.ProviderStatus.VIOLATION,
    "violation": Review.ProviderStatus.VIOLATION,
    "suspicious": Review.ProviderStatus.SUSPICIOUS,
    "not reviewed": Review.ProviderStatus.NOT_REVIEWED,
    "not_reviewed": Review.ProviderStatus.NOT_REVIEWED,
}

#: What edx-proctoring decided for each review status (``handlers.finish_review_workflow``),
#: used as the review's outcome unless the attempt already shows a review outcome.
REVIEW_OUTCOME = {
    Review.ProviderStatus.PASSED: S.VERIFIED,
    Review.ProviderStatus.VIOLATION: S.VERIFIED,  # a flagged rule that edx-proctoring still passed
    Review.ProviderStatus.SUSPICIOUS: S.REJECTED,
    Review.ProviderStatus.NOT_REVIEWED: S.ERROR,
}
_OUTCOMES = frozenset({S.VERIFIED, S.REJECTED, S.SECOND_REVIEW_REQUIRED, S.ERROR})

REVIEW_ID_PREFIX = "edx-proctoring:"
DEFAULT_PROVIDER = "edx-proctoring"
USER_MATCHES = ("id", "username", "email")

EXAMS = "proctoring_proctoredexam"
ATTEMPTS = "proctoring_proctoredexamstudentattempt"
ALLOWANCES = "proctoring_proctoredexamstudentallowance"
REVIEWS = "proctoring_proctoredexamsoftwaresecurereview"
COMMENTS = "proctoring_proctoredexamstudentattemptcomment"
REQUIRED_TABLES = (EXAMS, ATTEMPTS, REVIEWS, COMMENTS)


def parse_status_overrides(pairs):
    """``["declined=error", ...]`` -> ``{"declined": "error"}``; a bad pair is an ``InvalidImportSource``."""
    overrides = {}
    for pair in pairs or ():
        source, sep, target = str(pair).partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or target not in S.values:
            raise InvalidImportSource(
                f"'{str(pair)[:80]}' is not EDX_STATUS=OUR_STATUS; our statuses are: {', '.join(S.values)}."
            )
        overrides[source] = S(target)
    return overrides


@dataclass
class _Tally:
    kind: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict = field(default_factory=dict)

    def skip(self, reason, n=1):
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def frozen(self):
        return ImportCounts(
            kind=self.kind,
            read=self.read,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            skipped=dict(sorted(self.skipped.items())),
        )


def _aware(value):
    """A source timestamp as an aware UTC datetime (SQLite and MySQL hand back naive UTC, or text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


#: Public name of the source-timestamp reading, for openedx/sync.py's key look-ups.
aware = _aware


def _minutes(value):
    """A time limit clamped into what our models accept (0 .. one week)."""
    try:
        return max(0, min(int(value), MAX_TIME_LIMIT_MINS))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- source rows, by name


class ExamRow(NamedTuple):
    """A row of ``proctoring_proctoredexam``, the columns the import reads."""

    id: int
    course_id: str
    content_id: str
    exam_name: str
    time_limit_mins: object
    is_proctored: object
    is_practice_exam: object
    is_active: object
    backend: str | None
    due_date: object


class AttemptRow(NamedTuple):
    """A row of ``proctoring_proctoredexamstudentattempt``."""

    id: int
    user_id: int
    proctored_exam_id: int
    started_at: object
    completed_at: object
    attempt_code: str | None
    external_id: str | None
    allowed_time_limit_mins: object
    status: str
    is_sample_attempt: object
    modified: object
    time_remaining_seconds: object


class ReviewRow(NamedTuple):
    """A row of ``proctoring_proctoredexamsoftwaresecurereview``."""

    id: int
    attempt_code: str
    review_status: str
    raw_data: str | None
    reviewed_by_id: int | None
    modified: object
    exam_id: int | None


class CommentRow(NamedTuple):
    """A row of ``proctoring_proctoredexamstudentattemptcomment``: one flagged rule of a review."""

    id: int
    review_id: int
    start_time: object
    stop_time: object
    comment: str | None
    status: str | None


def _columns(row_type):
    """The source columns of a row type, after ``id`` (which ``_batches`` reads first)."""
    return row_type._fields[1:]


# ---------------------------------------------------------------- an edx-proctoring row becomes these rows here
# One function per row kind, free of the database: the import and the live sync
# (openedx/) both call them, so a mapping changes in one place.


class Skip(Exception):
    """The row is left out; the message is the reason the summary counts."""


def attempt_code_of(row):
    """Our attempt code for a source attempt: its own, or one made from its id when it has none."""
    return row.attempt_code or f"EDX-PROCTORING-{row.id}"


def review_id_of(row):
    """Our ``Review.review_id`` for a source review (the import's idempotency key)."""
    return f"{REVIEW_ID_PREFIX}{row.id}"


def exam_values(row):
    """A source exam as ``ProctoredExam`` field values; raises ``Skip`` for a course id that is not one."""
    try:
        course_key = CourseKey.from_string(str(row.course_id))
    except InvalidKeyError:
        raise Skip("invalid course id") from None
    return {
        "course_id": course_key,
        "content_id": str(row.content_id)[:255],
        "exam_name": str(row.exam_name)[:255],
        "time_limit_mins": _minutes(row.time_limit_mins) or 0,
        "is_proctored": bool(row.is_proctored),
        "is_practice_exam": bool(row.is_practice_exam),
        "is_active": bool(row.is_active),
        "provider": (row.backend or "")[:100],
    }


def attempt_status(edx_status, started_at, completed_at, status_map=STATUS_MAP, taken_as_said=frozenset()):
    """
    The seed's status for a source attempt, and whether edx-proctoring's status was known.

    ``STATUS_MAP`` (or an operator's ``--map-status``, in ``status_map``), then
    ``agree_with_timestamps``, except for statuses the operator mapped
    (``taken_as_said``). An unknown status becomes ``UNKNOWN_STATUS``.
    """
    mapped = status_map.get(edx_status)
    if mapped is None:
        return UNKNOWN_STATUS, False
    if edx_status in taken_as_said:
        return mapped, True
    return agree_with_timestamps(mapped, started_at, completed_at), True


def attempt_values(row, *, exam_id, user_id, status, allowed_time_limit_mins):
    """
    A source attempt as ``ExamAttempt`` field values, given what was looked up for it here.

    ``exam_id`` and ``user_id`` are ours; ``status`` comes from ``attempt_status``
    and ``allowed_time_limit_mins`` from the row, or ``unstarted_allowed_minutes``.
    """
    return {
        "exam_id": exam_id,
        "user_id": user_id,
        "external_id": (row.external_id or "")[:255],
        "allowed_time_limit_mins": allowed_time_limit_mins,
        "is_sample_attempt": bool(row.is_sample_attempt),
        "started_at": _aware(row.started_at),
        "completed_at": _aware(row.completed_at),
        "status": status,
        "status_changed_at": _aware(row.modified),
    }


def attempt_import_reason(row):
    """The status history's line for an imported attempt (its source id and status; no personal data)."""
    return f"Imported from edx-proctoring attempt {row.id} (status '{str(row.status)[:40]}')."


def review_values(row, *, attempt_status_now, provider):
    """
    A source review as ``Review`` field values; raises ``Skip`` for a review status it does not know.

    The outcome is the attempt's own when it already shows a review outcome
    (``attempt_status_now``), else what edx-proctoring decided for the status.
    """
    provider_status = REVIEW_STATUS_MAP.get(str(row.review_status).strip().lower())
    if provider_status is None:
        raise Skip("unknown review status")
    outcome = attempt_status_now if attempt_status_now in _OUTCOMES else REVIEW_OUTCOME[provider_status]
    return {
        "provider": provider,
        "provider_status": provider_status,
        "outcome": outcome,
        "reviewer": f"LMS user {row.reviewed_by_id}" if row.reviewed_by_id else "",
        "reviewed_at": _aware(row.modified),
        "raw_payload": review_payload(row.raw_data),
    }


def review_payload(raw):
    """A source review's ``raw_data`` as the JSON object we keep, without the recording's URL."""
    try:
        payload = jsonbody.loads(raw) if raw else {}
    except (TypeError, ValueError):
        payload = {"raw_data": str(raw)}
    if not isinstance(payload, dict):
        payload = {"raw_data": payload}
    payload.pop("videoReviewLink", None)  # edx-proctoring redacts it too; never copy a recording's URL
    return payload


#: The ``ReviewFlag`` fields ``flag_values`` gives, in the order they are compared.
FLAG_FIELDS = ("rule_code", "severity", "comment", "start_seconds", "stop_seconds")


def flag_values(row, catalog):
    """A source review comment as ``ReviewFlag`` field values; its status is the rule code."""
    code = (str(row.status or "").strip() or "unspecified")[: rules.MAX_RULE_CODE_LENGTH]
    rule = catalog.get(code)
    return {
        "rule_code": code,
        "severity": rule.severity if rule else "",
        "comment": row.comment or "",
        "start_seconds": float(row.start_time) if row.start_time is not None else None,
        "stop_seconds": float(row.stop_time) if row.stop_time is not None else None,
    }


# ---------------------------------------------------------------- what one batch will write


@dataclass
class _ExamPlan:
    to_create: list = field(default_factory=list)  # (edx exam id, unsaved ProctoredExam, provider)
    to_update: list = field(default_factory=list)  # ProctoredExam with changed fields set


@dataclass
class _AttemptPlan:
    to_create: list = field(default_factory=list)  # unsaved ExamAttempt
    to_update: list = field(default_factory=list)  # ExamAttempt with changed fields set
    changes: list = field(default_factory=list)  # _StatusChange


class _StatusChange(NamedTuple):
    attempt_code: str
    from_status: str
    to_status: str
    reason: str


class _ReviewWrite(NamedTuple):
    """One review to write: ``review`` is the existing one to refresh, or None for a new one."""

    review: object
    attempt: object
    review_id: str
    values: dict
    flags: list


class EdxProctoringImporter:
    """One run of the import; ``run()`` returns an ``ImportSummary``."""

    def __init__(
        self,
        database="default",
        *,
        batch_size=1000,
        dry_run=False,
        resume=False,
        match_users_by="id",
        status_overrides=None,
        progress=None,
        only=None,
    ):
        if database not in connections.settings:
            raise InvalidImportSource(f"There is no database alias '{str(database)[:80]}' in settings.DATABASES.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidImportSource("The batch size must be a positive whole number.")
        if match_users_by not in USER_MATCHES:
            raise InvalidImportSource(f"Users are matched by one of: {', '.join(USER_MATCHES)}.")
        self.source = connections[database]
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.resume = resume
        self.match_users_by = match_users_by
        self.status_map = {**STATUS_MAP, **(status_overrides or {})}
        self.status_overrides = frozenset(status_overrides or ())
        # The moment an unstarted attempt's allowed time is worked out for (unstarted_allowed_minutes).
        self.now = timezone.now()
        # edx exam id -> the exam's own due date (None: none set, or only in edx-when)
        self.exam_due_dates = {}
        self.progress = progress or (lambda kind, tally: None)
        # None reads every row; {table: ids} reads only those rows of those tables (openedx/sync.py).
        self.only = None if only is None else {table: sorted(set(ids)) for table, ids in only.items()}
        self.unknown_statuses = {}
        # edx exam id -> (our exam id or None when a dry run would create it, provider name)
        self.exams = {}
        self.rule_catalog = rules.catalog()

    # ------------------------------------------------------------ source access

    def _fetch(self, sql, params=()):
        with self.source.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _names(self, *names):
        """
        Table or column names quoted in the source database's dialect, comma-separated.

        Open edX keeps these tables in MySQL, where some of edx-proctoring's column
        names (``key``) are reserved words; quoting every name keeps one spelling of
        each query valid on MySQL, PostgreSQL and SQLite alike.
        """
        return ", ".join(self.source.ops.quote_name(name) for name in names)

    def _batches(self, table, columns):
        """Rows of ``table`` in id order, ``batch_size`` at a time (keyset paging: no long-open cursor)."""
        if self.only is not None:
            yield from self._chosen(table, columns, self.only.get(table, ()))
            return
        last_id = 0
        while True:
            rows = self._fetch(
                f"SELECT {self._names('id', *columns)} FROM {self._names(table)} "
                f"WHERE {self._names('id')} > %s ORDER BY {self._names('id')} LIMIT %s",
                (last_id, self.batch_size),
            )
            if not rows:
                return
            yield rows
            last_id = rows[-1][0]

    def _chosen(self, table, columns, ids):
        """The rows of ``table`` with these ids, in id order, ``batch_size`` at a time."""
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            rows = self._fetch(
                f"SELECT {self._names('id', *columns)} FROM {self._names(table)} "
                f"WHERE {self._names('id')} IN ({self._placeholders(chunk)}) ORDER BY {self._names('id')}",
                chunk,
            )
            if rows:
                yield rows

    def _placeholders(self, values):
        return ", ".join(["%s"] * len(values))

    def check_source(self):
        try:
            tables = set(self.source.introspection.table_names())
        except Exception as exc:  # noqa: BLE001 - any driver error means the same thing to the operator
            raise InvalidImportSource(
                f"Cannot read the tables of database '{self.source.alias}': {type(exc).__name__}."
            ) from None
        missing = [table for table in REQUIRED_TABLES if table not in tables]
        if missing:
            raise InvalidImportSource(
                f"Database '{self.source.alias}' has no edx-proctoring table(s) {', '.join(missing)}; "
                "is it the LMS database, migrated by edx-proctoring?"
            )
        if self.match_users_by != "id" and "auth_user" not in tables:
            raise InvalidImportSource(
                f"Matching users by {self.match_users_by} needs the auth_user table in '{self.source.alias}'."
            )
        self.has_allowances = ALLOWANCES in tables

    # ------------------------------------------------------------ run

    def run(self):
        self.check_source()
        tallies = [self._import_exams(), self._import_attempts(), *self._import_reviews()]
        return ImportSummary(
            database=self.source.alias,
            dry_run=self.dry_run,
            resume=self.resume,
            counts=tuple(t.frozen() for t in tallies),
            unknown_statuses=dict(sorted(self.unknown_statuses.items())),
        )

    def _commit(self, write, plan):
        """Apply one batch's planned writes in one transaction, or nothing at all on a dry run."""
        if self.dry_run:
            return
        with transaction.atomic():
            write(plan)

    # ------------------------------------------------------------ exams

    def _import_exams(self):
        tally = _Tally("exams")
        for batch in self._batches(EXAMS, _columns(ExamRow)):
            rows = [ExamRow._make(row) for row in batch]
            tally.read += len(rows)
            plan = self._plan_exams(rows, tally)
            self._commit(self._write_exams, plan)
            if self.dry_run:
                for edx_id, _exam, provider in plan.to_create:
                    self.exams[edx_id] = (None, provider)
            self.progress("exams", tally.frozen())
        return tally

    def _plan_exams(self, rows, tally):
        wanted = {}
        for row in rows:
            self.exam_due_dates[row.id] = _aware(row.due_date)
            try:
                wanted[row.id] = exam_values(row)
            except Skip as skip:
                tally.skip(str(skip))
        existing = {
            (str(exam.course_id), exam.content_id): exam
            for exam in ProctoredExam.objects.filter(
                course_id__in={v["course_id"] for v in wanted.values()},
                content_id__in={v["content_id"] for v in wanted.values()},
            )
        }
        plan = _ExamPlan()
        for edx_id, values in wanted.items():
            exam = existing.get((str(values["course_id"]), values["content_id"]))
            provider = values["provider"] or DEFAULT_PROVIDER
            if exam is None:
                tally.created += 1
                plan.to_create.append((edx_id, ProctoredExam(**values), provider))
                continue
            self.exams[edx_id] = (exam.id, provider)
            changed = [k for k, v in values.items() if k != "course_id" and getattr(exam, k) != v]
            if not changed or self.resume:
                tally.unchanged += 1
                continue
            for name in changed:
                setattr(exam, name, values[name])
            tally.updated += 1
            plan.to_update.append(exam)
        return plan

    def _write_exams(self, plan):
        for edx_id, exam, provider in plan.to_create:
            exam.save()
            self.exams[edx_id] = (exam.id, provider)
        if plan.to_update:
            _touch(plan.to_update)
            ProctoredExam.objects.bulk_update(
                plan.to_update,
                [
                    "exam_name",
                    "time_limit_mins",
                    "is_proctored",
                    "is_practice_exam",
                    "is_active",
                    "provider",
                    "modified",
                ],
            )

    # ------------------------------------------------------------ users

    def _users(self, source_ids):
        """source user id -> our user id, for the users that exist here."""
        source_ids = sorted(set(source_ids))
        if not source_ids:
            return {}
        User = get_user_model()
        if self.match_users_by == "id":
            found = User.objects.filter(pk__in=source_ids).values_list("pk", flat=True)
            return {pk: pk for pk in found}
        column = self.match_users_by
        source = dict(
            self._fetch(
                f"SELECT {self._names('id', column)} FROM {self._names('auth_user')} "
                f"WHERE {self._names('id')} IN ({self._placeholders(source_ids)})",
                source_ids,
            )
        )
        ours = dict(
            User.objects.filter(**{f"{column}__in": [v for v in source.values() if v]}).values_list(column, "pk")
        )
        return {source_id: ours[value] for source_id, value in source.items() if value in ours}

    # ------------------------------------------------------------ attempts

    def _extra_minutes(self, pairs):
        """(user id, exam id) -> minutes granted by an ``additional_time_granted`` allowance."""
        if not self.has_allowances or not pairs:
            return {}
        users = sorted({user for user, _exam in pairs})
        rows = self._fetch(
            f"SELECT {self._names('user_id', 'proctored_exam_id', 'value')} FROM {self._names(ALLOWANCES)} "
            f"WHERE {self._names('key')} = %s AND {self._names('user_id')} IN ({self._placeholders(users)})",
            ["additional_time_granted", *users],
        )
        return {(user, exam): _minutes(value) or 0 for user, exam, value in rows if (user, exam) in pairs}

    def _map_status(self, row, started_at, completed_at):
        status, known = attempt_status(row.status, started_at, completed_at, self.status_map, self.status_overrides)
        if not known:
            key = str(row.status)[:64]
            self.unknown_statuses[key] = self.unknown_statuses.get(key, 0) + 1
        return status

    def _import_attempts(self):
        tally = _Tally("attempts")
        exams = ProctoredExam.objects.all()
        if self.only is not None:  # a few rows: read only their exams' limits
            exams = exams.filter(pk__in=[ours for ours, _provider in self.exams.values() if ours])
        limits = dict(exams.values_list("pk", "time_limit_mins"))
        for batch in self._batches(ATTEMPTS, _columns(AttemptRow)):
            rows = [AttemptRow._make(row) for row in batch]
            tally.read += len(rows)
            plan = self._plan_attempts(rows, limits, tally)
            self._commit(self._write_attempts, plan)
            self.progress("attempts", tally.frozen())
        return tally

    def _plan_attempts(self, rows, limits, tally):
        users = self._users(row.user_id for row in rows)
        codes = {row.id: attempt_code_of(row) for row in rows}
        existing = {a.attempt_code: a for a in ExamAttempt.objects.filter(attempt_code__in=codes.values())}
        extra = self._extra_minutes(
            {(row.user_id, row.proctored_exam_id) for row in rows if row.allowed_time_limit_mins is None}
        )
        plan = _AttemptPlan()
        for row in rows:
            code = codes[row.id]
            if len(code) > 64:
                tally.skip("attempt code longer than 64 characters")
                continue
            if row.proctored_exam_id not in self.exams:
                tally.skip("exam not imported")
                continue
            if row.user_id not in users:
                tally.skip("learner not found")
                continue
            our_exam_id, _provider = self.exams[row.proctored_exam_id]
            limit = _minutes(row.allowed_time_limit_mins)
            if limit is None:
                limit = unstarted_allowed_minutes(
                    limits.get(our_exam_id) or 0,
                    extra.get((row.user_id, row.proctored_exam_id), 0),
                    row.time_remaining_seconds,
                    self.exam_due_dates.get(row.proctored_exam_id),
                    self.now,
                )
            values = attempt_values(
                row,
                exam_id=our_exam_id,
                user_id=users[row.user_id],
                allowed_time_limit_mins=limit,
                status=self._map_status(row, _aware(row.started_at), _aware(row.completed_at)),
            )
            attempt = existing.get(code)
            if attempt is None:
                tally.created += 1
                plan.to_create.append(ExamAttempt(attempt_code=code, **values))
                plan.changes.append(_StatusChange(code, S.CREATED, values["status"], attempt_import_reason(row)))
                continue
            if self.resume:
                tally.unchanged += 1
                continue
            changed = [k for k, v in values.items() if k != "status_changed_at" and getattr(attempt, k) != v]
            if not changed:
                tally.unchanged += 1
                continue
            if "status" in changed:
                plan.changes.append(_StatusChange(code, attempt.status, values["status"], attempt_import_reason(row)))
            for name, value in values.items():
                setattr(attempt, name, value)
            tally.updated += 1
            plan.to_update.append(attempt)
        return plan

    @staticmethod
    def _write_attempts(plan):
        ExamAttempt.objects.bulk_create(plan.to_create)
        if plan.to_update:
            _touch(plan.to_update)
            ExamAttempt.objects.bulk_update(
                plan.to_update,
                [
                    "exam_id",
                    "user_id",
                    "external_id",
                    "allowed_time_limit_mins",
                    "is_sample_attempt",
                    "started_at",
                    "completed_at",
                    "status",
                    "status_changed_at",
                    "modified",
                ],
            )
        ids = dict(
            ExamAttempt.objects.filter(attempt_code__in=[c.attempt_code for c in plan.changes]).values_list(
                "attempt_code", "pk"
            )
        )
        AttemptStatusChange.objects.bulk_create(
            [
                attempts.change_record(
                    ids[c.attempt_code], c.from_status, c.to_status, source=attempts.Source.HOST, reason=c.reason
                )
                for c in plan.changes
            ]
        )

    # ------------------------------------------------------------ reviews and comments

    def _would_import(self, source_attempts):
        """attempt code -> whether a dry run would have created that attempt (same tests as the attempt phase)."""
        users = self._users(user for _code, user, _exam in source_attempts)
        return {code for code, user, exam in source_attempts if exam in self.exams and user in users}

    def _import_reviews(self):
        reviews, flags = _Tally("reviews"), _Tally("review comments")
        for batch in self._batches(REVIEWS, _columns(ReviewRow)):
            rows = [ReviewRow._make(row) for row in batch]
            reviews.read += len(rows)
            writes = self._plan_reviews(rows, reviews, flags)
            self._commit(self._write_reviews, writes)
            self.progress("reviews", reviews.frozen())
        return reviews, flags

    def _comments(self, review_ids):
        """edx review id -> its comments (``CommentRow``), in id order."""
        comments = {}
        for row in self._fetch(
            f"SELECT {self._names('id', *_columns(CommentRow))} FROM {self._names(COMMENTS)} "
            f"WHERE {self._names('review_id')} IN ({self._placeholders(review_ids)}) "
            f"ORDER BY {self._names('id')}",
            review_ids,
        ):
            comment = CommentRow._make(row)
            comments.setdefault(comment.review_id, []).append(comment)
        return comments

    def _plan_reviews(self, rows, reviews, flags):
        codes = sorted({row.attempt_code for row in rows})
        ours = {a.attempt_code: a for a in ExamAttempt.objects.filter(attempt_code__in=codes)}
        pending = set()
        if self.dry_run:
            missing = [c for c in codes if c not in ours]
            if missing:
                pending = self._would_import(
                    self._fetch(
                        f"SELECT {self._names('attempt_code', 'user_id', 'proctored_exam_id')} "
                        f"FROM {self._names(ATTEMPTS)} "
                        f"WHERE {self._names('attempt_code')} IN ({self._placeholders(missing)})",
                        missing,
                    )
                )
        existing = {
            r.review_id: r
            for r in Review.objects.filter(
                attempt__in=list(ours.values()),
                review_id__in=[review_id_of(row) for row in rows],
            ).prefetch_related(*(() if self.resume else ("flags",)))
        }
        comments = self._comments([row.id for row in rows])
        flags.read += sum(len(c) for c in comments.values())
        writes = []
        for row in rows:
            attempt = ours.get(row.attempt_code)
            n_comments = len(comments.get(row.id, ()))
            try:
                if attempt is None and row.attempt_code not in pending:
                    raise Skip("attempt not imported")
                provider = self.exams.get(row.exam_id, (None, DEFAULT_PROVIDER))[1] if row.exam_id else DEFAULT_PROVIDER
                values = review_values(
                    row, attempt_status_now=attempt.status if attempt is not None else None, provider=provider
                )
            except Skip as skip:
                reviews.skip(str(skip))
                if n_comments:
                    flags.skip(str(skip), n_comments)
                continue
            new_flags = [flag_values(comment, self.rule_catalog) for comment in comments.get(row.id, ())]
            review = existing.get(review_id_of(row))
            if review is None:
                reviews.created += 1
                flags.created += len(new_flags)
                writes.append(_ReviewWrite(None, attempt, review_id_of(row), values, new_flags))
                continue
            if self.resume:
                reviews.unchanged += 1
                flags.unchanged += len(new_flags)
                continue
            changed = {k for k, v in values.items() if k != "provider" and getattr(review, k) != v}
            current_flags = [
                {k: getattr(f, k) for k in FLAG_FIELDS} for f in sorted(review.flags.all(), key=lambda f: f.id)
            ]
            if not changed and current_flags == new_flags:
                reviews.unchanged += 1
                flags.unchanged += len(new_flags)
                continue
            reviews.updated += 1 if changed else 0
            reviews.unchanged += 0 if changed else 1
            flags.updated += len(new_flags) if current_flags != new_flags else 0
            flags.unchanged += len(new_flags) if current_flags == new_flags else 0
            writes.append(_ReviewWrite(review, attempt, review_id_of(row), values, new_flags))
        return writes

    @staticmethod
    def _write_reviews(writes):
        # A few statements per batch, whatever its size: new reviews in one insert,
        # changed ones in one update, their flags replaced in one delete and one insert.
        Review.objects.bulk_create(
            [Review(attempt=w.attempt, review_id=w.review_id, **w.values) for w in writes if w.review is None]
        )
        changed = []
        for w in writes:
            if w.review is not None:
                for name, value in w.values.items():
                    if name != "provider":
                        setattr(w.review, name, value)
                changed.append(w.review)
        if changed:
            Review.objects.bulk_update(
                changed, ["provider_status", "outcome", "reviewer", "reviewed_at", "raw_payload"]
            )
            ReviewFlag.objects.filter(review__in=changed).delete()
        # Reviews have no modified time: their attempts' says the course's results changed (``Review.save``).
        touched = {w.attempt.pk if w.review is None else w.review.attempt_id for w in writes}
        ExamAttempt.objects.filter(pk__in=touched).update(modified=timezone.now())
        ids = dict(
            Review.objects.filter(
                review_id__in=[w.review_id for w in writes],
                attempt__in=[w.attempt if w.review is None else w.review.attempt_id for w in writes],
            ).values_list("review_id", "pk")
        )
        ReviewFlag.objects.bulk_create(
            [ReviewFlag(review_id=ids[w.review_id], **flag) for w in writes for flag in w.flags]
        )


def import_edx_proctoring(database="default", **options):
    """Run one import (see ``EdxProctoringImporter``) and return its ``ImportSummary``."""
    return EdxProctoringImporter(database, **options).run()


def remove_missing(database="default", *, attempt_codes=None, review_ids=()):
    """
    Remove here what edx-proctoring no longer has; returns how many attempts and reviews went.

    ``attempt_codes`` maps attempt code -> edx-proctoring attempt id (our code is
    ``attempt_code_of`` either, as the import made it). An attempt still in the
    source stays. A removed attempt leaves the report, as it left edx-proctoring's
    (docs/howto/install_openedx.rst); its status history stays, naming its code,
    with a last line saying it was removed.
    """
    source = connections[database]
    q = source.ops.quote_name
    ours = {
        attempt_code_of(SimpleNamespace(id=edx_id, attempt_code=code)): code
        for code, edx_id in (attempt_codes or {}).items()
    }
    removed = 0
    if ours:
        with source.cursor() as cursor:
            cursor.execute(
                f"SELECT {q('attempt_code')} FROM {q(ATTEMPTS)} WHERE {q('attempt_code')} IN "
                f"({', '.join(['%s'] * len(ours))})",
                list(ours),
            )
            present = {row[0] for row in cursor.fetchall()}
        with transaction.atomic():
            gone = list(
                ExamAttempt.objects.filter(
                    attempt_code__in=[ours_code for ours_code, code in ours.items() if code not in present]
                )
            )
            for attempt in gone:
                AttemptStatusChange.objects.filter(attempt=attempt).update(attempt_code=attempt.attempt_code)
            AttemptStatusChange.objects.bulk_create(
                [
                    AttemptStatusChange(
                        attempt=a,
                        attempt_code=a.attempt_code,
                        from_status=a.status,
                        to_status=a.status,
                        source=AttemptStatusChange.Source.HOST,
                        reason="Removed in edx-proctoring: the attempt left the report.",
                    )
                    for a in gone
                ]
            )
            ExamAttempt.objects.filter(pk__in=[a.pk for a in gone]).delete()
            removed += len(gone)
    ids = sorted(set(review_ids))
    if ids:
        with source.cursor() as cursor:
            cursor.execute(
                f"SELECT {q('id')} FROM {q(REVIEWS)} WHERE {q('id')} IN ({', '.join(['%s'] * len(ids))})", ids
            )
            present = {row[0] for row in cursor.fetchall()}
        missing = [review_id_of(SimpleNamespace(id=i)) for i in ids if i not in present]
        removed += Review.objects.filter(review_id__in=missing).delete()[1].get(Review._meta.label, 0)
    return removed


def _touch(rows):
    """``bulk_update`` skips ``auto_now``: set ``modified`` as ``save()`` would (Generate's "changed?" reads it)."""
    now = timezone.now()
    for row in rows:
        row.modified = now
