"""
Data model: course roles, exams, attempts, provider reviews, and report work.

Every model's docstring says which personal data it holds (OEP-30 ``.. pii:``
annotations): attempts and reviews are about identifiable learners, and review
comments describe what a reviewer saw of them.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from opaque_keys import InvalidKeyError
from opaque_keys.edx.django.models import CourseKeyField as _OpaqueCourseKeyField

from . import statuses
from .conf import app_settings
from .statuses import AttemptStatus
from .storage import delete_quietly, get_report_storage

log = logging.getLogger("proctoring_results.reports")


#: No exam or allowance runs longer than a week; anything above is a typo. The explicit
#: MinValueValidator(0) matters on Django 4.2 + SQLite, where PositiveIntegerField has none.
MAX_TIME_LIMIT_MINS = 7 * 24 * 60


def new_attempt_code():
    """An unguessable attempt code, in the form edx-proctoring uses (upper-case UUID4)."""
    return str(uuid.uuid4()).upper()


class CourseKeyField(_OpaqueCourseKeyField):
    """
    edx-opaque-keys' course key field, reporting a malformed key as a validation error.

    The upstream field raises ``InvalidKeyError`` from ``to_python``, which
    would reach an admin user as a server error instead of a form message.
    """

    def to_python(self, value):
        if value is not None and not isinstance(value, str) and not hasattr(value, "course"):
            raise ValidationError(_("A course id must be text."), code="invalid")
        try:
            return super().to_python(value)
        except InvalidKeyError:
            raise ValidationError(
                _("'%(value)s' is not a valid course id."),
                code="invalid",
                params={"value": str(value)[:100]},
            ) from None


class TimeStampedModel(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True, help_text=_("When the row was created."))
    modified = models.DateTimeField(_("modified"), auto_now=True, help_text=_("When the row last changed."))

    class Meta:
        abstract = True


class CourseRole(TimeStampedModel):
    """
    A user's staff role in one course, for hosts without course roles of their own.

    The default permission check (``permissions.is_course_staff``) reads this
    table; an LMS with its own roles points ``PERMISSION_CHECK`` elsewhere.

    .. no_pii: Links a user id to a course; holds no personal data of its own.
    """

    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", _("Instructor")
        STAFF = "staff", _("Course staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="proctoring_course_roles",
        verbose_name=_("user"),
        help_text=_("The member of the course team."),
    )
    course_id = CourseKeyField(
        _("course id"),
        max_length=255,
        case_sensitive=True,
        db_index=True,
        help_text=_("Open edX course key, e.g. course-v1:edX+DemoX+2026."),
    )
    role = models.CharField(
        _("role"),
        max_length=32,
        choices=Role.choices,
        help_text=_("What the user is in this course."),
    )

    class Meta:
        verbose_name = _("course role")
        verbose_name_plural = _("course roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "course_id", "role"], name="proctoring_results_role_unique"),
        ]

    def __str__(self):
        return f"{self.role} of {self.course_id} (user {self.user_id})"


class ProctoredExam(TimeStampedModel):
    """
    A proctored (or practice) exam in the body of a course.

    .. no_pii: Course content only.
    """

    course_id = CourseKeyField(
        _("course id"),
        max_length=255,
        case_sensitive=True,
        help_text=_("Open edX course key of the course the exam belongs to."),
    )
    content_id = models.CharField(
        _("content id"),
        max_length=255,
        help_text=_("Usage key (or other id) of the exam in the course content."),
    )
    exam_name = models.CharField(
        _("exam name"),
        max_length=255,
        help_text=_("The name of the exam in the body of the course."),
    )
    time_limit_mins = models.PositiveIntegerField(
        _("time limit (minutes)"),
        validators=[MinValueValidator(0), MaxValueValidator(MAX_TIME_LIMIT_MINS)],
        help_text=_("Time allowed to complete the exam, before any learner allowance."),
    )
    is_practice_exam = models.BooleanField(_("practice exam"), default=False, help_text=_("A practice exam."))
    is_proctored = models.BooleanField(_("proctored"), default=True, help_text=_("Sessions are recorded and reviewed."))
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Learners may take the exam."))
    provider = models.CharField(
        _("provider"),
        max_length=100,
        blank=True,
        help_text=_("Name of the proctoring service provider."),
    )

    class Meta:
        verbose_name = _("proctored exam")
        verbose_name_plural = _("proctored exams")
        ordering = ["course_id", "exam_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course_id", "content_id"], name="proctoring_results_exam_unique"),
        ]

    def __str__(self):
        return f"{self.exam_name} ({self.course_id})"


class ExamAttemptQuerySet(models.QuerySet):
    def for_course(self, course_key):
        return self.filter(exam__course_id=course_key)

    def locked(self):
        """
        The attempts with their exams, only the attempts' rows locked (``SELECT ... FOR UPDATE``).

        Where the database has ``FOR UPDATE OF`` (PostgreSQL, MySQL 8) the exam is
        joined and left unlocked; MariaDB has no ``OF``, and locking the joined exam
        would make every status change of an exam's attempts wait for each other,
        so there the exam is read afterwards, when first used.
        """
        if connections[self.db].features.has_select_for_update_of:
            return self.select_related("exam").select_for_update(of=("self",))
        return self.select_for_update()


class ExamAttempt(TimeStampedModel):
    """
    One learner's attempt at one exam, and where it stands.

    ``status`` changes only through ``attempts.transition`` (called by the API,
    reviews and the importer) on a row locked once, checked against
    ``statuses.TRANSITIONS``.

    .. pii: Links an identifiable learner to their exam times and result.
    .. pii_types: id
    .. pii_retirement: local_api
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="proctored_exam_attempts",
        verbose_name=_("learner"),
        help_text=_("The learner taking the exam."),
    )
    exam = models.ForeignKey(
        ProctoredExam,
        on_delete=models.PROTECT,
        related_name="attempts",
        verbose_name=_("exam"),
        help_text=_("The exam attempted."),
    )
    attempt_code = models.CharField(
        _("attempt code"),
        max_length=64,
        default=new_attempt_code,
        editable=False,
        help_text=_("Unguessable identifier of the attempt, shared with the provider."),
    )
    external_id = models.CharField(
        _("external id"),
        max_length=255,
        blank=True,
        help_text=_("The provider's id of the proctoring session."),
    )
    allowed_time_limit_mins = models.PositiveIntegerField(
        _("allowed time limit (minutes)"),
        validators=[MinValueValidator(0), MaxValueValidator(MAX_TIME_LIMIT_MINS)],
        null=True,
        blank=True,
        help_text=_(
            "Time this learner was allotted, allowances included; empty where it cannot be known "
            "(an attempt imported from edx-proctoring before it started, its due date unknown)."
        ),
    )
    is_sample_attempt = models.BooleanField(
        _("sample attempt"),
        default=False,
        help_text=_("The attempt was at a practice exam."),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, help_text=_("When the learner started."))
    completed_at = models.DateTimeField(
        _("completed at"),
        null=True,
        blank=True,
        help_text=_("When the learner submitted the exam."),
    )
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=AttemptStatus.choices,
        default=AttemptStatus.CREATED,
        help_text=_("Where the attempt stands; see the Proctored Session Results documentation."),
    )
    status_changed_at = models.DateTimeField(
        _("status changed at"),
        null=True,
        blank=True,
        help_text=_("When the status last changed."),
    )

    objects = ExamAttemptQuerySet.as_manager()

    class Meta:
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        indexes = [
            # The report reads a course's attempts exam by exam, learner by learner.
            models.Index(fields=["exam", "user", "id"], name="proctoring_attempt_report_idx"),
            models.Index(fields=["exam", "status"], name="proctoring_attempt_status_idx"),
            models.Index(fields=["external_id"], name="proctoring_attempt_ext_idx"),
        ]
        # A constraint and an index rather than unique=True / db_index=True: on PostgreSQL
        # those also build a varchar_pattern_ops copy for LIKE, which no query here uses
        # and which cost 165 MB at a million attempts (docs/operations.rst).
        constraints = [
            models.UniqueConstraint(fields=["attempt_code"], name="proctoring_results_attempt_code_unique"),
        ]

    def __str__(self):
        return f"attempt {self.attempt_code} ({self.status})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def clean(self):
        """Refuse an illegal status move or a completion before the start (admin forms call this)."""
        loaded = getattr(self, "_loaded_status", None)
        if (
            loaded
            and loaded != self.status
            and self.status in AttemptStatus.values
            and not statuses.can_transition(loaded, self.status)
        ):
            raise ValidationError(
                {
                    "status": _("An exam attempt cannot go from '%(old)s' to '%(new)s'.")
                    % {"old": loaded, "new": self.status}
                }
            )
        if self.started_at and self.completed_at and self.completed_at < self.started_at:
            raise ValidationError({"completed_at": _("An attempt cannot be completed before it started.")})


