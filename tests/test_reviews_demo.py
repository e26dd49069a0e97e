"""The demo course's reviews agree with its statuses, and a provider can review its submitted attempts."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from proctoring_results import api
from proctoring_results.conf import app_settings
from proctoring_results.models import ExamAttempt, Review
from proctoring_results.statuses import REVIEW_OUTCOMES, AttemptStatus

from .reviews_helpers import review_payload, signed_post

pytestmark = pytest.mark.django_db

DEMO_COURSE = "course-v1:DemoX+Proctoring101+2026"


def test_demo_reviews_explain_every_reviewed_status_and_a_provider_can_post_more(client):
    out = StringIO()
    call_command("load_demo_course", "--learners", "80", stdout=out)
    reviewed = ExamAttempt.objects.filter(
        exam__course_id=DEMO_COURSE, status__in=set(REVIEW_OUTCOMES) | {AttemptStatus.ERROR}
    )
    assert reviewed.exists()
    for attempt in reviewed.prefetch_related("reviews__flags"):
        (review,) = attempt.reviews.all()
        assert review.outcome == attempt.status and review.provider == "demo-provider"
        severities = [flag.severity for flag in review.flags.all()]
        if attempt.status == AttemptStatus.VERIFIED:
            assert set(severities) <= {"discouraged"}
        if attempt.status == AttemptStatus.REJECTED:
            assert "integrity" in severities
        if attempt.status == AttemptStatus.ERROR:
            assert review.provider_status == "not_reviewed"
    satisfactory_with_flags = (
        Review.objects.filter(attempt__exam__course_id=DEMO_COURSE, outcome="verified", flags__severity="discouraged")
        .distinct()
        .count()
    )
    assert satisfactory_with_flags > 0
    assert Review.objects.filter(outcome="second_review_required", flags__severity="").exists()  # unknown code kept

    # The codes printed by the demo are submitted attempts the demo provider can review (docs/providers.rst).
    codes = re.search(r"awaiting a review \(see docs/providers.rst\): (.+)", out.getvalue()).group(1).split(", ")
    assert len(codes) == 3
    response = signed_post(
        client,
        review_payload(codes[0], "doc-example-1", "violation", [{"rule": "second_computer", "comment": "Laptop"}]),
        provider="demo-provider",
        secret=app_settings.PROVIDERS["demo-provider"]["secret"],
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert api.get_attempt(codes[0]).status_label == "Unsatisfactory"
