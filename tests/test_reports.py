"""The Proctored Exam Results Report: its CSV, its name, its storage, and every way it can fail."""

import csv
import hashlib
import io
import json
import os
import re
import threading
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.checks import run_checks
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from example import celery_app
from proctoring_results import api, reports, tasks
from proctoring_results.exceptions import (
    InvalidReportOptions,
    ReportAlreadyRunning,
    ReportGenerationFailed,
    ReportQueueUnavailable,
)
from proctoring_results.models import ExamAttempt, Report, ReportTask, Review, ReviewFlag
from proctoring_results.reports import naming, writers
from proctoring_results.reports.specs.proctored_exam_results_report import LMS_SPEC, SPEC
from proctoring_results.reports.writers import common
from proctoring_results.statuses import CSV_WORDS, AttemptStatus
from proctoring_results.storage import get_report_storage

from .factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .services import free_port, s3_keys, s3_storage_config

HEADER = "user_email,exam_name,attempt_code,allowed_time_limit_mins,is_sample_attempt,started_at,completed_at,status"
PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
T0 = datetime(2026, 3, 1, 9, 30, 15, 987654, tzinfo=dt_timezone.utc)


def neutral(text):
    return "'" + text if text[:1] in PREFIXES else text


def stamp(value):
    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def expected_rows(course_id=COURSE_ID):
    """What the database says, computed here in Python, independently of the report's SQL."""
    attempts = ExamAttempt.objects.filter(exam__course_id=course_id).select_related("exam", "user")
    return [
        [
            neutral(a.user.email),
            neutral(a.exam.exam_name),
            a.attempt_code,
            str(a.allowed_time_limit_mins),
            str(a.is_sample_attempt),
            stamp(a.started_at),
            stamp(a.completed_at),
            CSV_WORDS[a.status],
        ]
        for a in attempts.order_by("exam_id", "user_id", "id")
    ]


def expected_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return out.getvalue().encode()


def report_bytes(course_id=COURSE_ID, **kwargs):
    out = io.BytesIO()
    api.write_report_csv(course_id, out, **kwargs)
    return out.getvalue()


