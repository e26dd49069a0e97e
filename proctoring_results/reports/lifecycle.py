"""
A report task's lifecycle: claim, progress and heartbeat, fail, stale, recovery, and the reports' retention.

Each start of a task is a numbered run (``ReportTask.runs``) that beats while it
works (``Heartbeat`` and every progress write). The periodic check queues a run
that stopped beating again once (``recover_stalled_tasks``); a run that was
taken over never records a report (``TakenOver``, checked in ``build.run_task``).

(Moving onto the ``ReportTask`` and ``Report`` managers: issue 15.)
"""

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..models import Report, ReportTask
from ..storage import delete_quietly, get_report_storage

log = logging.getLogger("proctoring_results.reports")


#: A task is started at most this many times: a worker dying under it queues it again once.
MAX_RUNS = 2

REQUEUED_MESSAGE = "The worker running this report stopped; the report was queued again."
DIED_TWICE_MESSAGE = (
    "The report was stopped twice because the worker running it stopped (e.g. it ran out of memory or was "
    "restarted). Generate it again; if it fails again, contact support."
)


class TakenOver(Exception):
    """This run of a task was recovered and handed to a newer run (or the task ended meanwhile)."""


def _stall_cutoff(now):
    return now - timedelta(seconds=app_settings.REPORT_HEARTBEAT_TIMEOUT_SECONDS)


def claim_task(task_id, now=None):
    """
    Mark a queued task as running, as its next run; None when there is nothing to do.

    A message for a task that already succeeded or failed does nothing, and so
    does one for a task running with a fresh heartbeat (a duplicate delivery:
    the broker's redelivery, or a recovery that raced a slow but live run). A
    running task whose heartbeat is stale is taken over, as ``recover_stalled_tasks``
    would, or failed if it already ran ``MAX_RUNS`` times. So late
    acknowledgement can never make a second report.
    """
    now = now or timezone.now()
    with transaction.atomic():
        task = ReportTask.objects.select_for_update().filter(pk=task_id).first()
        if task is None or task.state not in ReportTask.ACTIVE_STATES:
            return None
        if task.state == ReportTask.State.RUNNING:
            if not ReportTask.objects.stalled(_stall_cutoff(now)).filter(pk=task.pk).exists():
                return None
            if task.runs >= MAX_RUNS:
                _end(task, ReportTask.State.FAILED, DIED_TWICE_MESSAGE, now)
                return None
        task.state = ReportTask.State.RUNNING
        task.started_at = now
        task.heartbeat_at = now
        task.runs += 1
        task.rows_done = 0
        task.rows_total = None
        task.message = ""
        task.save(update_fields=["state", "started_at", "heartbeat_at", "runs", "rows_done", "rows_total", "message"])
    return task


def _end(task, state, message, now):
    task.state = state
    task.message = message[:500]
    task.finished_at = now
    task.save(update_fields=["state", "message", "finished_at"])


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


def fail_task(task_id, message, run=None):
    """Mark an active task failed with a short message (no personal data); ``run``: only while that run has it."""
    def update():
        tasks = ReportTask.objects.filter(pk=task_id, state__in=ReportTask.ACTIVE_STATES)
        if run is not None:
            tasks = tasks.filter(runs=run)
        return tasks.update(state=ReportTask.State.FAILED, message=message[:500], finished_at=timezone.now())

    try:
        return update()
    except DatabaseError:
        # The failure being recorded may be the lost connection itself: Django does not
        # reconnect on its own outside a transaction, so open a new one, once.
        connection = connections[router.db_for_write(ReportTask)]
        if connection.in_atomic_block:
            raise
        connection.close()
        return update()


def fail_stale_tasks(now=None):
    """Fail tasks queued or running longer than ``REPORT_TASK_TIME_LIMIT_SECONDS``; return their ids."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=app_settings.REPORT_TASK_TIME_LIMIT_SECONDS)
    stale = ReportTask.objects.filter(
        Q(state=ReportTask.State.QUEUED, created__lt=cutoff)
        | Q(state=ReportTask.State.RUNNING, started_at__lt=cutoff)
    )
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        ReportTask.objects.filter(pk__in=ids, state__in=ReportTask.ACTIVE_STATES).update(
            state=ReportTask.State.FAILED, finished_at=now,
            message="The report took too long and was stopped. Generate it again.",
        )
        log.warning("Failed %d stale report task(s): %s", len(ids), ids)
    return ids


def recover_stalled_tasks(now=None):
    """
    Running tasks silent for ``REPORT_HEARTBEAT_TIMEOUT_SECONDS`` (their worker died): queue each again once.

    Returns ``(requeued, failed)``: the tasks put back in the queue (the caller
    sends their messages, with new Celery ids), and the ids of those failed
    because they had already run ``MAX_RUNS`` times.
    """
    now = now or timezone.now()
    cutoff = _stall_cutoff(now)
    requeued, failed = [], []
    for task_id in ReportTask.objects.stalled(cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            task = ReportTask.objects.select_for_update().stalled(cutoff).filter(pk=task_id).first()
            if task is None:
                continue  # it beat, or ended, meanwhile
            if task.runs >= MAX_RUNS:
                _end(task, ReportTask.State.FAILED, DIED_TWICE_MESSAGE, now)
                failed.append(task.pk)
                continue
            task.state = ReportTask.State.QUEUED
            task.heartbeat_at = None
            task.message = REQUEUED_MESSAGE
            task.celery_task_id = str(uuid.uuid4())
            task.save(update_fields=["state", "heartbeat_at", "message", "celery_task_id"])
            requeued.append(task)
    if requeued or failed:
        log.warning("Report tasks whose worker stopped: queued again %s, failed %s.",
                    [t.pk for t in requeued], failed)
    return requeued, failed


def delete_expired(now=None):
    """Delete reports older than ``REPORT_RETENTION_DAYS``, file then row; return how many went."""
    days = app_settings.REPORT_RETENTION_DAYS
    if days is None:
        return 0
    now = now or timezone.now()
    storage = get_report_storage()
    deleted = 0
    for report in Report.objects.filter(created__lt=now - timedelta(days=days)).order_by("created", "id"):
        # A file that cannot be deleted keeps its row, so the next run tries again.
        if delete_quietly(storage, report.storage_key):
            report.delete()
            deleted += 1
    return deleted
