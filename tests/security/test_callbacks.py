"""
The provider callback (``POST api/proctoring-results/v1/reviews/``) under attack.

It is open to the internet, so: fuzzing (hypothesis) of headers and bodies,
signed and unsigned, never yields a 5xx; a captured request replayed outside
the time window is refused; an oversized body is refused before it is read
into the parser (413 even when it is not JSON, and before the signature);
unknown providers and wrong secrets get the same 401, byte for byte.
"""

import json
import time

import pytest
import time_machine
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctoring_results import signatures
from proctoring_results.models import Review

from .. import pii_guard
from ..factories import ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/proctoring-results/v1/reviews/"
PROVIDER, SECRET = "acme-proctoring", "acme-secret-for-tests"
OTHER, OTHER_SECRET = "other-provider", "other-secret-for-tests"
LIMIT = 4096
FUZZ_EXAMPLES = 250


@pytest.fixture(autouse=True)
def providers(settings):
    settings.PROCTORING_RESULTS = {
        "PROVIDERS": {PROVIDER: {"secret": SECRET}, OTHER: {"secret": OTHER_SECRET}},
        "MAX_REVIEW_BODY_BYTES": LIMIT,
    }


@pytest.fixture
def attempt(db):
    exam = ProctoredExamFactory(provider=PROVIDER)
    return ExamAttemptFactory(exam=exam, user=UserFactory(email="callback.learner@example.edu"), status="submitted")


def post(body, *, provider=PROVIDER, signature=None, secret=SECRET, timestamp=None, **extra):
    headers = {}
    if provider is not None:
        headers["HTTP_X_PROCTORING_PROVIDER"] = provider
    if signature is None:
        signature = signatures.sign(secret, body, timestamp)
    if signature is not False:
        headers["HTTP_X_PROCTORING_SIGNATURE"] = signature
    headers.update(extra)
    return Client().generic("POST", URL, body, content_type="application/json", **headers)


def payload(attempt_code, review_id="rev-1", status="passed", **extra):
    return json.dumps(
        {"attempt_code": attempt_code, "review_id": review_id, "status": status, "flags": [], **extra}
    ).encode()


# ---------------------------------------------------------------- replays and time window


@pytest.mark.parametrize(
    ("skew", "accepted"),
    [
        (0, True),
        (-299, True),
        (299, True),
        (-300, True),
        (300, True),
        (-301, False),
        (301, False),
        (-86400, False),
        (86400 * 365, False),
    ],
)
def test_time_window(attempt, skew, accepted):
    body = payload(attempt.attempt_code, review_id=f"rev-skew-{skew}")
    now = 1_780_000_000
    with time_machine.travel(now, tick=False):  # the boundary is exact on a frozen clock
        response = post(body, timestamp=now + skew)
    if accepted:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 401
        assert not Review.objects.exists()


def test_a_replay_inside_the_window_changes_nothing(attempt):
    """The same signed request again (a replay within the window) is an idempotent duplicate."""
    body = payload(
        attempt.attempt_code,
        status="violation",
        flags=[{"rule": "second_computer", "comment": "A second laptop at 12:03", "start": 1, "stop": 2}],
    )
    signature = signatures.sign(SECRET, body)
    first = post(body, signature=signature)
    again = post(body, signature=signature)
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["status"] == first.json()["status"]
    assert Review.objects.count() == 1 and Review.objects.get().flags.count() == 1


def test_a_captured_request_replayed_later_is_refused(attempt):
    body = payload(attempt.attempt_code)
    then = int(time.time()) - 3600
    assert post(body, signature=signatures.sign(SECRET, body, then)).status_code == 401


# ---------------------------------------------------------------- size


def test_oversized_body_is_refused_before_parsing(attempt):
    """413 for a body over the limit even when it is not JSON and not signed: nothing was parsed."""
    not_json = b"{" * (LIMIT + 1)
    assert post(not_json).status_code == 413  # correctly signed garbage
    assert post(not_json, signature="t=1,v1=00").status_code == 413  # unsigned garbage
    padded = payload(attempt.attempt_code, reviewer="x" * LIMIT)
    assert len(padded) > LIMIT and post(padded).status_code == 413  # a valid review, too big
    assert not Review.objects.exists()


def test_a_body_of_exactly_the_limit_is_read(attempt):
    body = payload(attempt.attempt_code)
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(body) == LIMIT
    assert post(body).status_code == 200


def test_a_lying_content_length_is_refused():
    """An announced length over the limit is refused on the header alone."""
    response = post(b"{}", CONTENT_LENGTH=str(10 * 1024 * 1024))
    assert response.status_code == 413


# ---------------------------------------------------------------- who signs

UNKNOWN_PROVIDERS = [
    "",
    "unknown",
    PROVIDER.upper(),
    f"{PROVIDER} ",
    f" {PROVIDER}",
    PROVIDER + "\u200b",
    "аcme-proctoring",
    "x" * 10_000,
    "__proto__",
    "../" + PROVIDER,
    "null",
]
WRONG_SECRETS = ["", "wrong", SECRET + "x", SECRET[:-1], SECRET.upper(), OTHER_SECRET]


