"""Second review and appeal: course staff decide, over REST and in the admin; who and when are recorded."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from proctoring_results import api
from proctoring_results.data import FlagSubmission, ReviewSubmission
from proctoring_results.models import AttemptStatusChange, ExamAttempt

from .factories import OTHER_COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .reviews_helpers import make_attempt

pytestmark = pytest.mark.django_db


def decision_url(code):
    return f"/api/proctoring-results/v1/attempts/{code}/decision/"


def decide(client, code, status="verified", reason="Second review: ID was valid", **extra):
    return client.post(
        decision_url(code), {"status": status, "reason": reason}, content_type="application/json", **extra
    )


def status_of(attempt):
    return ExamAttempt.objects.get(pk=attempt.pk).status


@pytest.mark.parametrize(
    "start, target",
    [
        ("second_review_required", "verified"),
        ("second_review_required", "rejected"),
        ("rejected", "verified"),  # appeal upheld
        ("verified", "rejected"),  # appeal the other way, e.g. new evidence
    ],
)
def test_course_staff_decide_and_who_and_when_are_recorded(client, instructor, start, target):
    attempt = make_attempt(status=start)
    client.force_login(instructor)
    response = decide(client, attempt.attempt_code, target)
    assert response.status_code == 200, response.content
    label = {"verified": "Satisfactory", "rejected": "Unsatisfactory"}[target]
    assert response.json() == {
        "attempt_code": attempt.attempt_code,
        "status": target,
        "status_label": label,
        "changed": True,
    }
    change = AttemptStatusChange.objects.get(attempt=attempt)
    assert (change.from_status, change.to_status, change.source) == (start, target, "staff")
    assert change.actor == instructor and change.reason == "Second review: ID was valid"
    assert change.changed_at is not None


@pytest.mark.parametrize("start", ["created", "started", "completed", "submitted", "error"])
def test_staff_cannot_decide_an_attempt_that_is_not_reviewed(client, instructor, start):
    attempt = make_attempt(status=start)
    client.force_login(instructor)
    response = decide(client, attempt.attempt_code)
    assert response.status_code == 409
    assert f"status is '{start}'" in response.json()["errors"]["status"][0]
    assert status_of(attempt) == start


def test_deciding_the_status_it_already_has_changes_nothing(client, instructor):
    attempt = make_attempt(status="second_review_required")
    client.force_login(instructor)
    first = decide(client, attempt.attempt_code, "verified")
    retried = decide(client, attempt.attempt_code, "verified")
    assert (first.status_code, first.json()["changed"]) == (200, True)
    assert retried.status_code == 200
    assert retried.json() == {
        "attempt_code": attempt.attempt_code,
        "status": "verified",
        "status_label": "Satisfactory",
        "changed": False,
    }
    assert AttemptStatusChange.objects.filter(attempt=attempt).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "submitted", "reason": "x"}, "status"),
        ({"status": "error", "reason": "x"}, "status"),
        ({"reason": "x"}, "status"),
        ({"status": "verified"}, "reason"),
        ({"status": "verified", "reason": "  "}, "reason"),
        ({"status": "verified", "reason": "x" * 256}, "reason"),
        ({"status": "verified", "reason": ["x"]}, "reason"),
        (["verified"], "body"),
    ],
)
def test_bad_decision_is_a_400_naming_the_field(client, instructor, body, field):
    attempt = make_attempt(status="second_review_required")
    client.force_login(instructor)
    response = client.post(decision_url(attempt.attempt_code), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert status_of(attempt) == "second_review_required"


def test_malformed_json_is_a_400(client, instructor):
    client.force_login(instructor)
    attempt = make_attempt(status="second_review_required")
    response = client.post(decision_url(attempt.attempt_code), "{oops", content_type="application/json")
    assert response.status_code == 400 and "body" in response.json()["errors"]


def test_unknown_attempt_is_a_404(client, instructor):
    client.force_login(instructor)
    response = decide(client, "NOPE")
    assert response.status_code == 404 and "attempt_code" in response.json()["errors"]


def test_who_may_decide(client, learner):
    attempt = make_attempt(status="second_review_required")
    assert decide(client, attempt.attempt_code).status_code in (401, 403)  # anonymous
    client.force_login(learner)
    assert decide(client, attempt.attempt_code).status_code == 403
    other_staff = UserFactory(username="other-staff")
    api.grant_course_role(other_staff, OTHER_COURSE_ID, "staff")
    client.force_login(other_staff)
    response = decide(client, attempt.attempt_code)
    assert response.status_code == 403 and "permission" in response.json()["errors"]
    assert status_of(attempt) == "second_review_required"


def test_session_auth_needs_the_csrf_token_and_token_auth_does_not(instructor):
    attempt = make_attempt(status="second_review_required")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(instructor)
    response = decide(browser, attempt.attempt_code)
    assert response.status_code == 403 and "CSRF" in response.json()["errors"]["permission"][0]
    token = Token.objects.create(user=instructor)
    script = Client(enforce_csrf_checks=True)
    response = decide(script, attempt.attempt_code, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and status_of(attempt) == "verified"


def test_staff_read_the_review_history(client, instructor, learner):
    attempt = make_attempt(status="submitted")
    api.record_review(
        "test-provider",
        ReviewSubmission(
            attempt_code=attempt.attempt_code,
            review_id="r1",
            status="violation",
            flags=(FlagSubmission(rule="phone", comment="Texting"),),
        ),
    )
    url = f"/api/proctoring-results/v1/attempts/{attempt.attempt_code}/reviews/"
    client.force_login(learner)
    assert client.get(url).status_code == 403
    client.force_login(instructor)
    results = client.get(url).json()["results"]
    assert [(r["review_id"], r["outcome"]) for r in results] == [("r1", "rejected")]
    assert results[0]["flags"][0] == {
        "rule_code": "phone",
        "severity": "integrity",
        "comment": "Texting",
        "start_seconds": None,
        "stop_seconds": None,
    }


# ---------------------------------------------------------------- admin actions


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_admin_action_asks_for_a_reason_then_decides(admin_client):
    pending = make_attempt(status="second_review_required")
    submitted = make_attempt(status="submitted")
    url = reverse("admin:proctoring_results_examattempt_changelist")
    selection = {"action": "decide_rejected", "_selected_action": [pending.pk, submitted.pk]}
    page = admin_client.post(url, selection)
    assert page.status_code == 200 and "Reason" in page.content.decode()
    assert status_of(pending) == "second_review_required"
    done = admin_client.post(url, {**selection, "apply": "1", "reason": "Confirmed the second review"}, follow=True)
    text = done.content.decode()
    assert "1 attempt(s) set to Unsatisfactory" in text
    assert f"{submitted.attempt_code}: Only an attempt awaiting a second review" in text
    assert (status_of(pending), status_of(submitted)) == ("rejected", "submitted")
    change = AttemptStatusChange.objects.get(attempt=pending)
    assert change.actor.username == "admin" and change.source == "staff"
    assert change.reason == "Confirmed the second review"


def test_admin_action_without_a_reason_decides_nothing(admin_client):
    pending = make_attempt(status="second_review_required")
    url = reverse("admin:proctoring_results_examattempt_changelist")
    page = admin_client.post(
        url, {"action": "decide_verified", "_selected_action": [pending.pk], "apply": "1", "reason": " "}
    )
    assert page.status_code == 200 and "Give a reason." in page.content.decode()
    assert status_of(pending) == "second_review_required"


def test_admin_action_respects_course_roles(client, settings):
    settings.PROCTORING_RESULTS = {"PERMISSION_CHECK": "tests.test_reviews_decisions.only_course_roles"}
    support = UserFactory(username="support", is_staff=True, is_superuser=True)
    client.force_login(support)
    attempt = ExamAttemptFactory(exam=ProctoredExamFactory(), status="second_review_required")
    url = reverse("admin:proctoring_results_examattempt_changelist")
    done = client.post(
        url, {"action": "decide_verified", "_selected_action": [attempt.pk], "apply": "1", "reason": "ok"}, follow=True
    )
    assert "you are not course staff of its course" in done.content.decode()
    assert status_of(attempt) == "second_review_required"


def only_course_roles(user, course_key):
    """A host's permission check that ignores global staff."""
    return user.proctoring_course_roles.filter(course_id=course_key).exists()


