"""REST API v1 answers every error in one shape, ``{"errors": {"<field>": [...]}}`` (docs/reference/rest_api.rst)."""

import pytest
from django.test import Client

from proctoring_results import api
from proctoring_results.rest_api.v1.errors import flatten
from proctoring_results.rest_api.v1.serializers import ReviewCallbackSerializer

from .factories import COURSE_ID, CourseRoleFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

V1 = "/api/proctoring-results/v1"
TASKS = f"{V1}/courses/{COURSE_ID}/report-tasks/"
REPORTS = f"{V1}/courses/{COURSE_ID}/reports/"


@pytest.fixture
def staff_client():
    user = UserFactory()
    CourseRoleFactory(user=user, course_id=COURSE_ID)
    ProctoredExamFactory(course_id=COURSE_ID)
    client = Client()
    client.force_login(user)
    return client


def assert_errors_shape(response, status, field):
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["errors"], dict) and all(isinstance(m, list) and m for m in body["errors"].values())
    assert field in body["errors"], body
    return body


@pytest.mark.parametrize(
    "method, url, data, status, field",
    [
        ("get", REPORTS, {"limit": "0"}, 400, "limit"),
        ("post", TASKS, {"extra_columns": ["no_such_column"]}, 400, "extra_columns[0]"),
        ("post", TASKS, {"extra_columns": "username"}, 400, "extra_columns"),
        ("post", TASKS, ["not", "an", "object"], 400, "body"),
        ("get", f"{V1}/courses/not+a+course/reports/", None, 404, "course_id"),
    ],
)
def test_report_endpoints_answer_errors_with_the_old_keys_beside_them(staff_client, method, url, data, status, field):
    if method == "get":
        response = staff_client.get(url, data or {})
    else:
        response = staff_client.post(url, data, content_type="application/json")
    body = assert_errors_shape(response, status, field)
    # Clients of the report endpoints read "detail" or "message": both still hold the first message.
    assert body["detail"] == body["message"] == body["errors"][field][0]


def test_report_endpoints_refuse_strangers_in_the_same_shape():
    client = Client()
    client.force_login(UserFactory())
    body = assert_errors_shape(client.get(REPORTS), 403, "permission")
    assert body["detail"] == body["errors"]["permission"][0]


def test_the_409_of_generate_is_the_202_again_not_an_error(staff_client):
    first = staff_client.post(TASKS, {}, content_type="application/json")
    again = staff_client.post(TASKS, {}, content_type="application/json")
    assert (first.status_code, again.status_code) == (202, 409)
    assert again.json()["message"] == first.json()["message"] == str(api.REPORT_BEING_CREATED)
    assert "errors" not in again.json()


def test_nested_errors_are_named_by_their_path():
    assert flatten({"flags": {0: {"rule": ["Required."]}, 2: {"non_field_errors": ["An object."]}}}) == {
        "flags[0].rule": ["Required."],
        "flags[2]": ["An object."],
    }
    assert flatten(["Plain."], "body") == {"body": ["Plain."]}


def test_the_callback_serializer_hands_the_domain_a_dataclass():
    payload = {
        "attempt_code": " A1 ",
        "review_id": 7,
        "status": "violation",
        "reviewer": " Rita ",
        "reviewed_at": "2026-03-01T10:00:00+02:00",
        "second_review": None,
        "vendor": {"x": 1},
        "flags": [{"rule": " phone ", "comment": "  as sent ", "start": 1, "stop": None}],
    }
    serializer = ReviewCallbackSerializer(data=payload)
    assert serializer.is_valid(), serializer.errors
    submission = serializer.to_submission()
    assert (submission.attempt_code, submission.review_id, submission.status) == ("A1", "7", "violation")
    assert submission.reviewer == "Rita" and submission.second_review is False
    assert submission.reviewed_at.isoformat() == "2026-03-01T10:00:00+02:00"
    [flag] = submission.flags
    assert (flag.rule, flag.comment, flag.start, flag.stop) == ("phone", "  as sent ", 1.0, None)
    assert submission.raw == payload  # kept as the provider sent it


def _write_mo(path, catalog):
    """A GNU gettext catalog (.mo) holding ``catalog`` (msgid -> msgstr), as msgfmt writes it."""
    import struct

    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **catalog}.items())
    ids = [k.encode() for k, _v in entries]
    strs = [v.encode() for _k, v in entries]
    start = 7 * 4 + 16 * len(entries)
    id_table, str_table, data = [], [], b""
    for text in ids:
        id_table.append((len(text), start + len(data)))
        data += text + b"\0"
    for text in strs:
        str_table.append((len(text), start + len(data)))
        data += text + b"\0"
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(entries), 7 * 4, 7 * 4 + 8 * len(entries), 0, 0)
    tables = b"".join(struct.pack("ii", *pair) for pair in id_table + str_table)
    path.parent.mkdir(parents=True)
    path.write_bytes(header + tables + data)


@pytest.fixture
def french(tmp_path, settings):
    """The seed's sentence translated into French, from a catalog on LOCALE_PATHS (Django reloads them)."""
    from django.utils import translation

    with translation.override(None):
        msgid = str(api.REPORT_BEING_CREATED)
    french = "Le rapport est en cours de création. Voir les tâches en attente ci-dessous."
    _write_mo(tmp_path / "fr" / "LC_MESSAGES" / "django.mo", {msgid: french})
    settings.LOCALE_PATHS = [str(tmp_path)]
    return french


def test_the_202_and_the_409_say_the_seed_sentence_in_the_callers_language(staff_client, french):
    first = staff_client.post(TASKS, {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr")
    again = staff_client.post(TASKS, {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr")
    assert (first.status_code, again.status_code) == (202, 409)
    assert first.json()["message"] == again.json()["message"] == french
