"""
The cast of the security suite: one course with a reviewed learner and a stored
report, and a user for every role the authorization matrix tries.
"""

from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from proctoring_results import api
from proctoring_results.models import Review, ReviewFlag
from proctoring_results.statuses import AttemptStatus

from ..factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory

#: Every role of the matrix; ``None`` is the anonymous visitor.
ROLES = (
    "anonymous",
    "learner",
    "other_course_staff",
    "course_staff",
    "instructor",
    "global_staff",
    "inactive_user",
)
#: Roles that may see the course's results.
PRIVILEGED = frozenset({"course_staff", "instructor", "global_staff"})
#: Roles that are not signed in as far as Django is concerned (an inactive user's session is refused).
NOT_SIGNED_IN = frozenset({"anonymous", "inactive_user"})

LEARNER_EMAIL = "matrix.learner@example.edu"
REVIEW_COMMENT = "Matrix learner looked at a second monitor twice"


@dataclass
class Course:
    course_id: str
    exam: object
    attempt: object
    users: dict
    report: object


def make_users():
    users = {"anonymous": None}
    users["learner"] = UserFactory(
        username="m-learner", email=LEARNER_EMAIL, first_name="Marguerite", last_name="Learnwell"
    )
    users["other_course_staff"] = UserFactory(username="m-other", email="m.other.staff@example.edu")
    api.grant_course_role(users["other_course_staff"], OTHER_COURSE_ID, "staff")
    users["course_staff"] = UserFactory(username="m-staff", email="m.course.staff@example.edu")
    api.grant_course_role(users["course_staff"], COURSE_ID, "staff")
    users["instructor"] = UserFactory(username="m-instructor", email="m.instructor@example.edu")
    api.grant_course_role(users["instructor"], COURSE_ID, "instructor")
    users["global_staff"] = UserFactory(username="m-global", email="m.global@example.edu", is_staff=True)
    # Was on the course team, then deactivated: the role row stays, the account may not act.
    users["inactive_user"] = UserFactory(username="m-inactive", email="m.inactive@example.edu", is_active=False)
    api.grant_course_role(users["inactive_user"], COURSE_ID, "instructor")
    return users


@pytest.fixture
def course(db):
    """A course with an attempt awaiting a second review (flag comment included) and one stored report."""
    users = make_users()
    exam = ProctoredExamFactory(course_id=COURSE_ID, exam_name="Matrix Final")
    attempt = ExamAttemptFactory(exam=exam, user=users["learner"], status=AttemptStatus.SECOND_REVIEW_REQUIRED)
    review = Review.objects.create(
        attempt=attempt,
        provider="test-provider",
        review_id="matrix-review-1",
        provider_status="suspicious",
        outcome=AttemptStatus.SECOND_REVIEW_REQUIRED,
        raw_payload={},
    )
    ReviewFlag.objects.create(review=review, rule_code="second_display", severity="integrity", comment=REVIEW_COMMENT)
    report = api.generate_report(COURSE_ID, users["instructor"])
    return Course(COURSE_ID, exam, attempt, users, report)


def client_for(user, *, token=False):
    """A test client signed in as ``user`` (session), or carrying its API token; anonymous for None."""
    client = Client()
    if user is None:
        return client
    if token:
        key = Token.objects.get_or_create(user=user)[0].key
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    else:
        client.force_login(user)
    return client


# The browser fixture of the dashboard's end-to-end test (Debian's Chromium, failing in CI when missing).
from ..e2e.test_data_download_browser import browser  # noqa: E402,F401  (the browser fixture, for the suites below)
