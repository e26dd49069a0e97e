"""The report pipeline through a real Celery worker process, end to end."""

import csv
import io

import pytest

from proctoring_results import api
from proctoring_results.storage import get_report_storage

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .services import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(task_id):
    task = api.get_report_task(task_id)
    return task if task.state in ("succeeded", "failed") else None


def test_a_requested_report_is_built_by_the_worker(celery_worker, tmp_path):
    exam = ProctoredExamFactory(exam_name="Midterm")
    ExamAttemptFactory(exam=exam, user=UserFactory(email="a@example.edu"))
    instructor = UserFactory(username="instructor")
    task = api.request_report(COURSE_ID, instructor)
    done = wait_until(lambda: finished(task.id), timeout=60, message="the report task to finish")
    assert done.state == "succeeded", (done.message, celery_worker.log()[-2000:])
    [report] = api.list_reports(COURSE_ID)
    with get_report_storage().open(report.storage_key) as fh:
        rows = list(csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline="")))
    assert rows[0][0] == "user_email" and rows[1][0] == "a@example.edu"
