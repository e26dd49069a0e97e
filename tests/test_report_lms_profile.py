"""
The opt-in "lms" column profile: the header and cell meanings of the LMS's own Proctored Exam Results Report.

The LMS writes the columns of ``upload_proctored_exam_results_report`` over
edx-proctoring's ``get_exam_violation_report``; an operator's scripts read
them by name. The seed's 8 columns stay the default.
"""

import csv
import io
from datetime import datetime, timezone

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from proctoring_results import api
from proctoring_results.exceptions import InvalidReportOptions
from proctoring_results.models import Review, ReviewFlag
from proctoring_results.statuses import AttemptStatus as S
from proctoring_results.storage import get_report_storage

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

LMS_HEADER = [
    "course_id",
    "provider",
    "track",
    "exam_name",
    "username",
    "email",
    "attempt_code",
    "allowed_time_limit_mins",
    "is_sample_attempt",
    "started_at",
    "completed_at",
    "status",
    "review_status",
    "Suspicious Count",
    "Suspicious Comments",
    "Rules Violation Count",
    "Rules Violation Comments",
]
SEED_HEADER = [
    "user_email",
    "exam_name",
    "attempt_code",
    "allowed_time_limit_mins",
    "is_sample_attempt",
    "started_at",
    "completed_at",
    "status",
]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 5, 4, 10, 30, tzinfo=timezone.utc)


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def report(**kwargs):
    out = io.BytesIO()
    api.write_report_csv(COURSE_ID, out, **kwargs)
    return csv_rows(out.getvalue())


def review(attempt, provider_status, flags=(), review_id="r1"):
    decided = Review.objects.create(
        attempt=attempt,
        provider="acme",
        review_id=review_id,
        provider_status=provider_status,
        outcome=S.REJECTED,
        raw_payload={},
    )
    for severity, comment in flags:
        ReviewFlag.objects.create(review=decided, rule_code=f"rule-{len(comment)}", severity=severity, comment=comment)
    return decided


@pytest.fixture
def course(db):
    final = ProctoredExamFactory(exam_name="=Final", provider="proctortrack")
    practice = ProctoredExamFactory(exam_name="Practice", is_practice_exam=True, time_limit_mins=30)
    ada = UserFactory(username="ada", email="ada@example.edu")
    eve = UserFactory(username="@eve", email="eve@example.edu")
    reviewed = ExamAttemptFactory(
        exam=final,
        user=ada,
        status=S.REJECTED,
        started_at=T0,
        completed_at=T1,
        attempt_code="CODE-A",
        allowed_time_limit_mins=100,
    )
    review(reviewed, "passed", review_id="older")  # superseded by the latest review below
    review(
        reviewed,
        "suspicious",
        [
            ("integrity", "Second person in the room."),
            ("integrity", "=Used a phone"),
            ("discouraged", "Music in the background."),
        ],
    )
    ExamAttemptFactory(
        exam=final, user=eve, status=S.TIMED_OUT, started_at=T0, attempt_code="CODE-E", allowed_time_limit_mins=None
    )
    practiced = ExamAttemptFactory(
        exam=practice,
        user=ada,
        status=S.SECOND_REVIEW_REQUIRED,
        started_at=T0,
        completed_at=T1,
        attempt_code="CODE-P",
        is_sample_attempt=True,
    )
    review(practiced, "violation", [("discouraged", "Talking.")], review_id="r-practice")
    return final


def test_the_header_is_the_lms_reports(course):
    assert report(column_profile="lms")[0] == LMS_HEADER
    assert report()[0] == SEED_HEADER  # the seed's 8 columns stay the default


