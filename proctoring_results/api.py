"""
The public Python API: the one door through which host code, views, tasks and
commands reach proctoring results.

Functions take and return plain values and ``data.py`` dataclasses, never
models or querysets, and raise the errors in ``exceptions.py``.
"""

import logging as _logging
import uuid as _uuid
from datetime import timedelta as _timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError as _IntegrityError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import attempts as _attempts
from . import reports as _reports
from . import reviews as _reviews
from . import statuses
from .conf import app_settings as _app_settings
from .data import AttemptData, ExamData, ExamStatusCounts, ReportData, ReportTaskData
from .exceptions import REPORT_BEING_CREATED as _REPORT_BEING_CREATED
from .exceptions import (
    AttemptNotFound,
    CourseIdTooLong,
    ExamNotFound,
    ForceNotAllowed,
    InvalidCourseId,
    InvalidExamData,
    ReportAlreadyRunning,
    ReportGenerationFailed,
    ReportLimitReached,
    ReportNotFound,
    ReportQueueUnavailable,
    ReportTaskNotFound,
    ReportUnchanged,
)
from .models import CourseRole as _CourseRole
from .models import ExamAttempt as _ExamAttempt
from .models import ProctoredExam as _ProctoredExam
from .models import Report as _Report
from .models import ReportDownload as _ReportDownload
from .models import ReportTask as _ReportTask
from .permissions import can_view_course_results as _can_view_course_results

AttemptStatus = statuses.AttemptStatus

_log = _logging.getLogger(__name__)


# ---------------------------------------------------------------- course keys

#: The length of every course id column: a longer id is refused before any query sees it
#: (PostgreSQL and MySQL would fail the insert with a 500; SQLite would store it whole).
MAX_COURSE_ID_LENGTH = _ReportTask._meta.get_field("course_id").max_length


def parse_course_id(course_id):
    """
    Return the ``CourseKey`` for a course id string, or raise ``InvalidCourseId``.

    ``CourseIdTooLong`` (an ``InvalidCourseId``) when the id is longer than
    ``MAX_COURSE_ID_LENGTH``, so faces can answer 400 rather than 404.
    """
    if isinstance(course_id, CourseKey):
        _check_course_id_length(str(course_id))
        return course_id
    if not isinstance(course_id, str) or not course_id.strip():
        raise InvalidCourseId("A course id is required, e.g. course-v1:edX+DemoX+2026.")
    _check_course_id_length(course_id.strip())
    try:
        return CourseKey.from_string(course_id.strip())
    except InvalidKeyError:
        # The offending text is course content, not personal data, but keep it short.
        raise InvalidCourseId(f"'{course_id[:100]}' is not a valid course id.") from None


def _check_course_id_length(text):
    if len(text) > MAX_COURSE_ID_LENGTH:
        raise CourseIdTooLong(f"A course id has at most {MAX_COURSE_ID_LENGTH} characters; this one has {len(text)}.")


# ---------------------------------------------------------------- permissions


def can_view_course_results(user, course_id):
    """May ``user`` see the proctoring results (page, API, reports) of this course?"""
    return _can_view_course_results(user, parse_course_id(course_id))


def course_display_name(course_id):
    """
    The course's display name from the host (``COURSE_DISPLAY_NAME``), or None where it is not known.

    A page heading must not fail with the host's lookup: an error there is logged
    (course id and error type only) and the page shows the course id alone.
    """
    lookup = _app_settings.COURSE_DISPLAY_NAME
    if lookup is None:
        return None
    try:
        name = lookup(parse_course_id(course_id))
    except Exception as exc:  # noqa: BLE001 - host code; the page stays up without a name
        _log.warning("COURSE_DISPLAY_NAME failed for %s: %s", course_id, type(exc).__name__)
        return None
    return str(name) if name else None


def grant_course_role(user, course_id, role=_CourseRole.Role.STAFF):
    """Give ``user`` a staff or instructor role in a course (idempotent)."""
    if role not in _CourseRole.Role.values:
        raise InvalidExamData(f"'{role}' is not a course role; expected one of: {', '.join(_CourseRole.Role.values)}.")
    _CourseRole.objects.get_or_create(user=user, course_id=parse_course_id(course_id), role=role)


