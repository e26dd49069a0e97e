"""
Errors raised by the public Python API.

Every message is safe to show to course staff and to log: none of them carries
an email, a name or a review comment.
"""

from django.utils.translation import gettext_lazy


class ProctoringResultsError(Exception):
    """Base class of every error this app raises on purpose."""


class InvalidCourseId(ProctoringResultsError, ValueError):
    """The text is not an Open edX course key."""


class CourseIdTooLong(InvalidCourseId):
    """A course id longer than the database's course id columns: refused (400) before a query sees it."""


class UnknownStatus(ProctoringResultsError, ValueError):
    """The text is not one of the ten attempt statuses."""


class InvalidTransition(ProctoringResultsError):
    """An attempt cannot move from its current status to the requested one."""

    def __init__(self, from_status, to_status):
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"An exam attempt cannot go from '{from_status}' to '{to_status}'.")


class InvalidExamData(ProctoringResultsError, ValueError):
    """Exam or attempt fields failed validation; the message names the field."""


class ExamNotFound(ProctoringResultsError, LookupError):
    """No exam with that id in that course."""


class AttemptNotFound(ProctoringResultsError, LookupError):
    """No exam attempt with that attempt code."""


class ReportLinkInvalid(ProctoringResultsError):
    """A report download link was altered, or was made for another user or report."""


class ReportLinkExpired(ProctoringResultsError):
    """A report download link is older than ``LINK_EXPIRY_SECONDS``; ``report_id`` says which report it named."""

    def __init__(self, message, report_id=None):
        super().__init__(message)
        self.report_id = report_id


#: The seed's words after Generate, whether this click queued the report or one was already
#: running; the page, the REST API and ``ReportAlreadyRunning`` all say it from here.
REPORT_BEING_CREATED = gettext_lazy(
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)


class ReportAlreadyRunning(ProctoringResultsError):
    """A report of this type is already queued or running for the course; ``task`` is that one."""

    def __init__(self, task, message=None):
        self.task = task
        # Translated now, in the language of the request that raised it.
        super().__init__(str(REPORT_BEING_CREATED if message is None else message))


class ReportQueueUnavailable(ProctoringResultsError):
    """The task queue (Celery broker) could not take the report; the task was marked failed."""

    def __init__(self, task, message="The report could not be queued: the task queue is unavailable. Try again later."):
        self.task = task
        super().__init__(message)


class ReportUnchanged(ProctoringResultsError):
    """Nothing in the course changed since its newest report (``report``): Generate answers with that one."""

    def __init__(self, report):
        self.report = report
        super().__init__(
            f"No results have changed since the report generated at {report.created:%Y-%m-%d %H:%M} UTC; "
            "it is listed below."
        )


class ReportLimitReached(ProctoringResultsError):
    """The course reached ``REPORT_MAX_PER_HOUR``; ``retry_after`` is in how many seconds one more is allowed."""

    def __init__(self, limit, retry_after):
        self.limit = limit
        self.retry_after = max(1, int(retry_after))
        minutes = -(-self.retry_after // 60)
        super().__init__(
            f"This course already has {limit} reports generated in the last hour, the most allowed. "
            f"Use one of them, or generate a new one in {minutes} minute{'s' if minutes != 1 else ''}."
        )


class ForceNotAllowed(ProctoringResultsError):
    """A new report was forced where the operator turned forcing off (``REPORT_ALLOW_FORCE``)."""

    def __init__(self):
        super().__init__("A new report can only be generated when the course's results have changed on this site.")


class InvalidReportOptions(ProctoringResultsError, ValueError):
    """An unknown extra report column, or other bad report option."""


class ReportTaskNotFound(ProctoringResultsError, LookupError):
    """No report task with that id."""


class ReportNotFound(ProctoringResultsError, LookupError):
    """No report with that id."""


class ReportFileMissing(ReportNotFound):
    """The report is listed but its file is gone from report storage."""


class ReportGenerationFailed(ProctoringResultsError):
    """Generating a report failed; the task holds the short, personal-data-free reason."""

    def __init__(self, task, message):
        self.task = task
        super().__init__(message)


class ReviewError(ProctoringResultsError):
    """
    A provider review or a staff decision cannot be accepted.

    ``errors`` maps each offending field (``flags[2].rule``) to messages, so the
    REST layer can answer ``{"errors": {...}}`` naming the field.
    """

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{f}: {' '.join(m)}" for f, m in self.errors.items()))

    @classmethod
    def on(cls, field, message):
        return cls({field: [message]})


class InvalidReview(ReviewError, ValueError):
    """The review or decision is malformed: a field is missing, mistyped or out of range."""


class ReviewConflict(ReviewError):
    """The review or decision is well formed but does not fit the attempt's state."""


class InvalidImportSource(ProctoringResultsError, ValueError):
    """The edx-proctoring import cannot start: unknown database alias, missing tables, or bad options."""
