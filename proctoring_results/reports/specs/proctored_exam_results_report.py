"""
The Proctored Exam Results Report: one row per exam attempt of the course, in the seed's columns.

The columns and their words are the seed's (``proctored_session_results.rst``);
the opt-in columns are documented in docs/reports.rst.
"""

from django.db.models import Case, Count, F, Max, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Length

from ... import statuses
from ...conf import app_settings
from ...models import ExamAttempt, ProctoredExam, ReportTask, Review, ReviewFlag
from ..cells import (
    BOOLEAN_WORDS,
    JoinedText,
    UtcTimestampText,
    Words,
    integer_fields,
    neutralised,
    neutralised_fields,
    utc_timestamp_fields,
)
from . import ReportSpec


def _words(field, words):
    """The row's ``field`` as its word in ``words`` (stored value -> word), else NULL."""
    return Case(
        *[When(Q(**{field: stored}), then=Value(word)) for stored, word in words.items()],
        default=Value(None),
        output_field=TextField(),
    )


def _status_words():
    return _words("status", statuses.CSV_WORDS)


#: Twin of ``_status_words``.
_STATUS_WORDS = Words({str(stored): word for stored, word in statuses.CSV_WORDS.items()})


def _review_words(reviews, field, words):
    """
    The first of ``reviews``' ``field`` in ``words`` (stored value -> word), as one subquery.

    The word is chosen inside the subquery: a CASE over a subquery would run it
    again for each WHEN it compares (PostgreSQL and MariaDB alike).
    """
    return Subquery(reviews.annotate(words=_words(field, words)).values("words")[:1], output_field=TextField())


def _joined_comments(flags):
    """
    The ``flags``' comments, oldest first, joined with "; ", as one neutralised cell.

    Neutralised inside the subquery, on its one joined text: around it, the
    formula guard's CASE would run the whole subquery again for each branch.
    """
    return Subquery(
        flags.order_by()
        .values("review_id")
        .annotate(text=neutralised(JoinedText("comment", ordering=F("id"))))
        .values("text"),
        output_field=TextField(),
    )


def _latest_review():
    return Review.objects.filter(attempt=OuterRef("pk")).order_by("-received_at", "-id")


