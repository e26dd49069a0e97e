"""
``import_edx_proctoring`` reading edx-proctoring's tables from MySQL, where Open edX keeps them.

Runs when the suite runs on MySQL/MariaDB (``make test-mysql``): the tables of
``fixtures/edx_proctoring_schema.sql`` in MySQL's dialect, in a database of
their own on the same server, with the rows the SQLite tests import.
"""

import pytest
from django.db import connection, connections

from . import edx_proctoring_data as edx
from .test_import_edx_proctoring import assert_imported, learners, run  # noqa: F401 (learners: a fixture)

ALIAS = "edx_proctoring_mysql"

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'mysql'", reason="the source is MySQL; make test-mysql runs this"),
    pytest.mark.django_db(databases=["default", ALIAS]),
]


@pytest.fixture(scope="module", autouse=True)
def mysql_source(django_db_setup, django_db_blocker):
    """A second MySQL database holding edx-proctoring's tables and rows, as ``settings.DATABASES[ALIAS]``."""
    if connection.vendor != "mysql":
        yield
        return
    name = f"{connection.settings_dict['NAME']}_edx_proctoring"
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)} CHARACTER SET utf8mb4")
        connections.settings[ALIAS] = connections.configure_settings(
            {"default": connection.settings_dict, ALIAS: {**connection.settings_dict, "NAME": name}},
        )[ALIAS]
        # DDL commits on MySQL: tables and rows are made once, here, outside any test's transaction.
        edx.create_schema_mysql(ALIAS)
        edx.load_rows(ALIAS)
        try:
            yield
        finally:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")


def test_import_from_mysql_copies_exams_attempts_reviews_and_comments(learners):
    out = run("--match-users-by", "username", "--batch-size", "2", database=ALIAS)

    assert_imported(learners)
    assert "attempts         read 9, created 7, updated 0, unchanged 0, skipped 2" in out
    assert "review comments  read 4, created 3, updated 0, unchanged 0, skipped 1" in out
