"""Fixtures of the LMS-shaped environment (``make test-openedx``): courses, the course team, a learner."""

import crum
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from lms import auth

from ..factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from . import lms_views


@pytest.fixture(autouse=True)
def courses():
    """A course with proctored exams (Studio's setting on, exams synced) and one without either."""
    lms_views.COURSES.clear()
    lms_views.COURSES.update({COURSE_ID: True, OTHER_COURSE_ID: False})
    yield lms_views.COURSES
    lms_views.COURSES.clear()


@pytest.fixture
def exams(db):
    midterm = ProctoredExamFactory(exam_name="Midterm", time_limit_mins=90)
    for name in ("zoe", "jose", "aicha"):
        ExamAttemptFactory(exam=midterm, user=UserFactory(username=name))
    return midterm


@pytest.fixture
def team_member(db):
    """Course staff with the data researcher role: the LMS shows them its Data Download tab."""
    user = UserFactory(username="teacher", email="teacher@example.edu")
    for course_id in (COURSE_ID, OTHER_COURSE_ID):
        auth.grant(user, "staff", course_id)
        auth.grant(user, "data_researcher", course_id)
    return user


@pytest.fixture
def course_staff_only(db):
    """Course staff without the data researcher role: the LMS shows them no Data Download tab."""
    user = UserFactory(username="assistant", email="assistant@example.edu")
    auth.grant(user, "staff", COURSE_ID)
    return user


@pytest.fixture
def researcher_only(db):
    """The data researcher role alone: the Data Download tab, but not the LMS's exam-results permission."""
    user = UserFactory(username="researcher", email="researcher@example.edu")
    auth.grant(user, "data_researcher", COURSE_ID)
    return user


@pytest.fixture
def learner(db):
    return UserFactory(username="learner", email="learner@example.edu")


@pytest.fixture
def as_user():
    """Serve a request as ``user`` the way the LMS does: django-crum's middleware holds it for filter steps."""

    def serve(user):
        request = RequestFactory().get("/courses/x/instructor")
        request.user = user or AnonymousUser()
        request.session = SessionStore()
        crum.set_current_request(request)
        return request

    yield serve
    crum.set_current_request(None)
