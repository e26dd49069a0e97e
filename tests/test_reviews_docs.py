"""The provider guide's worked examples (docs/examples/), run as written against a live example site."""

import json
import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from proctoring_results import api
from proctoring_results.conf import app_settings

from .factories import ExamAttemptFactory, ProctoredExamFactory
from .services import unavailable

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

pytestmark = pytest.mark.django_db(transaction=True)


def demo_attempt():
    return ExamAttemptFactory(exam=ProctoredExamFactory(provider="demo-provider"), status="submitted")


def test_python_example_posts_a_review_and_a_bad_secret_gets_401(live_server):
    example = runpy.run_path(str(EXAMPLES / "post_review.py"))
    attempt = demo_attempt()
    secret = app_settings.PROVIDERS["demo-provider"]["secret"]
    review = {
        "attempt_code": attempt.attempt_code,
        "review_id": "doc-py-1",
        "status": "passed",
        "flags": [{"rule": "music_or_tv", "comment": "Radio", "start": 1, "stop": 2}],
    }
    status, answer = example["post_review"](live_server.url, "demo-provider", secret, review)
    assert (status, answer["status"], answer["duplicate"]) == (200, "verified", False)
    assert api.get_attempt(attempt.attempt_code).status_label == "Satisfactory"
    status, answer = example["post_review"](
        live_server.url, "demo-provider", "not-the-secret", {**review, "review_id": "doc-py-2"}
    )
    assert status == 401 and answer == {"errors": {"authentication": ["The request could not be authenticated."]}}


def run_shell_example(live_server, attempt_code, secret, review_id):
    if not (shutil.which("curl") and shutil.which("openssl")):
        unavailable("curl and openssl are needed to run the shell example")
    env = {
        **os.environ,
        "BASE_URL": live_server.url,
        "PROVIDER": "demo-provider",
        "SECRET": secret,
        "ATTEMPT_CODE": attempt_code,
        "REVIEW_ID": review_id,
    }
    result = subprocess.run([str(EXAMPLES / "post_review.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    body, status_line = result.stdout.strip().rsplit("\n", 1)
    return int(status_line.split()[1]), json.loads(body)


def test_curl_openssl_example_posts_a_review_and_a_bad_secret_gets_401(live_server):
    attempt = demo_attempt()
    secret = app_settings.PROVIDERS["demo-provider"]["secret"]
    status, answer = run_shell_example(live_server, attempt.attempt_code, secret, "doc-sh-1")
    assert (status, answer["outcome"], answer["status"]) == (200, "rejected", "rejected")
    status, answer = run_shell_example(live_server, attempt.attempt_code, "wrong", "doc-sh-2")
    assert status == 401 and "errors" in answer
    assert api.get_attempt(attempt.attempt_code).status_label == "Unsatisfactory"