def test_admin_shows_an_attempts_reviews_and_keeps_them_append_only(admin_client):
    attempt = make_attempt(status="submitted")
    api.record_review(
        "test-provider",
        ReviewSubmission(
            attempt_code=attempt.attempt_code,
            review_id="r-admin",
            status="passed",
            flags=(FlagSubmission(rule="music_or_tv"),),
        ),
    )
    page = admin_client.get(reverse("admin:proctoring_results_examattempt_change", args=[attempt.pk]))
    assert page.status_code == 200 and "r-admin" in page.content.decode()
    review = attempt.reviews.get()
    assert admin_client.get(reverse("admin:proctoring_results_review_change", args=[review.pk])).status_code == 200
    assert admin_client.get(reverse("admin:proctoring_results_review_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:proctoring_results_review_delete", args=[review.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert attempt.reviews.count() == 1


def test_admin_action_on_an_attempt_already_decided_changes_nothing(admin_client):
    done_already = make_attempt(status="verified")
    url = reverse("admin:proctoring_results_examattempt_changelist")
    page = admin_client.post(
        url,
        {"action": "decide_verified", "_selected_action": [done_already.pk], "apply": "1", "reason": "double click"},
        follow=True,
    )
    assert "1 attempt(s) were already Satisfactory; left as they were." in page.content.decode()
    assert not AttemptStatusChange.objects.filter(attempt=done_already).exists()
