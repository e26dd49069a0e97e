"""
The report pipeline through a real Celery worker process, end to end.

The worker runs ``celery -A example worker`` on the configured broker (Redis
in CI, kombu's file-system transport otherwise) against this test database.
"""

import csv
import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.management import call_command

from proctoring_results import api
from proctoring_results.exceptions import ReportAlreadyRunning
from proctoring_results.models import ExamAttempt
from proctoring_results.statuses import CSV_WORDS
from proctoring_results.storage import get_report_storage

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .services import S3_BUCKET, s3_keys, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 5, 4, 8, 0, 7, tzinfo=dt_timezone.utc)


def finished(task_id):
    task = api.get_report_task(task_id)
    return task if task.state in ("succeeded", "failed") else None


def seed_course():
    exams = [ProctoredExamFactory(exam_name='Quiz "1", part\nA'), ProctoredExamFactory(exam_name="@Final 期末")]
    learners = [
        UserFactory(email="o'neil@example.edu"),
        UserFactory(email="-dash@example.edu"),
        UserFactory(email="zoë@exämple.edu"),
    ]
    for i, exam in enumerate(exams):
        for j, learner in enumerate(learners):
            started = T0 + timedelta(minutes=10 * i + j)
            ExamAttemptFactory(
                exam=exam,
                user=learner,
                status=list(CSV_WORDS)[(i * 3 + j) % 10],
                started_at=started,
                completed_at=started + timedelta(minutes=30) if j else None,
            )


def expected_rows():
    def stamp(value):
        return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""

    def neutral(text):
        return "'" + text if text[:1] in "=+-@\t\r＝＋－＠" else text

    attempts = ExamAttempt.objects.filter(exam__course_id=COURSE_ID).select_related("exam", "user")
    return [
        [
            neutral(a.user.email),
            neutral(a.exam.exam_name),
            a.attempt_code,
            str(a.allowed_time_limit_mins),
            str(a.is_sample_attempt),
            stamp(a.started_at),
            stamp(a.completed_at),
            CSV_WORDS[a.status],
        ]
        for a in attempts.order_by("exam_id", "user_id", "id")
    ]


def parse(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_a_requested_report_is_built_by_the_worker_into_local_storage(celery_worker):
    seed_course()
    instructor = UserFactory(username="instructor")
    task = api.request_report(COURSE_ID, instructor)
    done = wait_until(lambda: finished(task.id), timeout=60, message="the report task to finish")
    assert done.state == "succeeded", (done.message, celery_worker.log()[-2000:])
    assert (done.rows_done, done.rows_total) == (6, 6)
    [report] = api.list_reports(COURSE_ID)
    with get_report_storage().open(report.storage_key) as fh:
        data = fh.read()
    rows = parse(data)
    assert rows[0] == [
        "user_email",
        "exam_name",
        "attempt_code",
        "allowed_time_limit_mins",
        "is_sample_attempt",
        "started_at",
        "completed_at",
        "status",
    ]
    assert rows[1:] == expected_rows()
    assert report.row_count == 6 and report.size_bytes == len(data) and report.requester_id == instructor.id


def test_a_header_only_report_through_the_worker(celery_worker):
    ProctoredExamFactory()
    task = api.request_report(COURSE_ID, None)
    assert wait_until(lambda: finished(task.id), timeout=60, message="the report task").state == "succeeded"
    [report] = api.list_reports(COURSE_ID)
    with get_report_storage().open(report.storage_key) as fh:
        assert (
            fh.read() == b"user_email,exam_name,attempt_code,allowed_time_limit_mins,is_sample_attempt,"
            b"started_at,completed_at,status\r\n"
        )


def test_a_report_built_by_the_worker_into_s3(s3_storage, celery_worker_factory):
    worker = celery_worker_factory()  # started after s3_storage, so it stores in the bucket too
    seed_course()
    task = api.request_report(COURSE_ID, None)
    done = wait_until(lambda: finished(task.id), timeout=60, message="the report task to finish")
    assert done.state == "succeeded", (done.message, worker.log()[-2000:])
    [report] = api.list_reports(COURSE_ID)
    key = f"proctoring-results/{report.storage_key}"
    assert s3_keys(s3_storage) == [key]
    data = s3_storage.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read()
    assert parse(data)[1:] == expected_rows()
    assert len(data) == report.size_bytes


def test_a_worker_killed_mid_report_leaves_no_report_and_the_task_recoverable(celery_worker_factory, tmp_path):
    seed_course()
    # This worker's storage takes 60 s to store a file: the kill lands after the CSV is
    # written and counted but before it is stored, in the middle of the report.
    slow = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY=60)
    task = api.request_report(COURSE_ID, None)
    running = wait_until(
        lambda: (lambda t: t if t.state == "running" and t.rows_total == 6 and t.rows_done == 6 else None)(
            api.get_report_task(task.id)
        ),
        timeout=60,
        message="the report task to run and show its progress",
    )
    assert running.started_at is not None
    slow.kill()
    assert not slow.alive()
    stuck = api.get_report_task(task.id)
    assert stuck.state == "running" and api.list_reports(COURSE_ID) == []
    # A new request is refused while the dead task still looks active...
    with pytest.raises(ReportAlreadyRunning):
        api.request_report(COURSE_ID, None)
    # ...until the stale-task check (periodic task or command) fails it.
    with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(hours=2)):
        call_command("fail_stale_report_tasks", stdout=io.StringIO())
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and "took too long" in failed.message
    assert api.list_reports(COURSE_ID) == []
    celery_worker_factory()
    again = api.request_report(COURSE_ID, None)
    done = wait_until(lambda: finished(again.id), timeout=60, message="the new report task")
    assert done.state == "succeeded"
    [report] = api.list_reports(COURSE_ID)
    with get_report_storage().open(report.storage_key) as fh:
        assert parse(fh.read())[1:] == expected_rows()
    assert api.get_report_task(task.id).state == "failed"  # the dead task never came back to life


def test_report_tasks_go_to_the_configured_queue(celery_worker_factory, settings):
    settings.PROCTORING_RESULTS = {**settings.PROCTORING_RESULTS, "REPORT_CELERY_QUEUE": "proctoring-reports"}
    celery_worker_factory(queues="proctoring-reports")  # consumes nothing else
    ProctoredExamFactory()
    task = api.request_report(COURSE_ID, None)
    assert wait_until(lambda: finished(task.id), timeout=60, message="the report task").state == "succeeded"


def test_the_hosts_task_routes_apply_to_report_tasks(celery_worker_factory):
    """The task is sent by its registered name, and a host's ``task_routes`` for that name still route it."""
    from example import celery_app

    saved = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"proctoring_results.generate_proctored_exam_results_report": {"queue": "routed"}}
    celery_app.amqp.flush_routes()  # the routes and the router are built from task_routes once
    celery_app.amqp.router = celery_app.amqp.Router()
    try:
        celery_worker_factory(queues="routed")  # consumes nothing else
        ProctoredExamFactory()
        task = api.request_report(COURSE_ID, None)
        assert wait_until(lambda: finished(task.id), timeout=60, message="the report task").state == "succeeded"
    finally:
        celery_app.conf.task_routes = saved
        celery_app.amqp.flush_routes()
        celery_app.amqp.router = celery_app.amqp.Router()
