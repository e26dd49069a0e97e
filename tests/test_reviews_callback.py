"""The provider's signed review callback, over HTTP, as a provider sees it."""

import json
import logging
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.test import Client

from proctoring_results import api, signatures
from proctoring_results.models import AttemptStatusChange, ExamAttempt, Review, ReviewFlag

from .reviews_helpers import (  # noqa: F401  (provider_settings is a fixture)
    PROVIDER,
    SECRET,
    URL,
    make_attempt,
    provider_settings,
    review_payload,
    signed_post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("provider_settings")]


def status_of(attempt):
    return ExamAttempt.objects.get(pk=attempt.pk).status


# ---------------------------------------------------------------- outcomes, as the seed says


@pytest.mark.parametrize(
    "status, flags, expected",
    [
        ("passed", [], "verified"),
        ("passed", [{"rule": "music_or_tv", "comment": "Radio on", "start": 10, "stop": 70}], "verified"),
        ("violation", [{"rule": "second_computer", "comment": "Laptop", "start": 5.5, "stop": 9}], "rejected"),
        ("violation", [{"rule": "music_or_tv"}, {"rule": "no_photo_id"}], "rejected"),
        ("suspicious", [{"rule": "reading_exam_aloud"}], "rejected"),
        ("passed", [{"rule": "explicit_content"}], "rejected"),
        ("not_reviewed", [], "error"),
        ("passed", [{"rule": "vendor_specific_thing", "comment": "?"}], "second_review_required"),
    ],
)
def test_review_decides_the_attempt_status(client, status, flags, expected):
    attempt = make_attempt()
    response = signed_post(
        client,
        review_payload(
            attempt.attempt_code,
            status=status,
            flags=flags,
            reviewer="Reviewer Rita",
            reviewed_at="2026-03-01T10:00:00Z",
        ),
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "attempt_code": attempt.attempt_code,
        "review_id": "rev-1",
        "status": expected,
        "outcome": expected,
        "duplicate": False,
    }
    assert status_of(attempt) == expected
    review = Review.objects.get()
    assert (review.provider, review.provider_status, review.outcome) == (PROVIDER, status, expected)
    assert review.flags.count() == len(flags)
    change = AttemptStatusChange.objects.get(attempt=attempt)
    assert (change.from_status, change.to_status, change.source) == ("submitted", expected, "provider")


def test_flags_are_stored_with_severity_offsets_and_raw_unknown_codes(client):
    attempt = make_attempt()
    flags = [
        {"rule": "music_or_tv", "comment": "TV in the back", "start": 12, "stop": 30.5},
        {"rule": "Vendor:GazeAway", "comment": "Looked away", "start": None},
    ]
    payload = review_payload(attempt.attempt_code, flags=flags, extra_vendor_field={"k": [1, 2]})
    assert signed_post(client, payload).json()["status"] == "second_review_required"
    stored = list(
        ReviewFlag.objects.order_by("id").values_list(
            "rule_code", "severity", "comment", "start_seconds", "stop_seconds"
        )
    )
    assert stored == [
        ("music_or_tv", "discouraged", "TV in the back", 12.0, 30.5),
        ("Vendor:GazeAway", "", "Looked away", None, None),
    ]
    assert Review.objects.get().raw_payload == payload  # nothing lost


def test_disagreement_is_recorded(client):
    attempt = make_attempt()
    signed_post(client, review_payload(attempt.attempt_code, status="passed", flags=[{"rule": "phone"}]))
    review = Review.objects.get()
    assert review.outcome == "rejected" and "phone" in review.disagreement
    assert status_of(attempt) == "rejected"


def test_second_review_requested_by_provider(client):
    attempt = make_attempt()
    response = signed_post(
        client, review_payload(attempt.attempt_code, status="violation", flags=[{"rule": "phone"}], second_review=True)
    )
    assert response.json()["status"] == "second_review_required"
    assert Review.objects.get().second_review_requested


