"""Fixtures shared by the whole suite."""

import pytest

# Real services (S3-compatible server, Celery worker process) as fixtures.
pytest_plugins = ["tests.services"]

from proctoring_results import api

from .factories import COURSE_ID, ProctoredExamFactory, UserFactory
from .pii_guard import pii_guard  # noqa: F401  (autouse: no personal data in logs or task messages)


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
