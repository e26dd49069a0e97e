"""
Plain data returned by ``api.py``: the app's models never leave it.

Course ids are returned as strings (``str(CourseKey)``) so callers need not
import opaque_keys to read them.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ExamData:
    id: int
    course_id: str
    content_id: str
    exam_name: str
    time_limit_mins: int
    is_practice_exam: bool
    is_proctored: bool
    is_active: bool
    provider: str


@dataclass(frozen=True)
class AttemptData:
    id: int
    attempt_code: str
    exam_id: int
    course_id: str
    user_id: int
    external_id: str
    allowed_time_limit_mins: int | None  # None: unknown (an unstarted attempt imported from edx-proctoring)
    is_sample_attempt: bool
    started_at: datetime | None
    completed_at: datetime | None
    status: str
    status_label: str


@dataclass(frozen=True)
class ExamStatusCounts:
    """How many attempts at one exam are in each status (every status present, zeros included)."""

    exam_id: int
    exam_name: str
    is_practice_exam: bool
    by_status: dict[str, int]

    @property
    def total(self):
        return sum(self.by_status.values())


@dataclass(frozen=True)
class ReportTaskData:
    """One report request as Pending Tasks shows it; ``message`` never holds personal data."""

    id: int
    course_id: str
    report_type: str
    report_type_label: str
    requester_id: int | None
    requester_username: str | None
    state: str
    state_label: str
    rows_done: int
    rows_total: int | None
    message: str
    created: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    is_active: bool = False  # queued or running (``ReportTask.ACTIVE_STATES``)


@dataclass(frozen=True)
class ReportData:
    """One generated report file, as listed from the Report table (never by listing the bucket)."""

    id: int
    course_id: str
    file_name: str
    storage_key: str
    size_bytes: int
    row_count: int
    checksum_sha256: str
    created: datetime
    requester_id: int | None
    requester_username: str | None = None


@dataclass(frozen=True)
class RuleData:
    """One Online Proctoring Rule in force: built in, or added or re-graded by settings."""

    code: str
    description: str
    severity: str


@dataclass(frozen=True)
class ReviewFlagData:
    """A flagged rule in a review; ``severity`` is empty for a code the catalog did not know."""

    rule_code: str
    severity: str
    comment: str
    start_seconds: float | None
    stop_seconds: float | None


@dataclass(frozen=True)
class ReviewData:
    """One provider review of an attempt; reviews are append-only history."""

    id: int
    attempt_code: str
    provider: str
    review_id: str
    provider_status: str
    second_review_requested: bool
    outcome: str
    disagreement: str
    reviewer: str
    reviewed_at: datetime | None
    received_at: datetime
    flags: tuple[ReviewFlagData, ...]


@dataclass(frozen=True)
class FlagSubmission:
    """One flagged rule as a provider sent it: a rule code, a comment, offsets in the recording (seconds)."""

    rule: str
    comment: str = ""
    start: float | None = None
    stop: float | None = None


@dataclass(frozen=True)
class ReviewSubmission:
    """
    A provider's review of one attempt, already validated (``rest_api/v1/serializers.py`` for the callback).

    ``raw`` is the body as the provider sent it, kept with the review for the record.
    """

    attempt_code: str
    review_id: str
    status: str
    flags: tuple[FlagSubmission, ...] = ()
    reviewer: str = ""
    reviewed_at: datetime | None = None
    second_review: bool = False
    raw: dict | None = None


@dataclass(frozen=True)
class ReviewResult:
    """What a provider's callback is told: the review's outcome and where the attempt now stands."""

    attempt_code: str
    review_id: str
    status: str
    outcome: str
    duplicate: bool


@dataclass(frozen=True)
class ImportCounts:
    """What an edx-proctoring import did with one kind of row (see ``importers.py``)."""

    kind: str
    read: int
    created: int
    updated: int
    unchanged: int
    skipped: dict[str, int]  # reason -> rows


@dataclass(frozen=True)
class ImportSummary:
    """The result of one edx-proctoring import run; a dry run counts what it would have written."""

    database: str
    dry_run: bool
    resume: bool
    counts: tuple[ImportCounts, ...]
    unknown_statuses: dict[str, int]  # edx-proctoring status -> attempts mapped to error


@dataclass(frozen=True)
class StaffDecisionResult:
    """Where an attempt stands after a staff decision; ``changed`` is False when it already had that status."""

    attempt_code: str
    status: str
    status_label: str
    changed: bool
