"""
Measure the Proctored Exam Results Report at N attempts on MySQL/MariaDB, against Django's ``.iterator()``.

Usage::

    DATABASE_URL=mysql://root@127.0.0.1:3306/pr_bench_mysql \\
        .venv/bin/python benchmarks/mysql_report.py --attempts 1000,100k,1M [--repeat 2]

``DATABASE_URL`` defaults to that URL and must be a ``mysql://`` one; the
database is created (utf8mb4) and migrated when missing. Each N is seeded
first, in a process of its own, with the rows ``seed.py`` writes on PostgreSQL
(same course ids, exams, statuses, reviews and flags; ``seed.CourseRows``),
sent as multi-row ``INSERT`` statements through mysqlclient's ``executemany``
in one transaction per course, and recorded in ``benchmark_seed``: a course
already seeded with the same N is reused. Then, for each N:

- a fresh Python process runs the code path of the Celery task (``tasks.py`` ->
  ``api.generate_report_now``: count and one streamed query per exam on a connection of their
  own, the CSV with its checksum, ``storage.save``, the ``Report`` row), so its
  peak RSS belongs to that one report, and measures ``seconds``, ``rows_per_s``,
  ``queries`` (statements sent through any MySQLdb cursor of the process, the
  report's own connection included), ``django_queries`` (what Django's
  ``execute_wrapper`` saw, installed on every connection the process opened),
  ``peak_rss_mb`` (``ru_maxrss``) and ``baseline_rss_mb``; then the floor:
  ``floor_rows_per_s``, the report's columns as plain stored values, same joins,
  same order, one exam at a time, read through a MySQLdb ``SSCursor`` (streamed
  by the server, left unconverted) and discarded; ``ratio_vs_floor`` = rows_per_s / floor_rows_per_s;
- another fresh process reads the same report query
  (``SPEC.rows`` of ``proctoring_results/reports/specs/``) in one piece through Django's ``.iterator()``
  and writes it through ``csv.writer`` to a discarding sink: what the naive
  implementation costs on MySQL, where mysqlclient holds the whole result set
  (``iterator_seconds``, ``iterator_peak_rss_mb``).

Output: a table, then as the LAST line one JSON object: the figures of the
largest N at top level, and every run under ``"runs"``.
"""

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed  # its rows, shared with the PostgreSQL seeder
from _common import (
    ROOT,
    StatementCounter,
    check_database_url,
    course_id_for,
    fail,
    hwm_mb,
    mysql_connect,
    mysql_settings,
    parse_sizes,
    prepare_course,
    print_results,
    produced_report,
    rss_mb,
    run_figures,
    run_report_task,
    safe_url,
    setup_django,
    where_it_ran,
)

SEED_LOCK = "proctoring_results_benchmark_seed"
#: Bytes per multi-row INSERT (mysqlclient's default is 64 KiB); below MariaDB's 16 MiB max_allowed_packet.
MAX_STATEMENT_BYTES = 1024 * 1024
#: The floor: the report's columns, as the plain stored values, for the same rows in the same order,
#: one exam at a time, in the plan the report asks for (``reports/writers/mysql.py``). Left to
#: itself, or given ``exam_id IN (...)``, MariaDB sorts an exam's rows in a temporary table before
#: sending the first: a slower read than the report's, which would flatter the report.
FLOOR_SQL = """
    SELECT STRAIGHT_JOIN u.email, e.exam_name, a.attempt_code, a.allowed_time_limit_mins, a.is_sample_attempt,
           a.started_at, a.completed_at, a.status
    FROM proctoring_results_examattempt a FORCE INDEX (proctoring_attempt_report_idx)
    JOIN proctoring_results_proctoredexam e ON e.id = a.exam_id
    JOIN auth_user u ON u.id = a.user_id
    WHERE a.exam_id = %s
    ORDER BY a.exam_id, a.user_id, a.id
"""
FETCH_ROWS = 2000


# ---------------------------------------------------------------- seeding


def create_database():
    """The benchmark database, created in utf8mb4 when missing (the name is checked by ``mysql_settings``)."""
    name = mysql_settings()["database"]
    conn = mysql_connect(database=False)
    try:
        conn.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    finally:
        conn.close()