def parse(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def stored_bytes(report):
    with get_report_storage().open(report.storage_key) as fh:
        return fh.read()


@pytest.fixture
def course(db):
    """A course with awkward names, every status, practice attempts, and missing times."""
    midterm = ProctoredExamFactory(exam_name='Midterm, "part 1"\nwith a newline')
    final = ProctoredExamFactory(exam_name="=SUM(A1:A9) — final ✓")
    practice = ProctoredExamFactory(exam_name="Übung 練習", is_practice_exam=True, time_limit_mins=30)
    people = [
        UserFactory(username="ann", email="ann@example.edu"),
        UserFactory(username="bob", email='"bob, jr"@example.edu'),
        UserFactory(username="zoë", email="zoë@exämple.edu"),
        UserFactory(username="eve", email="+eve@example.edu"),
        UserFactory(username="fw", email="＠fullwidth@example.edu"),
        UserFactory(username="noemail", email=""),
    ]
    statuses = list(AttemptStatus)
    n = 0
    for exam in (final, midterm, practice):
        for person in reversed(people):
            status = statuses[n % len(statuses)]
            started = T0 + timedelta(minutes=n) if status != AttemptStatus.CREATED else None
            completed = started + timedelta(minutes=45, seconds=30) if started and n % 3 else None
            ExamAttemptFactory(
                exam=exam,
                user=person,
                status=status,
                started_at=started,
                completed_at=completed,
                allowed_time_limit_mins=exam.time_limit_mins + n,
            )
            n += 1
    ExamAttemptFactory(exam=ProctoredExamFactory(course_id=OTHER_COURSE_ID, exam_name="Elsewhere"))
    return {"exams": [midterm, final, practice], "people": people}


# ---------------------------------------------------------------- the CSV


def test_csv_matches_the_database_field_by_field(course):
    data = report_bytes()
    rows = parse(data)
    assert rows[0] == HEADER.split(",")
    assert rows[1:] == expected_rows()
    assert len(rows) - 1 == 18  # the other course's attempt is not in it
    assert data == expected_bytes(expected_rows())


def test_csv_is_utf8_with_crlf_rfc4180_quoting_and_empty_cells_for_none(course):
    data = report_bytes()
    assert data.startswith((HEADER + "\r\n").encode())
    assert data.endswith(b"\r\n")
    text = data.decode("utf-8")
    assert '"Midterm, ""part 1""\nwith a newline"' in text
    assert '"""bob, jr""@example.edu"' in text
    assert "zoë@exämple.edu" in text and "Übung 練習" in text
    assert "None" not in text and "null" not in text.lower()
    started_missing = [r for r in parse(data)[1:] if r[7] == "created"]
    assert started_missing and all(r[5] == "" and r[6] == "" for r in started_missing)
    assert {r[4] for r in parse(data)[1:]} == {"True", "False"}
    assert all(r[5] == "" or (r[5].endswith("Z") and len(r[5]) == 20) for r in parse(data)[1:])


def test_cells_a_spreadsheet_would_run_are_neutralised(course):
    rows = parse(report_bytes())[1:]
    names = {r[1] for r in rows}
    emails = {r[0] for r in rows}
    assert "'=SUM(A1:A9) — final ✓" in names
    assert "'+eve@example.edu" in emails and "'＠fullwidth@example.edu" in emails
    assert "ann@example.edu" in emails  # ordinary text is left alone


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_formula_prefix_is_neutralised(db, prefix):
    ExamAttemptFactory(exam=ProctoredExamFactory(exam_name=f"{prefix}cmd|' /C calc'!A0"))
    [row] = parse(report_bytes())[1:]
    assert row[1] == f"'{prefix}cmd|' /C calc'!A0"


def test_rows_are_ordered_by_exam_then_learner(course):
    rows = parse(report_bytes())[1:]
    attempts = ExamAttempt.objects.filter(exam__course_id=COURSE_ID).order_by("exam_id", "user_id", "id")
    assert [r[2] for r in rows] == [a.attempt_code for a in attempts]


def test_status_column_uses_the_seed_words(course):
    words = {r[7] for r in parse(report_bytes())[1:]}
    assert words == {
        "created",
        "ready to start",
        "started",
        "timed out",
        "completed",
        "submitted",
        "second review required",
        "verified",
        "rejected",
        "error",
    }


def test_a_course_without_attempts_gives_the_header_only(db):
    ProctoredExamFactory()
    assert report_bytes() == (HEADER + "\r\n").encode()


def test_timestamps_are_utc_and_truncated_to_the_second(db):
    local = datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=dt_timezone(timedelta(hours=-7)))
    ExamAttemptFactory(started_at=local, completed_at=local + timedelta(hours=1), status=AttemptStatus.COMPLETED)
    [row] = parse(report_bytes())[1:]
    assert row[5:7] == ["2026-07-02T06:59:59Z", "2026-07-02T07:59:59Z"]


def test_extra_columns_are_opt_in(course):
    attempt = ExamAttempt.objects.filter(exam__course_id=COURSE_ID).order_by("exam_id", "user_id", "id").first()
    review = Review.objects.create(
        attempt=attempt,
        provider="acme",
        review_id="r1",
        provider_status="violation",
        outcome="rejected",
        raw_payload={},
    )
    ReviewFlag.objects.create(review=review, rule_code="second_computer", comment="=looked at a laptop")
    ReviewFlag.objects.create(review=review, rule_code="music", comment="radio on")
    assert parse(report_bytes())[0] == HEADER.split(",")  # never by default
    rows = parse(report_bytes(extra_columns=["flag_count", "username", "provider", "review_result", "flag_comments"]))
    assert rows[0] == HEADER.split(",") + ["username", "review_result", "flag_count", "flag_comments", "provider"]
    first = rows[1]
    assert first[8] == attempt.user.username
    assert first[9] == "Unsatisfactory"
    assert first[10] == "2"
    assert first[11] in ("'=looked at a laptop; radio on", "radio on; =looked at a laptop")
    assert first[12] == "test-provider"
    others = rows[2:]
    assert all(r[9] == "" and r[10] == "0" and r[11] == "" for r in others)
    with override_settings(PROCTORING_RESULTS={"REPORT_EXTRA_COLUMNS": ["username"]}):
        assert parse(report_bytes())[0] == HEADER.split(",") + ["username"]