def revoke_course_roles(user, course_id):
    """Remove every role ``user`` has in a course."""
    _CourseRole.objects.filter(user=user, course_id=parse_course_id(course_id)).delete()


# ---------------------------------------------------------------- exams

_EXAM_FIELDS = ("exam_name", "time_limit_mins", "is_practice_exam", "is_proctored", "is_active", "provider")


def _exam_data(exam):
    return ExamData(
        id=exam.id,
        course_id=str(exam.course_id),
        content_id=exam.content_id,
        exam_name=exam.exam_name,
        time_limit_mins=exam.time_limit_mins,
        is_practice_exam=exam.is_practice_exam,
        is_proctored=exam.is_proctored,
        is_active=exam.is_active,
        provider=exam.provider,
    )


def _validated_save(instance, exclude=None):
    """Run model validation, turning Django's error into one naming the fields."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        details = "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in exc.message_dict.items()
        )
        raise InvalidExamData(details) from None
    instance.save()


def create_exam(
    course_id,
    content_id,
    exam_name,
    time_limit_mins,
    *,
    is_practice_exam=False,
    is_proctored=True,
    is_active=True,
    provider="",
):
    """Create an exam in a course; ``(course_id, content_id)`` must be new."""
    exam = _ProctoredExam(
        course_id=parse_course_id(course_id),
        content_id=content_id,
        exam_name=exam_name,
        time_limit_mins=time_limit_mins,
        is_practice_exam=is_practice_exam,
        is_proctored=is_proctored,
        is_active=is_active,
        provider=provider,
    )
    with transaction.atomic():
        _validated_save(exam)
    return _exam_data(exam)


def update_exam(exam_id, **fields):
    """Change an exam's name, time limit, flags or provider."""
    unknown = set(fields) - set(_EXAM_FIELDS)
    if unknown:
        raise InvalidExamData(f"Cannot update exam field(s): {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        exam = _get_exam_model(exam_id, for_update=True)
        for name, value in fields.items():
            setattr(exam, name, value)
        _validated_save(exam)
    return _exam_data(exam)


def _get_exam_model(exam_id, course_id=None, for_update=False):
    queryset = _ProctoredExam.objects.select_for_update() if for_update else _ProctoredExam.objects
    filters = {"pk": exam_id}
    if course_id is not None:
        filters["course_id"] = parse_course_id(course_id)
    try:
        return queryset.get(**filters)
    except (_ProctoredExam.DoesNotExist, ValueError, TypeError):
        where = f" in course {course_id}" if course_id is not None else ""
        raise ExamNotFound(f"No exam with id {exam_id!r}{where}.") from None


def get_exam(exam_id):
    return _exam_data(_get_exam_model(exam_id))


def list_course_exams(course_id):
    """The course's exams, by name."""
    exams = _ProctoredExam.objects.filter(course_id=parse_course_id(course_id)).order_by("exam_name", "id")
    return [_exam_data(exam) for exam in exams]


# ---------------------------------------------------------------- attempts


def _attempt_data(attempt):
    return AttemptData(
        id=attempt.id,
        attempt_code=attempt.attempt_code,
        exam_id=attempt.exam_id,
        course_id=str(attempt.exam.course_id),
        user_id=attempt.user_id,
        external_id=attempt.external_id,
        allowed_time_limit_mins=attempt.allowed_time_limit_mins,
        is_sample_attempt=attempt.is_sample_attempt,
        started_at=attempt.started_at,
        completed_at=attempt.completed_at,
        status=attempt.status,
        status_label=statuses.label(attempt.status),
    )


def create_attempt(course_id, exam_id, user, *, allowed_time_limit_mins=None, external_id=""):
    """
    Create a learner's attempt at an exam of ``course_id``, in status ``created``.

    The time limit defaults to the exam's; ``is_sample_attempt`` follows the exam.
    An exam of another course is refused, as if it did not exist.
    """
    exam = _get_exam_model(exam_id, course_id=course_id)
    if not exam.is_active:
        raise InvalidExamData(f"Exam {exam.id} is not active; no new attempts.")
    attempt = _ExamAttempt(
        user=user,
        exam=exam,
        external_id=external_id,
        allowed_time_limit_mins=exam.time_limit_mins if allowed_time_limit_mins is None else allowed_time_limit_mins,
        is_sample_attempt=exam.is_practice_exam,
        status=AttemptStatus.CREATED,
    )
    with transaction.atomic():
        _validated_save(attempt)
    return _attempt_data(attempt)


def _attempt_queryset():
    return _ExamAttempt.objects.select_related("exam")


def get_attempt(attempt_code):
    # PostgreSQL refuses NUL in text parameters (DataError); no attempt code holds one.
    if not isinstance(attempt_code, str) or "\x00" in attempt_code:
        raise AttemptNotFound("No exam attempt with that attempt code.")
    try:
        return _attempt_data(_attempt_queryset().get(attempt_code=attempt_code))
    except _ExamAttempt.DoesNotExist:
        raise AttemptNotFound("No exam attempt with that attempt code.") from None


def list_course_attempts(course_id, *, exam_id=None, status=None):
    """A course's attempts, exam by exam then learner by learner."""
    attempts = _attempt_queryset().for_course(parse_course_id(course_id))
    if exam_id is not None:
        attempts = attempts.filter(exam_id=exam_id)
    if status is not None:
        attempts = attempts.filter(status=statuses.parse_status(status))
    return [_attempt_data(a) for a in attempts.order_by("exam_id", "user_id", "id")]


def update_attempt_status(
    attempt_code, new_status, *, source=_attempts.Source.HOST, actor=None, reason="", external_id=None
):
    """
    Move an attempt to ``new_status`` if the status graph allows it (``attempts.transition``).

    The attempt's row is locked for the length of the change, so two concurrent
    updates are applied one after the other and neither is lost: the second
    one sees the first one's status and is checked against it. Starting sets
    ``started_at``; completing, timing out or submitting sets ``completed_at``
    (once). Every change is recorded in ``AttemptStatusChange``.
    """
    new_status = statuses.parse_status(new_status)
    with transaction.atomic():
        attempt = _attempts.transition(
            _attempts.lock(attempt_code),
            new_status,
            source=source,
            actor=actor,
            reason=reason,
            external_id=external_id,
        )
    return _attempt_data(attempt)


def mark_ready_to_start(attempt_code):
    return update_attempt_status(attempt_code, AttemptStatus.READY_TO_START)


def start_attempt(attempt_code, *, external_id=None):
    return update_attempt_status(attempt_code, AttemptStatus.STARTED, external_id=external_id)


def complete_attempt(attempt_code):
    return update_attempt_status(attempt_code, AttemptStatus.COMPLETED)


def time_out_attempt(attempt_code):
    return update_attempt_status(attempt_code, AttemptStatus.TIMED_OUT)


def submit_attempt(attempt_code):
    return update_attempt_status(attempt_code, AttemptStatus.SUBMITTED)


def mark_attempt_error(attempt_code, reason=""):
    return update_attempt_status(attempt_code, AttemptStatus.ERROR, reason=reason)


# ---------------------------------------------------------------- dashboard


def course_status_counts(course_id):
    """
    Per exam of the course (by name), how many attempts are in each status.

    One aggregate query (exams LEFT JOIN attempts, GROUP BY exam, status), so the
    dashboard's chart costs the same for ten learners or a million.
    """
    rows = (
        _ProctoredExam.objects.filter(course_id=parse_course_id(course_id))
        .values("id", "exam_name", "is_practice_exam", "attempts__status")
        .annotate(n=Count("attempts__id"))
        .order_by("exam_name", "id", "attempts__status")
    )
    exams = {}
    for row in rows:
        entry = exams.setdefault(
            row["id"],
            (row["exam_name"], row["is_practice_exam"], dict.fromkeys(AttemptStatus.values, 0)),
        )
        if row["attempts__status"] is not None:
            entry[2][row["attempts__status"]] = row["n"]
    return [
        ExamStatusCounts(exam_id=exam_id, exam_name=name, is_practice_exam=practice, by_status=counts)
        for exam_id, (name, practice, counts) in exams.items()
    ]


def record_report_download(report, user, ip_address=None):
    """
    Audit one download of a report (``ReportData``) by ``user`` from ``ip_address``.

    The file name and course are copied, so the audit outlives the report.
    An unparseable address is stored as unknown rather than refusing the download.
    """
    try:
        validate_ipv46_address(ip_address or "")
    except ValidationError:
        ip_address = None
    _ReportDownload.objects.create(
        report_id=report.id,
        course_id=parse_course_id(report.course_id),
        file_name=report.file_name,
        user=user if user is not None and user.is_authenticated else None,
        ip_address=ip_address,
    )


# ---------------------------------------------------------------- provider reviews


def get_rule_catalog():
    """The Online Proctoring Rules in force (built in, plus ``PROCTORING_RESULTS["RULES"]``), as ``RuleData``."""
    return _reviews.rule_catalog()


def record_review(provider, submission):
    """
    Record a provider's review (a validated ``data.ReviewSubmission``) and apply its decision.

    Returns a ``ReviewResult``; the same ``(provider, review_id)`` again returns
    the first outcome with ``duplicate=True`` and changes nothing. Raises
    ``AttemptNotFound`` or ``ReviewConflict``, each naming the field. The REST
    callback builds the submission from the provider's JSON with
    ``rest_api.v1.serializers.ReviewCallbackSerializer``.
    """
    return _reviews.record_review(provider, submission)


def list_attempt_reviews(attempt_code):
    """The attempt's reviews, oldest first, each with its flags (``ReviewData``)."""
    return _reviews.list_attempt_reviews(attempt_code)


def record_staff_decision(attempt_code, status, *, actor, reason):
    """
    Course staff set a reviewed attempt to ``verified`` or ``rejected``, with a reason.

    Confirms a second_review_required attempt, or moves rejected <-> verified on
    appeal; who and when are kept in the status history. Returns a
    ``StaffDecisionResult`` (``changed`` is False when the attempt already had
    that status). The caller checks ``can_view_course_results(actor, course)`` first.
    """
    return _reviews.record_staff_decision(attempt_code, status, actor=actor, reason=reason)


# ---------------------------------------------------------------- reports
# The Proctored Exam Results Report pipeline lives in the reports/ package; these are its doors.

#: The seed's sentence after Generate, also when a report is already running (translated when shown).
REPORT_BEING_CREATED = _REPORT_BEING_CREATED

#: How many reports the Data Download page lists, and the REST listing's default: signing
#: each report's link is most of what a poll costs (docs/performance.rst).
REPORT_PAGE_SIZE = 25


def report_extra_columns(report_type=_ReportTask.ReportType.PROCTORED_EXAM_RESULTS):
    """The opt-in columns of a report type, in report order (its spec's; the ``extra_columns`` choices)."""
    return tuple(_reports.spec_for(report_type).extra_columns)


def report_column_profiles(report_type=_ReportTask.ReportType.PROCTORED_EXAM_RESULTS):
    """The column profiles of a report type, the default first (the ``column_profile`` choices)."""
    return _reports.column_profiles(report_type)


def _report_task_data(task):
    duration = None
    if task.started_at:
        duration = ((task.finished_at or timezone.now()) - task.started_at).total_seconds()
    requester = task.requester if task.requester_id else None
    return ReportTaskData(
        id=task.id,
        course_id=str(task.course_id),
        report_type=task.report_type,
        report_type_label=str(_ReportTask.ReportType(task.report_type).label),
        requester_id=task.requester_id,
        requester_username=requester.get_username() if requester else None,
        state=task.state,
        state_label=str(_ReportTask.State(task.state).label),
        rows_done=task.rows_done,
        rows_total=task.rows_total,
        message=task.message,
        created=task.created,
        started_at=task.started_at,
        finished_at=task.finished_at,
        duration_seconds=duration,
        is_active=task.state in _ReportTask.ACTIVE_STATES,
    )


def _report_data(report):
    return ReportData(
        id=report.id,
        course_id=str(report.course_id),
        file_name=report.file_name,
        storage_key=report.storage_key,
        size_bytes=report.size_bytes,
        row_count=report.row_count,
        checksum_sha256=report.checksum_sha256,
        created=report.created,
        requester_id=report.requester_id,
        requester_username=report.requester.get_username() if report.requester_id else None,
    )


def _active_task(course_key):
    return (
        _ReportTask.objects.select_related("requester")
        .filter(course_id=course_key, report_type=_ReportTask.ReportType.PROCTORED_EXAM_RESULTS, active=True)
        .first()
    )


def _column_profile(column_profile):
    """The asked-for column profile, else the ``REPORT_COLUMN_PROFILE`` setting's."""
    return _app_settings.REPORT_COLUMN_PROFILE if column_profile is None else column_profile


def _create_report_task(course_id, user, extra_columns, column_profile=None):
    """
    Insert a queued task; the unique constraint over (course, report type, active) makes a concurrent second one fail.

    Raises ``ReportAlreadyRunning`` carrying the active task.
    """
    course_key = parse_course_id(course_id)
    profile = _column_profile(column_profile)
    columns = _reports.validate_extra_columns(extra_columns, column_profile=profile)
    options = {"extra_columns": columns} if columns else {}
    if profile != _reports.DEFAULT_PROFILE:  # the task keeps it, whatever the setting says when it runs
        options["column_profile"] = profile
    for _attempt in range(3):
        existing = _active_task(course_key)
        if existing is not None:
            raise ReportAlreadyRunning(_report_task_data(existing))
        try:
            with transaction.atomic():
                return _ReportTask.objects.create(
                    course_id=course_key,
                    requester=user if user is not None and user.pk else None,
                    options=options,
                    celery_task_id=str(_uuid.uuid4()),
                )
        except _IntegrityError:
            continue  # another request won the race: report its task (or retry if it already ended)
    existing = _active_task(course_key)
    if existing is None:  # pragma: no cover - three lost races in a row
        raise ReportQueueUnavailable(None, "The report could not be requested. Try again.")
    raise ReportAlreadyRunning(_report_task_data(existing))


def _enqueue(task):
    """Send the Celery task by its registered name (``reports.queue``); a broker failure fails the task."""
    try:
        _reports.send(task)
    except _reports.QueueUnavailable:
        task.refresh_from_db()
        raise ReportQueueUnavailable(_report_task_data(task)) from None


def request_report(course_id, user, *, extra_columns=None, column_profile=None):
    """
    Ask for a Proctored Exam Results Report; return the queued task.

    The Celery task is sent once the surrounding transaction commits. A second
    request while one is queued or running raises ``ReportAlreadyRunning``
    (its ``.task`` is the active one, its message the seed's); an unreachable
    broker marks the task failed and raises ``ReportQueueUnavailable``.
    ``extra_columns`` (names from ``report_extra_columns()``, the spec's, reports/specs/) defaults to the
    ``REPORT_EXTRA_COLUMNS`` setting; an unknown name raises ``InvalidReportOptions``.
    ``column_profile`` ("seed", "lms") defaults to the ``REPORT_COLUMN_PROFILE`` setting.
    """
    task = _create_report_task(course_id, user, extra_columns, column_profile)
    transaction.on_commit(lambda: _enqueue(task))
    task.refresh_from_db()
    return _report_task_data(task)


def generate_report_if_changed(course_id, user, *, extra_columns=None, column_profile=None, force=False):
    """
    The Generate button: a new report only when it would differ from the course's newest one.

    In this order: a report already queued or running raises ``ReportAlreadyRunning``
    (409); when nothing in the course changed since its newest report with the
    same columns (``reports.course_data_version``) ``ReportUnchanged`` carries
    that report (unless ``force``, which ``REPORT_ALLOW_FORCE=False`` refuses
    with ``ForceNotAllowed``); once the course has ``REPORT_MAX_PER_HOUR``
    reports from the last hour ``ReportLimitReached`` (429). Otherwise as
    ``request_report``. Host code calling ``request_report`` directly is neither
    deduplicated nor capped.
    """
    course_key = parse_course_id(course_id)
    profile = _column_profile(column_profile)
    columns = _reports.validate_extra_columns(extra_columns, column_profile=profile)
    stored_profile = None if profile == _reports.DEFAULT_PROFILE else profile  # as the task's options keep it
    active = _active_task(course_key)
    if active is not None:
        raise ReportAlreadyRunning(_report_task_data(active))
    if force and not _app_settings.REPORT_ALLOW_FORCE:
        raise ForceNotAllowed()
    if not force:
        newest = (
            _Report.objects.filter(course_id=course_key, report_type=_ReportTask.ReportType.PROCTORED_EXAM_RESULTS)
            .order_by("-created", "-id")
            .first()
        )
        if (
            newest is not None
            and newest.data_version
            and newest.data_version
            == _reports.course_data_version(course_key, columns, newest.report_type, stored_profile)
        ):
            raise ReportUnchanged(_report_data(newest))
    limit = _app_settings.REPORT_MAX_PER_HOUR
    if limit is not None:
        now = timezone.now()
        recent = list(
            _Report.objects.filter(course_id=course_key, created__gt=now - _timedelta(hours=1))
            .order_by("-created")
            .values_list("created", flat=True)[:limit]
        )
        if len(recent) >= limit:
            raise ReportLimitReached(limit, (recent[-1] + _timedelta(hours=1) - now).total_seconds())
    return request_report(course_key, user, extra_columns=columns, column_profile=profile)


def get_report_task(task_id):
    try:
        return _report_task_data(_ReportTask.objects.select_related("requester").get(pk=task_id))
    except (_ReportTask.DoesNotExist, ValueError, TypeError):
        raise ReportTaskNotFound(f"No report task with id {task_id!r}.") from None


def list_pending_tasks(course_id):
    """
    Pending Tasks as the page shows it, newest first: queued and running tasks, and a recent failure.

    The last task to end stays listed if it failed, until a later one ends or
    for ``ReportTask.FAILURE_SHOWN_FOR`` (24 hours), see ``ReportTaskQuerySet.pending``.
    """
    tasks = _ReportTask.objects.pending(parse_course_id(course_id), timezone.now()).select_related("requester")
    return [_report_task_data(t) for t in tasks.order_by("-created", "-id")]


def list_report_tasks(course_id, *, active_only=True):
    """The course's report tasks, newest first; only queued and running ones unless ``active_only=False``."""
    tasks = _ReportTask.objects.select_related("requester").filter(course_id=parse_course_id(course_id))
    if active_only:
        # ``active`` (not the states) so the one-active-task unique index finds them.
        tasks = tasks.filter(active=True)
    return [_report_task_data(t) for t in tasks.order_by("-created", "-id")]


_REPORT_LIST_FIELDS = (
    "id",
    "file_name",
    "storage_key",
    "size_bytes",
    "row_count",
    "checksum_sha256",
    "created",
    "requester_id",
)


def _requester_username():
    """The requester's username, read in the listing's own query (a join, not a query per report)."""
    return F(f"requester__{get_user_model().USERNAME_FIELD}")


def list_reports(course_id, *, limit=None):
    """
    The course's generated reports, newest first, from the Report table (never by listing storage).

    ``limit`` keeps the newest ``limit``, cut in the database (``proctoring_report_course_idx``).
    Every row is of this course, so its course id is not read back: parsing a
    course key per row was most of the cost of listing 1,000 reports (docs/performance.rst).
    """
    course_key = parse_course_id(course_id)
    rows = (
        _Report.objects.filter(course_id=course_key)
        .order_by("-created", "-id")
        .values(*_REPORT_LIST_FIELDS, requester_username=_requester_username())
    )
    if limit is not None:
        rows = rows[:limit]
    return [ReportData(course_id=str(course_key), **row) for row in rows]


def count_reports(course_id):
    """How many reports the course has (the dashboard shows a page of them)."""
    return _Report.objects.filter(course_id=parse_course_id(course_id)).count()


def get_report(report_id):
    try:
        return _report_data(_Report.objects.select_related("requester").get(pk=report_id))
    except (_Report.DoesNotExist, ValueError, TypeError):
        raise ReportNotFound(f"No report with id {report_id!r}.") from None


def generate_report_now(task_id):
    """
    Build a requested report in this process: the body of the Celery task and of the command.

    Returns the ``ReportData``, or None when there is nothing to do (the task
    already ended: a redelivered message, or a task failed as stale). Raises
    ``ReportGenerationFailed`` (message safe to show) after marking the task failed.
    """
    task = _ReportTask.objects.claim(task_id)
    if task is None:
        if not _ReportTask.objects.filter(pk=task_id).exists():
            raise ReportTaskNotFound(f"No report task with id {task_id!r}.")
        return None
    try:
        report = _reports.run_task(task)
    except _reports.GenerationError as exc:
        raise ReportGenerationFailed(get_report_task(task_id), str(exc)) from None
    return _report_data(report) if report is not None else None


def generate_report(course_id, user=None, *, extra_columns=None, column_profile=None):
    """Request and build a report synchronously (the management command); return the ``ReportData``."""
    task = _create_report_task(course_id, user, extra_columns, column_profile)
    report = generate_report_now(task.pk)
    if report is None:  # pragma: no cover - only if the task was failed as stale while it ran
        raise ReportGenerationFailed(get_report_task(task.pk), get_report_task(task.pk).message)
    return report


def write_report_csv(course_id, fileobj, *, extra_columns=None, column_profile=None):
    """Write a course's report CSV to a binary file object (no task, no stored file); return the row count."""
    profile = _column_profile(column_profile)
    return _reports.write_csv(
        parse_course_id(course_id),
        fileobj,
        column_profile=profile,
        extra_columns=_reports.validate_extra_columns(extra_columns, column_profile=profile),
    )


def course_has_exams(course_id):
    return _ProctoredExam.objects.filter(course_id=parse_course_id(course_id)).exists()


def course_has_proctored_exams(course_id):
    """Does this app hold a proctored exam (practice ones included) for the course?"""
    return _ProctoredExam.objects.filter(course_id=parse_course_id(course_id), is_proctored=True).exists()


def fail_stale_report_tasks():
    """Fail report tasks queued or running past ``REPORT_TASK_TIME_LIMIT_SECONDS``; return how many."""
    return len(_ReportTask.objects.fail_stale())


def recover_stalled_report_tasks():
    """
    Queue again, once, running report tasks whose heartbeat stopped (their worker died); return ``(requeued, failed)``.

    A task already run ``ReportTask.MAX_RUNS`` times is failed with a message instead. Files
    the dead runs left half-written are deleted (``reports.delete_files_of_dead_runs``).
    The periodic ``fail_stale_report_tasks`` (Celery beat) and the command of that name call this.
    """
    requeued, failed = _ReportTask.objects.recover_stalled()
    for task in [*requeued, *_ReportTask.objects.filter(pk__in=failed)]:
        _reports.delete_files_of_dead_runs(task)
    sent = 0
    for task in requeued:
        try:
            _enqueue(task)
            sent += 1
        except ReportQueueUnavailable:
            failed.append(task.pk)  # _enqueue failed it: the broker is down
    return sent, len(failed)


def delete_expired_reports():
    """Delete reports (file and row) older than ``REPORT_RETENTION_DAYS``; return how many."""
    return _Report.objects.delete_expired()


# ---------------------------------------------------------------- import from edx-proctoring (keep when editing)


def import_edx_proctoring(
    database="default",
    *,
    batch_size=1000,
    dry_run=False,
    resume=False,
    match_users_by="id",
    status_overrides=(),
    progress=None,
):
    """
    Copy exams, attempts, reviews and review comments from edx-proctoring's tables in ``database``.

    Idempotent and resumable (``importers.py``); returns an ``ImportSummary`` of
    counts, and raises ``InvalidImportSource`` before writing anything when the
    source or the options are wrong. ``progress(kind, counts)`` is called after each batch.
    """
    from . import importers as _importers

    return _importers.import_edx_proctoring(
        database,
        batch_size=batch_size,
        dry_run=dry_run,
        resume=resume,
        match_users_by=match_users_by,
        status_overrides=_importers.parse_status_overrides(status_overrides),
        progress=progress,
    )