class ProctoredExamResultsReport(ReportSpec):
    report_type = ReportTask.ReportType.PROCTORED_EXAM_RESULTS
    columns = (
        "user_email",
        "exam_name",
        "attempt_code",
        "allowed_time_limit_mins",
        "is_sample_attempt",
        "started_at",
        "completed_at",
        "status",
    )
    extra_columns = ("username", "review_result", "flag_count", "flag_comments", "provider")
    model = ExamAttempt
    # Exam by exam, learner by learner: ``proctoring_attempt_report_idx``.
    order = ("exam_id", "user_id", "id")
    order_index = "proctoring_attempt_report_idx"

    def default_extra_columns(self):
        return app_settings.REPORT_EXTRA_COLUMNS

    def course_rows(self, course_key, using=None):
        """
        The course's attempts.

        Filtered on the course's exam ids as values (one small query now), not
        joined on the exam's course id: PostgreSQL then estimates each exam's rows
        from its statistics, and a 1,000-attempt course in a table of a million is
        read through ``proctoring_attempt_report_idx`` in 3 ms instead of a
        parallel scan of the whole table in 300 ms (docs/performance.rst).
        """
        exam_ids = list(self.partitions(course_key).using(using).values_list("id", flat=True))
        if not exam_ids:
            # ``exam_id IN ()`` cannot be compiled to SQL (the COPY path needs it); the join finds nothing too.
            return ExamAttempt.objects.filter(exam__course_id=course_key)
        return ExamAttempt.objects.filter(exam_id__in=exam_ids)

    def data_state(self, course_key):
        """
        For the course's exams and attempts (allowances are the attempts' time limits) how many and the
        newest ``modified``. An edit, an addition or a removal changes it, and so does a new or changed
        review, which marks its attempt modified (``Review.save``, the importer). A learner's own account
        (an email changed in the LMS) does not.

        The attempts' figures come from one read of the report's rows (``course_rows``): a join of every
        review of a large course cost more than the rest of the check (docs/performance.rst).
        """
        exams = ProctoredExam.objects.filter(course_id=course_key).aggregate(n=Count("id"), last=Max("modified"))
        attempts = self.course_rows(course_key).aggregate(n=Count("id"), last=Max("modified"))
        stamp = lambda value: value.isoformat() if value is not None else None  # noqa: E731
        return [exams["n"], stamp(exams["last"]), attempts["n"], stamp(attempts["last"])]

    def partitions(self, course_key):
        return ProctoredExam.objects.filter(course_id=course_key).order_by("id").values_list("id")

    def twins(self, names):
        """The seed's cells but the review's words, flag counts and comments (subqueries: SQL cells)."""
        twins = {
            "user_email": (F("user__email"), neutralised_fields),
            "exam_name": (F("exam__exam_name"), neutralised_fields),
            "attempt_code": (F("attempt_code"), neutralised_fields),
            "allowed_time_limit_mins": (F("allowed_time_limit_mins"), integer_fields),
            "is_sample_attempt": (F("is_sample_attempt"), BOOLEAN_WORDS.fields),
            "started_at": (F("started_at"), utc_timestamp_fields),
            "completed_at": (F("completed_at"), utc_timestamp_fields),
            "status": (F("status"), _STATUS_WORDS.fields),
            "username": (F("user__username"), neutralised_fields),
            "provider": (F("exam__provider"), neutralised_fields),
        }
        return {name: twins[name] for name in names if name in twins}

    def aliases(self, names):
        if "flag_count" in names or "flag_comments" in names:
            return {"report_latest_review_id": Subquery(_latest_review().values("id")[:1])}
        return {}

    def cells(self, names):
        cells = {
            "user_email": neutralised(F("user__email")),
            "exam_name": neutralised(F("exam__exam_name")),
            "attempt_code": neutralised(F("attempt_code")),
            "allowed_time_limit_mins": Cast(F("allowed_time_limit_mins"), TextField()),
            "is_sample_attempt": Case(
                When(is_sample_attempt=True, then=Value("True")),
                default=Value("False"),
                output_field=TextField(),
            ),
            "started_at": UtcTimestampText(F("started_at")),
            "completed_at": UtcTimestampText(F("completed_at")),
            "status": _status_words(),
        }
        if "username" in names:
            cells["username"] = neutralised(F("user__username"))
        if "review_result" in names:
            words = {value: str(label) for value, label in statuses.AttemptStatus.choices}
            cells["review_result"] = _review_words(_latest_review(), "outcome", words)
        if "flag_count" in names:
            count = Subquery(
                ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id"))
                .order_by()
                .values("review_id")
                .annotate(n=Count("id"))
                .values("n"),
            )
            cells["flag_count"] = Cast(Coalesce(count, Value(0)), TextField())
        if "flag_comments" in names:
            # Comments of the latest review's flags, joined with "; ". Empty ones are left out by
            # length, not by comparison with '' (which MySQL's PAD SPACE collations make true for "  ").
            flags = (
                ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id"))
                .alias(comment_length=Length("comment"))
                .exclude(comment_length=0)
            )
            cells["flag_comments"] = _joined_comments(flags)
        if "provider" in names:
            cells["provider"] = neutralised(F("exam__provider"))
        return cells


SPEC = ProctoredExamResultsReport()


# ---------------------------------------------------------------- the LMS's column profile

#: edx-proctoring's review status words (``SoftwareSecureReviewStatus``), by ``Review.provider_status``.
_LMS_REVIEW_WORDS = {
    Review.ProviderStatus.PASSED: "Clean",
    Review.ProviderStatus.VIOLATION: "Rules Violation",
    Review.ProviderStatus.SUSPICIOUS: "Suspicious",
    Review.ProviderStatus.NOT_REVIEWED: "Not Reviewed",
}
#: edx-proctoring's comment statuses the LMS counts, by the severity of this app's flag.
_LMS_COMMENT_SEVERITIES = {"suspicious": "integrity", "rules_violation": "discouraged"}


