"""
Fixtures for the live-sync tests: the LMS around edx-proctoring, a worker, and the report a course team sees.

These tests run only in the virtualenv of ``make test-edx-proctoring-live``
(edx-proctoring 6.1.4 from PyPI beside this app, PostgreSQL, Redis); the main
suite leaves this folder out (tests/conftest.py), since edx-proctoring is not
installed there.
"""

import csv
import io

import pytest
from django.core.management import call_command
from edx_proctoring.runtime import set_runtime_service
from edx_proctoring.tests.test_services import (
    MockCertificateService,
    MockCreditService,
    MockGradesService,
    MockInstructorService,
)

from tests.services import wait_until

SETTINGS = "tests.edx_proctoring_live.settings"
COURSE = "course-v1:edX+Live+2026"


@pytest.fixture(autouse=True)
def lms_services():
    """The LMS services edx-proctoring calls on status changes: edx-proctoring's own test doubles."""
    services = {
        "credit": MockCreditService(),
        "instructor": MockInstructorService(is_user_course_staff=True),
        "grades": MockGradesService(),
        "certificates": MockCertificateService(),
    }
    for name, service in services.items():
        set_runtime_service(name, service)
    yield
    for name in services:
        set_runtime_service(name, None)


@pytest.fixture
def worker(celery_worker_factory):
    """A real Celery worker process on the broker, with edx-proctoring installed, as an LMS worker has it."""
    return celery_worker_factory(DJANGO_SETTINGS_MODULE=SETTINGS)


def report(course=COURSE):
    """The rows of the report generated now, as ``generate_proctored_exam_results_report --stdout`` prints it."""
    out = io.StringIO()
    call_command("generate_proctored_exam_results_report", course, "--stdout", stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def rows_by_code(course=COURSE):
    return {row["attempt_code"]: row for row in report(course)}


def eventually(check, message, timeout=30):
    """Wait until ``check()`` is truthy (the worker applies changes within seconds) and return it."""
    return wait_until(check, timeout=timeout, interval=0.1, message=message)
