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
    allowed_time_limit_mins: int
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
