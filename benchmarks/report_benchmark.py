"""
Measure the Proctored Exam Results Report at N attempts against PostgreSQL's COPY floor.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench \\
        .venv/bin/python benchmarks/report_benchmark.py --attempts 1000,100k,1M [--s3]

For each N (seeded first by ``seed.py``, reused when already there) a fresh
Python process runs the code path of the Celery task (``tasks.py`` ->
``api.generate_report_now``: the streamed CSV, its checksum, ``storage.save``,
the ``Report`` row), so its peak RSS belongs to that one report. It measures:

- ``seconds``: wall time of the task, storage included; ``rows_per_s`` = N / seconds;
- ``queries``: SQL statements the task sent on any connection, counted at the
  psycopg cursor (``django_queries``: those Django's ``execute_wrapper`` saw on
  the default connection; the COPY runs on a connection of its own), less the
  heartbeat thread's, which follow the run's duration (``heartbeat_queries``);
- ``peak_rss_mb``: ``ru_maxrss`` of the process after the report (Django's own
  footprint included), and ``baseline_rss_mb`` before it;
- ``copy_rows_per_s``: the floor, in the same process after the report:
  ``COPY (SELECT <the report's columns as plain values> ...) TO STDOUT WITH CSV``
  read through psycopg and thrown away; ``ratio_vs_copy`` = rows_per_s / copy_rows_per_s.
- with ``--s3``, ``s3_server_cpu_seconds``: the CPU time moto's server spent
  during the report, on the machine's cores (``/proc/<pid>/stat``);
  ``copy_to_s3_rows_per_s``: the storage's floor, after the first floor:
  the same ``COPY`` uploaded as it streams to the same S3 server through
  django-storages' own upload (boto3's managed transfer), then deleted;
  ``ratio_vs_copy_to_s3`` = rows_per_s / copy_to_s3_rows_per_s.

Local file storage by default (a temporary directory); ``--s3`` starts moto's
S3-compatible server on loopback and stores there through django-storages.
``--extra-columns review_result,flag_comments`` asks the report for opt-in
columns and ``--column-profile lms`` for the LMS's columns (docs/reports.rst);
the floor stays the ``COPY`` of the seed's columns, so ``ratio_vs_copy`` then
shows what they cost.

Output: a table, then as the LAST line one JSON object: the figures of the
largest N at top level, and every N under ``"runs"``.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    StatementCounter,
    course_id_for,
    database_url,
    fail,
    hwm_mb,
    parse_sizes,
    prepare_course,
    print_results,
    produced_report,
    psycopg_connect,
    rss_mb,
    run_figures,
    run_report_task,
    setup_django,
    where_it_ran,
)

S3_BUCKET = "proctoring-results-bench"

#: The floor: the report's columns, as the plain stored values, for the same rows in the same order,
#: selected as the report selects them (the course's exam ids first, then the attempts of those exams).
FLOOR_EXAMS_SQL = "SELECT id FROM proctoring_results_proctoredexam WHERE course_id = %s"
FLOOR_SQL = """
COPY (
    SELECT u.email, e.exam_name, a.attempt_code, a.allowed_time_limit_mins, a.is_sample_attempt,
           a.started_at, a.completed_at, a.status
    FROM proctoring_results_examattempt a
    JOIN proctoring_results_proctoredexam e ON e.id = a.exam_id
    JOIN auth_user u ON u.id = a.user_id
    WHERE a.exam_id = ANY(%s)
    ORDER BY a.exam_id, a.user_id, a.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def floor_copy(cur, course_id):
    """The floor's ``COPY`` on a psycopg cursor, its rows selected as the report selects them (exam ids first)."""
    exam_ids = [exam_id for (exam_id,) in cur.execute(FLOOR_EXAMS_SQL, (course_id,)).fetchall()]
    return cur.copy(FLOOR_SQL, (exam_ids,))


def copy_floor(course_id):
    """Rows/s of a raw COPY of the same columns, read through psycopg and discarded."""
    with psycopg_connect() as conn, conn.cursor() as cur:
        started = time.perf_counter()
        size = lines = 0
        with floor_copy(cur, course_id) as copy:
            for chunk in copy:
                size += len(chunk)
                lines += bytes(chunk).count(b"\n")
        return time.perf_counter() - started, lines - 1, size


def cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, from ``/proc/<pid>/stat`` (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _CopyStream:
    """The chunks of a running ``COPY ... TO STDOUT`` as a file boto3 can ``read`` (not seekable)."""

    def __init__(self, copy):
        self.chunks = iter(copy)
        self.buffer = bytearray()
        self.size = 0

    def read(self, size=-1):
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        self.size += len(data)
        return data


def copy_to_storage_floor(course_id, storage):
    """
    Seconds of the same ``COPY`` uploaded, as it streams, to the S3 storage the report used, and its bytes.

    The upload is django-storages' own (boto3's managed transfer, with the
    storage's client and ``transfer_config``): what any report stored there
    pays on top of reading its rows, the server included when it shares the
    machine, as moto does here. The object is deleted afterwards.
    """
    key = f"benchmark-floor-{os.getpid()}.csv"
    with psycopg_connect() as conn, conn.cursor() as cur:
        started = time.perf_counter()
        with floor_copy(cur, course_id) as copy:
            stream = _CopyStream(copy)
            storage.bucket.upload_fileobj(stream, key, Config=storage.transfer_config)
        seconds = time.perf_counter() - started
    storage.bucket.Object(key).delete()
    return seconds, stream.size


class QueryCounter(StatementCounter):
    """
    ``django`` is what ``connection.execute_wrapper`` sees on the default
    connection. ``total`` counts every statement any psycopg cursor of the
    process sends (``execute``, ``executemany``, ``copy``), which also covers the
    report's own read-only connection and the ``COPY`` on its raw cursor, which
    Django's wrappers never see. ``total`` is the figure reported as ``queries``.
    """

    def instrument_psycopg(self):
        """Wrap psycopg's cursor methods to count; returns the function that undoes it."""
        import psycopg

        originals = {name: getattr(psycopg.Cursor, name) for name in ("execute", "executemany", "copy")}
        counter = self

        def counting(original):
            def method(cursor, *args, **kwargs):
                counter.sent()
                return original(cursor, *args, **kwargs)

            return method

        for name, original in originals.items():
            setattr(psycopg.Cursor, name, counting(original))
        return lambda: [setattr(psycopg.Cursor, name, original) for name, original in originals.items()]


class PythonTime:
    """
    Where the worker's Python time goes besides the rows: garbage collections and progress writes.

    ``gc_seconds`` / ``gc_collections``: time inside the collector during the
    task (``gc.callbacks``); ``progress_seconds`` / ``progress_writes``: time
    in the task's progress callback (``reports.build.record_progress``).
    ``gc_unfrozen`` runs the task without the writers' ``gc.freeze`` (``--gc-unfrozen``), to compare.
    """

    def __init__(self):
        self.gc_seconds = self.progress_seconds = 0.0
        self.gc_collections = self.progress_writes = 0
        self._gc_started = None

    def _on_gc(self, phase, info):
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            self.gc_seconds += time.perf_counter() - self._gc_started
            self.gc_collections += 1

    def install(self, gc_unfrozen=False):
        import contextlib
        import gc

        from proctoring_results.reports import build, writers

        original_progress, original_freeze = build.record_progress, writers._collection_of_new_objects_only

        def timed_progress(task_id):
            on_progress = original_progress(task_id)

            def timed(*args):
                started = time.perf_counter()
                on_progress(*args)
                self.progress_seconds += time.perf_counter() - started
                self.progress_writes += 1

            return timed

        build.record_progress = timed_progress
        if gc_unfrozen:
            writers._collection_of_new_objects_only = contextlib.nullcontext
        gc.callbacks.append(self._on_gc)

        def undo():
            gc.callbacks.remove(self._on_gc)
            build.record_progress, writers._collection_of_new_objects_only = original_progress, original_freeze

        return undo

    def figures(self):
        return {
            "gc_seconds": round(self.gc_seconds, 3),
            "gc_collections": self.gc_collections,
            "progress_seconds": round(self.progress_seconds, 3),
            "progress_writes": self.progress_writes,
            "gc_frozen": os.environ.get("BENCH_GC_UNFROZEN") != "1",
        }


def child(attempts):
    """One measured report in this (fresh) process; prints one JSON line."""
    var_dir = Path(tempfile.mkdtemp(prefix="proctoring-bench-"))
    try:
        setup_django(var_dir=var_dir)
        from django.db import connection

        from proctoring_results import api
        from proctoring_results.exceptions import InvalidReportOptions

        course_id = course_id_for(attempts)
        user = prepare_course(course_id)
        copy_floor(course_id)  # warm the caches for both sides; not measured
        connection.close()
        baseline = rss_mb()

        counter = QueryCounter()
        restore = counter.instrument_psycopg()
        python_time = PythonTime()
        undo_python_time = python_time.install(gc_unfrozen=os.environ.get("BENCH_GC_UNFROZEN") == "1")
        extra_columns = [c for c in os.environ.get("BENCH_EXTRA_COLUMNS", "").split(",") if c]
        column_profile = os.environ.get("BENCH_COLUMN_PROFILE") or "seed"
        try:
            task = api.request_report(course_id, user, extra_columns=extra_columns, column_profile=column_profile)
        except InvalidReportOptions as exc:
            fail(f"--extra-columns or --column-profile: {exc}")
        s3_server = os.environ.get("BENCH_S3_SERVER_PID")
        try:
            with connection.execute_wrapper(counter):
                server_cpu = cpu_seconds(s3_server) if s3_server else None
                started = time.perf_counter()
                run_report_task(task.id)
                seconds = time.perf_counter() - started
                if s3_server:
                    server_cpu = cpu_seconds(s3_server) - server_cpu
        finally:
            restore()
            undo_python_time()
        peak = rss_mb()
        hwm = hwm_mb()

        report = produced_report(course_id, attempts)

        floor_seconds, floor_rows, floor_bytes = copy_floor(course_id)
        if floor_rows != attempts:
            fail(f"the COPY floor returned {floor_rows:,} rows, expected {attempts:,}")
        result = {
            **run_figures(attempts, seconds, counter, (baseline, peak, hwm), floor_seconds, "copy"),
            "column_profile": column_profile,
            "extra_columns": extra_columns,
            "report_bytes": report.size_bytes,
            "copy_bytes": floor_bytes,
            **python_time.figures(),
            **where_it_ran(),
        }
        if result["storage"] == "s3":
            from proctoring_results.storage import get_report_storage

            stored_seconds, stored_bytes = copy_to_storage_floor(course_id, get_report_storage())
            if stored_bytes != floor_bytes:
                fail(f"the COPY uploaded to S3 sent {stored_bytes:,} bytes, expected {floor_bytes:,}")
            result.update(
                s3_server_cpu_seconds=round(server_cpu, 2) if s3_server else None,
                copy_to_s3_seconds=round(stored_seconds, 3),
                copy_to_s3_rows_per_s=round(attempts / stored_seconds),
                ratio_vs_copy_to_s3=round(stored_seconds / seconds, 3),
            )
        print(json.dumps(result))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3():
    """
    moto's S3-compatible server on loopback, in a process of its own, with the bucket made.

    Returns (env for the children, the server process). The server keeps uploads
    in its own memory, which must not count against the measured process.
    """
    import urllib.request

    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            # A plain PUT makes the bucket (moto does not check signatures): no boto3 in this process.
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{S3_BUCKET}", method="PUT"), timeout=5)
            break
        except OSError:  # not listening yet
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                fail("moto's S3 server did not start")
            time.sleep(0.3)
    env = {
        "BENCH_S3_SERVER_PID": str(server.pid),
        "PROCTORING_RESULTS_S3_ENDPOINT_URL": endpoint,
        "PROCTORING_RESULTS_S3_BUCKET": S3_BUCKET,
        "PROCTORING_RESULTS_S3_ACCESS_KEY": "testing",
        "PROCTORING_RESULTS_S3_SECRET_KEY": "testing",
    }
    return env, server


def stop_s3(server):
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_child(attempts, extra_env):
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL="filesystem://",
        DJANGO_DEBUG="0",
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    if "PROCTORING_RESULTS_S3_ENDPOINT_URL" not in extra_env:
        env.pop("PROCTORING_RESULTS_S3_ENDPOINT_URL", None)  # local storage unless --s3
        env.pop("BENCH_S3_SERVER_PID", None)
    for name in ("BENCH_GC_UNFROZEN", "BENCH_EXTRA_COLUMNS", "BENCH_COLUMN_PROFILE"):
        if name not in extra_env:
            env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(attempts)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        message = (proc.stderr.strip().splitlines() or ["no output"])[-1].removeprefix("error: ")
        fail(f"the run at {attempts:,} attempts failed: {message}")
    return json.loads(lines[-1])


COLUMNS = [
    ("attempts", 10, "{:,}"),
    ("seconds", 8, "{:.2f}"),
    ("rows_per_s", 10, "{:,}"),
    ("queries", 7, "{}"),
    ("peak_rss_mb", 11, "{:.1f}"),
    ("copy_rows_per_s", 15, "{:,}"),
    ("ratio_vs_copy", 13, "{:.2f}"),
]
S3_COLUMNS = [
    ("copy_to_s3_rows_per_s", 21, "{:,}"),
    ("ratio_vs_copy_to_s3", 19, "{:.2f}"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", default="1000", help="comma-separated sizes, e.g. 1000,100k,1M (default 1000)")
    parser.add_argument("--s3", action="store_true", help="store reports in moto's S3-compatible server")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N; the table shows each (default 1)")
    parser.add_argument(
        "--gc-unfrozen",
        action="store_true",
        help="run the report without its gc.freeze, to measure what the freeze saves",
    )
    parser.add_argument(
        "--extra-columns",
        default="",
        help="comma-separated opt-in columns for the report, e.g. review_result,flag_count,flag_comments",
    )
    parser.add_argument("--column-profile", default="", help="the report's column profile: seed (default) or lms")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    if args.repeat < 1:
        fail("--repeat must be at least 1")

    sizes = sorted(set(parse_sizes(args.attempts)))
    # Seeding (and the S3 server) run in processes of their own: Linux carries a parent's
    # peak RSS into ru_maxrss of the children it starts, so this process must stay small.
    seeded = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("seed.py")), "--attempts", ",".join(map(str, sizes))],
        env=dict(os.environ, DATABASE_URL=database_url()),
        cwd=ROOT,
        stdout=sys.stderr,
    )
    if seeded.returncode != 0:
        fail("seeding failed (see above)")
    extra_env, server = start_s3() if args.s3 else ({}, None)
    try:
        if args.gc_unfrozen:
            extra_env = {**extra_env, "BENCH_GC_UNFROZEN": "1"}
        if args.extra_columns:
            extra_env = {**extra_env, "BENCH_EXTRA_COLUMNS": args.extra_columns}
        if args.column_profile:
            extra_env = {**extra_env, "BENCH_COLUMN_PROFILE": args.column_profile}
        runs = [run_child(n, extra_env) for n in sizes for _ in range(args.repeat)]
    finally:
        if server is not None:
            stop_s3(server)
    print_results(runs, COLUMNS + (S3_COLUMNS if args.s3 else []))


if __name__ == "__main__":
    main()
