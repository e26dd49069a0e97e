"""
The Proctored Exam Results Report: one row per exam attempt of the course, in the seed's columns.

The columns and their words are the seed's (``proctored_session_results.rst``);
the opt-in columns are documented in docs/reports.rst.
"""

from django.db.models import Case, CharField, Count, F, OuterRef, Subquery, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Length
from django.db.models.lookups import In

from ... import statuses
from ...conf import app_settings
from ...models import ExamAttempt, ProctoredExam, ReportTask, Review, ReviewFlag
from ..cells import JoinedText, UtcTimestampText, neutralised
from . import ReportSpec


def _status_words():
    return Case(
        *[When(status=stored, then=Value(word)) for stored, word in statuses.CSV_WORDS.items()],
        default=Value(None), output_field=TextField(),
    )


def _review_result_words(outcome):
    return Case(
        *[When(In(outcome, [value]), then=Value(str(label))) for value, label in statuses.AttemptStatus.choices],
        default=Value(None), output_field=TextField(),
    )


def _latest_review():
    return Review.objects.filter(attempt=OuterRef("pk")).order_by("-received_at", "-id")


class ProctoredExamResultsReport(ReportSpec):
    report_type = ReportTask.ReportType.PROCTORED_EXAM_RESULTS
    columns = (
        "user_email", "exam_name", "attempt_code", "allowed_time_limit_mins",
        "is_sample_attempt", "started_at", "completed_at", "status",
    )
    extra_columns = ("username", "review_result", "flag_count", "flag_comments", "provider")
    model = ExamAttempt
    # Exam by exam, learner by learner: ``proctoring_attempt_report_idx``.
    order = ("exam_id", "user_id", "id")

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

    def partitions(self, course_key):
        return ProctoredExam.objects.filter(course_id=course_key).order_by("id").values_list("id")

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
                When(is_sample_attempt=True, then=Value("True")), default=Value("False"), output_field=TextField(),
            ),
            "started_at": UtcTimestampText(F("started_at")),
            "completed_at": UtcTimestampText(F("completed_at")),
            "status": _status_words(),
        }
        if "username" in names:
            cells["username"] = neutralised(F("user__username"))
        if "review_result" in names:
            latest_outcome = Subquery(_latest_review().values("outcome")[:1], output_field=CharField())
            cells["review_result"] = _review_result_words(latest_outcome)
        if "flag_count" in names:
            count = Subquery(
                ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id")).order_by()
                .values("review_id").annotate(n=Count("id")).values("n"),
            )
            cells["flag_count"] = Cast(Coalesce(count, Value(0)), TextField())
        if "flag_comments" in names:
            # Comments of the latest review's flags, joined with "; ". Empty ones are left out by
            # length, not by comparison with '' (which MySQL's PAD SPACE collations make true for "  ").
            flags = (ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id"))
                     .alias(comment_length=Length("comment")).exclude(comment_length=0))
            comments = Subquery(
                flags.order_by().values("review_id").annotate(text=JoinedText("comment")).values("text"),
                output_field=TextField(),
            )
            cells["flag_comments"] = neutralised(comments)
        if "provider" in names:
            cells["provider"] = neutralised(F("exam__provider"))
        return cells


SPEC = ProctoredExamResultsReport()
