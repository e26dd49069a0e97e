"""
What every benchmark script shares: the database it runs on, Django set up on
the example host project, and the course a given N is seeded into.

The benchmarks run on PostgreSQL only (the figures are about PostgreSQL);
``DATABASE_URL`` defaults to the local ``pr_bench`` database.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pr_bench"


def database_url():
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def course_id_for(attempts):
    """Each N gets its own course, so one database holds every size side by side."""
    return f"course-v1:BenchX+Scale+N{attempts}"


def fail(message):
    """Stop with one sentence and a non-zero exit, never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def setup_django(var_dir=None):
    """Configure Django with the example's settings against the benchmark database."""
    url = database_url()
    if not url.startswith(("postgres://", "postgresql://")):
        fail(f"the benchmarks run on PostgreSQL; DATABASE_URL must be a postgres:// URL, not {url.split(':')[0]}://")
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
