"""
Personal data (emails, names, review comments) never reaches logs, task
messages or error pages, and report files are private in storage.

``tests/pii_guard.py`` watches every test of the suite; the scenarios here
make the app log, queue and refuse as much as it can with personal data all
around, and check that the guard saw those records and messages (so its
silence means something).
"""

import json
import os
import stat
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from proctoring_results import api, links, signatures, storage
from proctoring_results.exceptions import ReportGenerationFailed
from proctoring_results.models import ReportTask

from .. import pii_guard
from ..factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .conftest import client_for

pytestmark = pytest.mark.django_db

PROVIDER, SECRET = "pii-provider", "pii-secret"
COMMENT = "Learner Héloïse Dupont-Whitaker showed her passport number on camera"
EMAIL = "heloise.dupont-whitaker@example.edu"


@pytest.fixture
def world(settings):
    settings.PROCTORING_RESULTS = {"PROVIDERS": {PROVIDER: {"secret": SECRET}}, "REPORT_CELERY_QUEUE": "pii-guard-sink"}
    learner = UserFactory(username="hdw", email=EMAIL, first_name="Héloïse", last_name="Dupont-Whitaker")
    pii_guard.register(COMMENT)
    exam = ProctoredExamFactory(course_id=COURSE_ID, provider=PROVIDER, exam_name="Confidential Final")
    attempt = ExamAttemptFactory(exam=exam, user=learner, status="submitted")
    instructor = UserFactory(username="pii-instructor", email="pii.instructor@example.edu")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    return learner, attempt, instructor


def post_review(body):
    return Client().generic(
        "POST",
        "/api/proctoring-results/v1/reviews/",
        body,
        content_type="application/json",
        HTTP_X_PROCTORING_PROVIDER=PROVIDER,
        HTTP_X_PROCTORING_SIGNATURE=signatures.sign(SECRET, body),
    )


def text_of(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


BAD_REVIEWS = [
    # Each carries personal data where the app must refuse it, and must not echo it back.
    {"attempt_code": EMAIL, "review_id": "r1", "status": "passed", "flags": []},
    {"attempt_code": "{code}", "review_id": "r2", "status": COMMENT, "flags": []},
    {
        "attempt_code": "{code}",
        "review_id": "r3",
        "status": "violation",
        "flags": [{"rule": "no_photo_id", "comment": {"text": COMMENT}}],
    },
    {"attempt_code": "{code}", "review_id": "r4", "status": "passed", "reviewer": COMMENT * 10},
    {"attempt_code": "{code}", "review_id": EMAIL * 20, "status": "passed"},
    {"attempt_code": "{code}", "review_id": "r6", "status": "passed", "reviewed_at": EMAIL},
    {
        "attempt_code": "{code}",
        "review_id": "r7",
        "status": "violation",
        "flags": [{"rule": COMMENT, "comment": COMMENT, "start": EMAIL}],
    },
]


@pytest.mark.parametrize("index", range(len(BAD_REVIEWS)))
def test_refused_reviews_do_not_echo_personal_data(world, index):
    _learner, attempt, _instructor = world
    payload = json.loads(json.dumps(BAD_REVIEWS[index]).replace("{code}", attempt.attempt_code))
    response = post_review(json.dumps(payload).encode())
    assert 400 <= response.status_code < 500, response.content
    assert pii_guard.find_marker(text_of(response)) is None, response.content


def test_a_full_review_and_report_cycle_logs_and_queues_no_personal_data(world, django_capture_on_commit_callbacks):
    """Review accepted, a refused callback, a report queued, built, failed and listed: ids only, everywhere."""
    learner, attempt, instructor = world
    body = json.dumps(
        {
            "attempt_code": attempt.attempt_code,
            "review_id": "pii-1",
            "status": "violation",
            "reviewer": "Reviewer Ottoline Featherstonehaugh",
            "flags": [{"rule": "second_computer", "comment": COMMENT, "start": 3, "stop": 9}],
        }
    ).encode()
    assert post_review(body).status_code == 200
    pii_guard.register("Reviewer Ottoline Featherstonehaugh")
    # A refused callback logs a warning.
    Client().generic(
        "POST",
        "/api/proctoring-results/v1/reviews/",
        body,
        content_type="application/json",
        HTTP_X_PROCTORING_PROVIDER=PROVIDER,
        HTTP_X_PROCTORING_SIGNATURE="t=1,v1=00",
    )
    # A report request publishes a task message (to a queue no worker reads).
    with django_capture_on_commit_callbacks(execute=True):
        task = api.request_report(COURSE_ID, instructor, extra_columns=["username", "flag_comments"])
    assert pii_guard.guard.messages_seen >= 1
    # A report that fails (its storage is a file where a folder should be) logs an error.
    api.fail_stale_report_tasks()
    ReportTask.objects.filter(pk=task.id).update(state="failed")
    blocked = os.path.join(os.environ["EXAMPLE_VAR_DIR"], "pii-blocked")
    open(blocked, "w").close()
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "proctoring_results": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": blocked},
            },
        }
    ):
        with pytest.raises(ReportGenerationFailed) as excinfo:
            api.generate_report(COURSE_ID, instructor, extra_columns=["username", "flag_comments"])
    assert pii_guard.find_marker(str(excinfo.value)) is None
    assert pii_guard.find_marker(excinfo.value.task.message) is None
    # A good report, a stale-task sweep, a download of a missing file: more log lines.
    report = api.generate_report(COURSE_ID, instructor, extra_columns=["username", "flag_comments"])
    with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(hours=3)):
        api.fail_stale_report_tasks()
    storage.get_report_storage().delete(report.storage_key)
    token = links.make_report_link(report.id, instructor.pk).token
    response = client_for(instructor).get(reverse("proctoring_results:report_download", args=[token]))
    assert response.status_code == 404 and pii_guard.find_marker(text_of(response)) is None
    assert pii_guard.guard.records_seen >= 3, "the guard saw no log records: it would prove nothing"
    assert pii_guard.guard.leaks == []  # and the autouse guard re-checks at teardown