def test_review_of_a_completed_or_timed_out_attempt_passes_through_submitted(client):
    for index, status in enumerate(("completed", "timed_out")):
        attempt = make_attempt(status=status)
        response = signed_post(client, review_payload(attempt.attempt_code, review_id=f"r{index}"))
        assert response.json()["status"] == "verified"
        history = list(
            AttemptStatusChange.objects.filter(attempt=attempt).order_by("id").values_list("from_status", "to_status")
        )
        assert history == [(status, "submitted"), ("submitted", "verified")]


@pytest.mark.parametrize("status", ["created", "ready_to_start", "started"])
def test_review_of_an_attempt_not_yet_submitted_is_a_409(client, status):
    attempt = make_attempt(status=status)
    response = signed_post(client, review_payload(attempt.attempt_code))
    assert response.status_code == 409
    assert "not been submitted for review yet" in response.json()["errors"]["attempt_code"][0]
    assert not Review.objects.exists() and status_of(attempt) == status


# ---------------------------------------------------------------- idempotency and history


def test_same_review_again_changes_nothing(client):
    attempt = make_attempt()
    payload = review_payload(attempt.attempt_code, status="violation", flags=[{"rule": "phone", "comment": "x"}])
    first = signed_post(client, payload)
    second = signed_post(client, payload)
    assert first.status_code == second.status_code == 200
    assert second.json() == {**first.json(), "duplicate": True}
    assert Review.objects.count() == 1 and ReviewFlag.objects.count() == 1
    assert AttemptStatusChange.objects.filter(attempt=attempt).count() == 1


def test_a_repeated_review_reports_the_attempts_current_status(client, instructor):
    attempt = make_attempt()
    payload = review_payload(attempt.attempt_code, status="violation", flags=[{"rule": "phone"}])
    signed_post(client, payload)
    api.record_staff_decision(attempt.attempt_code, "verified", actor=instructor, reason="Appeal upheld")
    again = signed_post(client, payload).json()
    assert (again["outcome"], again["status"], again["duplicate"]) == ("rejected", "verified", True)
    assert status_of(attempt) == "verified"


def test_new_review_supersedes_and_history_is_kept(client):
    attempt = make_attempt()
    signed_post(
        client, review_payload(attempt.attempt_code, "r1", "violation", [{"rule": "phone"}], second_review=True)
    )
    assert status_of(attempt) == "second_review_required"
    response = signed_post(client, review_payload(attempt.attempt_code, "r2", "passed"))
    assert response.json()["status"] == "verified"
    history = api.list_attempt_reviews(attempt.attempt_code)
    assert [(r.review_id, r.outcome) for r in history] == [("r1", "second_review_required"), ("r2", "verified")]
    assert history[0].flags[0].rule_code == "phone"


def test_review_ids_that_differ_only_in_case_are_two_reviews(client):
    """A provider's ids are compared exactly, also under MySQL's case-insensitive collations."""
    attempt = make_attempt()
    signed_post(
        client, review_payload(attempt.attempt_code, "Rev-A", "violation", [{"rule": "phone"}], second_review=True)
    )
    response = signed_post(client, review_payload(attempt.attempt_code, "rev-a", "passed"))
    assert (response.json()["duplicate"], response.json()["status"]) == (False, "verified")
    assert sorted(r.review_id for r in api.list_attempt_reviews(attempt.attempt_code)) == ["Rev-A", "rev-a"]


def test_a_late_redelivery_of_an_older_review_does_not_undo_a_newer_one(client):
    attempt = make_attempt()
    signed_post(client, review_payload(attempt.attempt_code, "r2", "passed", reviewed_at="2026-03-02T09:00:00Z"))
    response = signed_post(
        client,
        review_payload(
            attempt.attempt_code, "r1", "violation", [{"rule": "phone"}], reviewed_at="2026-03-01T09:00:00+00:00"
        ),
    )
    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["status"]) == ("rejected", "verified")
    assert status_of(attempt) == "verified" and Review.objects.count() == 2


