"""
Copy edx-proctoring's exams, attempts, reviews and comments into proctoring_results.

See docs/howto/import_edx_proctoring.rst.
"""

from django.core.management.base import BaseCommand, CommandError

from proctoring_results import api
from proctoring_results.exceptions import InvalidImportSource


class Command(BaseCommand):
    help = (
        "Import exams, attempts (statuses mapped to the ten of proctoring_results), reviews and review "
        "comments from edx-proctoring's tables. Safe to run again: rows are matched on edx-proctoring's "
        "course/content ids, attempt codes and review ids. Each batch is committed on its own."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            default="default",
            help="Alias in settings.DATABASES of the database holding edx-proctoring's tables.",
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows read and committed at a time.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be imported; write nothing.")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Continue an interrupted import: skip rows already imported instead of refreshing them.",
        )
        parser.add_argument(
            "--match-users-by",
            choices=("id", "username", "email"),
            default="id",
            help="How learners in the source are found here (id suits the LMS's own database).",
        )
        parser.add_argument(
            "--map-status",
            action="append",
            default=[],
            metavar="EDX_STATUS=OUR_STATUS",
            help="Override the status mapping, e.g. --map-status declined=error (repeatable).",
        )

    def handle(self, *args, database, batch_size, dry_run, resume, match_users_by, map_status, **options):
        verbose = options["verbosity"] >= 2

        def progress(kind, counts):
            if verbose:
                self.stdout.write(f"  {kind}: {counts.read} read")

        try:
            summary = api.import_edx_proctoring(
                database,
                batch_size=batch_size,
                dry_run=dry_run,
                resume=resume,
                match_users_by=match_users_by,
                status_overrides=map_status,
                progress=progress,
            )
        except InvalidImportSource as exc:
            raise CommandError(str(exc)) from None
        heading = "Dry run: nothing was written." if summary.dry_run else "Imported from edx-proctoring."
        self.stdout.write(f"{heading} (database '{summary.database}'{', resumed' if summary.resume else ''})")
        width = max(len(c.kind) for c in summary.counts)
        create, update = ("would create", "would update") if summary.dry_run else ("created", "updated")
        for c in summary.counts:
            skipped = sum(c.skipped.values())
            line = (
                f"{c.kind:<{width}}  read {c.read}, {create} {c.created}, {update} {c.updated}, "
                f"unchanged {c.unchanged}, skipped {skipped}"
            )
            if c.skipped:
                line += " (" + ", ".join(f"{reason}: {n}" for reason, n in c.skipped.items()) + ")"
            self.stdout.write(line)
        if summary.unknown_statuses:
            listed = ", ".join(f"'{status}': {n}" for status, n in summary.unknown_statuses.items())
            self.stdout.write(f"Unknown edx-proctoring statuses, imported as 'error': {listed}")
