"""Fail report tasks stuck queued or running, so the course can request a new report."""

from django.core.management.base import BaseCommand

from proctoring_results import api


class Command(BaseCommand):
    help = (
        "Mark report tasks queued or running longer than REPORT_TASK_TIME_LIMIT_SECONDS as failed, and queue "
        "again (once) running tasks whose heartbeat is older than REPORT_HEARTBEAT_TIMEOUT_SECONDS (their "
        "worker died). The periodic Celery task of the same name does the same."
    )

    def handle(self, **options):
        count = api.fail_stale_report_tasks()
        requeued, failed = api.recover_stalled_report_tasks()
        self.stdout.write(f"Failed {count + failed} stale report task(s).")
        if requeued:
            self.stdout.write(f"Queued {requeued} report task(s) again: their worker stopped.")
