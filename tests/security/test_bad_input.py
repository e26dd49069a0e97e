"""
No 5xx on any input: deeply nested JSON and over-long course ids, on every URL the app serves.

Issue 14's rows: JSON nested about 1,000 deep POSTed to report-tasks or a staff
decision was a 500 (``RecursionError`` in the parser); a course id longer than
the 255-character column POSTed to Generate was a 500 on PostgreSQL and stored
whole on SQLite. The walk at the end reverses every route of the app's URLconf
(so a new one is covered without editing this file) and sends each the bad
bodies and ids with every method, as a member of the course team.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from proctoring_results import api, jsonbody
from proctoring_results.exceptions import CourseIdTooLong, InvalidCourseId
from proctoring_results.models import ExamAttempt, ProctoredExam, Report, ReportTask

from ..factories import COURSE_ID
from ..reviews_helpers import SECRET, signed_post
from .conftest import client_for

pytestmark = pytest.mark.django_db

#: About a thousand levels: Python's JSON parser ran out of stack on this (RecursionError).
DEEP_JSON = ("[" * 1000 + "]" * 1000).encode()
DEEP_OBJECT = ('{"status": ' * 1000 + '"verified"' + "}" * 1000).encode()
#: A well-formed course key longer than every course id column (255).
LONG_COURSE_ID = "course-v1:LongOrg+" + "C" * 280 + "+2026"
#: The issue's case: ten thousand characters.
HUGE_COURSE_ID = "course-v1:LongOrg+" + "C" * 10_000 + "+2026"


# ---------------------------------------------------------------- the guard itself


def test_the_json_guard_refuses_depth_before_parsing_and_reads_strings_as_text():
    with pytest.raises(jsonbody.JSONTooDeep):
        jsonbody.loads(DEEP_JSON)
    with pytest.raises(jsonbody.JSONTooDeep):
        jsonbody.loads("[" * (jsonbody.MAX_JSON_DEPTH + 1) + "]" * (jsonbody.MAX_JSON_DEPTH + 1))
    at_limit = "[" * jsonbody.MAX_JSON_DEPTH + "]" * jsonbody.MAX_JSON_DEPTH
    assert jsonbody.loads(at_limit) is not None
    # Brackets inside strings (escaped quotes included) are text, not nesting.
    text = json.dumps({"comment": "[{" * 5000 + '\\"[' * 100})
    assert jsonbody.loads(text) == json.loads(text)


# ---------------------------------------------------------------- deep JSON, endpoint by endpoint


def test_deep_json_posted_to_generate_is_a_400(course):
    client = client_for(course.users["instructor"])
    url = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
    for body in (DEEP_JSON, DEEP_OBJECT):
        response = client.generic("POST", url, body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert "nested" in response.json()["detail"]
    assert not ReportTask.objects.filter(state="queued").exists()


def test_deep_json_posted_as_a_staff_decision_is_a_400(course):
    client = client_for(course.users["instructor"])
    url = reverse("proctoring_results:v1-attempt-decision", args=[course.attempt.attempt_code])
    response = client.generic("POST", url, DEEP_OBJECT, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested" in response.json()["errors"]["body"][0]
    course.attempt.refresh_from_db()
    assert course.attempt.status == "second_review_required"


def test_deep_json_in_a_signed_review_callback_is_a_400(course, settings):
    settings.PROCTORING_RESULTS = {"PROVIDERS": {"test-provider": {"secret": SECRET}}}
    response = signed_post(client_for(None), body=DEEP_OBJECT)
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": ["The JSON is nested too deeply."]}}


# ---------------------------------------------------------------- over-long course ids


def test_a_course_id_longer_than_the_column_is_refused_by_the_api_before_any_query(django_assert_num_queries):
    for course_id in (LONG_COURSE_ID, HUGE_COURSE_ID):
        with django_assert_num_queries(0), pytest.raises(CourseIdTooLong, match="at most 255 characters"):
            api.parse_course_id(course_id)
    assert isinstance(CourseIdTooLong("x"), InvalidCourseId)  # callers catching InvalidCourseId still do
    longest = "course-v1:LongOrg+" + "C" * (255 - len("course-v1:LongOrg++2026")) + "+2026"
    assert str(api.parse_course_id(longest)) == longest


@pytest.mark.parametrize("course_id", [LONG_COURSE_ID, HUGE_COURSE_ID])
def test_generate_with_a_course_id_longer_than_the_column_is_a_400_and_stores_nothing(course, course_id):
    """PostgreSQL answered 500 (value too long); SQLite stored all 10,014 characters."""
    client = client_for(course.users["global_staff"])
    response = client.post(
        f"/api/proctoring-results/v1/courses/{course_id}/report-tasks/", {}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "at most 255 characters" in response.json()["detail"]
    assert ReportTask.objects.filter(course_id__startswith="course-v1:LongOrg").count() == 0


def test_every_course_endpoint_and_the_page_refuse_a_long_course_id_with_400(course):
    client = client_for(course.users["global_staff"])
    for name in ("v1-report-tasks", "v1-reports", "v1-status-counts"):
        response = client.get(reverse(f"proctoring_results:{name}", args=[LONG_COURSE_ID]))
        assert response.status_code == 400, (name, response.content)
    page = client.get(reverse("proctoring_results:data_download", args=[LONG_COURSE_ID]))
    assert page.status_code == 400 and b"at most 255 characters" in page.content


def test_the_python_api_refuses_a_long_course_id_for_exams_and_reports(db):
    with pytest.raises(CourseIdTooLong):
        api.create_exam(LONG_COURSE_ID, "block-v1:x", "Final", 60)
    with pytest.raises(CourseIdTooLong):
        api.request_report(LONG_COURSE_ID, None)
    assert not ProctoredExam.objects.exists() and not ReportTask.objects.exists()


def test_the_generate_command_refuses_a_long_course_id_in_one_sentence(db):
    for extra in ([], ["--stdout"]):
        with pytest.raises(CommandError, match=r"^A course id has at most 255 characters; this one has \d+\.$"):
            call_command("generate_proctored_exam_results_report", LONG_COURSE_ID, *extra, stdout=io.StringIO())
    assert not ReportTask.objects.exists()


# ---------------------------------------------------------------- every URL the app serves


def _app_routes():
    """(name, parameter names) of every route under the app's namespace, found by walking the URLconf."""
    found = []

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and namespace == "proctoring_results" and entry.name:
                found.append((entry.name, sorted(entry.pattern.converters)))

    walk(get_resolver().url_patterns, None)
    return found


