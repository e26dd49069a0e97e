"""
Sending a queued report task to the Celery workers, by the task's registered name.

By name, so no domain module imports ``tasks.py`` (the tasks call the domain,
never the reverse). ``signature(name).apply_async`` behaves as calling the task
object did: where the task is registered (the worker, and any process that
imported ``tasks.py``) it is the task's own ``apply_async``, with the host's
``task_routes`` and ``task_always_eager``; elsewhere it is ``send_task``, which
routes by name too. ``REPORT_CELERY_QUEUE`` names the queue when set.
"""

import logging

from celery import current_app
from kombu.exceptions import OperationalError as BrokerError

from ..conf import app_settings
from ..models import ReportTask

log = logging.getLogger("proctoring_results.reports")

#: The registered name of the Celery task that builds a report (``tasks.py``).
GENERATE_TASK = "proctoring_results.generate_proctored_exam_results_report"

QUEUE_UNAVAILABLE = "The report could not be queued: the task queue is unavailable. Try again later."


class QueueUnavailable(Exception):
    """The broker did not take the task; the task has been marked failed with ``QUEUE_UNAVAILABLE``."""


def send(task):
    """Send the Celery task for a queued ``ReportTask``; on a broker failure fail the task, so none stays queued."""
    options = {"task_id": task.celery_task_id}
    if app_settings.REPORT_CELERY_QUEUE:
        options["queue"] = app_settings.REPORT_CELERY_QUEUE
    try:
        current_app.signature(GENERATE_TASK).apply_async(
            args=[task.pk],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
            **options,
        )
    except (BrokerError, OSError) as exc:
        log.error("Could not queue report task %s: %s", task.pk, type(exc).__name__)
        ReportTask.objects.fail(task.pk, QUEUE_UNAVAILABLE)
        raise QueueUnavailable(QUEUE_UNAVAILABLE) from None
