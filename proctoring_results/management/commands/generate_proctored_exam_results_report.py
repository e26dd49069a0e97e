"""Build a course's Proctored Exam Results Report now, in this process, through the same pipeline as the task."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from proctoring_results import api
from proctoring_results.exceptions import ProctoringResultsError


class Command(BaseCommand):
    help = (
        "Generate the Proctored Exam Results Report of a course synchronously, store it like the dashboard's "
        "and print its file name; with --stdout, write the CSV to standard output instead (nothing stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("course_id", help="Course key, e.g. course-v1:edX+DemoX+2026.")
        parser.add_argument(
            # The alias sorts before "--stdout", so call_command() keeps mapping its own
            # ``stdout=`` keyword to the output stream rather than to this flag.
            "--stdout",
            "--csv-to-stdout",
            dest="to_stdout",
            action="store_true",
            help="Write the CSV to standard output; store nothing.",
        )
        parser.add_argument(
            "--extra-columns",
            default=None,
            help=f"Comma-separated opt-in columns ({', '.join(api.report_extra_columns())}); "
            "defaults to the REPORT_EXTRA_COLUMNS setting.",
        )
        parser.add_argument(
            "--column-profile",
            default=None,
            help="The report's columns: seed (the documented 8) or lms (the LMS's own report's header and cells); "
            "defaults to the REPORT_COLUMN_PROFILE setting.",
        )
        parser.add_argument("--requester", default=None, help="Username recorded as the report's requester.")

    def handle(self, course_id, to_stdout=False, extra_columns=None, requester=None, column_profile=None, **options):
        try:
            if not api.course_has_exams(course_id):
                raise CommandError(f"No proctored exams in course {api.parse_course_id(course_id)}: unknown course.")
            if to_stdout:
                out = getattr(self.stdout, "_out", sys.stdout)
                buffer = getattr(out, "buffer", None)
                if buffer is not None:
                    api.write_report_csv(course_id, buffer, extra_columns=extra_columns, column_profile=column_profile)
                    buffer.flush()
                else:  # a text stream (call_command(stdout=StringIO())): decode as we go
                    api.write_report_csv(
                        course_id, _TextWriter(out), extra_columns=extra_columns, column_profile=column_profile
                    )
                return
            user = self._requester(requester)
            report = api.generate_report(course_id, user, extra_columns=extra_columns, column_profile=column_profile)
        except ProctoringResultsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.file_name)

    def _requester(self, username):
        if not username:
            return None
        try:
            return get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: username})
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None


class _TextWriter:
    """Adapts a text stream to the binary ``write`` the report writer calls."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        self.stream.write(bytes(data).decode("utf-8"))