def _bad_urls(name, params, course):
    """The route with an over-long course id, and with each other parameter long, or the course's own."""
    values = {"course_id": LONG_COURSE_ID, "attempt_code": course.attempt.attempt_code, "token": "x" * 600}
    yield reverse(f"proctoring_results:{name}", kwargs={p: values[p] for p in params})
    if params:
        long_everything = {p: (LONG_COURSE_ID if p == "course_id" else "A" * 3000) for p in params}
        yield reverse(f"proctoring_results:{name}", kwargs=long_everything)
    if "course_id" in params:
        yield reverse(f"proctoring_results:{name}", kwargs={**{p: values[p] for p in params}, "course_id": COURSE_ID})


def test_the_walk_finds_every_route():
    names = {name for name, _params in _app_routes()}
    assert {
        "data_download",
        "report_download",
        "v1-reviews",
        "v1-attempt-decision",
        "v1-attempt-reviews",
        "v1-report-tasks",
        "v1-reports",
        "v1-status-counts",
    } <= names


def test_no_url_of_the_app_answers_5xx_to_deep_json_or_long_ids(course, settings):
    settings.PROCTORING_RESULTS = {"PROVIDERS": {"test-provider": {"secret": SECRET}}}
    bodies = [DEEP_JSON, DEEP_OBJECT, json.dumps({"course_id": HUGE_COURSE_ID, "extra_columns": []}).encode()]
    clients = [
        client_for(course.users["global_staff"]),
        client_for(course.users["instructor"], token=True),
        client_for(None),
    ]
    seen = []
    for name, params in _app_routes():
        for url in _bad_urls(name, params, course):
            for client in clients:
                for method in ("GET", "HEAD", "OPTIONS", "DELETE"):
                    response = client.generic(method, url)
                    assert response.status_code < 500, (method, url[:120], response.status_code)
                for method in ("POST", "PUT", "PATCH"):
                    for body in bodies:
                        response = client.generic(method, url, body, content_type="application/json")
                        assert response.status_code < 500, (method, url[:120], response.status_code)
                        seen.append(response.status_code)
    # The signed callback, with the deep bodies signed (past authentication, into the parser).
    for body in bodies:
        assert signed_post(client_for(None), body=body).status_code == 400
    assert 400 in seen
    assert not ReportTask.objects.filter(course_id__startswith="course-v1:LongOrg").exists()
    assert Report.objects.count() == 1 and ExamAttempt.objects.count() == 1
