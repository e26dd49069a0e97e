"""
REST API v1 behind the Data Download page: every endpoint, every permission case, bad input.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from proctoring_results import api
from proctoring_results.models import ReportTask

from .factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, UserFactory
from .services import free_port

pytestmark = pytest.mark.django_db

TASKS = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
REPORTS = reverse("proctoring_results:v1-reports", args=[COURSE_ID])
COUNTS = reverse("proctoring_results:v1-status-counts", args=[COURSE_ID])
SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=dt_timezone.utc)


def test_urls_are_under_the_v1_mount():
    assert TASKS == f"/api/proctoring-results/v1/courses/{COURSE_ID}/report-tasks/"
    assert REPORTS == f"/api/proctoring-results/v1/courses/{COURSE_ID}/reports/"


# ---------------------------------------------------------------- generate and Pending Tasks


def test_generate_then_pending_tasks_then_409(client, instructor, exam):
    client.force_login(instructor)
    assert client.get(TASKS).json() == {"tasks": []}

    response = client.post(TASKS, {}, content_type="application/json")
    assert response.status_code == 202
    task = response.json()["task"]
    assert response.json()["message"] == SEED_MESSAGE
    assert (task["state"], task["requester"], task["report_type_label"]) == (
        "queued",
        "instructor",
        "Proctored Exam Results Report",
    )
    assert task["rows_done"] == 0 and task["course_id"] == COURSE_ID

    pending = client.get(TASKS).json()["tasks"]
    assert [t["id"] for t in pending] == [task["id"]]
    assert set(pending[0]) >= {
        "report_type_label",
        "requester",
        "created",
        "state_label",
        "duration_seconds",
        "rows_done",
        "rows_total",
        "message",
    }

    again = client.post(TASKS, {}, content_type="application/json")
    assert again.status_code == 409
    assert again.json() == {"task": pending[0], "message": SEED_MESSAGE}
    assert ReportTask.objects.count() == 1


def test_finished_tasks_leave_pending_but_are_readable_on_request(client, instructor, exam):
    api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    assert client.get(TASKS).json()["tasks"] == []
    recent = client.get(TASKS, {"active_only": "false"}).json()["tasks"]
    assert [t["state"] for t in recent] == ["succeeded"]


def test_unknown_extra_column_is_400_with_a_message(client, instructor, exam):
    client.force_login(instructor)
    response = client.post(TASKS, {"extra_columns": ["no_such_column"]}, content_type="application/json")
    assert response.status_code == 400
    assert "no_such_column" in response.json()["message"]
    response = client.post(TASKS, {"extra_columns": "username"}, content_type="application/json")
    assert response.status_code == 400
    assert not ReportTask.objects.exists()


def test_session_post_needs_the_csrf_token(instructor, exam):
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    assert client.post(TASKS, {}, content_type="application/json").status_code == 403
    client.get(reverse("proctoring_results:data_download", args=[COURSE_ID]))
    token = client.cookies["csrftoken"].value
    response = client.post(TASKS, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202


def test_scripts_use_token_auth_without_csrf(instructor, exam):
    token = Token.objects.create(user=instructor)
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(TASKS, {}, content_type="application/json").status_code == 202
    assert len(client.get(TASKS).json()["tasks"]) == 1
    bad = Client(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(TASKS).status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_queue_unavailable_is_503_with_a_message(client, instructor, exam):
    from example.celery import app

    def reconnect():
        # Forget (without closing: kombu keeps them in a global registry) Celery's connection and
        # producer pools, so the next send looks them up for the current broker_url.
        app._pool = None
        app.amqp._producer_pool = None

    # A real broker address with nothing listening: the request must not hang or 500.
    original = app.conf.broker_write_url  # what sending a task connects to
    app.conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    reconnect()
    try:
        client.force_login(instructor)
        response = client.post(TASKS, {}, content_type="application/json")
    finally:
        app.conf.broker_write_url = original
        reconnect()
    assert response.status_code == 503
    assert "queue" in response.json()["message"].lower()
    assert client.get(TASKS).json() == {"tasks": []}  # no task left queued forever


# ---------------------------------------------------------------- reports


def test_reports_newest_first_with_fresh_links_and_their_expiry(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status="verified")
    with time_machine.travel(T0, tick=False):
        older = api.generate_report(COURSE_ID, instructor)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        newer = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        data = client.get(REPORTS).json()
    assert data["count"] == 2 and data["link_expiry_seconds"] == 300
    assert [r["file_name"] for r in data["reports"]] == [newer.file_name, older.file_name]
    first = data["reports"][0]
    assert (first["row_count"], first["size_bytes"]) == (1, newer.size_bytes)
    assert first["requester"] == "instructor"
    assert first["created"] == "2026-03-02T10:30:00Z"
    assert first["download_url_expires_at"] == "2026-03-02T11:35:00Z"
    assert first["download_url"].startswith("http://testserver/proctoring-results/reports/download/")
    # Fresh on every call: a later listing has later links.
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        later = client.get(REPORTS).json()["reports"][0]
    assert later["download_url"] != first["download_url"]
    with time_machine.travel(T0 + timedelta(hours=3, seconds=10), tick=False):
        assert client.get(later["download_url"]).status_code == 200
        assert client.get(first["download_url"]).status_code == 410


def test_reports_limit(client, instructor, exam):
    for minute in range(3):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    data = client.get(REPORTS, {"limit": 2}).json()
    assert data["count"] == 3 and len(data["reports"]) == 2
    for bad in ("0", "-1", "abc", "100000"):
        response = client.get(REPORTS, {"limit": bad})
        assert response.status_code == 400
        assert "limit" in response.json()["detail"]


def test_reports_of_another_course_are_not_listed(client, instructor, exam):
    other_admin = UserFactory(username="other", is_staff=True)
    api.generate_report(COURSE_ID, instructor)
    client.force_login(other_admin)
    assert client.get(reverse("proctoring_results:v1-reports", args=[OTHER_COURSE_ID])).json()["reports"] == []


def test_status_counts(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status="verified")
    ExamAttemptFactory(exam=exam, status="second_review_required")
    client.force_login(instructor)
    data = client.get(COUNTS).json()
    assert [g["key"] for g in data["groups"]] == [
        "satisfactory",
        "unsatisfactory",
        "awaiting_review",
        "in_progress",
        "error",
    ]
    (midterm,) = data["exams"]
    assert midterm["exam_name"] == "Midterm" and midterm["total"] == 2
    assert midterm["groups"]["satisfactory"] == 1 and midterm["groups"]["awaiting_review"] == 1


# ---------------------------------------------------------------- who may call

ENDPOINTS = [("get", TASKS), ("post", TASKS), ("get", REPORTS), ("get", COUNTS)]


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_anonymous_is_refused(client, exam, method, url):
    response = getattr(client, method)(url)
    assert response.status_code in (401, 403)
    assert not ReportTask.objects.exists()


@pytest.mark.parametrize("method,url", ENDPOINTS)
@pytest.mark.parametrize("who", ["learner", "other_course_instructor", "inactive_instructor"])
def test_only_the_course_team_may_call(client, learner, instructor, exam, method, url, who):
    user = learner
    if who == "other_course_instructor":
        user = UserFactory(username="elsewhere")
        api.grant_course_role(user, OTHER_COURSE_ID, "instructor")
    elif who == "inactive_instructor":
        user = instructor
        user.is_active = False
        user.save()
    token = Token.objects.create(user=user)
    response = getattr(Client(HTTP_AUTHORIZATION=f"Token {token.key}"), method)(url)
    assert response.status_code in (401, 403)
    assert not ReportTask.objects.exists()


@pytest.mark.parametrize("who", ["instructor", "course_staff", "global_staff"])
def test_course_team_and_global_staff_may_call(client, exam, who):
    if who == "global_staff":
        user = UserFactory(username="admin", is_staff=True)
    else:
        user = UserFactory(username=who)
        api.grant_course_role(user, COURSE_ID, "instructor" if who == "instructor" else "staff")
    client.force_login(user)
    for method, url in ENDPOINTS:
        assert getattr(client, method)(url, content_type="application/json").status_code in (200, 202), (method, url)


@pytest.mark.parametrize(
    "path",
    [
        "/api/proctoring-results/v1/courses/not+a+course/reports/",
        "/api/proctoring-results/v1/courses/course-v1:a+b+c%20d/report-tasks/",
    ],
)
def test_malformed_course_id_is_404_with_a_message(client, instructor, path):
    client.force_login(instructor)
    response = client.get(path)
    assert response.status_code == 404
    assert "not a valid course id" in response.json()["detail"]
