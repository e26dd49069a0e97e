"""
What one poll of the Data Download page costs the server: the page's HTML parts against the REST endpoints.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench \\
        .venv/bin/python benchmarks/page_parts.py [--requests 200]

The page's script fetches Pending Tasks and the report list as HTML rendered by
the page's own templates (``.../data_download/tasks/`` and ``.../reports/``,
session cookie), where it used to fetch the REST endpoints' JSON and format it
in the browser, with the same session. This measures both in the same run, in
this process (Django's test client, signed in as the page's user: the whole
request through the middleware, no network), on the
course ``dashboard_load.py`` sets up (1,000 reports, 1,000 finished tasks, one
running). The REST endpoints are the floor: each part is judged by its ratio
to the endpoint it replaced. Requests alternate between the four endpoints, so
drift in the machine's load falls on all of them alike.

Prints a table, then as the LAST line one JSON object with the mean and p95 ms
per endpoint, the queries per request, and ``ratio`` (part / endpoint).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fail, setup_django, where_it_ran

#: Each page part and the REST endpoint whose JSON the page's script used to format.
PAIRS = {"tasks-part": "report-tasks", "reports-part": "reports"}


def _p95(values):
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (default 200)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        fail("--requests must be a positive whole number")
    setup_django(var_dir=Path(tempfile.mkdtemp(prefix="proctoring-page-parts-")))
    import dashboard_load
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    dashboard_load.prepare_course()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=dashboard_load.STAFF))
    endpoints = {**dashboard_load.ENDPOINTS, **dashboard_load.PAGE_ENDPOINTS}
    queries, times = {}, {name: [] for name in endpoints}
    for name, path in endpoints.items():  # warm up, check, and count queries
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path).status_code
        if status != 200:
            fail(f"{path} answered {status}, not 200")
        queries[name] = len(captured)
    for _ in range(args.requests):
        for name, path in endpoints.items():
            started = time.perf_counter()
            client.get(path)
            times[name].append((time.perf_counter() - started) * 1000)

    figures = {
        name: {"mean_ms": round(sum(ms) / len(ms), 2), "p95_ms": round(_p95(ms), 2), "queries": queries[name]}
        for name, ms in times.items()
    }
    ratio = {part: round(figures[part]["mean_ms"] / figures[rest]["mean_ms"], 2) for part, rest in PAIRS.items()}
    print(f"{'endpoint':<14}{'mean ms':>9}{'p95 ms':>9}{'queries':>9}{'ratio':>7}")
    for name, row in figures.items():
        shown = f"{ratio[name]:>7.2f}" if name in ratio else f"{'floor':>7}"
        print(f"{name:<14}{row['mean_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['queries']:>9}{shown}")
    print(json.dumps({"requests": args.requests, "endpoints": figures, "ratio": ratio, **where_it_ran()}))


if __name__ == "__main__":
    main()
