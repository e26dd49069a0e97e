"""
An end-of-term rush: many courses ask for their report at once, served by 1, 2, 4 worker processes.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python benchmarks/rush.py --courses 100 --attempts 10k --workers 1,2,4

Seeds ``--courses`` courses of ``--attempts`` attempts each (``seed.py``'s rows,
reused when already there). Then, for each worker count K, starts K real
``celery worker`` processes (``--pool=solo``, prefetch 1, as the example runs
them) on the broker (``CELERY_BROKER_URL``: Redis for figures that mean something;
the demo's file-system broker otherwise), requests every course's report at once through
``api.request_report`` and waits until every task has ended. It measures:

- ``seconds_to_last``: from the first request to the last report recorded (the
  last link on the last course's page); ``reports_per_min`` = courses / that;
- ``max_wait_s``: the longest a task sat queued before a worker took it;
- ``median_report_s``: a report's own time in a worker (start to finish).

The floor, measured in the same run: the same reports built one after another
in this process, with no broker and no worker (``floor_reports_per_min``).
``speedup_vs_floor`` = reports_per_min / floor_reports_per_min is the figure to
read: how much K workers add over one process doing nothing else, on this machine.
Every task must succeed with every row exactly once, or the run stops with one
sentence. Output: a table, then as the LAST line one JSON object (the largest
K at top level, every K under ``runs``).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, database_url, fail, parse_sizes, psycopg_connect, setup_django, where_it_ran

WORKER_READY_SECONDS = 60


def course_ids(courses, attempts):
    return [f"course-v1:RushX+C{n:03d}+N{attempts}" for n in range(courses)]


def seed(courses, attempts):
    """Each rush course seeded with ``seed.py``'s rows (reused when it already holds ``attempts``)."""
    from seed import analyze, migrate, seed_course

    migrate()
    changed = False
    with psycopg_connect() as conn:
        for course_id in course_ids(courses, attempts):
            changed = seed_course(conn, attempts, log=lambda *_: None, course_id=course_id)[1] or changed
        if changed:
            analyze(conn)


def clean(courses):
    from proctoring_results.models import Report, ReportTask
    from proctoring_results.storage import delete_quietly, get_report_storage

    storage = get_report_storage()
    for report in Report.objects.filter(course_id__in=courses):
        delete_quietly(storage, report.storage_key)
    Report.objects.filter(course_id__in=courses).delete()
    ReportTask.objects.filter(course_id__in=courses).delete()


def floor(courses, attempts):
    """Reports per minute of this one process building every course's report in turn (no broker, no worker)."""
    from proctoring_results import api

    clean(courses)
    started = time.perf_counter()
    for course_id in courses:
        report = api.generate_report(course_id)
        if report.row_count != attempts:
            fail(f"the floor's report of {course_id} has {report.row_count} rows, not {attempts}")
    seconds = time.perf_counter() - started
    clean(courses)
    return len(courses) / seconds * 60


def start_workers(count, var_dir):
    if str(ROOT / "example") not in sys.path:
        sys.path.insert(0, str(ROOT / "example"))
    from example.celery import worker_command

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example.settings",
        "EXAMPLE_VAR_DIR": str(var_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example")]),
        "PYTHONUNBUFFERED": "1",
    }
    workers = []
    for n in range(count):
        log = open(var_dir / f"worker-{n}.log", "wb")
        command = worker_command(f"rush{n}@%h")
        workers.append(
            (subprocess.Popen(command, cwd=ROOT / "example", env=env, stdout=log, stderr=subprocess.STDOUT), log)
        )
    deadline = time.monotonic() + WORKER_READY_SECONDS
    for n, (process, _log) in enumerate(workers):
        path = var_dir / f"worker-{n}.log"
        while "ready." not in path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                fail(f"worker {n} did not start: {path.read_text(errors='replace')[-500:]}")
            time.sleep(0.2)
    return workers


