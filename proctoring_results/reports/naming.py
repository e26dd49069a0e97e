"""Report file names (as Open edX names its reports) and the storage keys they are saved under."""

import itertools
import uuid
from datetime import timezone as dt_timezone

from django.utils.text import get_valid_filename

from ..models import Report, ReportTask

_DEFAULT_TYPE = ReportTask.ReportType.PROCTORED_EXAM_RESULTS


def course_filename_prefix(course_key):
    """
    The course id made safe for file names, as Open edX's ``course_filename_prefix_generator`` does.

    ``course-v1:edX+DemoX+2026`` gives ``edX_DemoX_2026``.
    """
    return get_valid_filename("_".join([course_key.org, course_key.course, course_key.run]))


def report_file_name(course_key, when, taken=(), report_type=_DEFAULT_TYPE):
    """
    ``{course_id}_{report_type}_{datetime}.csv``, the datetime in UTC (Open edX's format).

    For the Proctored Exam Results Report that is the seed's
    ``{course_id}_proctored_exam_results_report_{datetime}.csv``. Open edX
    stamps the minute. When a name is ``taken`` already (a second report of the
    course in the same minute) the seconds are added, then a counter, so no two
    links on the Data Download page read the same.
    """
    utc = when.astimezone(dt_timezone.utc)
    stem = f"{course_filename_prefix(course_key)}_{ReportTask.ReportType(report_type).value}_"
    candidates = itertools.chain(
        [f"{stem}{utc:%Y-%m-%d-%H%M}.csv", f"{stem}{utc:%Y-%m-%d-%H%M%S}.csv"],
        (f"{stem}{utc:%Y-%m-%d-%H%M%S}-{n}.csv" for n in itertools.count(2)),
    )
    return next(name for name in candidates if name not in taken)


def new_report_file_name(course_key, when, report_type=_DEFAULT_TYPE):
    """``report_file_name`` avoiding the names of the course's reports stamped with the same minute."""
    minute = report_file_name(course_key, when, report_type=report_type)[: -len(".csv")]
    taken = set(Report.objects.filter(course_id=course_key, file_name__startswith=minute)
                .values_list("file_name", flat=True))
    return report_file_name(course_key, when, taken=taken, report_type=report_type)


def report_storage_key(course_key, task_id, file_name):
    """
    Unique per task, so two reports made in the same minute never share an object.

    The random part keeps keys unique even if task ids restart (a database
    restored from a backup, a test database) while old objects remain.
    """
    return f"{course_filename_prefix(course_key)}/{task_id}-{uuid.uuid4().hex[:12]}/{file_name}"
