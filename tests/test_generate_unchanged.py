"""
No pile of copies: Generate answers with the newest report while nothing in the course has changed.

Issue 14's row: one course-staff member re-clicking Generate for 60 s on a
300k-attempt course made 20 reports, each a full copy of the learners' emails
kept 90 days. Here the clicks go to the REST endpoint the page's button posts
to, each after the previous report finished (the worst case: a new task each
time on the old main).
"""

import io
from datetime import timedelta

import pytest
import time_machine
import yaml
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from proctoring_results import api
from proctoring_results.models import ExamAttempt, ProctoredExam, Report, ReportTask, Review

from .factories import COURSE_ID, ExamAttemptFactory, UserFactory

pytestmark = pytest.mark.django_db

TASKS = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
UNCHANGED = "No results have changed since the report generated at "


@pytest.fixture
def staff_client(client, instructor):
    client.force_login(instructor)
    return client


@pytest.fixture
def course(exam):
    for i in range(3):
        ExamAttemptFactory(exam=exam, user=UserFactory(email=f"pile{i}@example.edu"), status="verified")
    return exam


def click(client, **body):
    return client.post(TASKS, body, content_type="application/json")


def click_and_finish(client, **body):
    """Generate, and let the worker's part run here; return the response."""
    response = click(client, **body)
    if response.status_code == 202:
        api.generate_report_now(response.json()["task"]["id"])
    return response


def test_reclicking_generate_makes_no_pile_of_copies(staff_client, course):
    first = click_and_finish(staff_client)
    assert first.status_code == 202
    [report] = Report.objects.all()
    for _ in range(20):
        response = click_and_finish(staff_client)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["message"] == (f"{UNCHANGED}{report.created:%Y-%m-%d %H:%M} UTC; it is listed below.")
        assert body["report"]["id"] == report.id and body["report"]["file_name"] == report.file_name
        assert body["report"]["download_url"].startswith("http://testserver/proctoring-results/reports/download/")
    assert Report.objects.count() == 1 and ReportTask.objects.count() == 1


def _edit_attempt():
    attempt = ExamAttempt.objects.first()
    attempt.status = "rejected"
    attempt.save()


def _allowance():
    attempt = ExamAttempt.objects.first()
    attempt.allowed_time_limit_mins += 30
    attempt.save()


def _new_attempt():
    ExamAttemptFactory(exam=ProctoredExam.objects.first(), user=UserFactory(email="late@example.edu"))


def _removed_attempt():
    ExamAttempt.objects.last().delete()


def _renamed_exam():
    exam = ProctoredExam.objects.first()
    exam.exam_name = "Midterm (renamed)"
    exam.save()


def _new_review():
    Review.objects.create(
        attempt=ExamAttempt.objects.first(),
        provider="p",
        review_id="r-1",
        provider_status="passed",
        outcome="verified",
        raw_payload={},
    )


@pytest.mark.parametrize(
    "change", [_edit_attempt, _allowance, _new_attempt, _removed_attempt, _renamed_exam, _new_review]
)
def test_any_change_in_the_course_makes_generate_write_a_new_report(staff_client, course, change):
    assert click_and_finish(staff_client).status_code == 202
    assert click_and_finish(staff_client).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        change()
    assert click_and_finish(staff_client).status_code == 202
    assert Report.objects.count() == 2
    assert click_and_finish(staff_client).status_code == 200


def test_other_columns_are_another_report(staff_client, course):
    assert click_and_finish(staff_client).status_code == 202
    assert click_and_finish(staff_client, extra_columns=["username"]).status_code == 202
    assert click_and_finish(staff_client, extra_columns=["username"]).status_code == 200
    assert Report.objects.count() == 2


def test_a_user_may_force_a_new_report_where_the_operator_allows_it(staff_client, course):
    assert click_and_finish(staff_client).status_code == 202
    assert click_and_finish(staff_client, force=True).status_code == 202
    assert Report.objects.count() == 2
    with override_settings(PROCTORING_RESULTS={"REPORT_ALLOW_FORCE": False}):
        refused = click_and_finish(staff_client, force=True)
        assert refused.status_code == 403
        sentence = "A new report can only be generated when the course's results have changed on this site."
        assert refused.json()["errors"] == {"force": [sentence]} and refused.json()["message"] == sentence
        assert click_and_finish(staff_client).status_code == 200
    assert click(staff_client, force="yes").status_code == 400
    assert Report.objects.count() == 2


def test_the_hourly_cap_answers_429_with_a_sentence(staff_client, course):
    with override_settings(PROCTORING_RESULTS={"REPORT_MAX_PER_HOUR": 3}):
        for _ in range(3):
            assert click_and_finish(staff_client, force=True).status_code == 202
        capped = click_and_finish(staff_client, force=True)
        assert capped.status_code == 429
        assert capped.json()["errors"]["throttle"] == [capped.json()["message"]]
        assert capped.json()["message"].startswith(
            "This course already has 3 reports generated in the last hour, the most allowed. Use one of them, "
            "or generate a new one in "
        )
        assert 1 <= int(capped["Retry-After"]) <= 3600
        # Unchanged still answers with the newest report; the cap only stops new copies.
        assert click_and_finish(staff_client).status_code == 200
        with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
            assert click_and_finish(staff_client, force=True).status_code == 202
    assert Report.objects.count() == 4


def test_the_page_offers_force_only_where_allowed(staff_client, course):
    page = reverse("proctoring_results:data_download", args=[COURSE_ID])
    assert b'id="pr-force"' in staff_client.get(page).content
    with override_settings(PROCTORING_RESULTS={"REPORT_ALLOW_FORCE": False}):
        assert b'id="pr-force"' not in staff_client.get(page).content


def test_the_schema_documents_unchanged_force_and_the_cap(staff_client):
    out = io.StringIO()
    call_command("spectacular", stdout=out)
    paths = yaml.safe_load(out.getvalue())["paths"]
    post = paths["/api/proctoring-results/v1/courses/{course_id}/report-tasks/"]["post"]
    assert {"200", "202", "409", "429"} <= set(post["responses"])
    assert "unless force is true" in post["description"]