@pytest.mark.parametrize(
    "path",
    [
        "/courses/not-a-course/instructor/data_download/",
        f"/courses/{COURSE_ID}/instructor/data_download/",
        "/api/proctoring-results/v1/courses/course-v1:A+B+C/reports/",
        "/proctoring-results/reports/download/garbage/",
        "/api/proctoring-results/v1/attempts/NOPE/reviews/",
    ],
)
def test_error_pages_show_no_personal_data(world, path):
    learner, _attempt, _instructor = world
    for client in (client_for(learner), client_for(None)):
        response = client.get(path)
        assert response.status_code in (302, 401, 403, 404)
        assert pii_guard.find_marker(text_of(response)) is None


def test_a_500_page_shows_nothing_of_the_request(world, settings):
    """With DEBUG off (production), an unexpected error is Django's plain 500 page."""
    from django.urls import path

    _learner, _attempt, instructor = world
    settings.DEBUG = False

    def boom(request):
        raise RuntimeError(f"failed for {EMAIL}: {COMMENT}")

    with override_settings(ROOT_URLCONF=type("Urls", (), {"urlpatterns": [path("boom/", boom)]})):
        client = client_for(instructor)
        client.raise_request_exception = False
        with pii_guard.expect_leaks() as leaks:
            response = client.get("/boom/")
    assert response.status_code == 500
    assert pii_guard.find_marker(text_of(response)) is None
    # The traceback does reach django.request's log: the guard catches it (our code never raises such text).
    assert leaks.caught == ["django.request"]


def test_local_report_files_are_private(world, tmp_path):
    """Owner-only permissions, and no URL of the site serves them without a signed link."""
    _learner, _attempt, instructor = world
    report = api.generate_report(COURSE_ID, instructor)
    report_storage = storage.get_report_storage()
    path = report_storage.path(report.storage_key)
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, oct(os.stat(path).st_mode)
    for url in (
        f"/media/{report.storage_key}",
        f"/static/{report.storage_key}",
        f"/{report.storage_key}",
        f"/media/proctoring_results/{report.storage_key}",
    ):
        assert client_for(instructor).get(url).status_code == 404, url


def cases_tried():
    """Personal-data scenarios in this module, for docs/security.rst (category 6)."""
    return len(BAD_REVIEWS) + 1 + 5 * 2 + 1 + 1 + 4
