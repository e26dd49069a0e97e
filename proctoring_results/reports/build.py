"""
A claimed task's report, built end to end: the CSV into report storage (on S3 uploaded while it is
written), then the ``Report`` row and the task's success, committed together.
"""

import hashlib
import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..exceptions import InvalidReportOptions
from ..models import Report, ReportTask
from ..storage import ReportUploadError, delete_quietly, get_report_storage, report_upload
from .lifecycle import TakenOver, heartbeat, record_progress
from .naming import new_report_file_name, report_storage_key
from .specs import spec_for
from .versions import course_data_version
from .writers import write_csv

log = logging.getLogger("proctoring_results.reports")


class GenerationError(Exception):
    """A report could not be generated; ``str()`` is the short message for Pending Tasks."""


class _Sink:
    """A binary file that also computes the size and SHA-256 of what is written."""

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        self.fileobj.write(data)


def run_task(task, data_version=""):
    """
    Build the CSV of a claimed task into report storage, and record the Report.

    On S3 the file is uploaded in parts as it is written, and the upload is
    aborted if anything fails before it completes; elsewhere it is saved once
    complete (``storage.report_upload``). The Report row and the task's
    success are committed together, and the object is deleted if that commit
    fails. Returns the Report, or None when the task was stopped meanwhile
    (failed as stale, or this run taken over by a newer one after a recovery:
    a slow but live run never records a second report). Raises
    ``GenerationError`` on failure, after marking the task failed and removing
    anything stored. ``data_version`` is recorded on the Report (``course_data_version``).
    """
    storage = get_report_storage()
    saved_name = None
    stage = "reading the course's attempts"
    try:
        spec = spec_for(task.report_type, task.options.get("column_profile"))
        extra_columns = spec.validate_extra_columns(task.options.get("extra_columns") or [])
        data_version = data_version or course_data_version(
            task.course_id,
            extra_columns,
            task.report_type,
            task.options.get("column_profile"),
        )
        now = timezone.now()
        file_name = new_report_file_name(task.course_id, now, report_type=task.report_type)
        with heartbeat(task) as beat:
            with report_upload(storage, report_storage_key(task.course_id, task.pk, file_name)) as upload:
                sink = _Sink(upload)
                rows = write_csv(
                    spec, task.course_id, sink, extra_columns=extra_columns, on_progress=record_progress(task)
                )
                stage = "storing the file"
            saved_name = upload.name
            if beat is not None and beat.lost.is_set():
                raise TakenOver()
        stage = "recording the report"
        with transaction.atomic():
            locked = ReportTask.objects.select_for_update().get(pk=task.pk)
            if locked.state != ReportTask.State.RUNNING or locked.runs != task.runs:
                raise TakenOver()
            report = Report.objects.create(
                task=locked,
                course_id=locked.course_id,
                report_type=locked.report_type,
                file_name=file_name,
                storage_key=saved_name,
                size_bytes=sink.size,
                row_count=rows,
                checksum_sha256=sink.sha256.hexdigest(),
                requester_id=locked.requester_id,
                created=now,
                data_version=data_version,
            )
            locked.state = ReportTask.State.SUCCEEDED
            locked.rows_done = rows
            locked.rows_total = rows
            locked.finished_at = timezone.now()
            locked.message = ""
            locked.save(update_fields=["state", "rows_done", "rows_total", "finished_at", "message"])
        return report
    except TakenOver:
        if saved_name is not None:
            delete_quietly(storage, saved_name)
        log.info("Report task %s: run %s was taken over or stopped; nothing recorded.", task.pk, task.runs)
        return None
    except Exception as exc:
        if saved_name is not None:
            delete_quietly(storage, saved_name)
        cause = exc
        if isinstance(exc, ReportUploadError):  # raised by the upload, maybe while the rows were read
            stage, cause = "storing the file", exc.__cause__
        kind = "database error" if isinstance(cause, DatabaseError) else type(cause).__name__
        if isinstance(exc, InvalidReportOptions):
            message = f"The report could not be created: {exc}"
        else:
            message = (
                f"The report could not be created ({kind} while {stage}). "
                "Try again; if it fails again, contact support."
            )
        # Only the exception's type reaches the log: its text may quote a learner's data.
        log.error("Report task %s failed while %s: %s", task.pk, stage, type(exc).__name__)
        ReportTask.objects.fail(task.pk, message, run=task.runs)
        raise GenerationError(message) from exc