def test_an_unknown_extra_column_is_a_clear_error(db):
    with pytest.raises(InvalidReportOptions, match="Unknown report column\\(s\\): password"):
        api.request_report(COURSE_ID, None, extra_columns=["username", "password"])
    assert not ReportTask.objects.exists()


def test_queries_do_not_grow_with_the_course(db):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            report_bytes(extra_columns=list(SPEC.extra_columns))
        return len(ctx.captured_queries)

    exam = ProctoredExamFactory()
    ExamAttemptFactory.create_batch(3, exam=exam)
    few = count_queries()
    ExamAttemptFactory.create_batch(60, exam=exam)
    assert count_queries() == few


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_copy_and_the_portable_writer_give_the_same_bytes(course):
    """The fast path (COPY) and the portable path (csv.writer) read one query definition."""
    copied, portable = io.BytesIO(), io.BytesIO()
    key = api.parse_course_id(COURSE_ID)
    extra = list(SPEC.extra_columns)
    for fileobj, writer in ((copied, writers.postgresql.write), (portable, writers.portable.write)):
        fileobj.write(SPEC.header_bytes(extra))
        assert writer(SPEC.rows(key, extra), fileobj, None, "default") == 18
    assert copied.getvalue() == portable.getvalue()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_an_error_after_rows_were_sent_is_raised_and_the_transaction_goes_on(course):
    """The server fails on the last row, after the others: its error is raised, and the transaction lives on."""
    import psycopg

    attempts = ExamAttempt.objects.count()
    last = ExamAttempt.objects.order_by("-id").values_list("id", flat=True)[0]
    failing = ExamAttempt.objects.order_by("id").annotate(cell=RawSQL("1 / (%s - id)", (last,))).values_list("cell")
    with pytest.raises(psycopg.errors.DivisionByZero):
        writers.postgresql.write(failing, io.BytesIO(), None, "default")
    assert ExamAttempt.objects.count() == attempts
    # And the next report on the same connection is whole.
    copied = io.BytesIO()
    assert writers.postgresql.write(SPEC.rows(api.parse_course_id(COURSE_ID)), copied, None, "default") == 18
    assert copied.getvalue() == expected_bytes(expected_rows())[len(HEADER) + 2 :]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_timestamps_do_not_follow_the_sessions_datestyle(course):
    """The server writes a timestamp cell as its own text of the time, in the DateStyle the writer sets."""
    key = api.parse_course_id(COURSE_ID)
    with connection.cursor() as cursor:
        cursor.execute("SET DateStyle = 'SQL, DMY'")  # '01/03/2026 09:30:15.987654 UTC'
        try:
            copied = io.BytesIO()
            writers.postgresql.write(SPEC.rows(key), copied, None, "default")
        finally:
            cursor.execute("RESET DateStyle")
    assert copied.getvalue() == expected_bytes(expected_rows())[len(HEADER) + 2 :]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_sorts_stored_values_and_formats_the_cells_after_the_sort(course):
    """The sort carries plain columns, narrower than the cells; the cells are computed above it (``AfterTheSort``)."""
    key = api.parse_course_id(COURSE_ID)
    sql, params = SPEC.rows(key).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")  # a Sort node, however few the rows
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    [sort] = [node for node in nodes(plan[0]["Plan"]) if node["Node Type"] == "Sort"]
    assert sort["Output"] and all(re.fullmatch(r"[\w.]+", column) for column in sort["Output"])
    assert any("clock_timestamp" in column for column in plan[0]["Plan"]["Output"])


def add_latest_review(attempt, comments, review_id="r1"):
    review = Review.objects.create(
        attempt=attempt,
        provider="acme",
        review_id=review_id,
        provider_status="violation",
        outcome="rejected",
        raw_payload={},
    )
    for comment in comments:
        ReviewFlag.objects.create(review=review, rule_code="second_computer", comment=comment)


