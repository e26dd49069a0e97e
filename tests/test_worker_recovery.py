"""
Crash recovery with real worker processes, on the configured broker (Redis in the PostgreSQL
and MariaDB runs, the demo's file-system broker in the SQLite run).

Issue 14's row: the whole worker process killed mid-report (SIGKILL, the main
process: ``--pool=solo`` runs the report in it) left the task "running" and
Generate answering 409 for an hour. Here a second worker runs Celery beat as
the demo does; the workers beat every second and are taken for dead after
four (``PROCTORING_RESULTS_TEST_FAST_RECOVERY``, tests/settings.py), so the
real path takes seconds; ``test_report_recovery.py`` checks that the defaults
keep it under two minutes.
"""

import time

import pytest

from proctoring_results import api
from proctoring_results.models import Report, ReportTask

from .services import wait_until
from .test_reports import stored_files
from .test_tasks_worker import COURSE_ID, expected_rows, finished, parse, seed_course

pytestmark = [pytest.mark.worker, pytest.mark.system, pytest.mark.django_db(transaction=True)]

FAST = {"PROCTORING_RESULTS_TEST_FAST_RECOVERY": "1"}


def storing(task_id):
    """The task once its CSV is written (6 rows) and it is storing the file."""
    task = api.get_report_task(task_id)
    return task if task.state == "running" and task.rows_done == 6 else None


def test_a_worker_killed_mid_report_is_recovered_within_two_minutes_with_exactly_one_report(celery_worker_factory):
    seed_course()
    doomed = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY=60, **FAST)
    task = api.request_report(COURSE_ID, None)
    wait_until(lambda: storing(task.id), timeout=60, message="the report to be storing its file")
    doomed.kill()  # SIGKILL to the worker's main process, which runs the report
    killed_at = time.monotonic()
    rescuer = celery_worker_factory(beat=True, **FAST)
    done = wait_until(lambda: finished(task.id), timeout=120, message="the recovered report")
    assert time.monotonic() - killed_at < 120
    assert done.state == "succeeded", (done.message, rescuer.log()[-3000:])
    assert ReportTask.objects.get(pk=task.id).runs == 2
    [report] = api.list_reports(COURSE_ID)
    assert Report.objects.count() == 1
    from proctoring_results.storage import get_report_storage

    with get_report_storage().open(report.storage_key) as fh:
        assert parse(fh.read())[1:] == expected_rows()
    # And the course can generate again.
    again = api.request_report(COURSE_ID, None)
    assert wait_until(lambda: finished(again.id), timeout=60, message="the next report").state == "succeeded"


def test_a_run_that_dies_twice_is_failed_with_a_message(celery_worker_factory):
    seed_course()
    first = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY=60, **FAST)
    task = api.request_report(COURSE_ID, None)
    wait_until(lambda: storing(task.id), timeout=60, message="the first run to be storing")
    first.kill()
    # The second worker stores slowly too, and is killed as well once it has taken the task over.
    second = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY=60, beat=True, **FAST)
    wait_until(
        lambda: ReportTask.objects.filter(pk=task.id, runs=2, rows_done=6).exists(),
        timeout=90,
        message="the second run to be storing",
    )
    second.kill()
    celery_worker_factory(beat=True, **FAST)
    failed = wait_until(lambda: finished(task.id), timeout=90, message="the task to be failed")
    assert failed.state == "failed" and failed.message == ReportTask.DIED_TWICE_MESSAGE
    assert Report.objects.count() == 0 and api.list_report_tasks(COURSE_ID) == []


def test_a_slow_but_live_original_never_records_a_second_report(celery_worker_factory):
    """Frozen (SIGSTOP) while storing, it stops beating; a newer run takes over; thawed, it records nothing."""
    seed_course()
    before = stored_files()
    original = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY=8, **FAST)
    task = api.request_report(COURSE_ID, None)
    wait_until(lambda: storing(task.id), timeout=60, message="the original run to be storing")
    original.pause()
    try:
        rescuer = celery_worker_factory(beat=True, **FAST)
        done = wait_until(lambda: finished(task.id), timeout=90, message="the newer run")
        assert done.state == "succeeded", (done.message, rescuer.log()[-3000:])
    finally:
        original.resume()
    wait_until(lambda: "was taken over or stopped" in original.log(), timeout=60, message="the original to give up")
    assert Report.objects.count() == 1 and ReportTask.objects.get(pk=task.id).runs == 2
    assert len(stored_files()) == len(before) + 1  # the original's file was deleted