def test_review_id_reused_for_another_attempt_is_a_409(client):
    first, second = make_attempt(), make_attempt()
    signed_post(client, review_payload(first.attempt_code, "same-id"))
    response = signed_post(client, review_payload(second.attempt_code, "same-id"))
    assert response.status_code == 409 and "review_id" in response.json()["errors"]
    assert status_of(second) == "submitted"


def test_numeric_review_id_is_the_same_id_as_its_text(client):
    attempt = make_attempt()
    signed_post(client, review_payload(attempt.attempt_code, 12345))
    assert signed_post(client, review_payload(attempt.attempt_code, "12345")).json()["duplicate"] is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor == 'sqlite'", reason="row locks need a database server; SQLite serialises writes"
)
@pytest.mark.parametrize("same_attempt", [True, False])
def test_two_simultaneous_deliveries_record_one_review(same_attempt):
    """Threads post at the same moment; the row lock and the unique constraint leave one review."""
    attempts = [make_attempt(), make_attempt()]
    codes = [attempts[0].attempt_code, attempts[0 if same_attempt else 1].attempt_code]
    bodies = [json.dumps(review_payload(code, "race", "violation", [{"rule": "phone"}])).encode() for code in codes]
    barrier = threading.Barrier(len(bodies))
    responses = []

    def deliver(body):
        try:
            barrier.wait()
            responses.append(signed_post(Client(), body=body))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Review.objects.filter(review_id="race").count() == 1
    assert ReviewFlag.objects.count() == 1
    codes_seen = sorted(r.status_code for r in responses)
    if same_attempt:
        assert codes_seen == [200, 200]
        assert sorted(r.json()["duplicate"] for r in responses) == [False, True]
        assert {r.json()["outcome"] for r in responses} == {"rejected"}
        assert AttemptStatusChange.objects.filter(attempt=attempts[0]).count() == 1
    else:
        assert codes_seen == [200, 409]
    assert AttemptStatusChange.objects.count() == 1


# ---------------------------------------------------------------- authentication


def assert_refused_401(response):
    assert response.status_code == 401
    assert response.json() == {"errors": {"authentication": ["The request could not be authenticated."]}}
    assert "X-Proctoring-Signature" in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "variant",
    [
        "unknown provider",
        "no provider header",
        "no signature header",
        "wrong secret",
        "other provider's secret",
        "tampered body",
        "stale timestamp",
        "future timestamp",
        "malformed header",
        "no v1",
        "no t",
        "not hex",
        "signature of another timestamp",
        "empty v1",
    ],
)
def test_every_signature_failure_is_the_same_401(client, variant):
    # The clock stands still on a whole second: one second away from the
    # tolerance must not become zero because the request crossed a tick.
    with time_machine.travel(1_780_000_000, tick=False):
        _assert_signature_failure_is_refused(client, variant)


def _assert_signature_failure_is_refused(client, variant):
    attempt = make_attempt()
    body = json.dumps(review_payload(attempt.attempt_code)).encode()
    now = int(time.time())
    good = signatures.compute(SECRET, now, body)
    kwargs = {
        "unknown provider": {"provider": "nobody"},
        "no provider header": {"provider": None},
        "no signature header": {"signature": False},
        "wrong secret": {"secret": "guess"},
        "other provider's secret": {"secret": "other"},
        "tampered body": {"signature": signatures.sign(SECRET, body + b" ")},
        "stale timestamp": {"timestamp": now - 301},
        "future timestamp": {"timestamp": now + 301},
        "malformed header": {"signature": "garbage"},
        "no v1": {"signature": f"t={now}"},
        "no t": {"signature": f"v1={good}"},
        "not hex": {"signature": f"t={now},v1=zz{good[2:]}"},
        "signature of another timestamp": {"signature": f"t={now + 1},v1={good}"},
        "empty v1": {"signature": f"t={now},v1="},
    }[variant]
    assert_refused_401(signed_post(client, body=body, **kwargs))
    assert status_of(attempt) == "submitted" and not Review.objects.exists()


@pytest.mark.parametrize("skew", [-300, 300])
def test_timestamp_at_the_edge_of_the_tolerance_is_accepted(client, skew):
    attempt = make_attempt()
    with time_machine.travel(1_780_000_000, tick=False):
        response = signed_post(client, review_payload(attempt.attempt_code), timestamp=int(time.time()) + skew)
    assert response.status_code == 200


