"""
Celery tasks: thin wrappers around ``api.py``.

Report tasks are acknowledged late and rejected when the worker is lost. A
running task beats (``reports.Heartbeat``); the periodic ``fail_stale_report_tasks``
queues again, once, a task whose heartbeat stopped (docs/operations.rst, "When
a worker dies"). ``ReportTask.objects.claim`` makes any other delivery of a task
that ended or is alive elsewhere do nothing, and ``Report.task`` being
one-to-one means a task can never have two reports.
"""

from celery import shared_task

from . import api
from .exceptions import ReportGenerationFailed, ReportTaskNotFound


@shared_task(
    name="proctoring_results.generate_proctored_exam_results_report",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def generate_proctored_exam_results_report(task_id):
    try:
        api.generate_report_now(task_id)
    except (ReportGenerationFailed, ReportTaskNotFound):
        # Already recorded on the task (or nothing to record); retrying would fail the same way.
        pass


@shared_task(name="proctoring_results.fail_stale_report_tasks", ignore_result=True)
def fail_stale_report_tasks():
    """The periodic check: fail tasks past the time limit, then recover those whose worker died."""
    failed = api.fail_stale_report_tasks()
    requeued, failed_again = api.recover_stalled_report_tasks()
    return {"failed": failed + failed_again, "requeued": requeued}


# edx-proctoring sync (openedx/sync.py): sent by name from the LMS's model signals and by Celery beat.
# The body lives with the Open edX face; these only name the tasks. Acknowledged late, so a change
# whose worker died is delivered again (applying a change twice writes once).


@shared_task(
    name="proctoring_results.sync_edx_proctoring_changes",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def sync_edx_proctoring_changes(changes):
    from .openedx import sync

    sync.apply_changes([tuple(change) for change in changes])


@shared_task(name="proctoring_results.reconcile_edx_proctoring", ignore_result=True)
def reconcile_edx_proctoring(full=False):
    from .openedx import sync

    sync.reconcile_due() if not full else sync.reconcile(full=True)
