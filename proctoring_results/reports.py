"""
The Proctored Exam Results Report: its columns, the CSV, the file name, and
the pipeline that streams it from the database into report storage.

The columns are defined once, as one queryset whose annotations already
produce the final text of every cell (status words, UTC timestamps, formula
neutralisation). PostgreSQL runs that query inside ``COPY ... TO STDOUT`` and
the bytes are streamed as they come; MySQL/MariaDB reads the same query in
keyset pages (its driver holds a whole result set in memory); SQLite iterates
it through ``csv.writer``. All give the same bytes for the same data (tested),
so the fast path and the portable paths cannot drift apart.
"""

import csv
import hashlib
import io
import itertools
import logging
import tempfile
import uuid
from contextlib import contextmanager
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.core.files import File
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Aggregate, Case, CharField, Count, F, Func, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Length, NullIf, Substr
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.text import get_valid_filename

from . import statuses
from .conf import app_settings
from .exceptions import InvalidReportOptions
from .models import ExamAttempt, ProctoredExam, Report, ReportTask, Review, ReviewFlag
from .storage import delete_quietly, get_report_storage

log = logging.getLogger(__name__)

REPORT_NAME = "proctored_exam_results_report"

#: The seed's columns, in the seed's order (proctored_session_results.rst).
HEADER = (
    "user_email", "exam_name", "attempt_code", "allowed_time_limit_mins",
    "is_sample_attempt", "started_at", "completed_at", "status",
)

#: Opt-in columns, appended after the seed's in this order; never in the default report.
EXTRA_COLUMNS = ("username", "review_result", "flag_count", "flag_comments", "provider")

#: A text cell starting with one of these is run as a formula by spreadsheets
#: (OWASP "CSV injection"); the full-width forms are folded to ASCII by some of them.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Rows fetched per round trip on the portable path, and rows per keyset page on MySQL/MariaDB.
CHUNK_ROWS = 2000

#: Separator of the joined flag comments (a literal in MySQL's GROUP_CONCAT, so a constant).
COMMENT_SEPARATOR = "; "

#: MySQL cuts GROUP_CONCAT at ``group_concat_max_len`` bytes (1024 by default on MySQL 8)
#: with only a warning; the report raises it for its session, so a long list of comments
#: is never silently cut (a cell is still bounded by the server's ``max_allowed_packet``).
MYSQL_GROUP_CONCAT_MAX_LEN = 2**32 - 1

#: Rows buffered before a write to the temporary file on the COPY path.
COPY_FLUSH_ROWS = 1000

#: ``YYYY-MM-DDTHH:MM:SSZ`` in each database's dialect.
_PG_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
_SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MYSQL_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%i:%sZ"
_PY_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# ---------------------------------------------------------------- cell expressions

