"""
Errors raised by the public Python API.

Every message is safe to show to course staff and to log: none of them carries
an email, a name or a review comment.
"""


class ProctoringResultsError(Exception):
    """Base class of every error this app raises on purpose."""


class InvalidCourseId(ProctoringResultsError, ValueError):
    """The text is not an Open edX course key."""


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
