"""Report file names (as Open edX names its reports) and the storage keys they are saved under."""

import hashlib
import itertools
import uuid
from datetime import timezone as dt_timezone

from django.utils.text import get_valid_filename

from ..models import Report, ReportTask

_DEFAULT_TYPE = ReportTask.ReportType.PROCTORED_EXAM_RESULTS


#: File systems allow 255 bytes in a name. The course's part of a report's name (and of its
#: storage folder) is kept to this many bytes, which leaves room for the rest of the name.
MAX_PREFIX_BYTES = 180
MAX_FILE_NAME_BYTES = 255
#: Hex digits of the course id's SHA-256 that end a shortened prefix.
PREFIX_HASH_CHARS = 10


def course_filename_prefix(course_key):
    """
    The course id made safe for file names, as Open edX's ``course_filename_prefix_generator`` does.

    ``course-v1:edX+DemoX+2026`` gives ``edX_DemoX_2026``. A prefix longer than
    ``MAX_PREFIX_BYTES`` (a valid course key may have 255 characters, not all
    ASCII) is cut to fit and ends with ``_`` and a hash of the whole course id,
    so it stays the same for the course and differs between courses that only
    differ past the cut.
    """
    prefix = get_valid_filename("_".join([course_key.org, course_key.course, course_key.run]))
    encoded = prefix.encode()
    if len(encoded) <= MAX_PREFIX_BYTES:
        return prefix
    digest = hashlib.sha256(str(course_key).encode()).hexdigest()[:PREFIX_HASH_CHARS]
    kept = encoded[: MAX_PREFIX_BYTES - PREFIX_HASH_CHARS - 1].decode("utf-8", errors="ignore")
    return f"{kept}_{digest}"


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
    taken = set(
        Report.objects.filter(course_id=course_key, file_name__startswith=minute).values_list("file_name", flat=True)
    )
    return report_file_name(course_key, when, taken=taken, report_type=report_type)


def report_storage_key(course_key, task_id, file_name):
    """
    Unique per task, so two reports made in the same minute never share an object.

    The random part keeps keys unique even if task ids restart (a database
    restored from a backup, a test database) while old objects remain.
    """
    return f"{course_filename_prefix(course_key)}/{task_id}-{uuid.uuid4().hex[:12]}/{file_name}"


def task_storage_dirs(course_key, task_id):
    """Where ``report_storage_key`` puts a task's runs: the course's directory, and how their directory names start."""
    return course_filename_prefix(course_key), f"{task_id}-"
