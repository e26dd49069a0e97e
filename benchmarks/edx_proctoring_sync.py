"""
What the edx-proctoring receivers add to the learner's calls: ``create_exam_attempt`` and ``update_attempt_status``.

Runs edx-proctoring 6.1.4's own API in this process (the LMS's place), on
PostgreSQL, with the receivers publishing to Redis as in production, and
measures every call's wall time twice in the same run, alternating call by
call: with this app's receivers connected, and with them disconnected (the
floor: edx-proctoring alone). No worker consumes the messages; they go to a
queue of the benchmark's own, deleted at the end.

    make bench-edx-proctoring-sync [BENCH_CALLS=500] [LIVE_BROKER_URL=redis://127.0.0.1:6379/N]

Prints a table and, last, one JSON line. The target (docs/performance.rst):
the receivers add < 5 ms at p95 to each call.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example")]

from benchmarks._common import check_database_url, fail  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pr_bench_edxp"
QUEUE = "proctoring-results-bench-edxp-sync"
COURSE = "course-v1:BenchX+Sync+2026"
TARGET_MS = 5.0


def p(values, q):
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def setup(url, broker):
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.edx_proctoring_live.settings")
    check_database_url()
    try:
        import edx_proctoring  # noqa: F401
    except ImportError:
        fail(
            "edx-proctoring is not installed here: run `make bench-edx-proctoring-sync`, which builds "
            ".tox/edx-proctoring-live"
        )
    import django

    django.setup()
    from django.conf import settings

    settings.PROCTORING_RESULTS = {**settings.PROCTORING_RESULTS, "EDX_PROCTORING_SYNC_QUEUE": QUEUE}
    from django.core.management import call_command
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot connect to {url}: {type(exc).__name__}")
    call_command("migrate", verbosity=0)
    from edx_proctoring.runtime import set_runtime_service
    from edx_proctoring.tests.test_services import (
        MockCertificateService,
        MockCreditService,
        MockGradesService,
        MockInstructorService,
    )

    for name, service in {
        "credit": MockCreditService(),
        "instructor": MockInstructorService(),
        "grades": MockGradesService(),
        "certificates": MockCertificateService(),
    }.items():
        set_runtime_service(name, service)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="Calls of each kind, in each mode (default 500).")
    args = parser.parse_args()
    if args.calls < 20:
        fail("--calls must be at least 20, for a p95")
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    if not broker.startswith("redis://"):
        fail("the receivers publish to the broker; CELERY_BROKER_URL must be a redis:// URL")
    setup(url, broker)

    from django.contrib.auth import get_user_model
    from edx_proctoring import api as edx
    from edx_proctoring.models import ProctoredExam

    from example import celery_app
    from proctoring_results.openedx import sync

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot reach the broker at {broker}: {type(exc).__name__}")

    # The receivers' own time inside each call, measured directly: everything from the signal to the
    # message on the broker (in autocommit the on_commit callback runs inside the receiver; nested
    # time is counted once).
    spent = {"seconds": 0.0, "depth": 0}

    def timed(function):
        def wrapper(*a, **kw):
            spent["depth"] += 1
            start = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                spent["depth"] -= 1
                if spent["depth"] == 0:
                    spent["seconds"] += time.perf_counter() - start

        return wrapper

    # What the learner's call runs: the receiver, and the on_commit callback that queues the change
    # (the broker is reached from the publisher's thread, off the request path).
    sync._defer, sync.publisher.put = timed(sync._defer), timed(sync.publisher.put)

    run = time.strftime("%Y%m%d%H%M%S")
    exam = ProctoredExam.objects.filter(course_id=COURSE).first()
    exam_id = (
        exam.id
        if exam
        else edx.create_exam(
            COURSE,
            "block-v1:BenchX+Sync+2026+type@sequential+block@final",
            "Final Exam",
            90,
            is_proctored=True,
            backend="mock",
        )
    )
    User = get_user_model()
    timings = {
        (op, mode): [] for op in ("create_exam_attempt", "update_attempt_status") for mode in ("on", "off", "receivers")
    }

    def measure(op, mode, function, *call_args):
        spent["seconds"] = 0.0
        start = time.perf_counter()
        value = function(*call_args)
        timings[(op, mode)].append(time.perf_counter() - start)
        if mode == "on":
            timings[(op, "receivers")].append(spent["seconds"])
        return value

    for i in range(args.calls):
        for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
            sync.connect() if mode == "on" else sync.disconnect()
            learner = User.objects.create(username=f"bench-{run}-{i}-{mode}", email=f"b{run}{i}{mode}@example.edu")
            attempt_id = measure("create_exam_attempt", mode, edx.create_exam_attempt, exam_id, learner.id)
            measure("update_attempt_status", mode, edx.update_attempt_status, attempt_id, "started")
    sync.connect()
    sync.publisher.flush(60)
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(QUEUE)

    result = {
        "calls": args.calls,
        "broker": "redis",
        "database": "postgresql",
        "storage": "none",
        "target_p95_added_ms": TARGET_MS,
    }
    # off = edx-proctoring alone (the floor), on = with the receivers, receivers = their own time in the "on" calls.
    print(f"{'call':<24}{'mode':<10}{'p50 ms':>9}{'p95 ms':>9}")
    for op in ("create_exam_attempt", "update_attempt_status"):
        for mode in ("off", "on", "receivers"):
            values = timings[(op, mode)]
            result[f"{op}_{mode}_p50_ms"] = round(p(values, 50), 3)
            result[f"{op}_{mode}_p95_ms"] = round(p(values, 95), 3)
            print(f"{op:<24}{mode:<10}{p(values, 50):>9.3f}{p(values, 95):>9.3f}")
        result[f"{op}_receivers_share_of_floor_p50"] = round(
            p(timings[(op, "receivers")], 50) / p(timings[(op, "off")], 50), 4
        )
        result[f"{op}_meets_target"] = p(timings[(op, "receivers")], 95) < TARGET_MS
    result["load_1m"] = round(os.getloadavg()[0], 2)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"edx_proctoring_sync-{run}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