def refusal_bodies(attempt):
    body = payload(attempt.attempt_code)
    now = int(time.time())
    good = signatures.compute(SECRET, now, body)
    cases = {}
    for name in UNKNOWN_PROVIDERS:
        # Signed with the right secret but claiming another name; then with the name as the secret.
        cases[f"provider {name[:20]!r}"] = post(body, provider=name)
        cases[f"provider {name[:20]!r} self-keyed"] = post(body, provider=name, secret=name or "k")
    cases["no provider header"] = post(body, provider=None)
    for secret in WRONG_SECRETS:
        cases[f"secret {secret[:10]!r}"] = post(body, secret=secret or "\0")
    cases["another provider's secret, its own name"] = post(body, provider=PROVIDER, secret=OTHER_SECRET)
    for header in [
        "",
        "garbage",
        f"v1={good}",
        f"t={now}",
        f"t={now},v0={good}",
        f"t={now},v1=",
        f"t={now},t={now},v1={good}",
        f"t=-{now},v1={good}",
        f"t={now}.5,v1={good}",
        f"t={now}9999999999,v1={good}",
        f"t={now},v1={good[:-1]}",
        f"t={now},v1={good}00",
        f"t={now + 1},v1={good}",
        f"t={now},v1={good.replace(good[0], 'z', 1)}",
        f"t={now},v1=ｆ{good[1:]}",
        "t=" + "9" * 5000,
    ]:
        cases[f"signature header {header[:30]!r}"] = post(body, signature=header)
    cases["no signature header"] = post(body, signature=False)
    cases["body changed after signing"] = post(body + b" ", signature=signatures.sign(SECRET, body))
    return cases


def test_unknown_providers_and_wrong_secrets_get_one_401(attempt):
    cases = refusal_bodies(attempt)
    statuses = {name: r.status_code for name, r in cases.items()}
    assert set(statuses.values()) == {401}, {k: v for k, v in statuses.items() if v != 401}
    # One body for every failure: nothing tells an attacker which part was wrong.
    assert len({r.content for r in cases.values()}) == 1
    assert not Review.objects.exists()


def test_a_provider_cannot_review_another_providers_attempt(attempt):
    """Correctly signed by a configured provider, but not the exam's: as if the attempt did not exist."""
    body = payload(attempt.attempt_code, status="violation")
    response = post(body, provider=OTHER, secret=OTHER_SECRET)
    assert response.status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and not Review.objects.exists()


def test_several_v1_signatures_one_of_them_right_is_accepted(attempt):
    """Key rotation: a provider may send the signature under the old and the new secret."""
    body = payload(attempt.attempt_code)
    now = int(time.time())
    header = f"t={now},v1={'0' * 64},v1={signatures.compute(SECRET, now, body)}"
    assert post(body, signature=header).status_code == 200


# ---------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def flags():
    flag = st.fixed_dictionaries(
        {},
        optional={
            "rule": st.sampled_from(["no_photo_id", "music_or_tv", "second_computer", "made_up_rule"]) | json_values,
            "comment": st.text(max_size=60) | json_values,
            "start": st.floats() | st.integers() | json_values,
            "stop": st.floats() | st.integers() | json_values,
        },
    )
    return st.lists(flag | json_values, max_size=4) | json_values


def payloads(attempt_codes):
    return st.fixed_dictionaries(
        {},
        optional={
            "attempt_code": st.sampled_from(attempt_codes) | st.text(max_size=40) | json_values,
            "review_id": st.text(min_size=0, max_size=300) | json_values,
            "status": st.sampled_from(["passed", "violation", "suspicious", "not_reviewed"]) | json_values,
            "flags": flags(),
            "reviewer": st.text(max_size=300) | json_values,
            "reviewed_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-13-45T99:99:99", "yesterday"]) | json_values,
            "second_review": st.booleans() | json_values,
            "extra_field": json_values,
        },
    )


FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def attempts(db):
    exam = ProctoredExamFactory(provider=PROVIDER)
    return [
        ExamAttemptFactory(exam=exam, status=s).attempt_code
        for s in ("submitted", "submitted", "started", "verified", "second_review_required")
    ]


@pytest.mark.slow
def test_fuzz_signed_payloads_never_5xx(attempts):
    """Correctly signed JSON of any shape: a 2xx or a 4xx naming the field, never a 5xx."""

    @FUZZ
    @given(data=payloads(attempts))
    def run(data):
        body = json.dumps(data).encode()
        response = post(body)
        assert response.status_code < 500, (response.status_code, body[:300])
        if response.status_code >= 400:
            assert "errors" in response.json()
        for flag in data.get("flags") or [] if isinstance(data.get("flags"), list) else []:
            if isinstance(flag, dict) and isinstance(flag.get("comment"), str):
                pii_guard.register(flag["comment"])

    run()


@pytest.mark.slow
def test_fuzz_raw_requests_never_5xx(attempts):
    """Arbitrary bytes, provider names and signature headers, signed or not: never a 5xx."""

    @FUZZ
    @given(
        body=st.binary(max_size=LIMIT + 64) | st.text(max_size=200).map(str.encode),
        provider=st.sampled_from([PROVIDER, OTHER, ""]) | st.text(max_size=40).filter(lambda s: "\n" not in s),
        sign=st.booleans(),
        header=st.text(max_size=120).filter(lambda s: "\n" not in s and "\r" not in s),
        content_type=st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "",
            ]
        ),
    )
    def run(body, provider, sign, header, content_type):
        signature = signatures.sign(SECRET if provider != OTHER else OTHER_SECRET, body) if sign else header
        response = Client().generic(
            "POST",
            URL,
            body,
            content_type=content_type,
            HTTP_X_PROCTORING_PROVIDER=provider,
            HTTP_X_PROCTORING_SIGNATURE=signature,
        )
        assert response.status_code < 500, (response.status_code, body[:100], provider, signature[:60])
        if not sign or provider not in (PROVIDER, OTHER):
            assert response.status_code in (401, 413)

    run()


def cases_tried():
    """Callback requests in this module, for docs/security.rst (category 4)."""
    refusals = 2 * len(UNKNOWN_PROVIDERS) + 1 + len(WRONG_SECRETS) + 1 + 16 + 1 + 1
    return 9 + 2 + 1 + 3 + 1 + 1 + refusals + 1 + 1 + 2 * FUZZ_EXAMPLES