def stop_workers(workers):
    for process, log in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def rush(courses, attempts, workers_count, var_dir, timeout):
    from django.db.models import Count

    from example import celery_app
    from proctoring_results import api
    from proctoring_results.models import Report, ReportTask

    clean(courses)
    celery_app.control.purge()
    workers = start_workers(workers_count, var_dir)
    try:
        started = time.perf_counter()
        for course_id in courses:
            api.request_report(course_id, None)
        deadline = time.monotonic() + timeout
        while ReportTask.objects.filter(course_id__in=courses, active=True).exists():
            if time.monotonic() > deadline:
                fail(f"the rush did not end within {timeout} s with {workers_count} worker(s)")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        stop_workers(workers)
    tasks = list(ReportTask.objects.filter(course_id__in=courses))
    failed = [t for t in tasks if t.state != "succeeded"]
    if failed or len(tasks) != len(courses):
        fail(f"{len(failed)} of {len(tasks)} task(s) did not succeed, e.g. {failed[0].message if failed else ''}")
    per_course = Report.objects.filter(course_id__in=courses).values("course_id").annotate(n=Count("id"))
    if (
        len(per_course) != len(courses)
        or any(row["n"] != 1 for row in per_course)
        or Report.objects.filter(course_id__in=courses).exclude(row_count=attempts).exists()
    ):
        fail("a course did not get exactly one report with every row")
    waits = [(t.started_at - t.created).total_seconds() for t in tasks]
    durations = [(t.finished_at - t.started_at).total_seconds() for t in tasks]
    clean(courses)
    return {
        "workers": workers_count,
        "courses": len(courses),
        "attempts_per_course": attempts,
        "seconds_to_last": round(seconds, 2),
        "reports_per_min": round(len(courses) / seconds * 60, 1),
        "max_wait_s": round(max(waits), 2),
        "median_report_s": round(statistics.median(durations), 3),
        "load_1m": round(os.getloadavg()[0], 2),
    }


COLUMNS = [
    ("workers", 7, "{}"),
    ("courses", 7, "{}"),
    ("attempts_per_course", 19, "{:,}"),
    ("seconds_to_last", 15, "{:.2f}"),
    ("reports_per_min", 15, "{:.1f}"),
    ("max_wait_s", 10, "{:.2f}"),
    ("median_report_s", 15, "{:.3f}"),
    ("floor_reports_per_min", 21, "{:.1f}"),
    ("speedup_vs_floor", 16, "{:.2f}"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=100, help="courses asking at once (default 100)")
    parser.add_argument("--attempts", default="10k", help="attempts per course (default 10k)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to try (default 1,2,4)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a rush may take (default 1800)")
    args = parser.parse_args(argv)
    [attempts] = parse_sizes(args.attempts)[:1] or [0]
    counts = parse_sizes(args.workers)
    if args.courses < 1 or attempts < 1 or not counts:
        fail("--courses, --attempts and --workers must be positive")
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem:// (the demo's; set CELERY_BROKER_URL for Redis)")
    print(f"database: {database_url()}  broker: {broker}")
    var_dir = Path(tempfile.mkdtemp(prefix="proctoring-rush-"))
    setup_django(var_dir)
    seed(args.courses, attempts)
    courses = course_ids(args.courses, attempts)
    floor_per_min = floor(courses, attempts)
    runs = []
    for count in counts:
        run = rush(courses, attempts, count, var_dir, args.timeout)
        run.update(
            floor_reports_per_min=round(floor_per_min, 1),
            speedup_vs_floor=round(run["reports_per_min"] / floor_per_min, 2),
            **where_it_ran(),
        )
        runs.append(run)
    print("  ".join(f"{name:>{width}}" for name, width, _ in COLUMNS))
    for run in runs:
        print("  ".join(f"{fmt.format(run[name]):>{width}}" for name, width, fmt in COLUMNS))
    print(json.dumps({**runs[-1], "runs": runs}))


if __name__ == "__main__":
    main()