def test_key_rotation_header_with_several_signatures(client):
    attempt = make_attempt()
    body = json.dumps(review_payload(attempt.attempt_code)).encode()
    now = int(time.time())
    header = f"t={now},v1={'0' * 64},v1={signatures.compute(SECRET, now, body)},v0=ignored"
    assert signed_post(client, body=body, signature=header).status_code == 200


def test_a_provider_cannot_review_another_providers_attempts(client):
    attempt = make_attempt(provider="other-provider")
    response = signed_post(client, review_payload(attempt.attempt_code))
    assert response.status_code == 404
    assert response.json() == {"errors": {"attempt_code": ["No exam attempt with that attempt code."]}}


def test_session_login_is_not_enough_and_csrf_does_not_apply(client, admin_user):
    client.force_login(admin_user)
    attempt = make_attempt()
    assert_refused_401(client.post(URL, review_payload(attempt.attempt_code), content_type="application/json"))
    csrf_client = Client(enforce_csrf_checks=True)
    assert signed_post(csrf_client, review_payload(attempt.attempt_code)).status_code == 200


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 401
    body = b""
    response = client.generic(
        "GET", URL, body, HTTP_X_PROCTORING_PROVIDER=PROVIDER, HTTP_X_PROCTORING_SIGNATURE=signatures.sign(SECRET, body)
    )
    assert response.status_code == 405 and "method" in response.json()["errors"]


# ---------------------------------------------------------------- bad input


def test_body_over_the_limit_is_refused_before_parsing(client, settings):
    settings.PROCTORING_RESULTS = {**settings.PROCTORING_RESULTS, "MAX_REVIEW_BODY_BYTES": 1000}
    attempt = make_attempt()
    body = json.dumps(review_payload(attempt.attempt_code, flags=[{"rule": "phone", "comment": "x" * 2000}])).encode()
    response = signed_post(client, body=body)
    assert response.status_code == 413
    assert response.json() == {"errors": {"body": ["The request body must be at most 1000 bytes."]}}
    # A lying Content-Length does not get more read than the limit either.
    response = client.generic(
        "POST",
        URL,
        body,
        content_type="application/json",
        CONTENT_LENGTH="10",
        HTTP_X_PROCTORING_PROVIDER=PROVIDER,
        HTTP_X_PROCTORING_SIGNATURE=signatures.sign(SECRET, body),
    )
    assert response.status_code == 401  # only the first 10 bytes were read, so the signature cannot match
    assert not Review.objects.exists()


