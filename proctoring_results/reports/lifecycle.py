"""
A running report task's side of its lifecycle: the heartbeat, and progress writes that stop a run taken over.

Each start of a task is a numbered run (``ReportTask.runs``) that beats while it
works (``Heartbeat`` and every progress write). The lifecycle's queries are
``ReportTask.objects`` methods (``claim``, ``beat``, ``fail``, ``fail_stale``,
``recover_stalled``) and ``Report.objects.delete_expired`` (models.py), as
django-celery-results keeps its queries on its managers. The periodic check
queues a run that stopped beating again once; a run that was taken over never
records a report (``TakenOver``, checked in ``build.run_task``).
"""

import logging
import threading
from contextlib import contextmanager

from django.db import DatabaseError, connections, router
from django.utils import timezone

from ..conf import app_settings
from ..models import Report, ReportTask
from ..storage import delete_quietly, get_report_storage, writes_into_final_files
from .naming import task_storage_dirs

log = logging.getLogger("proctoring_results.reports")


class TakenOver(Exception):
    """This run of a task was recovered and handed to a newer run (or the task ended meanwhile)."""


def record_progress(task):
    """``on_progress`` for a run: each write also carries the heartbeat, and stops a run that was taken over."""

    def on_progress(rows_done, rows_total):
        if not ReportTask.objects.beat(task.pk, task.runs, timezone.now(), rows_done=rows_done, rows_total=rows_total):
            raise TakenOver()

    return on_progress


class Heartbeat(threading.Thread):
    """
    Refreshes a running task's heartbeat every ``REPORT_HEARTBEAT_SECONDS``, from its own connection.

    The report's progress writes carry the heartbeat too, but one long query
    (the count, the first row of a COPY, an upload) can outlast a timeout;
    this thread keeps beating meanwhile. It stops when told to, or when the
    task was taken over (``lost``). A failed write (e.g. SQLite busy) is tried
    again at the next beat.
    """

    def __init__(self, task):
        super().__init__(name=f"report-task-{task.pk}-heartbeat", daemon=True)
        self.task_id, self.run_number = task.pk, task.runs
        self.interval = max(1, app_settings.REPORT_HEARTBEAT_SECONDS)  # never a busy loop on the database
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(self.interval):
                try:
                    if not ReportTask.objects.beat(self.task_id, self.run_number, timezone.now()):
                        self.lost.set()
                        return
                except DatabaseError as exc:
                    log.warning("Report task %s: heartbeat not written (%s).", self.task_id, type(exc).__name__)
                    connections[router.db_for_write(ReportTask)].close()
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self):
        self.stopped.set()
        self.join(timeout=self.interval + 30)


@contextmanager
def heartbeat(task):
    """A ``Heartbeat`` for the task while the block runs, where the task's rows are visible to other connections."""
    if connections[router.db_for_write(ReportTask)].in_atomic_block:
        yield None  # inside the caller's transaction (tests, a command in atomic()): no other connection sees it
        return
    beat = Heartbeat(task)
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()


def delete_files_of_dead_runs(task):
    """
    Delete the files that runs of ``task`` left in report storage without a ``Report``; return how many.

    A local report is written straight into its file (``storage.LocalFileUpload``),
    so a worker killed midway leaves a partial file holding learners' data that
    no one lists. Called when a task whose worker died is queued again or failed
    (``api.recover_stalled_report_tasks``). A killed S3 upload left no object
    (its parts go with the bucket's lifecycle rule, docs/operations.rst), and
    buckets are never listed.
    """
    storage = get_report_storage()
    if not writes_into_final_files(storage):
        return 0
    course_dir, run_dir_start = task_storage_dirs(task.course_id, task.pk)
    recorded = set(Report.objects.filter(task_id=task.pk).values_list("storage_key", flat=True))
    deleted = 0
    try:
        run_dirs = [d for d in storage.listdir(course_dir)[0] if d.startswith(run_dir_start)]
        for run_dir in run_dirs:
            for file_name in storage.listdir(f"{course_dir}/{run_dir}")[1]:
                key = f"{course_dir}/{run_dir}/{file_name}"
                if key not in recorded and delete_quietly(storage, key):
                    deleted += 1
    except FileNotFoundError:
        pass  # nothing was ever stored for the course
    except Exception as exc:  # noqa: BLE001 - recovery goes on; the retention command or lifecycle rule remains
        log.warning("Report task %s: files of dead runs not checked (%s).", task.pk, type(exc).__name__)
    return deleted