class AttemptStatusChange(models.Model):
    """
    Append-only history of an attempt's statuses: who moved it, when, and why.

    .. no_pii: Status values and a short reason; the actor is a user id.
    """

    class Source(models.TextChoices):
        HOST = "host", _("LMS exam runtime")
        PROVIDER = "provider", _("Proctoring provider review")
        STAFF = "staff", _("Course staff decision")

    # SET_NULL, with the attempt code copied: when the exam runtime removes an attempt
    # (edx-proctoring's remove_exam_attempt) the attempt goes, its history stays (openedx/sync.py).
    attempt = models.ForeignKey(
        ExamAttempt,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("attempt"),
        help_text=_("The attempt whose status changed (empty once it was removed)."),
    )
    attempt_code = models.CharField(
        _("attempt code"),
        max_length=64,
        blank=True,
        help_text=_("The code of a removed attempt, kept so its history still names it."),
    )
    from_status = models.CharField(_("from"), max_length=32, choices=AttemptStatus.choices, help_text=_("Before."))
    to_status = models.CharField(_("to"), max_length=32, choices=AttemptStatus.choices, help_text=_("After."))
    source = models.CharField(
        _("source"),
        max_length=16,
        choices=Source.choices,
        help_text=_("What moved the attempt."),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("The staff member who decided, when a person did."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True, help_text=_("Why, in a few words."))
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True, help_text=_("When."))

    class Meta:
        verbose_name = _("attempt status change")
        verbose_name_plural = _("attempt status changes")
        ordering = ["attempt", "changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} -> {self.to_status}"


class Review(models.Model):
    """
    One review of an attempt's session recording by the proctoring provider.

    Reviews are append-only: a new review of the same attempt supersedes the
    previous one, and the attempt's status reflects the latest decision.

    .. pii: The raw payload and the reviewer's name may identify people.
    .. pii_types: name, other
    .. pii_retirement: local_api
    """

    #: The provider's verdict vocabulary; its one home is ``statuses``.
    ProviderStatus = statuses.ProviderStatus

    attempt = models.ForeignKey(
        ExamAttempt,
        on_delete=models.CASCADE,
        related_name="reviews",
        verbose_name=_("attempt"),
        help_text=_("The attempt reviewed."),
    )
    provider = models.CharField(_("provider"), max_length=100, help_text=_("Provider that posted the review."))
    review_id = models.CharField(
        _("provider review id"),
        max_length=255,
        help_text=_("The provider's unique id of this review."),
    )
    provider_status = models.CharField(
        _("provider status"),
        max_length=32,
        choices=ProviderStatus.choices,
        help_text=_("The provider's overall verdict."),
    )
    second_review_requested = models.BooleanField(
        _("second review requested"),
        default=False,
        help_text=_("The provider asked for a second review."),
    )
    outcome = models.CharField(
        _("outcome"),
        max_length=32,
        choices=AttemptStatus.choices,
        help_text=_("The attempt status this review decided."),
    )
    disagreement = models.CharField(
        _("disagreement"),
        max_length=255,
        blank=True,
        help_text=_("Set when the provider's status and its flags disagreed; the stricter outcome won."),
    )
    reviewer = models.CharField(_("reviewer"), max_length=255, blank=True, help_text=_("Who reviewed, per provider."))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, help_text=_("When it was decided."))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, help_text=_("When it reached us."))
    raw_payload = models.JSONField(_("raw payload"), help_text=_("The review exactly as posted."))

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["attempt", "received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "review_id"], name="proctoring_results_review_unique"),
        ]

    def __str__(self):
        return f"review {self.review_id} ({self.provider_status})"

    def save(self, *args, **kwargs):
        """
        Saved with its attempt marked modified: a review changes what the attempt's report row may show.

        Generate's "has anything changed?" then reads the attempts alone
        (``data_state`` of the report spec), with no join of every review of the
        course. Bulk writes mark their attempts themselves (``importers``).
        """
        super().save(*args, **kwargs)
        ExamAttempt.objects.filter(pk=self.attempt_id).update(modified=timezone.now())