def insert_rows(cur, table, columns, rows):
    """The rows as multi-row INSERT statements of up to ``MAX_STATEMENT_BYTES``; returns how many."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    cur.max_stmt_length = MAX_STATEMENT_BYTES
    return cur.executemany(sql, rows) or 0  # mysqlclient streams the iterable, statement by statement


def _delete_course(cur, course_id):
    """The course's rows, children first, as multi-table DELETEs (joins, not IN subqueries, on MariaDB 10.x)."""
    exam = "JOIN proctoring_results_proctoredexam e ON e.id = a.exam_id WHERE e.course_id = %s"
    review = f"JOIN proctoring_results_examattempt a ON a.id = r.attempt_id {exam}"
    cur.execute(
        f"DELETE f FROM proctoring_results_reviewflag f JOIN proctoring_results_review r"
        f" ON r.id = f.review_id {review}",
        (course_id,),
    )
    cur.execute(f"DELETE r FROM proctoring_results_review r {review}", (course_id,))
    cur.execute(
        f"DELETE c FROM proctoring_results_attemptstatuschange c JOIN proctoring_results_examattempt a"
        f" ON a.id = c.attempt_id {exam}",
        (course_id,),
    )
    cur.execute(f"DELETE a FROM proctoring_results_examattempt a {exam}", (course_id,))
    cur.execute("DELETE FROM proctoring_results_proctoredexam WHERE course_id = %s", (course_id,))
    cur.execute("DELETE FROM benchmark_seed WHERE course_id = %s", (course_id,))


def seed_course(conn, attempts, log=print):
    """Seed one course with ``attempts`` attempts unless it already holds exactly that many."""
    course_id = course_id_for(attempts)
    cur = conn.cursor()
    started = time.perf_counter()
    cur.execute("SELECT attempts FROM benchmark_seed WHERE course_id = %s", (course_id,))
    row = cur.fetchone()
    if row and row[0] == attempts:
        conn.rollback()
        log(f"{course_id}: already seeded with {attempts:,} attempts, reused")
        return course_id, False
    _delete_course(cur, course_id)
    now = datetime.now(timezone.utc)  # aware UTC: mysqlclient sends its digits, as Django stores them
    count = math.ceil(attempts / len(seed.EXAMS))
    missing = seed.missing_learners(cur, count)
    if missing:
        first = seed.next_id(cur, "auth_user")
        insert_rows(cur, "auth_user", seed.USER_COLUMNS, seed.learner_rows(missing, first, now))
    learners = seed.learner_ids(cur, count)

    exam_ids = []
    for exam in seed.exam_rows(course_id, attempts, now):
        cur.execute(
            f"INSERT INTO proctoring_results_proctoredexam ({', '.join(seed.EXAM_COLUMNS)})"
            f" VALUES ({', '.join(['%s'] * len(exam))})",
            exam,
        )
        exam_ids.append(cur.lastrowid)

    first_ids = [seed.next_id(cur, table) for table in seed.ID_TABLES]
    rows = seed.CourseRows(attempts, learners, exam_ids, first_ids, now)
    insert_rows(cur, "proctoring_results_examattempt", seed.ATTEMPT_COLUMNS, rows.attempts())
    reviews = insert_rows(cur, "proctoring_results_review", seed.REVIEW_COLUMNS, rows.reviews())
    flags = insert_rows(cur, "proctoring_results_reviewflag", seed.FLAG_COLUMNS, rows.flags())
    cur.execute("INSERT INTO benchmark_seed (course_id, attempts) VALUES (%s, %s)", (course_id, attempts))
    conn.commit()
    log(
        f"{course_id}: seeded {attempts:,} attempts, {reviews:,} reviews, {flags:,} flags"
        f" in {time.perf_counter() - started:.1f} s"
    )
    return course_id, True


def seed_database(sizes, log=print):
    """Create and migrate the database, then seed each size (ids given explicitly move AUTO_INCREMENT on)."""
    create_database()
    log(f"database: {safe_url(check_database_url('mysql'))}")
    setup_django(vendor="mysql")
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    conn = mysql_connect()
    try:
        cur = conn.cursor()
        # DDL commits on MySQL, so the table is made before any course's transaction.
        cur.execute(
            "CREATE TABLE IF NOT EXISTS benchmark_seed (course_id varchar(255) NOT NULL PRIMARY KEY,"
            " attempts integer NOT NULL, seeded_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
        )
        # One seeder at a time per database: ids are allocated from max(id).
        cur.execute("SELECT GET_LOCK(%s, 3600)", (SEED_LOCK,))
        # A bulk load of rows consistent by construction: no per-row foreign key or unique lookups.
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        changed = False
        for attempts in sizes:
            changed = seed_course(conn, attempts, log=log)[1] or changed
        if changed:  # fresh statistics, so plans are those of a settled table
            cur.execute(
                "ANALYZE TABLE auth_user, proctoring_results_proctoredexam, proctoring_results_examattempt,"
                " proctoring_results_review, proctoring_results_reviewflag"
            )
            cur.fetchall()
        cur.execute("SELECT RELEASE_LOCK(%s)", (SEED_LOCK,))
    finally:
        conn.close()