class LmsColumnProfile(ProctoredExamResultsReport):
    """
    Opt-in: the header and cell meanings of the LMS's own Proctored Exam Results Report.

    The LMS (``instructor_task`` ``upload_proctored_exam_results_report`` over
    edx-proctoring's ``get_exam_violation_report``) writes these columns; an
    operator's scripts written against it keep working. Where this app cannot
    know what the LMS knew, docs/reports.rst says what the cell holds instead.
    """

    #: Column keys (annotation names) -> the LMS's header, in its order.
    HEADER = {
        "course_id": "course_id",
        "provider": "provider",
        "track": "track",
        "exam_name": "exam_name",
        "username": "username",
        "email": "email",
        "attempt_code": "attempt_code",
        "allowed_time_limit_mins": "allowed_time_limit_mins",
        "is_sample_attempt": "is_sample_attempt",
        "started_at": "started_at",
        "completed_at": "completed_at",
        "status": "status",
        "review_status": "review_status",
        "suspicious_count": "Suspicious Count",
        "suspicious_comments": "Suspicious Comments",
        "rules_violation_count": "Rules Violation Count",
        "rules_violation_comments": "Rules Violation Comments",
    }
    columns = tuple(HEADER)
    extra_columns = ()

    def default_extra_columns(self):
        return []

    def header_bytes(self, extra_columns=()):
        return (",".join(self.HEADER[name] for name in self.column_names(extra_columns)) + "\r\n").encode()

    def twins(self, names):
        """The seed's twins of the cells this profile takes from the seed (``email`` is ``user_email``)."""
        reused = {
            "provider",
            "exam_name",
            "username",
            "attempt_code",
            "allowed_time_limit_mins",
            "is_sample_attempt",
            "started_at",
            "completed_at",
        }
        seed = super().twins((*reused, "user_email"))
        twins = {name: seed[name] for name in reused} | {"email": seed["user_email"]}
        return {name: twins[name] for name in names if name in twins}

    def aliases(self, names):
        # The LMS reads reviews of graded exams only (get_exam_violation_report's include_practice_exams=False).
        # Asked of the row's own exam, not joined again inside each of the five subqueries that use it.
        latest = Subquery(_latest_review().values("id")[:1])
        return {"report_latest_review_id": Case(When(exam__is_practice_exam=False, then=latest), default=None)}

    def cells(self, names):
        seed = super().cells(
            (
                "user_email",
                "exam_name",
                "attempt_code",
                "allowed_time_limit_mins",
                "is_sample_attempt",
                "started_at",
                "completed_at",
                "username",
                "provider",
            )
        )
        latest = Review.objects.filter(pk=OuterRef("report_latest_review_id"))
        cells = {
            "course_id": neutralised(Cast(F("exam__course_id"), TextField())),
            "provider": seed["provider"],
            "track": Value("Unknown"),  # the LMS's word when it finds no enrollment mode; this app has none
            "exam_name": seed["exam_name"],
            "username": seed["username"],
            "email": seed["user_email"],
            "attempt_code": seed["attempt_code"],
            "allowed_time_limit_mins": seed["allowed_time_limit_mins"],
            "is_sample_attempt": seed["is_sample_attempt"],
            "started_at": seed["started_at"],
            "completed_at": seed["completed_at"],
            "status": Cast(F("status"), TextField()),  # edx-proctoring's own status names
            "review_status": _review_words(latest, "provider_status", _LMS_REVIEW_WORDS),
        }
        for key, severity in _LMS_COMMENT_SEVERITIES.items():
            flags = ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id"), severity=severity)
            count = Subquery(flags.order_by().values("review_id").annotate(n=Count("id")).values("n"))
            cells[f"{key}_count"] = Cast(Coalesce(count, Value(0)), TextField())
            cells[f"{key}_comments"] = _joined_comments(flags)
        return {name: cells[name] for name in names}


LMS_SPEC = LmsColumnProfile()

#: Column profiles, by name: the seed's columns (the default), and the LMS's report's.
PROFILES = {"seed": SPEC, "lms": LMS_SPEC}
