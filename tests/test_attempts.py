"""The attempt state machine (``attempts.py``): one lock per change, whoever the caller is."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from proctoring_results import api, attempts
from proctoring_results.exceptions import AttemptNotFound, InvalidTransition
from proctoring_results.models import AttemptStatusChange, ExamAttempt

from .reviews_helpers import (  # noqa: F401  (provider_settings is a fixture)
    make_attempt,
    provider_settings,
    review_payload,
    signed_post,
)

pytestmark = pytest.mark.django_db


def _attempt_reads(queries, attempt_code):
    """The statements that read the attempt's row by its code (each one a lock on a database server)."""
    table = ExamAttempt._meta.db_table
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and table in q["sql"] and attempt_code in q["sql"]
    ]


@pytest.mark.usefixtures("provider_settings")
def test_a_review_reads_and_locks_the_attempt_once_through_two_moves(client):
    # completed -> submitted -> verified: two moves, one locked read of the row.
    attempt = make_attempt(status="completed")
    with CaptureQueriesContext(connection) as ctx:
        response = signed_post(client, review_payload(attempt.attempt_code))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    assert len(_attempt_reads(ctx.captured_queries, attempt.attempt_code)) == 1
    moves = list(AttemptStatusChange.objects.filter(attempt=attempt).values_list("from_status", "to_status", "source"))
    assert moves == [("completed", "submitted", "provider"), ("submitted", "verified", "provider")]


def test_a_staff_decision_reads_the_attempt_once_inside_its_transaction():
    attempt = make_attempt(status="second_review_required")
    staff = attempt.user  # permission is the view's business; the domain only records who
    with CaptureQueriesContext(connection) as ctx:
        result = api.record_staff_decision(attempt.attempt_code, "verified", actor=staff, reason="Checked")
    assert (result.status, result.changed) == ("verified", True)
    assert len(_attempt_reads(ctx.captured_queries, attempt.attempt_code)) == 1


def test_transition_sets_times_and_records_the_change():
    attempt = make_attempt(status="created")
    with transaction.atomic():
        locked = attempts.lock(attempt.attempt_code)
        attempts.transition(locked, "started", external_id="session-9")
        attempts.transition(locked, "completed", reason="x" * 300)
    stored = ExamAttempt.objects.get(pk=attempt.pk)
    assert stored.status == "completed" and stored.external_id == "session-9"
    assert stored.started_at is not None and stored.completed_at is not None
    changes = list(AttemptStatusChange.objects.filter(attempt=attempt).values_list("to_status", "reason"))
    assert changes == [("started", ""), ("completed", "x" * 255)]


def test_an_illegal_transition_changes_nothing():
    attempt = make_attempt(status="created")
    with pytest.raises(InvalidTransition), transaction.atomic():
        attempts.transition(attempts.lock(attempt.attempt_code), "verified")
    assert ExamAttempt.objects.get(pk=attempt.pk).status == "created"
    assert not AttemptStatusChange.objects.filter(attempt=attempt).exists()


@pytest.mark.parametrize("code", ["NO-SUCH-CODE", "bad\x00code", None])
def test_lock_of_an_unknown_attempt_is_not_found(code):
    with pytest.raises(AttemptNotFound), transaction.atomic():
        attempts.lock(code)


def test_lock_for_another_provider_is_not_found():
    attempt = make_attempt(provider="provider-a")
    with pytest.raises(AttemptNotFound), transaction.atomic():
        attempts.lock(attempt.attempt_code, provider="provider-b")
    with transaction.atomic():
        assert attempts.lock(attempt.attempt_code, provider="provider-a").pk == attempt.pk
