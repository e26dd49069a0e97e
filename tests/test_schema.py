"""
The REST API's OpenAPI schema: generated cleanly, served by the example, and true of the running site.

The last test loads the schema the example serves and lets schemathesis send
generated requests (valid and invalid ones) to every operation of a live
example site, as a signed-in course team member and as a signed provider:
whatever the input, the answer is never a server error, and its body has the
shape the schema documents for its status code.
"""

import json
import time

import pytest
import requests
import schemathesis
import yaml
from django.core.management import call_command
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation import GenerationMode

from proctoring_results import signatures
from proctoring_results.conf import app_settings

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory

SCHEMA_URL = "/api/proctoring-results/v1/schema/"
V1 = "/api/proctoring-results/v1/"

#: Generated requests in all (valid and invalid, over every operation); a few seconds on a laptop.
MAX_EXAMPLES = 250


def rest_api_routes():
    """Every route under REST API v1, as the URL resolver knows them (schema paths use {name})."""
    routes = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, text)
            elif text.startswith(V1.lstrip("/")) and "/" + text != SCHEMA_URL:
                routes.add(
                    "/"
                    + text.replace("<course_key:course_id>", "{course_id}").replace(
                        "<str:attempt_code>", "{attempt_code}"
                    )
                )

    walk(get_resolver().url_patterns, "")
    return routes


def test_the_schema_is_generated_without_a_warning_and_covers_every_endpoint(tmp_path):
    target = tmp_path / "openapi.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == rest_api_routes()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all(op.get("description") and op.get("responses") for op in operations)
    assert "providerSignature" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_the_example_serves_the_schema_as_yaml_and_json(client):
    as_yaml = client.get(SCHEMA_URL)
    as_json = client.get(SCHEMA_URL, {"format": "json"})

    assert as_yaml.status_code == as_json.status_code == 200
    assert yaml.safe_load(as_yaml.content)["info"]["title"] == "proctoring_results REST API"
    assert f"{V1}courses/{{course_id}}/reports/" in json.loads(as_json.content)["paths"]


@pytest.mark.django_db(transaction=True)
def test_no_generated_request_makes_the_live_example_site_fail(live_server, instructor):
    exam = ProctoredExamFactory(provider="demo-provider")
    attempt = ExamAttemptFactory(exam=exam, status="submitted")
    ExamAttemptFactory(exam=exam, status="second_review_required")
    token = Token.objects.create(user=instructor)
    staff_headers = {"Authorization": f"Token {token.key}"}
    secret = app_settings.PROVIDERS["demo-provider"]["secret"]

    schema = schemathesis.openapi.from_url(f"{live_server.url}{SCHEMA_URL}?format=json")
    known = {"course_id": COURSE_ID, "attempt_code": attempt.attempt_code}
    strategies = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(generation_mode=mode))
            if names:  # also aim at the course and attempt that exist, where permission lets the request in
                strategies.append(
                    operation.as_strategy(
                        generation_mode=mode,
                        path_parameters={n: known[n] for n in names},
                    )
                )
    assert len(strategies) >= 12

    @given(case=st.one_of(strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def never_a_server_error(case):
        if case.path == "/api/proctoring-results/v1/reviews/" and case.method == "POST":
            response = post_signed(live_server.url + case.formatted_path, case.body, secret)
        else:
            response = case.call(base_url=live_server.url, headers=staff_headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    never_a_server_error()


def post_signed(url, body, secret):
    """A provider's callback, signed over exactly the bytes sent, so fuzzing gets past authentication."""
    try:
        data = json.dumps(body).encode()
    except (TypeError, ValueError):
        data = repr(body).encode()
    header = signatures.sign(secret, data, int(time.time()))
    return requests.post(
        url,
        data=data,
        timeout=30,
        headers={
            "Content-Type": "application/json",
            "X-Proctoring-Provider": "demo-provider",
            "X-Proctoring-Signature": header,
        },
    )
