"""Retention: delete reports older than REPORT_RETENTION_DAYS, the stored file and its row together."""

from django.core.management.base import BaseCommand

from proctoring_results import api
from proctoring_results.conf import app_settings


class Command(BaseCommand):
    help = (
        "Delete Proctored Exam Results Reports older than REPORT_RETENTION_DAYS (file and row). "
        "A file that cannot be deleted keeps its row, so the next run tries again."
    )

    def handle(self, **options):
        if app_settings.REPORT_RETENTION_DAYS is None:
            self.stdout.write("REPORT_RETENTION_DAYS is None: reports are kept forever; nothing deleted.")
            return
        count = api.delete_expired_reports()
        self.stdout.write(f"Deleted {count} report(s) older than {app_settings.REPORT_RETENTION_DAYS} days.")