@pytest.mark.skipif("connection.vendor != 'mysql'")
def test_mysql_stream_and_the_portable_writer_give_the_same_bytes(course, monkeypatch):
    """MySQL's streaming cursor with the cells' Python twins, and Django's iterator over the SQL cells, agree."""
    first = ExamAttempt.objects.filter(exam__course_id=COURSE_ID).order_by("exam_id", "user_id", "id").first()
    add_latest_review(first, ["=looked at a laptop", "radio on"])
    monkeypatch.setattr(writers.common, "CHUNK_ROWS", 4)  # fetches and writes end inside an exam, and at its end
    streamed, portable = io.BytesIO(), io.BytesIO()
    key = api.parse_course_id(COURSE_ID)
    extra = list(SPEC.extra_columns)
    assert writers.mysql.write(SPEC, key, extra, streamed, None, "default") == 18
    assert writers.portable.write(SPEC.rows(key, extra), portable, None, "default") == 18
    assert streamed.getvalue() == portable.getvalue()


@pytest.mark.parametrize("spec", [SPEC, LMS_SPEC], ids=["seed", "lms"])
def test_the_python_twins_of_the_cells_give_the_sql_cells_bytes(course, spec):
    """
    The cells MySQL formats in Python (``spec.twins``) equal the SQL cells, on every database.

    Every column, a formula in a review comment, empty and missing times,
    quoting, and formula prefixes in the text columns the twins format.
    """
    first = ExamAttempt.objects.filter(exam__course_id=COURSE_ID).order_by("exam_id", "user_id", "id").first()
    add_latest_review(first, ["=looked at a laptop", "radio on"])
    odd = UserFactory(username="-dash", email="=cmd|' /C calc'!A0@example.edu")
    ExamAttemptFactory(exam=first.exam, user=odd, attempt_code='+1,2"3', started_at=None)
    key = api.parse_course_id(COURSE_ID)
    extra = list(spec.extra_columns)
    queryset, formatters = spec.formatted_rows(key, extra)
    assert len(formatters) == len(spec.column_names(extra)) and spec.twins(spec.column_names(extra))
    rows = list(queryset)
    twins = "".join(common.csv_lines(rows[i : i + 2], formatters) for i in range(0, len(rows), 2)).encode()
    portable = io.BytesIO()
    assert writers.portable.write(spec.rows(key, extra), portable, None, "default") == 19
    assert twins == portable.getvalue()


def test_rows_read_in_chunks_keep_the_report_order_and_bytes(db, monkeypatch):
    """
    Chunks of 3 rows over exams whose learners have several attempts each (MySQL streams exam by exam).

    Same learner, several attempts: a chunk may end between two attempts of one learner.
    """
    monkeypatch.setattr(writers.common, "CHUNK_ROWS", 3)
    learners = UserFactory.create_batch(3)
    for attempts_each, exam in enumerate(ProctoredExamFactory.create_batch(3), start=1):
        for learner in reversed(learners):
            ExamAttemptFactory.create_batch(attempts_each, exam=exam, user=learner)
    with CaptureQueriesContext(connection) as ctx:
        data = report_bytes()
    assert data == expected_bytes(expected_rows())
    assert len(parse(data)) - 1 == 3 * (1 + 2 + 3)
    if connection.vendor == "mysql":
        # One streamed query per exam, however many fetches of 3 rows each needs.
        assert len([q for q in ctx.captured_queries if "report_status" in q["sql"]]) == 3


def test_cells_compare_exactly_whatever_the_collation(db):
    """
    Text that MySQL's usual collations compare loosely keeps the bytes it has on SQLite and PostgreSQL.

    Under utf8mb4_unicode_ci a small hyphen-minus equals "-", and "   " equals ""
    (PAD SPACE): neither may be neutralised, emptied, or left out of the comments.
    """
    names = ["\ufe63small hyphen", "   ", " leading space", "\u2212minus sign", "\x01control", "ＳＵＭ"]
    for name in names:
        ExamAttemptFactory(exam=ProctoredExamFactory(exam_name=name))
    assert report_bytes() == expected_bytes(expected_rows())
    assert {row[1] for row in parse(report_bytes())[1:]} == set(names)
    attempt = ExamAttempt.objects.order_by("id").first()
    add_latest_review(attempt, ["  ", "", "\uff0dwide minus"])
    [comments] = {r[8] for r in parse(report_bytes(extra_columns=["flag_comments"]))[1:] if r[8]}
    assert comments == "  ; －wide minus"  # in the order the flags were recorded, the empty one left out


