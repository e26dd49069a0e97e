"""
The report's bytes for a fixed course equal the files saved in ``tests/golden/<database>/``.

The files were written by the report code of main on 2026-12-03, before the
reports module became a package (issue 15), on SQLite, PostgreSQL and MariaDB;
each run compares with the files of the database it runs on. One file per
database because the order of a review's joined flag comments is the
database's own. A change that alters a byte of an existing column fails here.

To save the files again, deliberately (a changed column is a contract change:
say so in CHANGELOG.rst), run this module once per database with
``PROCTORING_RESULTS_SAVE_GOLDEN=1`` and commit the files it writes.
"""

import csv
import io
import os
from pathlib import Path

import pytest
from django.db import connection

from proctoring_results import api
from proctoring_results.models import ExamAttempt
from proctoring_results.storage import get_report_storage

from . import report_golden

GOLDEN = Path(__file__).parent / "golden"
PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


@pytest.fixture
def golden_course(db):
    report_golden.build()


def golden_file(variant):
    return GOLDEN / connection.vendor / f"{variant}.csv"


def compare(variant, data):
    path = golden_file(variant)
    if os.environ.get("PROCTORING_RESULTS_SAVE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"No saved report for {connection.vendor}: {path}"
    expected = path.read_bytes()
    if data != expected:
        expected = _with_comments_as_in(data, expected)
    assert data == expected, _first_difference(data, expected)


def parse(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def csv_bytes(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _comments(cell):
    """The comments of a ``flag_comments`` cell, in a fixed order; the cell must not start a formula."""
    assert cell[:1] not in PREFIXES, f"a comments cell starts a formula: {cell[:20]!r}"
    joined = cell[1:] if cell[:1] == "'" and cell[1:2] in PREFIXES else cell
    return sorted(joined.split("; "))


def _with_comments_as_in(data, expected):
    """The saved bytes, with each ``flag_comments`` cell that lists the same comments taken from ``data``."""
    rows, saved = parse(data), parse(expected)
    assert csv_bytes(saved) == expected  # every writer writes csv.writer's bytes, so the file can be rebuilt
    if "flag_comments" not in saved[0] or len(rows) != len(saved):
        return expected
    column = saved[0].index("flag_comments")
    for row, saved_row in zip(rows[1:], saved[1:], strict=False):
        if row[column] != saved_row[column] and _comments(row[column]) == _comments(saved_row[column]):
            saved_row[column] = row[column]
    return csv_bytes(saved)


def _first_difference(data, expected):
    """Where the bytes part, as a short message (the data is made up: no personal data)."""
    at = next(
        (i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b), min(len(data), len(expected))
    )
    return f"bytes differ at offset {at}: {data[at - 40 : at + 40]!r} != {expected[at - 40 : at + 40]!r}"


@pytest.mark.parametrize("variant", sorted(report_golden.VARIANTS))
def test_report_bytes_equal_the_saved_ones(golden_course, variant):
    out = io.BytesIO()
    rows = api.write_report_csv(report_golden.COURSE_ID, out, extra_columns=report_golden.VARIANTS[variant])
    assert rows == ExamAttempt.objects.filter(exam__course_id=report_golden.COURSE_ID).count()
    compare(variant, out.getvalue())


@pytest.mark.parametrize("variant", ["default", "extra"])
def test_stored_report_bytes_equal_the_saved_ones(golden_course, variant):
    """The same bytes through the whole pipeline: task, temporary file, storage."""
    report = api.generate_report(report_golden.COURSE_ID, extra_columns=report_golden.VARIANTS[variant])
    with get_report_storage().open(report.storage_key) as fh:
        data = fh.read()
    assert report.size_bytes == len(data)
    compare(variant, data)
