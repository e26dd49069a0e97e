"""
Crash recovery in minutes: heartbeats, the periodic check that queues a dead run again once, and
a slow original that never records a second report once a newer run took over.

The same paths with real worker processes killed (SIGKILL) or frozen (SIGSTOP)
are in ``test_worker_recovery.py``; these pin the rules one step at a time.
"""

import io
import os
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from proctoring_results import api, reports, tasks
from proctoring_results.conf import DEFAULTS
from proctoring_results.models import Report, ReportTask
from proctoring_results.reports import lifecycle
from proctoring_results.reports.naming import report_storage_key
from proctoring_results.storage import LocalFileUpload, get_report_storage

from .factories import COURSE_ID, ExamAttemptFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(exam):
    for i in range(3):
        ExamAttemptFactory(exam=exam, user=UserFactory(email=f"crash{i}@example.edu"), status="verified")
    return exam


def later(seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


def stored_files():
    location = get_report_storage().location
    return sorted(os.path.join(d, f) for d, _, files in os.walk(location) for f in files)


def test_the_defaults_recover_a_dead_run_within_two_minutes():
    """Heartbeat timeout + one period of the beat's check stays under the issue's two minutes."""
    check = settings.CELERY_BEAT_SCHEDULE["proctoring-results-fail-stale-report-tasks"]["schedule"]
    assert DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + check <= 120
    # Several beats fit in the timeout, so one slow write does not make a live run look dead.
    assert DEFAULTS["REPORT_HEARTBEAT_SECONDS"] * 5 <= DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"]


def test_a_claim_is_a_numbered_run_with_a_heartbeat(course):
    task = api.request_report(COURSE_ID, None)
    claimed = ReportTask.objects.claim(task.id)
    assert (claimed.state, claimed.runs) == ("running", 1) and claimed.heartbeat_at is not None
    # Delivered again while it is alive (Redis' redelivery, a recovery racing a live run): nothing to do.
    assert ReportTask.objects.claim(task.id) is None
    assert ReportTask.objects.get(pk=task.id).runs == 1


def test_progress_writes_carry_the_heartbeat(course):
    task = api.request_report(COURSE_ID, None)
    claimed = ReportTask.objects.claim(task.id)
    with later(60):
        lifecycle.record_progress(claimed)(1, 3)
        assert ReportTask.objects.get(pk=task.id).heartbeat_at >= timezone.now() - timedelta(seconds=1)


def test_a_silent_run_is_queued_again_once_then_failed_with_a_message(course):
    task = api.request_report(COURSE_ID, None)
    ReportTask.objects.claim(task.id)
    first_message_id = ReportTask.objects.get(pk=task.id).celery_task_id
    assert ReportTask.objects.recover_stalled() == ([], [])  # alive
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        requeued, failed = ReportTask.objects.recover_stalled()
        assert [t.pk for t in requeued] == [task.id] and failed == []
        again = ReportTask.objects.get(pk=task.id)
        assert again.state == "queued" and again.active and "queued again" in again.message
        assert again.celery_task_id != first_message_id  # a new message
        assert ReportTask.objects.claim(task.id).runs == 2
    with later(2 * DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 2):
        assert ReportTask.objects.recover_stalled() == ([], [task.id])
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and failed.message == ReportTask.DIED_TWICE_MESSAGE
    assert api.list_report_tasks(COURSE_ID) == []  # the course can generate again
    assert api.request_report(COURSE_ID, None).id != task.id


def test_a_redelivered_message_of_a_dead_run_takes_over_as_the_check_would(course):
    task = api.request_report(COURSE_ID, None)
    ReportTask.objects.claim(task.id)
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        tasks.generate_proctored_exam_results_report(task.id)  # e.g. Redis' visibility timeout ran out
    done = ReportTask.objects.get(pk=task.id)
    assert (done.state, done.runs) == ("succeeded", 2) and Report.objects.count() == 1


def test_a_slow_original_never_records_a_second_report_once_taken_over(course):
    before = stored_files()
    task = api.request_report(COURSE_ID, None)
    original = ReportTask.objects.claim(task.id)
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        [requeued], _ = ReportTask.objects.recover_stalled()
        newer = ReportTask.objects.claim(task.id)
        report = reports.run_task(newer)
    assert report is not None
    # The original wakes up and finishes its file: it is deleted, nothing is recorded, the task stays done.
    assert reports.run_task(original) is None
    assert Report.objects.count() == 1 and ReportTask.objects.get(pk=task.id).state == "succeeded"
    assert len(stored_files()) == len(before) + 1


def test_a_taken_over_original_that_fails_does_not_fail_the_newer_run(course):
    task = api.request_report(COURSE_ID, None)
    original = ReportTask.objects.claim(task.id)
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        ReportTask.objects.recover_stalled()
        ReportTask.objects.claim(task.id)
    ReportTask.objects.fail(task.id, "The report could not be created.", run=original.runs)
    assert ReportTask.objects.get(pk=task.id).state == "running"


def test_the_half_written_file_of_a_killed_run_is_deleted_when_its_task_is_recovered(course):
    before = stored_files()
    task = api.request_report(COURSE_ID, None)
    ReportTask.objects.claim(task.id)
    # The run writes its file straight into storage, and is killed midway: neither completed nor aborted.
    key = report_storage_key(ReportTask.objects.get(pk=task.id).course_id, task.id, "report.csv")
    dead = LocalFileUpload(get_report_storage(), key)
    dead.write(b"user_email,exam_name\r\ncrash0@example.edu,Midterm")
    dead.file.flush()
    half_written = get_report_storage().path(dead.name)
    assert half_written in stored_files()
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        assert api.recover_stalled_report_tasks() == (1, 0)
    assert half_written not in stored_files()  # no learner's data left where no one lists it
    newer = ReportTask.objects.claim(task.id)
    assert reports.run_task(newer) is not None
    [report] = Report.objects.all()
    assert set(stored_files()) - set(before) == {get_report_storage().path(report.storage_key)}


def test_the_command_and_the_periodic_task_recover_dead_runs(course):
    task = api.request_report(COURSE_ID, None)
    ReportTask.objects.claim(task.id)
    out = io.StringIO()
    with later(DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 1):
        call_command("fail_stale_report_tasks", stdout=out)
    assert out.getvalue().splitlines() == [
        "Failed 0 stale report task(s).",
        "Queued 1 report task(s) again: their worker stopped.",
    ]
    assert ReportTask.objects.get(pk=task.id).state == "queued"
    ReportTask.objects.claim(task.id)
    with later(2 * DEFAULTS["REPORT_HEARTBEAT_TIMEOUT_SECONDS"] + 2):
        assert tasks.fail_stale_report_tasks() == {"failed": 1, "requeued": 0}
