"""
The public Python API: the one door through which host code, views, tasks and
commands reach proctoring results.

Functions take and return plain values and ``data.py`` dataclasses, never
models or querysets, and raise the errors in ``exceptions.py``.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import statuses
from .data import AttemptData, ExamData, ExamStatusCounts
from .exceptions import AttemptNotFound, ExamNotFound, InvalidCourseId, InvalidExamData
from .models import AttemptStatusChange as _AttemptStatusChange
from .models import CourseRole as _CourseRole
from .models import ExamAttempt as _ExamAttempt
from .models import ProctoredExam as _ProctoredExam
from .models import ReportDownload as _ReportDownload
from .permissions import can_view_course_results as _can_view_course_results

AttemptStatus = statuses.AttemptStatus


# ---------------------------------------------------------------- course keys

def parse_course_id(course_id):
    """Return the ``CourseKey`` for a course id string, or raise ``InvalidCourseId``."""
    if isinstance(course_id, CourseKey):
        return course_id
    if not isinstance(course_id, str) or not course_id.strip():
        raise InvalidCourseId("A course id is required, e.g. course-v1:edX+DemoX+2026.")
    try:
        return CourseKey.from_string(course_id.strip())
    except InvalidKeyError:
        # The offending text is course content, not personal data, but keep it short.
        raise InvalidCourseId(f"'{course_id[:100]}' is not a valid course id.") from None


# ---------------------------------------------------------------- permissions

def can_view_course_results(user, course_id):
    """May ``user`` see the proctoring results (page, API, reports) of this course?"""
    return _can_view_course_results(user, parse_course_id(course_id))


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
        id=exam.id, course_id=str(exam.course_id), content_id=exam.content_id, exam_name=exam.exam_name,
        time_limit_mins=exam.time_limit_mins, is_practice_exam=exam.is_practice_exam,
        is_proctored=exam.is_proctored, is_active=exam.is_active, provider=exam.provider,
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


def create_exam(course_id, content_id, exam_name, time_limit_mins, *, is_practice_exam=False,
                is_proctored=True, is_active=True, provider=""):
    """Create an exam in a course; ``(course_id, content_id)`` must be new."""
    exam = _ProctoredExam(
        course_id=parse_course_id(course_id), content_id=content_id, exam_name=exam_name,
        time_limit_mins=time_limit_mins, is_practice_exam=is_practice_exam, is_proctored=is_proctored,
        is_active=is_active, provider=provider,
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
        id=attempt.id, attempt_code=attempt.attempt_code, exam_id=attempt.exam_id,
        course_id=str(attempt.exam.course_id), user_id=attempt.user_id, external_id=attempt.external_id,
        allowed_time_limit_mins=attempt.allowed_time_limit_mins, is_sample_attempt=attempt.is_sample_attempt,
        started_at=attempt.started_at, completed_at=attempt.completed_at, status=attempt.status,
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
        user=user, exam=exam, external_id=external_id,
        allowed_time_limit_mins=exam.time_limit_mins if allowed_time_limit_mins is None else allowed_time_limit_mins,
        is_sample_attempt=exam.is_practice_exam, status=AttemptStatus.CREATED,
    )
    with transaction.atomic():
        _validated_save(attempt)
    return _attempt_data(attempt)


def _attempt_queryset():
    return _ExamAttempt.objects.select_related("exam")


def get_attempt(attempt_code):
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


def update_attempt_status(attempt_code, new_status, *, source=_AttemptStatusChange.Source.HOST,
                          actor=None, reason="", external_id=None):
    """
    Move an attempt to ``new_status`` if the status graph allows it.

    The attempt's row is locked for the length of the change, so two concurrent
    updates are applied one after the other and neither is lost: the second
    one sees the first one's status and is checked against it. Starting sets
    ``started_at``; completing, timing out or submitting sets ``completed_at``
    (once). Every change is recorded in ``AttemptStatusChange``.
    """
    new_status = statuses.parse_status(new_status)
    with transaction.atomic():
        try:
            attempt = _attempt_queryset().select_for_update(of=("self",)).get(attempt_code=attempt_code)
        except _ExamAttempt.DoesNotExist:
            raise AttemptNotFound("No exam attempt with that attempt code.") from None
        old_status = attempt.status
        statuses.check_transition(old_status, new_status)
        now = timezone.now()
        attempt.status = new_status
        attempt.status_changed_at = now
        if new_status == AttemptStatus.STARTED and attempt.started_at is None:
            attempt.started_at = now
        if new_status in (AttemptStatus.COMPLETED, AttemptStatus.TIMED_OUT, AttemptStatus.SUBMITTED) \
                and attempt.completed_at is None:
            attempt.completed_at = now
        if external_id is not None:
            attempt.external_id = external_id
        attempt.save()
        _AttemptStatusChange.objects.create(
            attempt=attempt, from_status=old_status, to_status=new_status, source=source,
            actor=actor, reason=reason[:255],
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
            row["id"], (row["exam_name"], row["is_practice_exam"], dict.fromkeys(AttemptStatus.values, 0)),
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
        report_id=report.id, course_id=parse_course_id(report.course_id), file_name=report.file_name,
        user=user if user is not None and user.is_authenticated else None, ip_address=ip_address,
    )
