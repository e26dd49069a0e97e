"""
What every benchmark script shares: the database it runs on, Django set up on
the example host project, and the course a given N is seeded into.

The benchmarks run on PostgreSQL (the figures are about PostgreSQL);
``DATABASE_URL`` defaults to the local ``pr_bench`` database. One script,
``mysql_report.py``, measures the report on MySQL/MariaDB instead: it asks for
``vendor="mysql"``, whose URL defaults to the local ``pr_bench_mysql``.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pr_bench"
DEFAULT_MYSQL_DATABASE_URL = "mysql://root@127.0.0.1:3306/pr_bench_mysql"
#: vendor -> (the URL schemes accepted, the default URL, what the scripts of that vendor measure)
VENDORS = {
    "postgresql": (("postgres://", "postgresql://"), DEFAULT_DATABASE_URL, "the benchmarks run on PostgreSQL"),
    "mysql": (("mysql://",), DEFAULT_MYSQL_DATABASE_URL, "this script measures MySQL/MariaDB"),
}


def database_url(vendor="postgresql"):
    return os.environ.get("DATABASE_URL") or VENDORS[vendor][1]


def check_database_url(vendor="postgresql"):
    """The URL of the benchmark database, or one sentence and exit when it is not one of ``vendor``."""
    schemes, _default, what = VENDORS[vendor]
    url = database_url(vendor)
    if not url.startswith(schemes):
        fail(f"{what}; DATABASE_URL must be a {schemes[0]} URL, not {url.split(':')[0]}://")
    return url


def safe_url(url):
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def course_id_for(attempts):
    """Each N gets its own course, so one database holds every size side by side."""
    return f"course-v1:BenchX+Scale+N{attempts}"


def fail(message):
    """Stop with one sentence and a non-zero exit, never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def setup_django(var_dir=None, vendor="postgresql"):
    """Configure Django with the example's settings against the benchmark database (of ``vendor``)."""
    url = check_database_url(vendor)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    if var_dir is not None:
        os.environ["EXAMPLE_VAR_DIR"] = str(var_dir)
    for path in (str(ROOT), str(ROOT / "example")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


def psycopg_connect(**kwargs):
    """A plain psycopg connection to the benchmark database (for COPY)."""
    import psycopg

    try:
        return psycopg.connect(database_url(), **kwargs)
    except psycopg.OperationalError as exc:
        fail(f"cannot connect to {database_url()}: {str(exc).strip().splitlines()[0]}")


def mysql_settings():
    """Host, port, user, password and database name of the ``mysql://`` benchmark URL."""
    import dj_database_url

    parsed = dj_database_url.parse(check_database_url("mysql"))
    name = parsed.get("NAME") or ""
    if not name.replace("_", "").isalnum():
        fail(f"'{name}' is not a database name of letters, digits and underscores")
    return {
        "host": parsed.get("HOST") or "127.0.0.1",
        "port": int(parsed.get("PORT") or 3306),
        "user": parsed.get("USER") or "root",
        "password": parsed.get("PASSWORD") or "",
        "database": name,
    }


def mysql_connect(database=True, **kwargs):
    """
    A plain MySQLdb connection to the benchmark server, in utf8mb4 as Django's.

    ``database=False`` connects without choosing the database (to create it).
    """
    try:
        import MySQLdb
    except ImportError:
        fail(
            "mysqlclient is not installed: run `make bench-mysql`, which installs requirements/mysql.txt "
            "(it builds against MariaDB's client headers: apt-get install libmariadb-dev pkg-config)"
        )

    settings = mysql_settings()
    options = {
        "host": settings["host"],
        "port": settings["port"],
        "user": settings["user"],
        "password": settings["password"],
        "charset": "utf8mb4",
        **kwargs,
    }
    if database:
        options["database"] = settings["database"]
    try:
        return MySQLdb.connect(**options)
    except MySQLdb.OperationalError as exc:
        reason = exc.args[1] if len(exc.args) > 1 else str(exc)
        fail(f"cannot connect to {safe_url(database_url('mysql'))}: {reason}")


def storage_kind():
    """``s3`` when report storage is the S3-compatible server of ``--s3`` (the example's setting), else ``local``."""
    return "s3" if os.environ.get("PROCTORING_RESULTS_S3_ENDPOINT_URL") else "local"


def where_it_ran():
    """
    ``database`` (``postgresql``, ``mariadb`` or ``mysql``), ``database_version`` and ``storage`` of a run.

    Every benchmark's last JSON line carries them, so no figure is read without what it was measured on.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    if connection.vendor == "postgresql":
        database, version = "postgresql", version.split()[1]  # "PostgreSQL 15.20 (Debian ...) on ..."
    else:
        database = "mariadb" if "mariadb" in version.lower() else connection.vendor
    return {"database": database, "database_version": version, "storage": storage_kind()}


def rss_mb():
    """Peak RSS of this process so far (``ru_maxrss``), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def hwm_mb():
    """The kernel's high-water mark of this process image (``VmHWM``), a cross-check of ``ru_maxrss``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


BENCH_STAFF = "bench-staff"


def prepare_course(course_id):
    """The staff requester, and no leftover task or report of earlier runs in the course (Django set up)."""
    from django.contrib.auth import get_user_model

    from proctoring_results import api
    from proctoring_results.models import Report, ReportTask

    user, _ = get_user_model().objects.get_or_create(username=BENCH_STAFF, defaults={"email": "staff@example.edu"})
    api.grant_course_role(user, course_id, "staff")
    Report.objects.filter(course_id=course_id).delete()
    ReportTask.objects.filter(course_id=course_id).delete()
    return user


def run_report_task(task_id):
    """What a Celery worker runs for the task: the task function's body, called in this process."""
    from proctoring_results import tasks

    return tasks.generate_proctored_exam_results_report.run(task_id)


def produced_report(course_id, attempts):
    """The course's newest report, or stop with one sentence if the run did not produce it with every row."""
    from proctoring_results import api

    reports = api.list_reports(course_id)
    if not reports or reports[0].row_count != attempts:
        done = api.list_report_tasks(course_id)
        # The task's message is written for course staff and holds no personal data.
        why = f"task {done[0].state}: {done[0].message}" if done else "no task"
        fail(f"the report for {attempts:,} attempts was not produced as expected ({why})")
    return reports[0]


def on_heartbeat_thread():
    """
    Is this statement the task's heartbeat (``reports.lifecycle.Heartbeat``, every ``REPORT_HEARTBEAT_SECONDS``)?

    Those are counted apart (``heartbeat_queries``): they follow the run's duration, not the course's size.
    """
    import threading

    name = threading.current_thread().name
    return name.startswith("report-task-") and name.endswith("-heartbeat")


class StatementCounter:
    """
    A report harness's statement counts: ``total``, every statement the database driver's cursors send
    on any connection (the figure reported as ``queries``); ``django``, those Django's
    ``execute_wrapper`` saw (the instance is the wrapper); ``heartbeat``, the heartbeat thread's, apart.

    Each harness hooks its driver's cursor and calls ``sent`` for every statement it sends.
    """

    def __init__(self):
        self.django = 0
        self.total = 0
        self.heartbeat = 0

    def __call__(self, execute, sql, params, many, context):
        if not on_heartbeat_thread():
            self.django += 1
        return execute(sql, params, many, context)

    def sent(self):
        if on_heartbeat_thread():
            self.heartbeat += 1
        else:
            self.total += 1


def run_figures(attempts, seconds, counter, memory, floor_seconds, floor_name):
    """
    The figures every report harness prints for one run, its floor named ``floor_name`` (``copy``, ``floor``).

    ``memory`` is (baseline, peak, high-water mark) in MB, the last two read
    right after the report, before the floor ran. ``load_1m`` is the machine's
    1-minute load when the run ended: the figures are only as quiet as the machine.
    """
    baseline, peak, hwm = memory
    rows_per_s, floor_rows_per_s = attempts / seconds, attempts / floor_seconds
    return {
        "attempts": attempts,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows_per_s),
        "queries": counter.total,
        "django_queries": counter.django,
        "heartbeat_queries": counter.heartbeat,
        "peak_rss_mb": round(peak, 1),
        "baseline_rss_mb": round(baseline, 1),
        "vm_hwm_mb": round(hwm, 1),
        f"{floor_name}_seconds": round(floor_seconds, 3),
        f"{floor_name}_rows_per_s": round(floor_rows_per_s),
        f"ratio_vs_{floor_name}": round(rows_per_s / floor_rows_per_s, 3),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def print_results(runs, columns):
    """
    The runs as a right-aligned table, then as the last line one JSON object.

    ``columns`` is a list of (key, width, format). The JSON object holds the
    figures of the last run (the largest N) at the top level, under ``medians``
    the medians of the largest N's runs (``--repeat``: each run pairs the report
    with its floor in one process, so their ratio is the figure to take a median
    of on a shared machine), and every run under ``runs``.
    """
    print("  ".join(f"{name:>{width}}" for name, width, _ in columns))
    for run in runs:
        print("  ".join(f"{fmt.format(run[name]):>{width}}" for name, width, fmt in columns))
    medians = median_figures(runs)
    print(
        f"median of {medians['runs']} run(s) at {runs[-1]['attempts']:,} attempts: "
        + ", ".join(f"{key} {value}" for key, value in medians.items() if key != "runs")
    )
    print(json.dumps({**runs[-1], "medians": medians, "runs": runs}))


#: The figures ``median_figures`` takes the median of (those a run has).
MEDIAN_KEYS = (
    "seconds",
    "rows_per_s",
    "peak_rss_mb",
    "ratio_vs_copy",
    "ratio_vs_copy_to_s3",
    "ratio_vs_floor",
    "load_1m",
)


def median_figures(runs):
    """The medians of ``MEDIAN_KEYS`` over the runs at the largest N (the last run's), and how many runs."""
    import statistics

    last = [run for run in runs if run["attempts"] == runs[-1]["attempts"]]
    medians = {key: round(statistics.median(run[key] for run in last), 3) for key in MEDIAN_KEYS if key in runs[-1]}
    return {**medians, "runs": len(last)}


def parse_sizes(text):
    """'1000,100k,1M' -> [1000, 100000, 1000000]."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        scale = 1
        if part.endswith("k"):
            part, scale = part[:-1], 1000
        elif part.endswith("m"):
            part, scale = part[:-1], 1000000
        try:
            value = int(float(part) * scale)
        except ValueError:
            fail(f"'{text}' is not a list of attempt counts such as 1000,100k,1M")
        if value <= 0:
            fail(f"attempt counts must be positive, got {value}")
        sizes.append(value)
    return sizes
