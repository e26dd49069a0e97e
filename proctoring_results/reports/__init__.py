"""
Reports: what a report is made of, how its bytes are written, what its file is called, and how it is built.

- ``specs/``: one module per report type (``ReportTask.ReportType``), each a
  ``ReportSpec``: its columns as ORM expressions of the final cell text, its
  rows and their order. ``specs/proctored_exam_results_report.py`` is the seed's report.
- ``cells.py``: the expressions specs are built from (UTC timestamps, exact
  text, formula neutralisation, joined texts), the same text on every database.
- ``writers/``: the CSV, one writer per database (PostgreSQL COPY, MySQL/MariaDB
  keyset pages, any other through ``csv.writer``), all reading the spec's one query.
- ``naming.py``: file names and storage keys.
- ``build.py``: a claimed task's file: temporary file, storage, ``Report`` row.
- ``lifecycle.py``: claim, progress and heartbeat, fail, stale, recovery of dead runs, retention.
- ``queue.py``: sending a queued task to the workers, by the Celery task's registered name.
- ``versions.py``: whether the course changed since its newest report (Generate's "nothing changed").

Other modules use the names below; ``api.py`` is their door for host code.
"""

from ..models import ReportTask
from .build import GenerationError, run_task
from .lifecycle import TakenOver, delete_files_of_dead_runs
from .queue import QueueUnavailable, send
from .specs import DEFAULT_PROFILE, column_profiles, spec_for
from .versions import course_data_version
from .writers import write_csv as _write_csv

_DEFAULT_TYPE = ReportTask.ReportType.PROCTORED_EXAM_RESULTS

__all__ = [
    "DEFAULT_PROFILE",
    "GenerationError",
    "QueueUnavailable",
    "TakenOver",
    "column_profiles",
    "course_data_version",
    "delete_files_of_dead_runs",
    "run_task",
    "send",
    "spec_for",
    "validate_extra_columns",
    "write_csv",
]


def validate_extra_columns(extra_columns, report_type=_DEFAULT_TYPE, column_profile=None):
    """The asked-for extra columns of a report type (and column profile) in report order.

    Raises ``InvalidReportOptions`` for a column the type does not have.
    """
    return spec_for(report_type, column_profile).validate_extra_columns(extra_columns)


def write_csv(
    course_key,
    fileobj,
    *,
    extra_columns=(),
    on_progress=None,
    using=None,
    report_type=_DEFAULT_TYPE,
    column_profile=None,
):
    """Write a course's report to a binary file object; return the number of data rows (``writers``)."""
    return _write_csv(
        spec_for(report_type, column_profile),
        course_key,
        fileobj,
        extra_columns=extra_columns,
        on_progress=on_progress,
        using=using,
    )