def test_a_long_list_of_comments_is_not_cut(db):
    """MySQL 8 cuts GROUP_CONCAT at 1024 bytes by default; the report lifts that for its session."""
    attempt = ExamAttemptFactory()
    comments = [f"comment {i:03d} " + "é" * 200 for i in range(40)]  # about 16 KB of UTF-8
    add_latest_review(attempt, comments)
    [row] = parse(report_bytes(extra_columns=["flag_comments"]))[1:]
    assert row[8].split("; ") == comments


def test_comments_keep_the_order_the_flags_were_recorded_in(db):
    """
    The same data gives the same cell: comments are joined in the flags' order, not the table's.

    Rows stored out of id order (as PostgreSQL does when it reuses free space) were joined
    in the order the database read them.
    """
    attempt = ExamAttemptFactory()
    add_latest_review(attempt, [])
    review = Review.objects.get(attempt=attempt)
    for flag_id, comment in [(900_003, "third"), (900_001, "first"), (900_002, "second")]:
        ReviewFlag.objects.create(id=flag_id, review=review, rule_code="second_computer", comment=comment)
    [row] = parse(report_bytes(extra_columns=["flag_comments"]))[1:]
    assert row[8] == "first; second; third"


def test_the_database_refuses_a_second_active_task_of_a_course(db):
    """The rule holds in the database itself (not only in request_report), on every database."""
    first = ReportTask.objects.create(course_id=COURSE_ID)
    assert first.active is True
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportTask.objects.create(course_id=COURSE_ID, state=ReportTask.State.RUNNING)
    ReportTask.objects.create(course_id=OTHER_COURSE_ID)  # another course is independent
    ReportTask.objects.filter(pk=first.pk).update(state=ReportTask.State.SUCCEEDED)
    assert ReportTask.objects.get(pk=first.pk).active is None
    ReportTask.objects.bulk_create([ReportTask(course_id=COURSE_ID, state=ReportTask.State.FAILED) for _ in range(2)])
    second = ReportTask.objects.create(course_id=COURSE_ID)  # ended tasks never collide
    second.state = ReportTask.State.FAILED
    second.save(update_fields=["state"])
    assert ReportTask.objects.get(pk=second.pk).active is None
    assert not ReportTask.objects.filter(course_id=COURSE_ID, active=True).exists()


def test_every_state_change_keeps_the_active_marker_in_step(course, instructor):
    """request, claim, finish, fail and the stale check each leave ``active`` True exactly while queued/running."""

    def in_step():
        return all(
            t.active is (True if t.state in ReportTask.ACTIVE_STATES else None) for t in ReportTask.objects.all()
        )

    done = api.request_report(COURSE_ID, instructor)
    assert in_step()
    ReportTask.objects.claim(done.id)
    assert in_step()
    reports.run_task(ReportTask.objects.get(pk=done.id))
    assert in_step() and ReportTask.objects.get(pk=done.id).state == "succeeded"
    failed = api.request_report(COURSE_ID, instructor)
    ReportTask.objects.fail(failed.id, "stopped")
    assert in_step()
    stale = api.request_report(COURSE_ID, instructor)
    ReportTask.objects.filter(pk=stale.id).update(created=T0)
    assert ReportTask.objects.fail_stale() == [stale.id]
    assert in_step()
    api.request_report(COURSE_ID, instructor)  # a new one can be requested after each
    assert in_step()


def test_every_report_type_has_a_spec_module():
    """A report type is an enum value plus the module of reports/specs/ named after it."""
    for report_type in ReportTask.ReportType:
        assert reports.spec_for(report_type).report_type == report_type
    with pytest.raises(ValueError):
        reports.spec_for("no_such_report")


# ---------------------------------------------------------------- naming and storage


