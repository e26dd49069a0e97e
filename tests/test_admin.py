"""Admin pages: bad input is a form error, never a server error."""

import pytest
from django.urls import reverse

from proctoring_results.models import ProctoredExam

from .factories import ExamAttemptFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def exam_form(**overrides):
    data = {
        "course_id": "course-v1:TestX+Admin+2026",
        "content_id": "block-1",
        "exam_name": "Final",
        "time_limit_mins": "60",
        "is_proctored": "on",
        "is_active": "on",
        "provider": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_an_exam(admin_client):
    response = admin_client.post(reverse("admin:proctoring_results_proctoredexam_add"), exam_form())
    assert response.status_code == 302
    assert ProctoredExam.objects.get().exam_name == "Final"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("course_id", "not a course key", "is not a valid course id"),
        ("time_limit_mins", "-5", "greater than or equal to 0"),
        ("time_limit_mins", "99999999", "less than or equal to 10080"),
    ],
)
def test_admin_shows_a_validation_error(admin_client, field, value, message):
    response = admin_client.post(reverse("admin:proctoring_results_proctoredexam_add"), exam_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProctoredExam.objects.exists()


def test_admin_attempt_page_renders_with_status_read_only(admin_client):
    attempt = ExamAttemptFactory()
    response = admin_client.get(reverse("admin:proctoring_results_examattempt_change", args=[attempt.pk]))
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()
