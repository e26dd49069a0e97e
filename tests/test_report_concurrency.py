"""
A report being made never keeps anyone else from writing: clicks and callbacks answer at once.

On SQLite (the embedded default, and this suite's default database: a file,
so the worker and the live server share it) the rows must not be read on the
connection that commits the task's progress, or the progress write holds the
database's write lock until the last row is read.
"""

import threading
import time

import pytest
import requests
from django.db import connection

from proctoring_results import reports
from proctoring_results.models import ReportTask
from proctoring_results.reports.writers import common as report_writers
from proctoring_results.reports.writers import postgresql as postgresql_writer

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
API = "/api/proctoring-results/v1"


def test_while_a_report_reads_its_rows_others_can_write(settings, monkeypatch):
    """Mid-report, with progress just committed as the worker does, another connection writes without waiting."""
    settings.PROCTORING_RESULTS = {"REPORT_PROGRESS_UPDATES": 5}
    # Rows read and written in several chunks, as a large course's are (progress is written between them).
    monkeypatch.setattr(report_writers, "CHUNK_ROWS", 10)
    monkeypatch.setattr(postgresql_writer, "COPY_FLUSH_ROWS", 10)
    exam = ProctoredExamFactory()
    for _ in range(50):
        ExamAttemptFactory(exam=exam)
    task = ReportTask.objects.create(course_id=COURSE_ID, state=ReportTask.State.RUNNING)
    waits = []

    def someone_else_writes():
        try:
            UserFactory()  # e.g. a review callback or a Generate click, on its own connection
        finally:
            connection.close()

    def on_progress(rows_done, rows_total):
        ReportTask.objects.filter(pk=task.pk).update(rows_done=rows_done, rows_total=rows_total)
        if 0 < rows_done < rows_total:
            other = threading.Thread(target=someone_else_writes)
            started = time.monotonic()
            other.start()
            other.join(5)
            waits.append(time.monotonic() - started if not other.is_alive() else None)
            other.join()

    class Sink:
        def write(self, data):
            pass

    assert reports.write_csv(exam.course_id, Sink(), on_progress=on_progress) == 50
    assert waits and None not in waits, f"a write waited for the report to finish reading: {waits}"
    assert max(waits) < 2


@pytest.mark.worker
def test_a_second_click_while_the_report_runs_answers_at_once(live_server, client, celery_worker_factory):
    """The page's Generate button, clicked again while the worker is making the report."""
    instructor = UserFactory(username="instructor")
    from proctoring_results import api

    api.grant_course_role(instructor, COURSE_ID, "instructor")
    exam = ProctoredExamFactory()
    for _ in range(5):
        ExamAttemptFactory(exam=exam)
    client.force_login(instructor)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    page = session.get(f"{live_server.url}/courses/{COURSE_ID}/instructor/data_download/", timeout=30)
    assert page.status_code == 200
    tasks_url = f"{live_server.url}{API}/courses/{COURSE_ID}/report-tasks/"

    def click():
        started = time.monotonic()
        response = session.post(tasks_url, json={}, timeout=60, headers={"X-CSRFToken": session.cookies["csrftoken"]})
        return response, time.monotonic() - started

    # A real worker, storing the file slowly (6 s), so the task is seen running.
    celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY="6")
    first, _ = click()
    assert first.status_code == 202
    task_id = first.json()["task"]["id"]

    def running():
        return [t for t in session.get(tasks_url, timeout=30).json()["tasks"] if t["state"] == "running"]

    wait_until(running, timeout=60, message="the task to be running")
    again, took = click()
    assert again.status_code == 409 and again.json()["message"] == SEED_MESSAGE
    assert again.json()["task"]["id"] == task_id and again.json()["task"]["state"] == "running"
    assert took < 2, f"the second click took {took:.1f} s"
    wait_until(lambda: not session.get(tasks_url, timeout=30).json()["tasks"], timeout=60, message="the task to end")
    assert ReportTask.objects.get().state == ReportTask.State.SUCCEEDED
    listing = session.get(f"{live_server.url}{API}/courses/{COURSE_ID}/reports/", timeout=30).json()
    assert listing["count"] == 1