# ---------------------------------------------------------------- measuring


def floor(course_id):
    """(seconds, rows, server version) of the floor query read through an ``SSCursor`` and discarded."""
    from MySQLdb.cursors import SSCursor

    conn = mysql_connect(cursorclass=SSCursor, conv={})  # no converters: the values stay bytes, as sent
    try:
        cur = conn.cursor()
        started = time.perf_counter()
        cur.execute("SELECT id FROM proctoring_results_proctoredexam WHERE course_id = %s ORDER BY id", (course_id,))
        exam_ids = [int(exam_id) for (exam_id,) in cur.fetchall()]
        if not exam_ids:
            fail(f"{course_id} has no exams; seed it first")
        rows = 0
        for exam_id in exam_ids:
            cur.execute(FLOOR_SQL, (exam_id,))
            while fetched := cur.fetchmany(FETCH_ROWS):
                rows += len(fetched)
        return time.perf_counter() - started, rows, conn.get_server_info()
    finally:
        conn.close()


class QueryCounter(StatementCounter):
    """
    Counts SQL statements two ways, on every connection of the process.

    ``total`` counts what any MySQLdb cursor sends (``BaseCursor._query``, under
    ``execute``, ``executemany`` and Django's own connection set-up); it is the
    figure reported as ``queries``. ``django`` is what Django's
    ``execute_wrapper`` sees, installed on every connection already open and, via
    ``connection_created``, on each one opened later, such as the report's own
    snapshot connection (``connections.create_connection``).
    """

    def _wrap(self, sender=None, connection=None, **kwargs):
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    def install(self):
        """Start counting; returns the function that stops."""
        from django.db import connections
        from django.db.backends.signals import connection_created
        from MySQLdb.cursors import BaseCursor

        original = BaseCursor._query
        counter = self

        def counting(cursor, query):
            counter.sent()
            return original(cursor, query)

        BaseCursor._query = counting
        for conn in connections.all(initialized_only=True):
            self._wrap(connection=conn)
        connection_created.connect(self._wrap, dispatch_uid=id(self))

        def restore():
            BaseCursor._query = original
            connection_created.disconnect(dispatch_uid=id(self))
            for conn in connections.all(initialized_only=True):
                if self in conn.execute_wrappers:
                    conn.execute_wrappers.remove(self)

        return restore


class _Discard:
    """A text file that keeps only the number of UTF-8 bytes written to it."""

    size = 0

    def write(self, text):
        self.size += len(text.encode())
        return len(text)


def _in_fresh_django(attempts, measure):
    """Set Django up on a temporary var dir, warm the server's caches with the floor, run ``measure``; print it."""
    var_dir = Path(tempfile.mkdtemp(prefix="proctoring-bench-mysql-"))
    try:
        setup_django(var_dir=var_dir, vendor="mysql")
        course_id = course_id_for(attempts)
        floor(course_id)  # warm the buffer pool for both sides; not measured
        print(json.dumps(measure(course_id)))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def measure_report(attempts):
    """One report through the task's code path in this (fresh) process."""

    def measure(course_id):
        from django.db import connection

        from proctoring_results import api

        user = prepare_course(course_id)
        task = api.request_report(course_id, user)
        connection.close()  # the task opens what it needs, counted
        baseline = rss_mb()
        counter = QueryCounter()
        restore = counter.install()
        try:
            started = time.perf_counter()
            run_report_task(task.id)
            seconds = time.perf_counter() - started
        finally:
            restore()
        peak, hwm = rss_mb(), hwm_mb()

        report = produced_report(course_id, attempts)
        floor_seconds, floor_rows, server = floor(course_id)
        if floor_rows != attempts:
            fail(f"the floor returned {floor_rows:,} rows, expected {attempts:,}")
        return {
            **run_figures(attempts, seconds, counter, (baseline, peak, hwm), floor_seconds, "floor"),
            "report_bytes": report.size_bytes,
            "server": server,
            **where_it_ran(),
        }

    _in_fresh_django(attempts, measure)