def test_body_exactly_at_the_limit_is_accepted(client, settings):
    attempt = make_attempt()
    body = json.dumps(review_payload(attempt.attempt_code)).encode()
    settings.PROCTORING_RESULTS = {**settings.PROCTORING_RESULTS, "MAX_REVIEW_BODY_BYTES": len(body)}
    assert signed_post(client, body=body).status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        (b"", "body"),
        (b"{not json", "body"),
        (b"\xff\xfe{}", "body"),
        (b'{"attempt_code": NaN}', "body"),
        (b'{"attempt_code": 1e999}', "body"),
        (b"[1, 2]", "body"),
        (b"[" * 5000 + b"]" * 5000, "body"),
    ],
)
def test_malformed_json_is_a_400_naming_the_body(client, body, field):
    response = signed_post(client, body=body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"attempt_code": None}, "attempt_code"),
        ({"attempt_code": 42}, "attempt_code"),
        ({"attempt_code": " "}, "attempt_code"),
        ({"review_id": None}, "review_id"),
        ({"review_id": True}, "review_id"),
        ({"review_id": "r" * 256}, "review_id"),
        ({"status": "clean"}, "status"),
        ({"status": None}, "status"),
        ({"flags": None}, "flags"),
        ({"flags": "phone"}, "flags"),
        ({"flags": ["phone"]}, "flags[0]"),
        ({"flags": [{"comment": "no rule"}]}, "flags[0].rule"),
        ({"flags": [{"rule": "x" * 101}]}, "flags[0].rule"),
        ({"flags": [{"rule": "phone", "comment": 5}]}, "flags[0].comment"),
        ({"flags": [{"rule": "phone", "start": "10"}]}, "flags[0].start"),
        ({"flags": [{"rule": "phone", "start": -1}]}, "flags[0].start"),
        ({"flags": [{"rule": "phone", "start": True}]}, "flags[0].start"),
        ({"flags": [{"rule": "phone", "start": 10, "stop": 5}]}, "flags[0].stop"),
        ({"flags": [{"rule": "phone"}] * 1001}, "flags"),
        ({"flags": [{"rule": "phone", "comment": "nul\u0000byte"}]}, "flags[0].comment"),
        ({"flags": [{"rule": "phone", "comment": "lone \ud800 surrogate"}]}, "flags[0].comment"),
        ({"reviewer": ["a"]}, "reviewer"),
        ({"reviewed_at": "yesterday"}, "reviewed_at"),
        ({"reviewed_at": "2026-02-30T10:00:00Z"}, "reviewed_at"),
        ({"reviewed_at": "2026-03-01T10:00:00"}, "reviewed_at"),
        ({"reviewed_at": 1700000000}, "reviewed_at"),
        ({"second_review": "yes"}, "second_review"),
    ],
)
def test_missing_or_mistyped_field_is_a_400_naming_it(client, change, field):
    attempt = make_attempt()
    payload = {**review_payload(attempt.attempt_code), **change}
    response = signed_post(client, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert status_of(attempt) == "submitted" and not Review.objects.exists()


def test_every_bad_field_is_named_at_once(client):
    response = signed_post(client, {"status": "meh", "flags": [{}]})
    assert set(response.json()["errors"]) == {"attempt_code", "review_id", "status", "flags[0].rule"}


def test_unknown_attempt_code_is_a_404(client):
    response = signed_post(client, review_payload("NO-SUCH-ATTEMPT"))
    assert response.status_code == 404
    assert response.json() == {"errors": {"attempt_code": ["No exam attempt with that attempt code."]}}


# ---------------------------------------------------------------- personal data stays out of the logs


def test_comments_reviewers_and_emails_never_reach_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    secrets_in_payload = ["Learner showed a nude poster", "Reviewer Zebulon Quux", "privately@example.edu"]
    attempt = make_attempt(email="privately@example.edu")
    payload = review_payload(
        attempt.attempt_code,
        status="violation",
        reviewer="Reviewer Zebulon Quux",
        flags=[
            {"rule": "explicit_content", "comment": "Learner showed a nude poster"},
            {"rule": "privately@example.edu", "comment": "privately@example.edu"},
        ],
    )
    signed_post(client, payload)
    signed_post(client, payload)  # duplicate
    signed_post(client, payload, secret="wrong")  # refused
    signed_post(client, {**payload, "flags": [{"rule": "phone", "start": "Learner showed a nude poster"}]})
    signed_post(client, {**payload, "attempt_code": "privately@example.edu"})
    assert caplog.records, "the callback logs what it does"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for text in secrets_in_payload:
        assert text not in logged


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("SIGNATURE_TOLERANCE_SECONDS", "300", 401),
        ("SIGNATURE_TOLERANCE_SECONDS", 0, 401),
        ("MAX_REVIEW_BODY_BYTES", None, 413),
        ("MAX_REVIEW_BODY_BYTES", -1, 413),
    ],
)
def test_misconfigured_callback_settings_refuse_requests_and_fail_the_system_check(
    client, settings, name, value, expected
):
    from django.core.checks import run_checks

    settings.PROCTORING_RESULTS = {**settings.PROCTORING_RESULTS, name: value}
    assert "proctoring_results.E007" in {m.id for m in run_checks()}
    attempt = make_attempt()
    assert signed_post(client, review_payload(attempt.attempt_code)).status_code == expected
    assert status_of(attempt) == "submitted"