def test_file_name_follows_open_edx():
    key = api.parse_course_id("course-v1:Org+Course+Run")
    when = datetime(2026, 1, 2, 23, 5, tzinfo=dt_timezone(timedelta(hours=-5)))
    assert naming.report_file_name(key, when) == "Org_Course_Run_proctored_exam_results_report_2026-01-03-0405.csv"
    assert naming.course_filename_prefix(api.parse_course_id("course-v1:Org+CS~101.x+2026_T1")) == "Org_CS101.x_2026_T1"


#: The issue's case: a valid course key of 244 characters, whose report name passed 255 bytes.
LONG_KEY = "course-v1:LongUniversityX+" + "Course" * 35 + "+2026_T1"


def test_a_long_course_key_gets_its_report_with_a_name_that_fits_the_file_system(instructor):
    """Every report of such a course failed: "OSError while storing the file. Try again", which never worked."""
    assert len(LONG_KEY) == 244
    ProctoredExamFactory(course_id=LONG_KEY)
    api.grant_course_role(instructor, LONG_KEY, "instructor")
    first = api.generate_report(LONG_KEY, instructor)
    second = api.generate_report(LONG_KEY, instructor)
    for report in (first, second):
        assert len(report.file_name.encode()) <= naming.MAX_FILE_NAME_BYTES
        assert report.file_name.startswith("LongUniversityX_CourseCourse")
        assert "_proctored_exam_results_report_" in report.file_name and report.file_name.endswith(".csv")
        with get_report_storage().open(report.storage_key) as fh:
            assert fh.read().startswith(b"user_email,exam_name,")
    assert first.file_name != second.file_name and first.storage_key != second.storage_key


def test_a_shortened_prefix_is_deterministic_and_tells_courses_apart():
    a = api.parse_course_id(LONG_KEY)
    b = api.parse_course_id(LONG_KEY.replace("+2026_T1", "+2026_T2"))
    unicode_key = api.parse_course_id("course-v1:Ünï+" + "é" * 230 + "+2026")
    assert naming.course_filename_prefix(a) == naming.course_filename_prefix(api.parse_course_id(LONG_KEY))
    assert naming.course_filename_prefix(a) != naming.course_filename_prefix(b)
    for key in (a, b, unicode_key):
        prefix = naming.course_filename_prefix(key)
        assert len(prefix.encode()) <= naming.MAX_PREFIX_BYTES
        prefix.encode().decode()  # cut on a character boundary
        when = datetime(2026, 5, 4, 10, 30, 15, tzinfo=dt_timezone.utc)
        taken = {naming.report_file_name(key, when)} | {
            naming.report_file_name(key, when).replace(".csv", f"15-{n}.csv") for n in range(2, 1000)
        }
        taken.add(naming.report_file_name(key, when).replace(".csv", "15.csv"))
        assert len(naming.report_file_name(key, when, taken).encode()) <= naming.MAX_FILE_NAME_BYTES
    # Short keys keep Open edX's name exactly.
    assert naming.course_filename_prefix(api.parse_course_id(COURSE_ID)) == "TestX_Proctoring_2026"


def test_reports_of_the_same_minute_have_different_names(course, instructor):
    """The first keeps Open edX's name; the next ones in that minute add the seconds, so no two links read alike."""
    names = []
    with time_machine.travel(datetime(2026, 5, 4, 10, 30, 15, tzinfo=dt_timezone.utc), tick=False):
        for _ in range(3):
            names.append(api.generate_report_now(api.request_report(COURSE_ID, instructor).id).file_name)
    stem = "TestX_Proctoring_2026_proctored_exam_results_report_2026-05-04-1030"
    assert names == [f"{stem}.csv", f"{stem}15.csv", f"{stem}15-2.csv"]
    assert [r.file_name for r in api.list_reports(COURSE_ID)] == names[::-1]


def test_generated_report_is_stored_listed_and_checksummed(course, instructor):
    task = api.request_report(COURSE_ID, instructor)
    assert task.state == "queued" and task.requester_username == "instructor"
    report = api.generate_report_now(task.id)
    data = stored_bytes(report)
    assert data == expected_bytes(expected_rows())
    assert report.size_bytes == len(data) and report.row_count == 18
    assert report.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert report.file_name.startswith("TestX_Proctoring_2026_proctored_exam_results_report_")
    assert report.requester_id == instructor.id
    done = api.get_report_task(task.id)
    assert (done.state, done.rows_done, done.rows_total) == ("succeeded", 18, 18)
    assert done.duration_seconds is not None and done.finished_at >= done.started_at
    assert api.list_reports(COURSE_ID) == [report]
    assert api.list_report_tasks(COURSE_ID) == []
    assert [t.id for t in api.list_report_tasks(COURSE_ID, active_only=False)] == [task.id]