class ReviewFlag(models.Model):
    """
    One flagged Online Proctoring Rule violation in a review.

    .. pii: The comment describes what the reviewer saw of the learner.
    .. pii_types: other
    .. pii_retirement: local_api
    """

    review = models.ForeignKey(
        Review,
        on_delete=models.CASCADE,
        related_name="flags",
        verbose_name=_("review"),
        help_text=_("The review this flag belongs to."),
    )
    rule_code = models.CharField(
        _("rule code"),
        max_length=100,
        help_text=_("Rule code as sent, kept even when the rule is unknown."),
    )
    severity = models.CharField(
        _("severity"),
        max_length=32,
        blank=True,
        help_text=_("The rule's severity when the review was decided; empty for an unknown rule."),
    )
    comment = models.TextField(_("comment"), blank=True, help_text=_("The reviewer's comment."))
    start_seconds = models.FloatField(
        _("start (s)"),
        null=True,
        blank=True,
        help_text=_("Offset from the start of the recording."),
    )
    stop_seconds = models.FloatField(
        _("stop (s)"),
        null=True,
        blank=True,
        help_text=_("Offset from the start of the recording."),
    )

    class Meta:
        verbose_name = _("review flag")
        verbose_name_plural = _("review flags")
        ordering = ["review", "start_seconds", "id"]

    def __str__(self):
        return self.rule_code


