"""
Open-loop load on the Data Download page's polling endpoints, served by gunicorn on PostgreSQL.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench \\
        .venv/bin/python benchmarks/dashboard_load.py [--duration 30] [--workers 2 --threads 4] [--target page]

Sets up one course with 1,000 reports (rows only: listing needs no files), the
1,000 finished tasks that made them and one running task; a course-staff user
with a REST token. Starts the example site under gunicorn (``gthread``
workers, persistent database connections, ``DEBUG`` off), then:

1. 50 pollers each send one request a second (50 req/s offered), alternating
   ``.../report-tasks/`` (Pending Tasks) and ``.../reports/`` (the list, with
   freshly signed links), for ``--duration`` seconds. The load is open loop:
   every request leaves at its scheduled time whether or not earlier ones have
   answered, and its latency is measured from that scheduled time, so a slow
   server cannot hide its queueing (no coordinated omission). With
   ``--target page`` the pollers alternate the two HTML parts the page's own
   script fetches instead (``.../data_download/tasks/`` and
   ``.../data_download/reports/``), signed in with a session cookie.
2. Steps the offered rate up (``--step-seconds`` each) until a step misses
   (p95 over both endpoints at or above 50 ms, or any error); when the 50 req/s
   run itself missed, steps down instead until one holds. The ceiling is the
   highest offered rate that held with every lower rate tried holding too
   (``ceiling``): a rate that held after a lower one had missed is noise, not
   the ceiling.

Prints p50/p95/p99 and errors per endpoint, then as the LAST line one JSON
object (``p95_ms`` is the worse of the two endpoints at 50 req/s;
``max_rps_p95_under_50ms`` the ceiling, null when even the lowest rate tried
missed; ``database`` and ``storage``: what the site ran on).
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, database_url, fail, psycopg_connect, setup_django, where_it_ran

COURSE_ID = "course-v1:BenchX+Dashboard+2026"
REPORTS = 1000
STAFF = "bench-dashboard-staff"
ENDPOINTS = {
    "report-tasks": f"/api/proctoring-results/v1/courses/{COURSE_ID}/report-tasks/",
    "reports": f"/api/proctoring-results/v1/courses/{COURSE_ID}/reports/",
}
#: ``--target page``: the HTML parts the Data Download page's own script polls (session cookie),
#: Pending Tasks and the report list with freshly signed links, rendered by the page's templates.
PAGE_ENDPOINTS = {
    "tasks-part": f"/courses/{COURSE_ID}/instructor/data_download/tasks/",
    "reports-part": f"/courses/{COURSE_ID}/instructor/data_download/reports/",
}
TARGET_P95_MS = 50.0
POLLERS = 50


# ---------------------------------------------------------------- data


def prepare_course():
    """1,000 reports with their finished tasks and one running task; returns the staff token."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from proctoring_results import api
    from proctoring_results.models import Report, ReportTask

    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.get_or_create(username=STAFF, defaults={"email": "dash-staff@example.edu"})
    api.grant_course_role(user, COURSE_ID, "staff")
    token, _ = Token.objects.get_or_create(user=user)
    now = timezone.now()
    with transaction.atomic():
        Report.objects.filter(course_id=COURSE_ID).delete()
        ReportTask.objects.filter(course_id=COURSE_ID).delete()
        tasks = ReportTask.objects.bulk_create(
            [
                ReportTask(
                    course_id=COURSE_ID,
                    requester=user,
                    state=ReportTask.State.SUCCEEDED,
                    rows_done=5000,
                    rows_total=5000,
                    started_at=now - timedelta(hours=i, seconds=30),
                    finished_at=now - timedelta(hours=i),
                )
                for i in range(1, REPORTS + 1)
            ]
        )
        ReportTask.objects.filter(pk__in=[t.pk for t in tasks]).update(created=now - timedelta(days=60))
        Report.objects.bulk_create(
            [
                Report(
                    task=task,
                    course_id=COURSE_ID,
                    file_name=f"BenchX_Dashboard_2026_proctored_exam_results_report_{i}.csv",
                    storage_key=f"BenchX_Dashboard_2026/{task.pk}/report.csv",
                    size_bytes=670000,
                    row_count=5000,
                    checksum_sha256="0" * 64,
                    requester=user,
                    created=now - timedelta(hours=i),
                )
                for i, task in enumerate(tasks, start=1)
            ]
        )
        ReportTask.objects.create(
            course_id=COURSE_ID,
            requester=user,
            state=ReportTask.State.RUNNING,
            rows_done=120000,
            rows_total=1000000,
            started_at=now,
        )
    # Settled tables, as autovacuum would leave them: fresh statistics, no dead rows of earlier runs.
    with psycopg_connect(autocommit=True) as conn:
        for table in (
            "proctoring_results_report",
            "proctoring_results_reporttask",
            "authtoken_token",
            "proctoring_results_courserole",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")
    return token.key


def page_session_cookie():
    """A signed-in session of the staff user, as the browser holding the page has: the ``Cookie`` value."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=STAFF)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# ---------------------------------------------------------------- the server


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port, workers, threads, var_dir):
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DJANGO_DEBUG="0",
        CONN_MAX_AGE="600",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CELERY_BROKER_URL="filesystem://",
        EXAMPLE_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="example.settings",
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "example.wsgi:application",
        "--chdir",
        str(ROOT / "example"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    log = open(var_dir / "gunicorn.log", "w")  # closed with the process
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT / "example", stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"gunicorn exited with {proc.returncode}; see {var_dir / 'gunicorn.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(proc)
    fail("gunicorn did not start listening within 30 s")


def stop_gunicorn(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- the load


class Client:
    """One HTTP/1.1 keep-alive connection per poller, as a browser tab keeps one."""

    def __init__(self, port, auth):
        """``auth``: one header line, ``Authorization: Token ...`` (REST) or ``Cookie: ...`` (the page)."""
        self.port = port
        self.headers = f"Host: 127.0.0.1\r\n{auth}\r\nAccept: application/json, text/html\r\n"
        self.reader = self.writer = None
        self.lock = asyncio.Lock()

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path):
        """Return the HTTP status of one GET (0 for a transport error)."""
        async with self.lock:  # one request at a time per connection, as HTTP/1.1 without pipelining
            for attempt in (1, 2):
                try:
                    if self.writer is None:
                        await self._connect()
                    self.writer.write(f"GET {path} HTTP/1.1\r\n{self.headers}\r\n".encode())
                    status_line = await self.reader.readline()
                    if not status_line:
                        raise ConnectionResetError
                    status = int(status_line.split()[1])
                    length, close = 0, False
                    while (line := await self.reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        if name.lower() == "content-length":
                            length = int(value)
                        elif name.lower() == "connection" and value.strip().lower() == "close":
                            close = True
                    await self.reader.readexactly(length)
                    if close:
                        self.close()
                    return status
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    # The server closed an idle keep-alive connection: reconnect once.
                    self.close()
                    if attempt == 2:
                        return 0
        return 0

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _measure(port, auth, rate, duration, endpoints=ENDPOINTS):
    """Offer ``rate`` req/s from 50 pollers for ``duration`` s; return {endpoint: [(latency_ms, status)]}."""
    names = list(endpoints)
    interval = POLLERS / rate
    results = {name: [] for name in names}
    clients = [Client(port, auth) for _ in range(POLLERS)]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    pending = set()

    async def one(client, name, scheduled):
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        status = await client.get(endpoints[name])
        results[name].append(((loop.time() - scheduled) * 1000, status))

    count = max(1, round(duration / interval))
    for k in range(count):
        for i, client in enumerate(clients):
            scheduled = start + k * interval + i * interval / POLLERS
            task = asyncio.ensure_future(one(client, names[(i + k) % 2], scheduled))
            pending.add(task)
            task.add_done_callback(pending.discard)
        # Create the next round's requests just before they are due, to keep memory small.
        await asyncio.sleep(max(0, start + k * interval - loop.time()))
    await asyncio.gather(*pending)
    for client in clients:
        client.close()
    return results


def _percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summarise(results, rate, duration):
    summary = {}
    for name, samples in results.items():
        latencies = [ms for ms, _ in samples]
        summary[name] = {
            "requests": len(samples),
            "errors": sum(1 for _, status in samples if status != 200),
            "p50_ms": round(_percentile(latencies, 50), 1),
            "p95_ms": round(_percentile(latencies, 95), 1),
            "p99_ms": round(_percentile(latencies, 99), 1),
        }
    everything = [ms for samples in results.values() for ms, _ in samples]
    return {
        "offered_rps": rate,
        "duration_s": duration,
        "endpoints": summary,
        "p95_ms": round(_percentile(everything, 95), 1),
        "errors": sum(s["errors"] for s in summary.values()),
    }


def held(step):
    """True when a step's p95 stayed under the target with no errors."""
    return step["p95_ms"] < TARGET_P95_MS and not step["errors"]


def ceiling(steps):
    """
    The highest offered rate that held, every lower rate tried holding too; None when the lowest missed.

    ``steps`` are summaries (or ``{"offered_rps", "p95_ms", "errors"}``) in any order.
    """
    best = None
    for step in sorted(steps, key=lambda s: s["offered_rps"]):
        if not held(step):
            break
        best = step["offered_rps"]
    return best


def print_summary(summary, title):
    print(f"{title}: {summary['offered_rps']} req/s offered for {summary['duration_s']} s")
    print(f"  {'endpoint':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, s in summary["endpoints"].items():
        print(
            f"  {name:<14}{s['requests']:>9}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}{s['p99_ms']:>9.1f}{s['errors']:>8}"
        )
    sys.stdout.flush()


def _check(port, auth, endpoints):
    """Both endpoints answer 200 for the staff user before any load is offered."""

    async def probe():
        client = Client(port, auth)
        statuses = {name: await client.get(path) for name, path in endpoints.items()}
        client.close()
        return statuses

    statuses = asyncio.run(probe())
    bad = {name: status for name, status in statuses.items() if status != 200}
    if bad:
        fail(f"the endpoints did not answer 200 before the load: {bad}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds at 50 req/s (default 30)")
    parser.add_argument("--step-seconds", type=float, default=10, help="seconds per step-up rate (default 10)")
    parser.add_argument(
        "--rates",
        default="60,70,80,90,100,125,150,200,300,400",
        help="step-up rates in req/s above 50, tried in order until a step misses",
    )
    parser.add_argument(
        "--lower-rates",
        default="40,30,20,10",
        help="step-down rates in req/s below 50, tried when 50 req/s missed, until one holds",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, gthread (default 4)")
    parser.add_argument(
        "--target",
        choices=("api", "page"),
        default="api",
        help="api: the REST endpoints (token); page: the HTML parts the page's script polls (session cookie)",
    )
    args = parser.parse_args(argv)
    try:
        rates = sorted(int(r) for r in args.rates.split(",") if r.strip())
        lower = [int(r) for r in args.lower_rates.split(",") if r.strip()]
    except ValueError:
        fail(f"--rates and --lower-rates must be whole numbers separated by commas, not '{args.rates}'")
    if (
        args.duration <= 0
        or args.step_seconds <= 0
        or args.workers < 1
        or args.threads < 1
        or min(rates + lower, default=1) <= 0
    ):
        fail("durations, rates, workers and threads must be positive")

    var_dir = Path(tempfile.mkdtemp(prefix="proctoring-dashboard-"))
    setup_django(var_dir=var_dir)
    token = prepare_course()
    if args.target == "page":
        endpoints, auth = PAGE_ENDPOINTS, f"Cookie: {page_session_cookie()}"
    else:
        endpoints, auth = ENDPOINTS, f"Authorization: Token {token}"
    site = where_it_ran()
    from django.db import connections

    connections.close_all()
    port = _free_port()
    server = start_gunicorn(port, args.workers, args.threads, var_dir)
    try:
        _check(port, auth, endpoints)
        asyncio.run(_measure(port, auth, POLLERS, 3, endpoints))  # warm up: imports, connections, caches
        main_run = summarise(
            asyncio.run(_measure(port, auth, POLLERS, args.duration, endpoints)), POLLERS, args.duration
        )
        print_summary(main_run, f"{POLLERS} pollers, once a second each")
        steps = [{"offered_rps": POLLERS, "p95_ms": main_run["p95_ms"], "errors": main_run["errors"]}]
        # Up from 50 req/s while each step holds; down from it, when it missed, until one holds.
        up = held(main_run)
        further = [r for r in rates if r > POLLERS] if up else sorted((r for r in lower if r < POLLERS), reverse=True)
        for rate in further:
            step = summarise(
                asyncio.run(_measure(port, auth, rate, args.step_seconds, endpoints)), rate, args.step_seconds
            )
            print_summary(step, "step")
            steps.append({"offered_rps": rate, "p95_ms": step["p95_ms"], "errors": step["errors"]})
            if held(step) != up:
                break
        best = ceiling(steps)
        lowest = min(s["offered_rps"] for s in steps)
        print(
            f"highest offered rate with p95 < {TARGET_P95_MS:.0f} ms and no errors, every lower rate too: "
            + (f"{best} req/s" if best else f"none ({lowest} req/s missed)")
        )
        result = dict(
            main_run,
            target=args.target,
            reports_in_course=REPORTS,
            gunicorn=f"{args.workers} workers x {args.threads} threads",
            max_rps_p95_under_50ms=best,
            steps=sorted(steps, key=lambda s: s["offered_rps"]),
            load_1m=round(os.getloadavg()[0], 2),
            **site,
        )
        print(json.dumps(result))
    finally:
        stop_gunicorn(server)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