def test_two_reports_in_the_same_minute_never_overwrite_each_other(course):
    with time_machine.travel(T0, tick=False):
        first = api.generate_report(COURSE_ID)
        ExamAttemptFactory(exam=course["exams"][0])
        second = api.generate_report(COURSE_ID)
    assert first.file_name != second.file_name  # the second adds the seconds to Open edX's minute
    assert first.storage_key != second.storage_key  # and one object per report
    assert parse(stored_bytes(first))[1:] != parse(stored_bytes(second))[1:]
    assert [r.id for r in api.list_reports(COURSE_ID)] == [second.id, first.id]  # newest first


def test_a_second_request_gets_the_running_task_and_the_seed_message(db, instructor):
    first = api.request_report(COURSE_ID, instructor)
    with pytest.raises(ReportAlreadyRunning) as caught:
        api.request_report(COURSE_ID, UserFactory())
    assert str(caught.value) == (
        "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
    )
    assert caught.value.task.id == first.id
    assert ReportTask.objects.count() == 1
    api.request_report(OTHER_COURSE_ID, instructor)  # another course is independent


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_make_one_task(instructor, settings):
    """Two clicks at the same moment, on two connections: the database constraint lets one through."""
    # Overridden here, not in the threads: Django's settings are one object for the
    # whole process, and two threads overriding them at once can restore each
    # other's override, which then outlives the test.
    settings.PROCTORING_RESULTS = {"REPORT_CELERY_QUEUE": "not-consumed-by-tests"}
    barrier = threading.Barrier(2)
    outcomes = []

    def click():
        try:
            barrier.wait()
            outcomes.append(("task", api.request_report(COURSE_ID, instructor).id))
        except ReportAlreadyRunning as exc:
            outcomes.append(("running", exc.task.id))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(kind for kind, _ in outcomes) == ["running", "task"]
    assert len({task_id for _, task_id in outcomes}) == 1
    assert ReportTask.objects.count() == 1


def test_an_unreachable_broker_fails_the_task_with_a_clear_message(
    db, instructor, django_capture_on_commit_callbacks, monkeypatch
):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    saved = celery_app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", dead)  # Celery reads this variable before its settings
    celery_app.conf.broker_url = dead
    celery_app._pool = None  # the next send opens a connection to the new URL
    celery_app.amqp._producer_pool = None
    try:
        with pytest.raises(ReportQueueUnavailable) as caught:
            with django_capture_on_commit_callbacks(execute=True):
                api.request_report(COURSE_ID, instructor)
    finally:
        monkeypatch.undo()
        celery_app.conf.broker_url = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert "task queue is unavailable" in str(caught.value)
    task = api.get_report_task(caught.value.task.id)
    assert task.state == "failed" and "task queue is unavailable" in task.message
    api.request_report(COURSE_ID, instructor)  # the failed task does not block a new request


def test_a_storage_failure_fails_the_task_and_stores_nothing(course, s3_server, s3_client, instructor):
    before = s3_keys(s3_client)
    broken = s3_storage_config(s3_server, bucket_name="no-such-bucket")
    with override_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}, "proctoring_results": broken}
    ):
        task = api.request_report(COURSE_ID, instructor)
        with pytest.raises(ReportGenerationFailed) as caught:
            api.generate_report_now(task.id)
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and failed.finished_at
    assert failed.message == str(caught.value)
    assert "storing the file" in failed.message
    assert "@" not in failed.message and "Midterm" not in failed.message
    assert api.list_reports(COURSE_ID) == []
    assert s3_keys(s3_client) == before


