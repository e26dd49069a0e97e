"""The Python API the host LMS calls: exams, attempts, statuses, bad input."""

import re
import threading
from datetime import datetime

import pytest
from django.db import connection

from proctoring_results import api
from proctoring_results.data import AttemptData, ExamData
from proctoring_results.exceptions import (
    AttemptNotFound,
    ExamNotFound,
    InvalidCourseId,
    InvalidExamData,
    InvalidTransition,
    UnknownStatus,
)
from proctoring_results.models import AttemptStatusChange, ExamAttempt, ProctoredExam

from .factories import COURSE_ID, OTHER_COURSE_ID, UserFactory

pytestmark = pytest.mark.django_db


def make_exam(**kwargs):
    fields = {
        "course_id": COURSE_ID,
        "content_id": "block-v1:TestX+Proctoring+2026+type@sequential+block@mid",
        "exam_name": "Midterm",
        "time_limit_mins": 90,
    }
    fields.update(kwargs)
    return api.create_exam(**fields)


def test_create_exam_returns_plain_data():
    exam = make_exam(is_practice_exam=True, provider="acme")
    assert isinstance(exam, ExamData)
    assert exam.course_id == COURSE_ID
    assert (exam.exam_name, exam.time_limit_mins, exam.is_practice_exam, exam.provider) == ("Midterm", 90, True, "acme")
    assert api.list_course_exams(COURSE_ID) == [exam]
    assert api.list_course_exams(OTHER_COURSE_ID) == []


@pytest.mark.parametrize("course_id", ["", "   ", "not a course", "course-v1:onlyorg", None, 42])
def test_malformed_course_id_is_refused(course_id):
    with pytest.raises(InvalidCourseId):
        make_exam(course_id=course_id)
    assert not ProctoredExam.objects.exists()


@pytest.mark.parametrize("limit", [-1, 7 * 24 * 60 + 1, 10**9])
def test_negative_or_absurd_time_limit_is_refused(limit):
    with pytest.raises(InvalidExamData, match="time_limit_mins"):
        make_exam(time_limit_mins=limit)
    assert not ProctoredExam.objects.exists()


def test_duplicate_exam_is_refused():
    make_exam()
    with pytest.raises(InvalidExamData, match="already exists"):
        make_exam(exam_name="Again")
    assert ProctoredExam.objects.count() == 1


def test_update_exam():
    exam = make_exam()
    updated = api.update_exam(exam.id, exam_name="Midterm (revised)", time_limit_mins=100)
    assert (updated.exam_name, updated.time_limit_mins) == ("Midterm (revised)", 100)
    with pytest.raises(InvalidExamData, match="course_id"):
        api.update_exam(exam.id, course_id=OTHER_COURSE_ID)
    with pytest.raises(InvalidExamData, match="time_limit_mins"):
        api.update_exam(exam.id, time_limit_mins=-5)
    assert api.get_exam(exam.id).time_limit_mins == 100
    with pytest.raises(ExamNotFound):
        api.update_exam(999999, exam_name="x")


def test_attempt_lifecycle_sets_times_and_history():
    exam = make_exam()
    learner = UserFactory()
    attempt = api.create_attempt(COURSE_ID, exam.id, learner)
    assert isinstance(attempt, AttemptData)
    assert (attempt.status, attempt.allowed_time_limit_mins, attempt.is_sample_attempt) == ("created", 90, False)
    assert len(attempt.attempt_code) == 36

    api.mark_ready_to_start(attempt.attempt_code)
    started = api.start_attempt(attempt.attempt_code, external_id="session-1")
    assert started.status == "started" and isinstance(started.started_at, datetime)
    assert started.external_id == "session-1"
    completed = api.complete_attempt(attempt.attempt_code)
    assert completed.completed_at >= completed.started_at
    submitted = api.submit_attempt(attempt.attempt_code)
    assert submitted.completed_at == completed.completed_at  # set once
    assert submitted.status_label == "Submitted"

    history = list(
        AttemptStatusChange.objects.filter(attempt__attempt_code=attempt.attempt_code).values_list(
            "from_status", "to_status"
        )
    )
    assert history == [
        ("created", "ready_to_start"),
        ("ready_to_start", "started"),
        ("started", "completed"),
        ("completed", "submitted"),
    ]
    assert api.list_course_attempts(COURSE_ID) == [submitted]