def _active_marker(state):
    """What ``ReportTask.active`` holds for a state: True while queued or running, else NULL."""
    return True if state in ReportTask.ACTIVE_STATES else None


class ReportTaskQuerySet(models.QuerySet):
    """Keeps ``active`` in step with ``state`` in bulk writes, as ``ReportTask.save()`` does for one row."""

    def pending(self, course_key, now):
        """
        What Pending Tasks shows: the course's queued and running tasks, and its last ended task if it failed.

        A failure stays listed, with its message, until a later task ends (a
        success replaces it; a later failure takes its place) or for
        ``ReportTask.FAILURE_SHOWN_FOR`` after it ended, so a course team that
        reloads the page still learns why no report came.
        """
        course_tasks = self.filter(course_id=course_key)
        # Per report type, newest first: the order of the index proctoring_task_course_idx.
        last_ended = (
            course_tasks.filter(report_type=models.OuterRef("report_type"), active__isnull=True)
            .order_by("-created", "-id")
            .values("pk")[:1]
        )
        since = now - ReportTask.FAILURE_SHOWN_FOR
        recent = models.Q(finished_at__gte=since) | models.Q(finished_at__isnull=True, created__gte=since)
        return course_tasks.filter(
            models.Q(active=True) | (models.Q(pk=models.Subquery(last_ended), state=ReportTask.State.FAILED) & recent)
        )

    def update(self, **kwargs):
        if "state" in kwargs:
            kwargs["active"] = _active_marker(kwargs["state"])
        return super().update(**kwargs)

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.active = _active_marker(obj.state)
        return super().bulk_create(objs, *args, **kwargs)

    bulk_create.alters_data = True

    # ------------------------------------------------ the running task's life (issue 14)

    def of_run(self, task_id, run):
        """The task while it is running as its ``run``-th start: a newer start (after a recovery) no longer matches."""
        return self.filter(pk=task_id, state=ReportTask.State.RUNNING, runs=run)

    def beat(self, task_id, run, now, **fields):
        """Record a sign of life (and ``fields``, e.g. progress) for that run; return False once it was taken over."""
        return self.of_run(task_id, run).update(heartbeat_at=now, **fields) > 0

    beat.alters_data = True

    def stalled(self, cutoff):
        """Running tasks with no sign of life since ``cutoff`` (rows from before heartbeats: by their start)."""
        return self.filter(
            models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
            state=ReportTask.State.RUNNING,
        )

    # ------------------------------------------------ claim, fail, stale, recovery (issue 15: queries live here)

    def claim(self, task_id, now=None):
        """
        Mark a queued task as running, as its next run; None when there is nothing to do.

        A message for a task that already succeeded or failed does nothing, and so
        does one for a task running with a fresh heartbeat (a duplicate delivery:
        the broker's redelivery, or a recovery that raced a slow but live run). A
        running task whose heartbeat is stale is taken over, as ``recover_stalled``
        would, or failed if it already ran ``ReportTask.MAX_RUNS`` times. So late
        acknowledgement can never make a second report.
        """
        now = now or timezone.now()
        with transaction.atomic(using=self._write_db):
            task = self.select_for_update().filter(pk=task_id).first()
            if task is None or task.state not in ReportTask.ACTIVE_STATES:
                return None
            if task.state == ReportTask.State.RUNNING:
                if not self.stalled(_stall_cutoff(now)).filter(pk=task.pk).exists():
                    return None
                if task.runs >= ReportTask.MAX_RUNS:
                    task.end(ReportTask.State.FAILED, ReportTask.DIED_TWICE_MESSAGE, now)
                    return None
            task.state = ReportTask.State.RUNNING
            task.started_at = now
            task.heartbeat_at = now
            task.runs += 1
            task.rows_done = 0
            task.rows_total = None
            task.message = ""
            task.save(
                update_fields=["state", "started_at", "heartbeat_at", "runs", "rows_done", "rows_total", "message"]
            )
        return task

    claim.alters_data = True

    def fail(self, task_id, message, run=None):
        """Mark an active task failed with a short message (no personal data); ``run``: only while that run has it."""

        def update():
            tasks = self.filter(pk=task_id, state__in=ReportTask.ACTIVE_STATES)
            if run is not None:
                tasks = tasks.filter(runs=run)
            return tasks.update(state=ReportTask.State.FAILED, message=message[:500], finished_at=timezone.now())

        try:
            return update()
        except DatabaseError:
            # The failure being recorded may be the lost connection itself: Django does not
            # reconnect on its own outside a transaction, so open a new one, once.
            connection = connections[self._write_db]
            if connection.in_atomic_block:
                raise
            connection.close()
            return update()

    fail.alters_data = True

    def fail_stale(self, now=None):
        """Fail tasks queued or running longer than ``REPORT_TASK_TIME_LIMIT_SECONDS``; return their ids."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=app_settings.REPORT_TASK_TIME_LIMIT_SECONDS)
        stale = self.filter(
            models.Q(state=ReportTask.State.QUEUED, created__lt=cutoff)
            | models.Q(state=ReportTask.State.RUNNING, started_at__lt=cutoff)
        )
        ids = list(stale.values_list("pk", flat=True))
        if ids:
            self.filter(pk__in=ids, state__in=ReportTask.ACTIVE_STATES).update(
                state=ReportTask.State.FAILED,
                finished_at=now,
                message="The report took too long and was stopped. Generate it again.",
            )
            log.warning("Failed %d stale report task(s): %s", len(ids), ids)
        return ids

    fail_stale.alters_data = True

    def recover_stalled(self, now=None):
        """
        Running tasks silent for ``REPORT_HEARTBEAT_TIMEOUT_SECONDS`` (their worker died): queue each again once.

        Returns ``(requeued, failed)``: the tasks put back in the queue (the caller
        sends their messages, with new Celery ids), and the ids of those failed
        because they had already run ``ReportTask.MAX_RUNS`` times.
        """
        now = now or timezone.now()
        cutoff = _stall_cutoff(now)
        requeued, failed = [], []
        for task_id in self.stalled(cutoff).values_list("pk", flat=True):
            with transaction.atomic(using=self._write_db):
                task = self.select_for_update().stalled(cutoff).filter(pk=task_id).first()
                if task is None:
                    continue  # it beat, or ended, meanwhile
                if task.runs >= ReportTask.MAX_RUNS:
                    task.end(ReportTask.State.FAILED, ReportTask.DIED_TWICE_MESSAGE, now)
                    failed.append(task.pk)
                    continue
                task.state = ReportTask.State.QUEUED
                task.heartbeat_at = None
                task.message = ReportTask.REQUEUED_MESSAGE
                task.celery_task_id = str(uuid.uuid4())
                task.save(update_fields=["state", "heartbeat_at", "message", "celery_task_id"])
                requeued.append(task)
        if requeued or failed:
            log.warning(
                "Report tasks whose worker stopped: queued again %s, failed %s.", [t.pk for t in requeued], failed
            )
        return requeued, failed

    recover_stalled.alters_data = True

    @property
    def _write_db(self):
        return self._db or router.db_for_write(self.model)


def _stall_cutoff(now):
    return now - timedelta(seconds=app_settings.REPORT_HEARTBEAT_TIMEOUT_SECONDS)


class ReportTask(models.Model):
    """
    One request to generate a report for a course, followed in Pending Tasks.

    At most one task per course and report type is queued or running at a
    time, and the database enforces it, so two clicks at the same moment make
    one task: ``active`` is True while the task is queued or running and NULL
    otherwise, under a plain unique constraint on (course, report type,
    active). NULLs never collide, so finished tasks do not count. A plain
    constraint, not a partial one, because MySQL and MariaDB ignore partial
    unique constraints (docs/decisions/0007-mysql-and-mariadb.rst). ``active``
    is derived from ``state`` by ``save()`` and by this model's querysets'
    ``update()`` and ``bulk_create()``, so no code path sets one without the other.

    .. no_pii: The requester is a user id; messages never carry personal data.
    """

    class ReportType(models.TextChoices):
        PROCTORED_EXAM_RESULTS = "proctored_exam_results_report", _("Proctored Exam Results Report")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    #: How long a failed task stays in Pending Tasks at most (``ReportTaskQuerySet.pending``).
    FAILURE_SHOWN_FOR = timedelta(hours=24)
    #: A task is started at most this many times: a worker dying under it queues it again once.
    MAX_RUNS = 2
    REQUEUED_MESSAGE = "The worker running this report stopped; the report was queued again."
    DIED_TWICE_MESSAGE = (
        "The report was stopped twice because the worker running it stopped (e.g. it ran out of memory or was "
        "restarted). Generate it again; if it fails again, contact support."
    )

    course_id = CourseKeyField(_("course id"), max_length=255, case_sensitive=True, help_text=_("Course reported on."))
    report_type = models.CharField(
        _("report type"),
        max_length=64,
        choices=ReportType.choices,
        default=ReportType.PROCTORED_EXAM_RESULTS,
        help_text=_("Which report."),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requester"),
        help_text=_("Who asked for the report."),
    )
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.QUEUED,
        help_text=_("Where the task stands."),
    )
    options = models.JSONField(_("options"), default=dict, blank=True, help_text=_("E.g. extra columns asked for."))
    rows_done = models.PositiveBigIntegerField(_("rows done"), default=0, help_text=_("Rows written so far."))
    rows_total = models.PositiveBigIntegerField(
        _("rows total"),
        null=True,
        blank=True,
        help_text=_("Rows to write, once counted."),
    )
    message = models.CharField(_("message"), max_length=500, blank=True, help_text=_("Status or error message."))
    celery_task_id = models.CharField(_("Celery task id"), max_length=255, blank=True, help_text=_("Celery's id."))
    created = models.DateTimeField(_("submitted"), auto_now_add=True, help_text=_("When it was requested."))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, help_text=_("When a worker began."))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, help_text=_("When it ended."))
    heartbeat_at = models.DateTimeField(
        _("heartbeat"),
        null=True,
        blank=True,
        help_text=_("Last sign of life from the worker running it; a stale one means the worker died."),
    )
    runs = models.PositiveSmallIntegerField(
        _("runs"),
        default=0,
        help_text=_("How many times a worker started it: a task whose worker died is queued again once."),
    )
    active = models.BooleanField(
        _("active"),
        null=True,
        blank=True,
        default=None,
        editable=False,
        help_text=_("True while queued or running, empty once ended: the one-active-task rule's unique key."),
    )

    objects = ReportTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("report task")
        verbose_name_plural = _("report tasks")
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["course_id", "report_type", "active"],
                name="proctoring_results_one_active_task",
            ),
        ]
        indexes = [
            models.Index(fields=["course_id", "report_type", "-created"], name="proctoring_task_course_idx"),
            models.Index(fields=["state", "created"], name="proctoring_task_state_idx"),
        ]

    def __str__(self):
        return f"{self.report_type} for {self.course_id} ({self.state})"

    def save(self, *args, **kwargs):
        self.active = _active_marker(self.state)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "state" in update_fields and "active" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "active"]
        super().save(*args, **kwargs)

    def end(self, state, message, now):
        """End this (locked) task in ``state`` with a short message."""
        self.state = state
        self.message = message[:500]
        self.finished_at = now
        self.save(update_fields=["state", "message", "finished_at"])


class ReportQuerySet(models.QuerySet):
    """The reports' retention."""

    def delete_expired(self, now=None):
        """Delete reports older than ``REPORT_RETENTION_DAYS``, file then row; return how many went."""
        days = app_settings.REPORT_RETENTION_DAYS
        if days is None:
            return 0
        now = now or timezone.now()
        storage = get_report_storage()
        deleted = 0
        for report in self.filter(created__lt=now - timedelta(days=days)).order_by("created", "id"):
            # A file that cannot be deleted keeps its row, so the next run tries again.
            if delete_quietly(storage, report.storage_key):
                report.delete()
                deleted += 1
        return deleted

    delete_expired.alters_data = True


