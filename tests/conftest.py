"""Fixtures shared by the whole suite."""

import warnings

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

from proctoring_results import api

from .factories import COURSE_ID, ProctoredExamFactory, UserFactory
from .pii_guard import pii_guard  # noqa: F401  (autouse: no personal data in logs or task messages)

# Real services (S3-compatible server, Celery worker process) as fixtures.
pytest_plugins = ["tests.services"]


_BASELINE_APP_SETTINGS = django_settings.PROCTORING_RESULTS


@pytest.fixture(autouse=True)
def _app_settings_start_from_the_example():
    """
    Every test starts from the example's ``PROCTORING_RESULTS``.

    In some full PostgreSQL runs an earlier test's override outlived its test
    (later tests then saw another provider list and report queue); the cause
    is not found yet, so the leak is reported as a warning and undone here.
    """
    if django_settings.PROCTORING_RESULTS is _BASELINE_APP_SETTINGS:
        yield
        return
    warnings.warn("PROCTORING_RESULTS leaked from an earlier test; restored for this one.", stacklevel=1)
    with override_settings(PROCTORING_RESULTS=_BASELINE_APP_SETTINGS):
        yield


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
