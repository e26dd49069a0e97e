"""
The report's bytes for a fixed course equal the files saved in ``tests/golden/<database>/``.

The files were written by the report code of main on 2026-12-03, before the
reports module became a package (issue 15), on SQLite, PostgreSQL and MariaDB;
each run compares with the files of the database it runs on, byte for byte
(a review's flag comments are joined in the flags' order, so no cell depends
on how a database stores its rows). A change that alters a byte of an
existing column fails here.

To save the files again, deliberately (a changed column is a contract change:
say so in CHANGELOG.rst), run this module once per database with
``PROCTORING_RESULTS_SAVE_GOLDEN=1`` and commit the files it writes.
"""

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
    assert data == expected, _first_difference(data, expected)


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