def measure_iterator(attempts):
    """The report query in one piece through Django's ``.iterator()`` and ``csv.writer``, in this (fresh) process."""

    def measure(course_id):
        from django.db import connection

        from proctoring_results.reports.specs.proctored_exam_results_report import SPEC

        connection.close()
        baseline = rss_mb()
        started = time.perf_counter()
        sink = _Discard()
        writer = csv.writer(sink, lineterminator="\r\n")
        writer.writerow(SPEC.column_names())
        rows = 0
        for row in SPEC.rows(course_id).iterator():
            writer.writerow(row)
            rows += 1
        seconds = time.perf_counter() - started
        peak = rss_mb()
        if rows != attempts:
            fail(f".iterator() returned {rows:,} rows, expected {attempts:,}")
        return {
            "iterator_seconds": round(seconds, 3),
            "iterator_rows_per_s": round(attempts / seconds),
            "iterator_peak_rss_mb": round(peak, 1),
            "iterator_baseline_rss_mb": round(baseline, 1),
            "iterator_bytes": sink.size,
        }

    _in_fresh_django(attempts, measure)


# ---------------------------------------------------------------- the parent


def _run(args, what, live=False):
    """
    Run this script with ``args`` in a child process and return its stdout lines.

    ``live``: its stdout goes to this one's stderr as it comes (progress). When
    it fails, stop with its last line of stderr: its one sentence.
    """
    env = dict(
        os.environ,
        DATABASE_URL=check_database_url("mysql"),
        CELERY_BROKER_URL="filesystem://",
        DJANGO_DEBUG="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PROCTORING_RESULTS_S3_ENDPOINT_URL", None)  # local storage
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        env=env,
        cwd=ROOT,
        text=True,
        stderr=subprocess.PIPE,
        stdout=sys.stderr if live else subprocess.PIPE,
    )
    lines = [] if live else proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not (lines or live):
        message = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        fail(f"{what} failed: {message.removeprefix('error: ')}")
    sys.stderr.write(proc.stderr)  # warnings, if any
    return lines


ITERATOR_KEYS = (
    "iterator_seconds",
    "iterator_rows_per_s",
    "iterator_peak_rss_mb",
    "iterator_baseline_rss_mb",
    "iterator_bytes",
)
COLUMNS = [
    ("attempts", 10, "{:,}"),
    ("seconds", 8, "{:.2f}"),
    ("rows_per_s", 10, "{:,}"),
    ("queries", 7, "{}"),
    ("peak_rss_mb", 11, "{:.1f}"),
    ("floor_rows_per_s", 16, "{:,}"),
    ("ratio_vs_floor", 14, "{:.2f}"),
    ("iterator_seconds", 16, "{:.2f}"),
    ("iterator_peak_rss_mb", 20, "{:.1f}"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", default="1000", help="comma-separated sizes, e.g. 1000,100k,1M (default 1000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N; the table shows each (default 1)")
    parser.add_argument("--seed-only", action="store_true", help="create, migrate and seed the database, then stop")
    parser.add_argument(
        "--no-iterator",
        action="store_true",
        help="skip the .iterator() process (about 1 GB and 12 s at 1M); its columns then read 0",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-iterator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-seed", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return measure_report(args.child)
    if args.child_iterator:
        return measure_iterator(args.child_iterator)
    if args.child_seed:
        return seed_database(parse_sizes(args.child_seed))
    if args.repeat < 1:
        fail("--repeat must be at least 1")

    check_database_url("mysql")
    sizes = sorted(set(parse_sizes(args.attempts)))
    # Seeding runs in a process of its own: Linux carries a parent's peak RSS into
    # ru_maxrss of the children it starts, so this process must stay small.
    started = time.perf_counter()
    _run(["--child-seed", ",".join(map(str, sizes))], "seeding", live=True)
    print(f"seeded or reused in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.seed_only:
        return None
    runs = []
    for attempts in sizes:
        for _ in range(args.repeat):
            run = json.loads(_run(["--child", str(attempts)], f"the report at {attempts:,} attempts")[-1])
            if args.no_iterator:
                run.update(dict.fromkeys(ITERATOR_KEYS, 0))
            else:
                run.update(json.loads(_run(["--child-iterator", str(attempts)], f".iterator() at {attempts:,}")[-1]))
            runs.append(run)
    print_results(runs, COLUMNS)


if __name__ == "__main__":
    main()
