"""Fixtures shared by the whole suite."""

import os

import pytest
from django.conf import settings as django_settings
from django.db import connection

from proctoring_results import api

from .factories import COURSE_ID, ProctoredExamFactory, UserFactory
from .pii_guard import pii_guard  # noqa: F401  (autouse: no personal data in logs or task messages)

# Real services (S3-compatible server, Celery worker process) as fixtures.
pytest_plugins = ["tests.services"]

#: tests/openedx need openedx-filters, Mako and settings built as the LMS builds them:
#: `make test-openedx` runs them in an environment of their own, with those settings.
LMS_SETTINGS = "tests.openedx.lms_settings"
#: tests/edx_proctoring_live need edx-proctoring installed beside this app: `make test-edx-proctoring-live`.
LIVE_SETTINGS = "tests.edx_proctoring_live.settings"
collect_ignore = [
    folder
    for folder, wanted in (("openedx", LMS_SETTINGS), ("edx_proctoring_live", LIVE_SETTINGS))
    if os.environ.get("DJANGO_SETTINGS_MODULE") != wanted
]


_LEAKED_OVERRIDES = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """
    Settings overridden in a test end with it: if one outlives its test, undo it and name the test.

    Django's settings are one object per process, and ``override_settings``
    restores whatever it found when it began: two threads overriding at once
    can leave one override in place for every later test (seen in CI with the
    concurrent-Generate test, which now overrides before starting its threads).
    This puts back the settings the test started with and names the test in
    the summary, so a new case says where to look.
    """
    before = django_settings._wrapped
    yield
    if django_settings._wrapped is not before:
        _LEAKED_OVERRIDES.append(item.nodeid)
        django_settings._wrapped = before


def pytest_terminal_summary(terminalreporter):
    for nodeid in _LEAKED_OVERRIDES:
        terminalreporter.write_line(f"settings overridden in {nodeid} outlived the test; restored after it")


@pytest.fixture(scope="session", autouse=True)
def _end_stray_postgres_sessions(django_db_setup, django_db_blocker):
    """
    Close sessions left on the test database before pytest-django drops it.

    A live server's keep-alive request thread can still hold its connection when
    the browser tests end; PostgreSQL then refuses to drop the database ("being
    accessed by other users") and the next run starts from a stale one.
    """
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def learner(db):
    return UserFactory(username="learner", email="learner@example.edu")


@pytest.fixture
def instructor(db):
    user = UserFactory(username="instructor", email="instructor@example.edu")
    api.grant_course_role(user, COURSE_ID, "instructor")
    return user


@pytest.fixture
def exam(db):
    return ProctoredExamFactory(exam_name="Midterm", time_limit_mins=90)