class UtcTimestampText(Func):
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC; NULL stays NULL (an empty cell)."""

    output_field = TextField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"to_char(({sql}) AT TIME ZONE 'UTC', %s)", (*params, _PG_TIMESTAMP_FORMAT)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores aware datetimes in SQLite as UTC text, which strftime reads.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"strftime(%s, {sql})", (_SQLITE_TIMESTAMP_FORMAT, *params)

    def as_mysql(self, compiler, connection, **extra_context):
        # Django stores aware datetimes in MySQL/MariaDB as UTC in DATETIME(6) columns.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"DATE_FORMAT({sql}, %s)", (*params, _MYSQL_TIMESTAMP_FORMAT)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(
            f"The proctored exam results report supports PostgreSQL, MySQL/MariaDB and SQLite, not {connection.vendor}."
        )


class JoinedText(Aggregate):
    """The texts of a group joined by a separator (``string_agg`` / ``group_concat`` / ``GROUP_CONCAT``)."""

    output_field = TextField()

    def __init__(self, expression, separator=COMMENT_SEPARATOR, **extra):
        super().__init__(expression, Value(separator), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        (expression, separator) = self.get_source_expressions()[:2]
        sql, params = compiler.compile(expression)
        sep_sql, sep_params = compiler.compile(separator)
        function = "string_agg" if connection.vendor == "postgresql" else "group_concat"
        return f"{function}({sql}, {sep_sql})", (*params, *sep_params)

    def as_mysql(self, compiler, connection, **extra_context):
        (expression, separator) = self.get_source_expressions()[:2]
        sql, params = compiler.compile(expression)
        return f"GROUP_CONCAT({sql} SEPARATOR {_mysql_literal(separator.value)})", params


def _mysql_literal(text):
    """
    A constant as a MySQL string literal, where the grammar wants a literal, not a parameter.

    Quotes and backslashes are refused rather than escaped (their escaping depends
    on the server's ``NO_BACKSLASH_ESCAPES`` mode); ``%`` is doubled because the
    driver formats the statement with its parameters.
    """
    if not isinstance(text, str) or any(c in text for c in "'\\\0"):
        raise ValueError("A MySQL literal here must be text without quotes, backslashes or NUL.")
    return "'" + text.replace("%", "%%") + "'"


class ExactText(Func):
    """
    The text itself, compared character for character on every database.

    MySQL/MariaDB compare text by its collation, and the usual ones
    (``utf8mb4_unicode_ci``, ``utf8mb4_0900_ai_ci``) are case-, accent- and
    width-insensitive, ignore control characters and may pad with spaces:
    ``'﹣' = '-'`` and ``' ' = ''`` are true there. Compared as bytes instead,
    as SQLite and PostgreSQL compare.
    """

    output_field = TextField()
    arity = 1
    template = "%(expressions)s"

    def as_mysql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS BINARY)", **extra_context)


class EmptyAsNull(Func):
    """NULL for empty text (``NULLIF(x, '')``), where only the empty text is empty, whatever the collation."""

    output_field = TextField()
    arity = 1

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(NullIf(self.get_source_expressions()[0], Value(""), output_field=TextField()))

    def as_mysql(self, compiler, connection, **extra_context):
        # NULLIF(' ', '') is NULL under MySQL's PAD SPACE collations; a length is not.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CASE WHEN CHAR_LENGTH({sql}) = 0 THEN NULL ELSE {sql} END", (*params, *params)


def neutralised(expression):
    """
    The cell's text, with a leading ``'`` when a spreadsheet would run it as a formula.

    Empty text becomes NULL, so both writers emit an unquoted empty cell
    (PostgreSQL's COPY would otherwise quote an empty string as ``""``).
    """
    return Case(
        When(In(ExactText(Substr(expression, 1, 1)), list(FORMULA_PREFIXES)), then=Concat(Value("'"), expression)),
        default=EmptyAsNull(expression),
        output_field=TextField(),
    )


def _status_words():
    return Case(
        *[When(status=stored, then=Value(word)) for stored, word in statuses.CSV_WORDS.items()],
        default=Value(None), output_field=TextField(),
    )


def _review_result_words(outcome):
    return Case(
        *[When(In(outcome, [value]), then=Value(str(label))) for value, label in statuses.AttemptStatus.choices],
        default=Value(None), output_field=TextField(),
    )


def _cell_expressions(extra_columns):
    """column name -> expression giving that column's final cell text."""
    cells = {
        "user_email": neutralised(F("user__email")),
        "exam_name": neutralised(F("exam__exam_name")),
        "attempt_code": neutralised(F("attempt_code")),
        "allowed_time_limit_mins": Cast(F("allowed_time_limit_mins"), TextField()),
        "is_sample_attempt": Case(
            When(is_sample_attempt=True, then=Value("True")), default=Value("False"), output_field=TextField(),
        ),
        "started_at": UtcTimestampText(F("started_at")),
        "completed_at": UtcTimestampText(F("completed_at")),
        "status": _status_words(),
    }
    if "username" in extra_columns:
        cells["username"] = neutralised(F("user__username"))
    if "review_result" in extra_columns:
        latest_outcome = Subquery(
            Review.objects.filter(attempt=OuterRef("pk")).order_by("-received_at", "-id").values("outcome")[:1],
            output_field=CharField(),
        )
        cells["review_result"] = _review_result_words(latest_outcome)
    if "flag_count" in extra_columns:
        count = Subquery(
            ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id")).order_by()
            .values("review_id").annotate(n=Count("id")).values("n"),
        )
        cells["flag_count"] = Cast(Coalesce(count, Value(0)), TextField())
    if "flag_comments" in extra_columns:
        # Comments of the latest review's flags, joined with "; ". Empty ones are left out by
        # length, not by comparison with '' (which MySQL's PAD SPACE collations make true for "  ").
        flags = (ReviewFlag.objects.filter(review_id=OuterRef("report_latest_review_id"))
                 .alias(comment_length=Length("comment")).exclude(comment_length=0))
        comments = Subquery(
            flags.order_by().values("review_id").annotate(text=JoinedText("comment")).values("text"),
            output_field=TextField(),
        )
        cells["flag_comments"] = neutralised(comments)
    if "provider" in extra_columns:
        cells["provider"] = neutralised(F("exam__provider"))
    return cells


def validate_extra_columns(extra_columns):
    """Return the asked-for extra columns in report order, or raise ``InvalidReportOptions``."""
    if extra_columns is None:
        extra_columns = app_settings.REPORT_EXTRA_COLUMNS or []
    if isinstance(extra_columns, str):
        extra_columns = [c for c in extra_columns.split(",") if c.strip()]
    extra_columns = [str(c).strip() for c in extra_columns]
    unknown = sorted(set(extra_columns) - set(EXTRA_COLUMNS))
    if unknown:
        raise InvalidReportOptions(
            f"Unknown report column(s): {', '.join(unknown)}. Extra columns are: {', '.join(EXTRA_COLUMNS)}."
        )
    return [c for c in EXTRA_COLUMNS if c in extra_columns]


def columns(extra_columns=()):
    return (*HEADER, *[c for c in EXTRA_COLUMNS if c in extra_columns])


def _course_attempts(course_key, using=None):
    """
    The course's attempts: the report's rows before any cell is added, and what is counted.

    Filtered on the course's exam ids as values (one small query now), not
    joined on the exam's course id: PostgreSQL then estimates each exam's rows
    from its statistics, and a 1,000-attempt course in a table of a million is
    read through ``proctoring_attempt_report_idx`` in 3 ms instead of a
    parallel scan of the whole table in 300 ms (docs/performance.rst).
    """
    exam_ids = list(
        ProctoredExam.objects.using(using).filter(course_id=course_key).order_by("id").values_list("id", flat=True)
    )
    if not exam_ids:
        # ``exam_id IN ()`` cannot be compiled to SQL (the COPY path needs it); the join finds nothing too.
        return ExamAttempt.objects.filter(exam__course_id=course_key)
    return ExamAttempt.objects.filter(exam_id__in=exam_ids)


#: The report order (``proctoring_attempt_report_idx``), which is also the MySQL pages' key.
REPORT_ORDER = ("exam_id", "user_id", "id")


def report_queryset(course_key, extra_columns=(), *, attempts=None):
    """
    The report's rows as a values-list queryset of final cell texts, in report order.

    Ordered by exam, learner, attempt (``proctoring_attempt_report_idx``). Each
    column is an annotation named ``report_<column>``, defined in column order,
    so the compiled SELECT lists them in that order on every database.
    ``attempts`` is the course's ``_course_attempts`` (or a page of them) when
    the caller has them already.
    """
    names = columns(extra_columns)
    cells = _cell_expressions(names)
    queryset = _course_attempts(course_key) if attempts is None else attempts
    if "flag_count" in names or "flag_comments" in names:
        queryset = queryset.alias(report_latest_review_id=Subquery(
            Review.objects.filter(attempt=OuterRef("pk")).order_by("-received_at", "-id").values("id")[:1],
        ))
    selected = {f"report_{name}": cells[name] for name in names}
    queryset = queryset.annotate(**selected)
    return queryset.order_by(*REPORT_ORDER).values_list(*selected)


def header_bytes(extra_columns=()):
    return (",".join(columns(extra_columns)) + "\r\n").encode()


# ---------------------------------------------------------------- writing the CSV

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


def write_csv(course_key, fileobj, *, extra_columns=(), on_progress=None, using=None):
    """
    Write the report for a course to a binary file object; return the number of data rows.

    ``on_progress(rows_done, rows_total)`` is called with ``rows_done=0`` once the
    rows are counted, after each 1/``REPORT_PROGRESS_UPDATES`` of the rows, and at the end.
    Lines end with CRLF (RFC 4180); the text is UTF-8.
    """
    using = using or router.db_for_read(ExamAttempt)
    fileobj.write(header_bytes(extra_columns))
    vendor = connections[using].vendor
    if vendor == "mysql":
        return _pages_mysql(course_key, extra_columns, fileobj, on_progress, using)
    attempts = _course_attempts(course_key, using)
    # Counted without the cells' joins (the learner join cannot drop a row: the key is not null).
    counted = attempts.order_by()
    rows = report_queryset(course_key, extra_columns, attempts=attempts)
    if vendor == "postgresql":
        return _copy_postgresql(rows, fileobj, on_progress, using, counted=counted)
    return _write_portable(rows, fileobj, on_progress, using, counted=counted)


class _ProgressMarks:
    """
    The row counts after which progress is written: each 1/``REPORT_PROGRESS_UPDATES`` of the rows.

    The same number of writes for any course of at least that many rows, so the
    task's queries stay constant in the number of attempts (the end is written anyway).
    """

    def __init__(self, total):
        updates = max(1, int(app_settings.REPORT_PROGRESS_UPDATES or 1))
        self._marks = iter(sorted({total * k // updates for k in range(1, updates)} - {0}))
        self._next = next(self._marks, None)

    def reached(self, rows):
        if rows != self._next:
            return False
        self._next = next(self._marks, None)
        return True


def _write_portable(queryset, fileobj, on_progress, using, counted=None):
    """Any database Django supports: the same queryset through ``csv.writer``."""
    total = (queryset if counted is None else counted).using(using).count()
    if on_progress:
        on_progress(0, total)
    done = _write_rows(queryset.using(using).iterator(chunk_size=CHUNK_ROWS), fileobj, on_progress, total)
    if on_progress:
        on_progress(done, done)
    return done


def _write_rows(rows, fileobj, on_progress, total):
    """
    Rows of cell texts through ``csv.writer`` in CRLF lines, ``CHUNK_ROWS`` at a time; return how many.

    ``on_progress`` is called at each of the ``_ProgressMarks``; the caller reports the end.
    """
    marks = _ProgressMarks(total)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    done = 0
    for row in rows:
        writer.writerow(row)
        done += 1
        if done % CHUNK_ROWS == 0:
            fileobj.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
        if on_progress and marks.reached(done):
            on_progress(done, total)
    fileobj.write(buffer.getvalue().encode())
    return done


@contextmanager
def _snapshot(using, begin):
    """
    A cursor on one consistent, read-only snapshot, so the count and the rows agree.

    Outside a transaction it is a connection of its own, opened with the
    ``begin`` statements and closed afterwards, leaving the default connection
    free to record progress as the rows go. Inside one (a test, a caller's
    ``atomic``) it is the caller's connection, whose transaction is the
    snapshot; progress can then only be reported at the end. Yields
    ``(connection, cursor, own_connection)``.
    """
    base = connections[using]
    own_connection = not base.in_atomic_block
    conn = connections.create_connection(using) if own_connection else base
    try:
        with conn.cursor() as cursor:
            if own_connection:
                for statement in begin:
                    cursor.execute(statement)
            try:
                yield conn, cursor, own_connection
            finally:
                if own_connection:
                    cursor.execute("COMMIT")
    finally:
        if own_connection:
            conn.close()


def _pages_mysql(course_key, extra_columns, fileobj, on_progress, using):
    """
    MySQL/MariaDB: the report in keyset pages of ``CHUNK_ROWS`` rows, in one snapshot.

    mysqlclient holds a whole result set in memory (Django's ``.iterator()``
    does not stream on MySQL), so one query for a million attempts would hold a
    million rows. Instead each exam of the course is read in pages that go on
    after the last (learner, attempt) seen, in report order, and each page in
    two steps (``_page_keys`` finds where the page ends, then the cells of the
    attempts up to there): memory stays flat, and the bytes are those of the
    other paths. As on PostgreSQL, the count and the pages read one
    consistent, read-only snapshot (``_snapshot``).
    """
    attempts = _course_attempts(course_key, using)
    exam_ids = ProctoredExam.objects.filter(course_id=course_key).order_by("id").values_list("id")
    counted = attempts.order_by().values_list("pk")
    begin = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    with _snapshot(using, begin) as (conn, cursor, own_connection):

        def run(queryset):
            cursor.execute(*queryset.query.get_compiler(connection=conn).as_sql())
            return cursor.fetchall()

        cursor.execute("SET SESSION group_concat_max_len = %s", [MYSQL_GROUP_CONCAT_MAX_LEN])
        count_sql, count_params = counted.query.get_compiler(connection=conn).as_sql()
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        if on_progress and own_connection:
            on_progress(0, total)

        def rows():
            for (exam_id,) in run(exam_ids):
                user_id = attempt_id = 0  # ids are positive: the first page starts before them all
                while True:
                    keys = run(_page_keys(exam_id, user_id, attempt_id))
                    if keys:
                        page = _page_attempts(exam_id, (user_id, attempt_id), keys[-1])
                        yield from run(report_queryset(course_key, extra_columns, attempts=page))
                    if len(keys) < CHUNK_ROWS:
                        break
                    user_id, attempt_id = keys[-1]

        done = _write_rows(rows(), fileobj, on_progress if own_connection else None, total)
    if on_progress:
        on_progress(done, done)
    return done


def _page_keys(exam_id, user_id, attempt_id):
    """
    (learner, attempt) ids of the next ``CHUNK_ROWS`` attempts of one exam after (``user_id``, ``attempt_id``).

    Read from ``proctoring_attempt_report_idx`` alone (it holds every column
    asked for), nothing joined: asked with the cells' joins and a LIMIT,
    MariaDB drove some pages from the learners table with a temporary table
    and a filesort (1.6 s a page; 47 s for a million attempts).
    """
    page = ExamAttempt.objects.filter(_after(user_id, attempt_id), exam_id=exam_id)
    return page.order_by("user_id", "id").values_list("user_id", "id")[:CHUNK_ROWS]


def _page_attempts(exam_id, after, last):
    """
    One exam's attempts after the (learner, attempt) ``after``, up to and including ``last``.

    Bounded on both sides, the page is planned as one range of
    ``proctoring_attempt_report_idx`` with the learner and exam joined by key.
    """
    until = Q(user_id__lte=last[0]) & (Q(user_id__lt=last[0]) | Q(id__lte=last[1]))
    return ExamAttempt.objects.filter(_after(*after), until, exam_id=exam_id)


def _after(user_id, attempt_id):
    """
    ``(user_id, id) > (u, i)`` spelled ``user_id >= u AND (user_id > u OR id > i)``.

    MySQL and MariaDB plan the row comparison poorly; this form is a range of
    the index on every page, the first (``0, 0``) included.
    """
    return Q(user_id__gte=user_id) & (Q(user_id__gt=user_id) | Q(id__gt=attempt_id))


def _copy_postgresql(queryset, fileobj, on_progress, using, counted=None):
    """
    PostgreSQL: ``COPY (<the report query>) TO STDOUT`` streamed through psycopg 3.

    The count and the COPY read one REPEATABLE READ, read-only snapshot
    (``_snapshot``), so ``rows_total`` and the file agree.
    """
    sql, params = queryset.query.sql_with_params()
    counted = queryset.order_by() if counted is None else counted
    count_sql, count_params = counted.values_list("pk").query.sql_with_params()
    with _snapshot(using, begin=("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)) as (conn, django_cursor, own):
        cursor = django_cursor.cursor  # the psycopg 3 cursor, for cursor.copy()
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        marks = _ProgressMarks(total)
        if on_progress and own:
            on_progress(0, total)
        rows = 0
        pending = []
        with cursor.copy(conn.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)) as copy:
            # The server sends one CopyData message per row, each ending in "\n".
            for data in copy:
                pending.append(data)
                rows += 1
                if len(pending) >= COPY_FLUSH_ROWS:
                    fileobj.write(_crlf_lines(pending))
                    pending.clear()
                if on_progress and own and marks.reached(rows):
                    on_progress(rows, total)
        if pending:
            fileobj.write(_crlf_lines(pending))
    if on_progress:
        on_progress(rows, rows)
    return rows


def _crlf_lines(messages):
    """
    COPY's rows (one message each, ending in "\n") as CRLF-terminated lines, as csv.writer writes them.

    When the batch holds no newline inside a quoted cell (one "\n" per row), one
    ``replace`` over the joined batch does it in C, instead of a slice per row in Python.
    """
    chunk = b"".join(messages)
    if chunk.count(b"\n") == len(messages):
        return chunk.replace(b"\n", b"\r\n")
    return b"\r\n".join(bytes(message)[:-1] for message in messages) + b"\r\n"


# ---------------------------------------------------------------- naming

def course_filename_prefix(course_key):
    """
    The course id made safe for file names, as Open edX's ``course_filename_prefix_generator`` does.

    ``course-v1:edX+DemoX+2026`` gives ``edX_DemoX_2026``.
    """
    return get_valid_filename("_".join([course_key.org, course_key.course, course_key.run]))


def report_file_name(course_key, when, taken=()):
    """
    ``{course_id}_proctored_exam_results_report_{datetime}.csv``, the datetime in UTC (Open edX's format).

    Open edX stamps the minute. When a name is ``taken`` already (a second
    report of the course in the same minute) the seconds are added, then a
    counter, so no two links on the Data Download page read the same.
    """
    utc = when.astimezone(dt_timezone.utc)
    stem = f"{course_filename_prefix(course_key)}_{REPORT_NAME}_"
    candidates = itertools.chain(
        [f"{stem}{utc:%Y-%m-%d-%H%M}.csv", f"{stem}{utc:%Y-%m-%d-%H%M%S}.csv"],
        (f"{stem}{utc:%Y-%m-%d-%H%M%S}-{n}.csv" for n in itertools.count(2)),
    )
    return next(name for name in candidates if name not in taken)


def _file_names_of_the_minute(course_key, when):
    """The course's report file names stamped with the minute of ``when``: the names a new report must not take."""
    minute = report_file_name(course_key, when)[: -len(".csv")]
    return set(Report.objects.filter(course_id=course_key, file_name__startswith=minute)
               .values_list("file_name", flat=True))


def report_storage_key(course_key, task_id, file_name):
    """
    Unique per task, so two reports made in the same minute never share an object.

    The random part keeps keys unique even if task ids restart (a database
    restored from a backup, a test database) while old objects remain.
    """
    return f"{course_filename_prefix(course_key)}/{task_id}-{uuid.uuid4().hex[:12]}/{file_name}"


# ---------------------------------------------------------------- the pipeline

class GenerationError(Exception):
    """A report could not be generated; ``str()`` is the short message for Pending Tasks."""


def claim_task(task_id):
    """
    Mark a queued (or redelivered running) task as running; None when there is nothing to do.

    A redelivered message for a task that already succeeded or failed does
    nothing, so late acknowledgement can never make a second report.
    """
    with transaction.atomic():
        task = ReportTask.objects.select_for_update().filter(pk=task_id).first()
        if task is None or task.state not in ReportTask.ACTIVE_STATES:
            return None
        task.state = ReportTask.State.RUNNING
        task.started_at = timezone.now()
        task.rows_done = 0
        task.rows_total = None
        task.message = ""
        task.save(update_fields=["state", "started_at", "rows_done", "rows_total", "message"])
    return task


def _record_progress(task_id):
    def on_progress(rows_done, rows_total):
        ReportTask.objects.filter(pk=task_id, state=ReportTask.State.RUNNING).update(
            rows_done=rows_done, rows_total=rows_total,
        )
    return on_progress


def fail_task(task_id, message):
    """Mark an active task failed with a short message (no personal data)."""
    def update():
        return ReportTask.objects.filter(pk=task_id, state__in=ReportTask.ACTIVE_STATES).update(
            state=ReportTask.State.FAILED, message=message[:500], finished_at=timezone.now(),
        )

    try:
        return update()
    except DatabaseError:
        # The failure being recorded may be the lost connection itself: Django does not
        # reconnect on its own outside a transaction, so open a new one, once.
        connection = connections[router.db_for_write(ReportTask)]
        if connection.in_atomic_block:
            raise
        connection.close()
        return update()


def run_task(task):
    """
    Build the CSV of a claimed task into a temporary file, store it, and record the Report.

    The object is uploaded only once the file is complete; the Report row and
    the task's success are committed together, and the object is deleted if
    that commit fails. Returns the Report, or None when the task was stopped
    meanwhile (e.g. failed as stale). Raises ``GenerationError`` on failure,
    after marking the task failed and removing anything stored.
    """
    storage = get_report_storage()
    saved_name = None
    stage = "reading the course's attempts"
    try:
        extra_columns = validate_extra_columns(task.options.get("extra_columns") or [])
        now = timezone.now()
        file_name = report_file_name(task.course_id, now, taken=_file_names_of_the_minute(task.course_id, now))
        with tempfile.TemporaryFile(prefix="proctoring-report-", suffix=".csv") as tmp:
            sink = _Sink(tmp)
            rows = write_csv(task.course_id, sink, extra_columns=extra_columns, on_progress=_record_progress(task.pk))
            tmp.flush()
            tmp.seek(0)
            stage = "storing the file"
            saved_name = storage.save(report_storage_key(task.course_id, task.pk, file_name), File(tmp, name=file_name))
        stage = "recording the report"
        with transaction.atomic():
            locked = ReportTask.objects.select_for_update().get(pk=task.pk)
            if locked.state != ReportTask.State.RUNNING:
                delete_quietly(storage, saved_name)
                return None
            report = Report.objects.create(
                task=locked, course_id=locked.course_id, report_type=locked.report_type, file_name=file_name,
                storage_key=saved_name, size_bytes=sink.size, row_count=rows,
                checksum_sha256=sink.sha256.hexdigest(), requester_id=locked.requester_id, created=now,
            )
            locked.state = ReportTask.State.SUCCEEDED
            locked.rows_done = rows
            locked.rows_total = rows
            locked.finished_at = timezone.now()
            locked.message = ""
            locked.save(update_fields=["state", "rows_done", "rows_total", "finished_at", "message"])
        return report
    except Exception as exc:
        if saved_name is not None:
            delete_quietly(storage, saved_name)
        kind = "database error" if isinstance(exc, DatabaseError) else type(exc).__name__
        if isinstance(exc, InvalidReportOptions):
            message = f"The report could not be created: {exc}"
        else:
            message = f"The report could not be created ({kind} while {stage}). Try again; if it fails again, contact support."
        # Only the exception's type reaches the log: its text may quote a learner's data.
        log.error("Report task %s failed while %s: %s", task.pk, stage, type(exc).__name__)
        fail_task(task.pk, message)
        raise GenerationError(message) from exc


def fail_stale_tasks(now=None):
    """Fail tasks queued or running longer than ``REPORT_TASK_TIME_LIMIT_SECONDS``; return their ids."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=app_settings.REPORT_TASK_TIME_LIMIT_SECONDS)
    stale = ReportTask.objects.filter(
        Q(state=ReportTask.State.QUEUED, created__lt=cutoff)
        | Q(state=ReportTask.State.RUNNING, started_at__lt=cutoff)
    )
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        ReportTask.objects.filter(pk__in=ids, state__in=ReportTask.ACTIVE_STATES).update(
            state=ReportTask.State.FAILED, finished_at=now,
            message="The report took too long and was stopped. Generate it again.",
        )
        log.warning("Failed %d stale report task(s): %s", len(ids), ids)
    return ids


def delete_expired(now=None):
    """Delete reports older than ``REPORT_RETENTION_DAYS``, file then row; return how many went."""
    days = app_settings.REPORT_RETENTION_DAYS
    if days is None:
        return 0
    now = now or timezone.now()
    storage = get_report_storage()
    deleted = 0
    for report in Report.objects.filter(created__lt=now - timedelta(days=days)).order_by("created", "id"):
        # A file that cannot be deleted keeps its row, so the next run tries again.
        if delete_quietly(storage, report.storage_key):
            report.delete()
            deleted += 1
    return deleted
