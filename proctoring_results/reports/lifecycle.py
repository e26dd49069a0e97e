"""
A report task's lifecycle: claim, progress, fail, stale, and the reports' retention.

(Moving onto the ``ReportTask`` and ``Report`` managers: issue 15.)
"""

import logging
from datetime import timedelta

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..models import Report, ReportTask
from ..storage import delete_quietly, get_report_storage

log = logging.getLogger("proctoring_results.reports")


def claim_task(task_id):
    """
    Mark a queued (or redelivered running) task as running; None when there is nothing to do.

    A redelivered message for a task that already succeeded or failed does
    nothing, so late acknowledgement can never make a second report.
    """
    with transaction.atomic():
        task = ReportTask.objects.select_for_update().filter(pk=task_id).first()
        if task is None or task.state not in ReportTask.ACTIVE_STATES:
            return None
        task.state = ReportTask.State.RUNNING
        task.started_at = timezone.now()
        task.rows_done = 0
        task.rows_total = None
        task.message = ""
        task.save(update_fields=["state", "started_at", "rows_done", "rows_total", "message"])
    return task


def record_progress(task_id):
    def on_progress(rows_done, rows_total):
        ReportTask.objects.filter(pk=task_id, state=ReportTask.State.RUNNING).update(
            rows_done=rows_done, rows_total=rows_total,
        )
    return on_progress


def fail_task(task_id, message):
    """Mark an active task failed with a short message (no personal data)."""
    def update():
        return ReportTask.objects.filter(pk=task_id, state__in=ReportTask.ACTIVE_STATES).update(
            state=ReportTask.State.FAILED, message=message[:500], finished_at=timezone.now(),
        )

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