class Report(models.Model):
    """
    One generated report file; dashboards list reports from this table.

    .. no_pii: Metadata only; the file it points to holds personal data.
    """

    task = models.OneToOneField(
        ReportTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="report",
        verbose_name=_("task"),
        help_text=_("The task that produced it; one report per task."),
    )
    course_id = CourseKeyField(_("course id"), max_length=255, case_sensitive=True, help_text=_("Course reported on."))
    report_type = models.CharField(
        _("report type"),
        max_length=64,
        choices=ReportTask.ReportType.choices,
        default=ReportTask.ReportType.PROCTORED_EXAM_RESULTS,
        help_text=_("Which report."),
    )
    file_name = models.CharField(_("file name"), max_length=512, help_text=_("Name shown and downloaded."))
    storage_key = models.CharField(
        _("storage key"),
        max_length=1024,
        unique=True,
        help_text=_("Name of the file in the report storage."),
    )
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), help_text=_("File size."))
    row_count = models.PositiveBigIntegerField(_("rows"), help_text=_("Data rows, header excluded."))
    checksum_sha256 = models.CharField(_("SHA-256"), max_length=64, help_text=_("Checksum of the file's bytes."))
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requester"),
        help_text=_("Who asked for the report."),
    )
    created = models.DateTimeField(_("created"), help_text=_("When the report was generated (UTC)."))
    data_version = models.CharField(
        _("data version"),
        max_length=64,
        blank=True,
        help_text=_("Fingerprint of the course's data and the report's options when it was generated."),
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["course_id", "report_type", "-created", "-id"], name="proctoring_report_course_idx"),
            models.Index(fields=["created"], name="proctoring_report_created_idx"),
        ]

    def __str__(self):
        return self.file_name