def test_cells_mean_what_the_lms_report_means(course):
    rows = {r[6]: dict(zip(LMS_HEADER, r, strict=True)) for r in report(column_profile="lms")[1:]}
    assert rows["CODE-A"] == {
        "course_id": COURSE_ID,
        "provider": "proctortrack",
        "track": "Unknown",
        "exam_name": "'=Final",
        "username": "ada",
        "email": "ada@example.edu",
        "attempt_code": "CODE-A",
        "allowed_time_limit_mins": "100",
        "is_sample_attempt": "False",
        "started_at": "2026-05-04T09:00:00Z",
        "completed_at": "2026-05-04T10:30:00Z",
        "status": "rejected",
        "review_status": "Suspicious",
        "Suspicious Count": "2",
        "Suspicious Comments": rows["CODE-A"]["Suspicious Comments"],
        "Rules Violation Count": "1",
        "Rules Violation Comments": "Music in the background.",
    }
    assert rows["CODE-A"]["Suspicious Comments"] in (
        "Second person in the room.; =Used a phone",
        "'=Used a phone; Second person in the room.",
    )
    # edx-proctoring's status names; no review yet: no review status, counts 0.
    eve = rows["CODE-E"]
    assert (eve["username"], eve["status"], eve["review_status"], eve["allowed_time_limit_mins"]) == (
        "'@eve",
        "timed_out",
        "",
        "",
    )
    assert (eve["Suspicious Count"], eve["Suspicious Comments"], eve["Rules Violation Count"]) == ("0", "", "0")
    # Like the LMS, reviews of practice exams are not read.
    practice = rows["CODE-P"]
    assert (
        practice["status"],
        practice["is_sample_attempt"],
        practice["review_status"],
        practice["Rules Violation Count"],
    ) == ("second_review_required", "True", "", "0")


def test_selected_by_setting_command_and_api(course, client, tmp_path):
    with override_settings(PROCTORING_RESULTS={"REPORT_COLUMN_PROFILE": "lms"}):
        assert report()[0] == LMS_HEADER
        assert report(column_profile="seed")[0] == SEED_HEADER

    out = io.StringIO()
    call_command("generate_proctored_exam_results_report", COURSE_ID, "--stdout", "--column-profile", "lms", stdout=out)
    assert csv_rows(out.getvalue().encode())[0] == LMS_HEADER
    file_name = io.StringIO()
    call_command("generate_proctored_exam_results_report", COURSE_ID, "--column-profile", "lms", stdout=file_name)
    [stored] = api.list_reports(COURSE_ID)
    with get_report_storage().open(stored.storage_key) as fh:
        assert csv_rows(fh.read())[0] == LMS_HEADER

    instructor = UserFactory(username="teacher")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    client.force_login(instructor)
    url = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        # The command's lms report above is unchanged since: Generate would answer with it (issue 14), so force.
        response = client.post(url, {"column_profile": "lms", "force": True}, content_type="application/json")
    assert response.status_code == 202
    built = api.generate_report_now(response.json()["task"]["id"])
    with get_report_storage().open(built.storage_key) as fh:
        assert csv_rows(fh.read())[0] == LMS_HEADER


def test_an_unknown_profile_is_refused_everywhere(course, client):
    with pytest.raises(InvalidReportOptions, match="Unknown column profile: excel. Column profiles are: seed, lms."):
        api.request_report(COURSE_ID, None, column_profile="excel")
    with pytest.raises(CommandError, match="Unknown column profile"):
        call_command(
            "generate_proctored_exam_results_report",
            COURSE_ID,
            "--stdout",
            "--column-profile",
            "excel",
            stdout=io.StringIO(),
        )
    instructor = UserFactory(username="teacher")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    client.force_login(instructor)
    url = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
    for body in ({"column_profile": "excel"}, {"column_profile": ["lms"]}):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert "profile" in str(response.json())  # a message that names what is wrong
    with pytest.raises(InvalidReportOptions):
        api.request_report(COURSE_ID, None, column_profile="lms", extra_columns=["username"])
    with override_settings(PROCTORING_RESULTS={"REPORT_COLUMN_PROFILE": "excel"}):
        assert "proctoring_results.E011" in [m.id for m in checks.run_checks()]
