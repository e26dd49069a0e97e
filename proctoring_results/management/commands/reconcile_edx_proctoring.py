"""Bring this app up to date with edx-proctoring's tables now, and say how far behind it was.

docs/howto/install_openedx.rst, "The report stays current".
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run one reconciliation pass against edx-proctoring's tables (the one Celery beat runs every few "
        "minutes) and print how far behind this app was. --full compares every row; --status only prints "
        "where the last pass left things."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Compare every row, not only recently modified ones.")
        parser.add_argument("--status", action="store_true", help="Print the last pass's figures; change nothing.")

    def handle(self, *args, full, status, **options):
        if not apps.is_installed("edx_proctoring"):
            raise CommandError("edx-proctoring is not installed here; use import_edx_proctoring to copy its tables.")
        from proctoring_results.models import EdxProctoringSync
        from proctoring_results.openedx import sync

        if status:
            state = EdxProctoringSync.objects.filter(pk=EdxProctoringSync.ROW_ID).first()
        else:
            try:
                state = sync.reconcile(full=full)
            except Exception as exc:  # noqa: BLE001 - one sentence for the operator; the log has the rest
                raise CommandError(f"The reconciliation pass failed ({type(exc).__name__}); see the log.") from None
            if state is None:
                raise CommandError("Another reconciliation pass is running; try again when it has finished.")
        if state is None or state.last_pass_finished_at is None:
            self.stdout.write("No reconciliation pass has run yet.")
            return
        kind = "full" if state.last_pass_full else "incremental"
        self.stdout.write(
            f"Last pass ({kind}) finished {state.last_pass_finished_at.isoformat()}: read {state.last_pass_read} "
            f"rows, repaired {state.last_pass_repaired}, behind by {state.behind_seconds or 0:.1f} s."
        )
        if state.last_error:
            self.stdout.write(f"Last error: {state.last_error}")