class ReportDownload(models.Model):
    """
    Audit of who fetched which report, when, and from where.

    The report's file name is copied here so the audit outlives the report.

    .. pii: The IP address a user downloaded from.
    .. pii_types: ip
    .. pii_retirement: retained
    """

    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="downloads",
        verbose_name=_("report"),
        help_text=_("The report fetched (empty once deleted)."),
    )
    course_id = CourseKeyField(
        _("course id"),
        max_length=255,
        case_sensitive=True,
        help_text=_("Course of the report."),
    )
    file_name = models.CharField(_("file name"), max_length=512, help_text=_("The report's file name."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        help_text=_("Who downloaded it."),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True, help_text=_("From where."))
    downloaded_at = models.DateTimeField(_("downloaded at"), auto_now_add=True, help_text=_("When."))

    class Meta:
        verbose_name = _("report download")
        verbose_name_plural = _("report downloads")
        ordering = ["-downloaded_at", "-id"]

    def __str__(self):
        return f"{self.file_name} at {self.downloaded_at}"


class EdxProctoringSync(models.Model):
    """
    Where following edx-proctoring stands: one row, shown in the admin and by ``reconcile_edx_proctoring``.

    Its row is also the lock that makes sync writes one at a time (openedx/sync.py),
    so an older change applied late can never overwrite a newer one.

    .. no_pii: Times and counts only.
    """

    ROW_ID = 1

    synced_until = models.DateTimeField(
        _("synced until"),
        null=True,
        blank=True,
        help_text=_("Every edx-proctoring row modified before this was compared by a reconciliation pass."),
    )
    running_since = models.DateTimeField(
        _("pass running since"),
        null=True,
        blank=True,
        help_text=_("Start of the reconciliation pass under way; empty when none runs."),
    )
    last_pass_started_at = models.DateTimeField(_("last pass started"), null=True, blank=True, help_text=_("When."))
    last_pass_finished_at = models.DateTimeField(_("last pass finished"), null=True, blank=True, help_text=_("When."))
    last_pass_full = models.BooleanField(
        _("last pass was full"),
        default=False,
        help_text=_("True when the last pass compared every row."),
    )
    last_full_pass_at = models.DateTimeField(
        _("last full pass"),
        null=True,
        blank=True,
        help_text=_("Start of the last pass that compared every row."),
    )
    behind_seconds = models.FloatField(
        _("behind (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "How far behind the last pass found this app: the age of the oldest change it had to repair "
            "(0 when the receivers had already applied everything)."
        ),
    )
    last_pass_read = models.PositiveIntegerField(_("rows read"), default=0, help_text=_("By the last pass."))
    last_pass_repaired = models.PositiveIntegerField(
        _("rows repaired"),
        default=0,
        help_text=_("Rows the last pass created, changed or removed here."),
    )
    last_error = models.CharField(
        _("last error"),
        max_length=255,
        blank=True,
        help_text=_("Why the last pass failed, if it did."),
    )

    class Meta:
        verbose_name = _("edx-proctoring sync")
        verbose_name_plural = _("edx-proctoring sync")

    def __str__(self):
        return f"edx-proctoring sync (synced until {self.synced_until})"
