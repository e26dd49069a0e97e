"""Property-based tests: whatever a provider (or anyone) posts, the callback answers 2xx or 4xx, never 5xx."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctoring_results.models import ExamAttempt, Review
from proctoring_results.statuses import REVIEW_OUTCOMES, AttemptStatus

from .reviews_helpers import (  # noqa: F401  (provider_settings is a fixture)
    make_attempt, provider_settings, signed_post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("provider_settings")]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
any_json = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                        max_leaves=15)
rule_codes = st.one_of(st.sampled_from(["phone", "music_or_tv", "no_photo_id", "explicit_content", "headphones"]),
                       st.text(max_size=110), any_json)
offsets = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.text(max_size=5),
                    st.booleans())
flag = st.one_of(
    st.fixed_dictionaries({"rule": rule_codes}, optional={"comment": st.one_of(st.text(), any_json),
                                                          "start": offsets, "stop": offsets}),
    any_json,
)
statuses = st.one_of(st.sampled_from(["passed", "violation", "suspicious", "not_reviewed"]), any_json)
review_ids = st.one_of(st.text(min_size=1, max_size=8), st.integers(), any_json)
optional_fields = {
    "reviewer": st.one_of(st.text(max_size=300), any_json),
    "reviewed_at": st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30), any_json,
                             st.datetimes().map(lambda d: d.isoformat() + "Z")),
    "second_review": st.one_of(st.booleans(), any_json),
    "extra": any_json,
}


def assert_clean_answer(response):
    assert response.status_code < 500, response.content
    data = response.json()
    if response.status_code == 200:
        assert set(data) == {"attempt_code", "review_id", "status", "outcome", "duplicate"}
        assert data["outcome"] in set(REVIEW_OUTCOMES) | {AttemptStatus.ERROR}
    else:
        assert response.status_code in (400, 401, 404, 409, 413)
        assert set(data) == {"errors"} and all(isinstance(m, list) for m in data["errors"].values())


@pytest.fixture
def codes(db):
    return [make_attempt(status=s).attempt_code for s in ("submitted", "completed", "started", "verified")]


@FUZZ
@given(data=st.data())
def test_any_payload_gets_a_clean_answer(client, codes, data):
    payload = data.draw(st.fixed_dictionaries(
        {"attempt_code": st.one_of(st.sampled_from(codes), st.text(max_size=70), any_json),
         "review_id": review_ids, "status": statuses, "flags": st.one_of(st.lists(flag, max_size=5), any_json)},
        optional=optional_fields,
    ))
    # Sometimes drop a required field.
    for field in data.draw(st.lists(st.sampled_from(["attempt_code", "review_id", "status", "flags"]), max_size=2)):
        payload.pop(field, None)
    response = signed_post(client, body=json.dumps(payload).encode())
    assert_clean_answer(response)
    if response.status_code == 200:
        attempt = ExamAttempt.objects.get(attempt_code=response.json()["attempt_code"])
        assert attempt.status == response.json()["status"]
        assert Review.objects.filter(attempt=attempt, review_id=response.json()["review_id"]).exists()


@FUZZ
@given(body=st.binary(max_size=400))
def test_any_bytes_get_a_clean_answer(client, codes, body):
    assert_clean_answer(signed_post(client, body=body))


@FUZZ
@given(header=st.text(max_size=200), provider=st.one_of(st.none(), st.text(max_size=40)))
def test_any_signature_header_gets_a_401(client, codes, header, provider):
    body = json.dumps({"attempt_code": codes[0], "review_id": "x", "status": "passed", "flags": []}).encode()
    # Django test client headers must be latin-1, as real HTTP headers are.
    header = header.encode("latin-1", "ignore").decode("latin-1")
    provider = provider.encode("latin-1", "ignore").decode("latin-1") if provider is not None else None
    response = signed_post(client, body=body, provider=provider, signature=header or False)
    assert response.status_code == 401
    assert_clean_answer(response)