def test_time_out_then_error():
    exam = make_exam()
    code = api.create_attempt(COURSE_ID, exam.id, UserFactory()).attempt_code
    api.start_attempt(code)
    assert api.time_out_attempt(code).status == "timed_out"
    assert api.mark_attempt_error(code, reason="recording lost").status == "error"


def test_practice_exam_attempt_is_a_sample_attempt_with_its_own_limit():
    exam = make_exam(is_practice_exam=True)
    attempt = api.create_attempt(COURSE_ID, exam.id, UserFactory(), allowed_time_limit_mins=120)
    assert attempt.is_sample_attempt is True
    assert attempt.allowed_time_limit_mins == 120


def test_illegal_transition_changes_nothing():
    exam = make_exam()
    code = api.create_attempt(COURSE_ID, exam.id, UserFactory()).attempt_code
    with pytest.raises(InvalidTransition, match="cannot go from 'created' to 'verified'"):
        api.update_attempt_status(code, "verified")
    assert api.get_attempt(code).status == "created"
    assert not AttemptStatusChange.objects.exists()


def test_unknown_status_and_unknown_attempt():
    exam = make_exam()
    code = api.create_attempt(COURSE_ID, exam.id, UserFactory()).attempt_code
    with pytest.raises(UnknownStatus):
        api.update_attempt_status(code, "finished")
    with pytest.raises(AttemptNotFound):
        api.start_attempt("NOPE")
    with pytest.raises(AttemptNotFound):
        api.get_attempt("NOPE")


def test_attempt_for_an_exam_of_another_course_is_refused():
    exam = make_exam()
    with pytest.raises(ExamNotFound, match=re.escape(f"in course {OTHER_COURSE_ID}")):
        api.create_attempt(OTHER_COURSE_ID, exam.id, UserFactory())
    assert not ExamAttempt.objects.exists()


@pytest.mark.parametrize("limit", [-1, 10**7])
def test_attempt_with_bad_time_limit_is_refused(limit):
    exam = make_exam()
    with pytest.raises(InvalidExamData, match="allowed_time_limit_mins"):
        api.create_attempt(COURSE_ID, exam.id, UserFactory(), allowed_time_limit_mins=limit)
    assert not ExamAttempt.objects.exists()


def test_inactive_exam_takes_no_new_attempts():
    exam = make_exam(is_active=False)
    with pytest.raises(InvalidExamData, match="not active"):
        api.create_attempt(COURSE_ID, exam.id, UserFactory())


def test_course_roles_decide_who_sees_results():
    staff, outsider, admin = UserFactory(), UserFactory(), UserFactory(is_staff=True)
    api.grant_course_role(staff, COURSE_ID, "staff")
    assert api.can_view_course_results(staff, COURSE_ID)
    assert not api.can_view_course_results(staff, OTHER_COURSE_ID)
    assert not api.can_view_course_results(outsider, COURSE_ID)
    assert api.can_view_course_results(admin, OTHER_COURSE_ID)
    api.revoke_course_roles(staff, COURSE_ID)
    assert not api.can_view_course_results(staff, COURSE_ID)
    staff.is_active = False
    admin.is_active = False
    assert not api.can_view_course_results(admin, COURSE_ID)
    with pytest.raises(InvalidExamData, match="not a course role"):
        api.grant_course_role(staff, COURSE_ID, "learner")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor == 'sqlite'", reason="row locks need a database server; SQLite serialises writes"
)
def test_concurrent_updates_of_one_attempt_lose_nothing():
    """Two threads race to move one submitted attempt; the row lock makes them take turns."""
    exam = make_exam()
    code = api.create_attempt(COURSE_ID, exam.id, UserFactory()).attempt_code
    for step in (api.start_attempt, api.submit_attempt):
        step(code)
    barrier = threading.Barrier(2)
    outcomes = []

    def move(status):
        barrier.wait()
        try:
            outcomes.append(api.update_attempt_status(code, status).status)
        except InvalidTransition as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(s,)) for s in ("second_review_required", "verified")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = list(
        AttemptStatusChange.objects.filter(
            attempt__attempt_code=code, from_status__in=["submitted", "second_review_required", "verified"]
        ).values_list("from_status", "to_status")
    )
    # Both moves are legal in either order, so both land, one after the other, each checked
    # against the status the other left: no lost update, and the history is a chain.
    assert len(history) == 2 and history[0][1] == history[1][0]
    assert api.get_attempt(code).status == history[1][1]
