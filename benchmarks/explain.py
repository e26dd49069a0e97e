"""
EXPLAIN (ANALYZE, BUFFERS) of the queries the scale targets depend on, as the app compiles them.

Usage (after ``seed.py --attempts 1M`` and ``dashboard_load.py``, which set up the data)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench \\
        .venv/bin/python benchmarks/explain.py --attempts 1M

Prints the plan of: the report's rows (the SELECT inside the COPY), the row
count taken before it, Pending Tasks (active tasks of a course), and the
reports page (newest 100) with its count. docs/operations.rst summarises them.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import course_id_for, parse_sizes, setup_django

DASHBOARD_COURSE_ID = "course-v1:BenchX+Dashboard+2026"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", default="1M", help="the seeded size whose course is explained (default 1M)")
    args = parser.parse_args(argv)
    [attempts] = parse_sizes(args.attempts)[-1:]
    setup_django()
    from django.db import connection

    from proctoring_results import api
    from proctoring_results.models import Report, ReportTask
    from proctoring_results.reports.specs.proctored_exam_results_report import SPEC

    course_key = api.parse_course_id(course_id_for(attempts))
    dashboard_key = api.parse_course_id(DASHBOARD_COURSE_ID)
    rows = {
        f"report rows ({attempts:,} attempts, the SELECT inside COPY)": SPEC.rows(course_key),
        "Pending Tasks (active tasks of the dashboard course)": ReportTask.objects.select_related("requester")
        .filter(course_id=dashboard_key, active=True)
        .order_by("-created", "-id"),
        "reports page (newest 100 of 1,000)": Report.objects.filter(course_id=dashboard_key)
        .order_by("-created", "-id")
        .values("id", "file_name", "created")[:100],
    }
    counts = {
        "report row count (taken before the COPY)": SPEC.course_rows(course_key).order_by(),
        "reports count": Report.objects.filter(course_id=dashboard_key).order_by(),
    }
    for title, queryset in rows.items():
        print(f"== {title}\n{queryset.explain(analyze=True, buffers=True)}\n")
    with connection.cursor() as cursor:
        for title, queryset in counts.items():
            sql, params = queryset.values_list("pk").query.sql_with_params()
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) AS counted", params)
            print(f"== {title}")
            print("\n".join(row[0] for row in cursor.fetchall()) + "\n")


if __name__ == "__main__":
    main()