def test_a_redelivered_task_does_nothing_the_second_time(course, instructor):
    task = api.request_report(COURSE_ID, instructor)
    tasks.generate_proctored_exam_results_report(task.id)
    tasks.generate_proctored_exam_results_report(task.id)  # late ack: the message came again
    assert Report.objects.count() == 1
    assert api.get_report_task(task.id).state == "succeeded"


def test_a_stale_task_is_failed_and_a_new_request_is_possible(db, instructor):
    stuck = api.request_report(COURSE_ID, instructor)
    assert api.fail_stale_report_tasks() == 0
    with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(hours=2)):
        assert api.fail_stale_report_tasks() == 1
    failed = api.get_report_task(stuck.id)
    assert failed.state == "failed" and "took too long" in failed.message
    assert api.generate_report_now(stuck.id) is None  # its message arriving late does nothing
    assert api.request_report(COURSE_ID, instructor).id != stuck.id


def stored_files():
    location = get_report_storage().location
    return sorted(os.path.join(d, f) for d, _, files in os.walk(location) for f in files)


def test_a_task_failed_as_stale_while_running_leaves_no_report(course, instructor):
    before = stored_files()
    task = api.request_report(COURSE_ID, instructor)
    claimed = ReportTask.objects.claim(task.id)
    ReportTask.objects.fail(task.id, "The report took too long and was stopped. Generate it again.")
    assert reports.run_task(claimed) is None
    assert api.list_reports(COURSE_ID) == []
    assert stored_files() == before
    assert api.get_report_task(task.id).state == "failed"


def test_when_recording_the_report_fails_the_stored_file_is_deleted(course, instructor):
    """The Report row and the task's success commit together; if that fails, the object goes too."""
    task = api.request_report(COURSE_ID, instructor)
    claimed = ReportTask.objects.claim(task.id)
    # A row already holding this task's one-to-one slot makes the Report insert fail for real.
    Report.objects.create(
        task_id=task.id,
        course_id=COURSE_ID,
        file_name="x.csv",
        storage_key="elsewhere/x.csv",
        size_bytes=0,
        row_count=0,
        checksum_sha256="0" * 64,
        created=T0,
    )
    before = stored_files()
    with pytest.raises(reports.GenerationError, match="database error while recording the report"):
        reports.run_task(claimed)
    assert stored_files() == before
    assert api.get_report_task(task.id).state == "failed"


def test_expired_reports_are_deleted_file_and_row(course):
    with time_machine.travel(T0, tick=False):
        old = api.generate_report(COURSE_ID)
    new = api.generate_report(COURSE_ID)
    storage = get_report_storage()
    with override_settings(PROCTORING_RESULTS={"REPORT_RETENTION_DAYS": 30}):
        with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(days=1)):
            assert api.delete_expired_reports() == 1
    assert [r.id for r in api.list_reports(COURSE_ID)] == [new.id]
    assert not storage.exists(old.storage_key) and storage.exists(new.storage_key)
    with override_settings(PROCTORING_RESULTS={"REPORT_RETENTION_DAYS": None}):
        assert api.delete_expired_reports() == 0


# ---------------------------------------------------------------- S3 and the system check


def test_report_in_s3_is_private_and_matches_the_database(course, s3_storage, instructor):
    report = api.generate_report(COURSE_ID, instructor)
    assert s3_keys(s3_storage) == [f"proctoring-results/{report.storage_key}"]
    body = s3_storage.get_object(Bucket="proctoring-results", Key=f"proctoring-results/{report.storage_key}")
    data = body["Body"].read()
    assert parse(data)[1:] == expected_rows() and len(data) == report.size_bytes
    grants = s3_storage.get_object_acl(Bucket="proctoring-results", Key=f"proctoring-results/{report.storage_key}")
    assert all("AllUsers" not in str(g.get("Grantee", {}).get("URI", "")) for g in grants["Grants"])


def test_w002_warns_when_s3_storage_would_overwrite(s3_server):
    def ids():
        return {m.id for m in run_checks()}

    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "proctoring_results": s3_storage_config(s3_server, file_overwrite=True),
        }
    ):
        assert "proctoring_results.W002" in ids()
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "proctoring_results": s3_storage_config(s3_server),
        }
    ):
        assert "proctoring_results.W002" not in ids()
