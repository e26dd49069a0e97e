"""The edx-proctoring row mapping on its own: named source rows in, our field values out, no database."""

from datetime import datetime, timezone

import pytest
from opaque_keys.edx.keys import CourseKey

from proctoring_results import importers
from proctoring_results.importers import AttemptRow, CommentRow, ExamRow, ReviewRow, Skip

T = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def test_an_exam_row_becomes_exam_values():
    row = ExamRow(
        id=3,
        course_id="course-v1:edX+DemoX+2026",
        content_id="block-1",
        exam_name="Final",
        time_limit_mins=90,
        is_proctored=1,
        is_practice_exam=0,
        is_active=1,
        backend=None,
        due_date=None,
    )
    values = importers.exam_values(row)
    assert values["course_id"] == CourseKey.from_string("course-v1:edX+DemoX+2026")
    assert (values["time_limit_mins"], values["is_proctored"], values["is_practice_exam"], values["provider"]) == (
        90,
        True,
        False,
        "",
    )
    with pytest.raises(Skip, match="invalid course id"):
        importers.exam_values(row._replace(course_id="not a course"))


def test_an_attempt_row_becomes_attempt_values_and_a_status():
    row = AttemptRow(
        id=7,
        user_id=1,
        proctored_exam_id=3,
        started_at="2026-03-01 10:00:00",
        completed_at=None,
        attempt_code=None,
        external_id=None,
        allowed_time_limit_mins=60,
        status="declined",
        is_sample_attempt=0,
        modified=T,
        time_remaining_seconds=None,
    )
    assert importers.attempt_code_of(row) == "EDX-PROCTORING-7"
    status, known = importers.attempt_status(row.status, T, None)
    assert (status, known) == ("started", True)  # declined, but its row says it started
    assert importers.attempt_status("made_up", None, None) == (importers.UNKNOWN_STATUS, False)
    values = importers.attempt_values(row, exam_id=30, user_id=10, status=status, allowed_time_limit_mins=60)
    assert values["started_at"] == T and values["external_id"] == "" and values["status"] == "started"
    assert "attempt 7" in importers.attempt_import_reason(row)


def test_a_review_row_and_its_comments_become_review_and_flag_values():
    row = ReviewRow(
        id=5,
        attempt_code="A",
        review_status="Suspicious",
        reviewed_by_id=None,
        modified=T,
        exam_id=3,
        raw_data='{"videoReviewLink": "https://example.com/v", "k": 1}',
    )
    values = importers.review_values(row, attempt_status_now="submitted", provider="p")
    assert (values["provider_status"], values["outcome"], values["raw_payload"]) == ("suspicious", "rejected", {"k": 1})
    assert importers.review_values(row, attempt_status_now="verified", provider="p")["outcome"] == "verified"
    assert importers.review_id_of(row) == "edx-proctoring:5"
    with pytest.raises(Skip, match="unknown review status"):
        importers.review_values(row._replace(review_status="meh"), attempt_status_now=None, provider="p")
    flag = importers.flag_values(
        CommentRow(id=1, review_id=5, start_time=3, stop_time=None, comment=None, status="phone"), {}
    )
    assert flag == {"rule_code": "phone", "severity": "", "comment": "", "start_seconds": 3.0, "stop_seconds": None}
