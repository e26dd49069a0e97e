"""Shared helpers of the review tests: a configured provider, attempts awaiting review, signed posts."""

import json

import pytest

from proctoring_results import signatures

from .factories import ExamAttemptFactory, ProctoredExamFactory, UserFactory

PROVIDER = "test-provider"
SECRET = "s3cret-for-tests-only"
URL = "/api/proctoring-results/v1/reviews/"


@pytest.fixture
def provider_settings(settings):
    settings.PROCTORING_RESULTS = {"PROVIDERS": {PROVIDER: {"secret": SECRET}, "other-provider": {"secret": "other"}}}
    return settings


def make_attempt(status="submitted", provider=PROVIDER, email=None, **kwargs):
    exam = ProctoredExamFactory(provider=provider)
    user = UserFactory(email=email) if email else UserFactory()
    return ExamAttemptFactory(exam=exam, user=user, status=status, **kwargs)


def review_payload(attempt_code, review_id="rev-1", status="passed", flags=(), **extra):
    payload = {"attempt_code": attempt_code, "review_id": review_id, "status": status, "flags": list(flags)}
    payload.update(extra)
    return payload


def signed_post(client, payload=None, *, body=None, provider=PROVIDER, secret=SECRET, timestamp=None, signature=None):
    """POST a review the way a provider following docs/providers.rst does."""
    if body is None:
        body = json.dumps(payload).encode()
    headers = {}
    if provider is not None:
        headers["HTTP_X_PROCTORING_PROVIDER"] = provider
    header = signature if signature is not None else signatures.sign(secret, body, timestamp)
    if header is not False:
        headers["HTTP_X_PROCTORING_SIGNATURE"] = header
    return client.generic("POST", URL, body, content_type="application/json", **headers)
