"""
Signed report links, attacked through the download view a browser follows.

A token is ``<payload>:<timestamp>:<signature>`` (Django's ``TimestampSigner``
over ``{"r": report, "u": user}``). Every part is altered in every way we could
think of; each altered link must be refused (403, or 404 when it no longer
matches the URL), never served and never a 5xx. Expiry is tested on a frozen
clock around the exact boundary; a link made for one user is refused to
another; a link stops working the moment its user's course role is removed.
"""

import base64
import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core import signing
from django.test import override_settings
from django.urls import reverse

from proctoring_results import api, links
from proctoring_results.models import ReportDownload

from .conftest import client_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 12, 0, 0, tzinfo=dt_timezone.utc)


def url(token):
    return reverse("proctoring_results:report_download", args=[token])


def served(response):
    return response.status_code == 200 and response.get("Content-Disposition", "").startswith("attachment")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reencode(token, payload):
    """The token with its payload part replaced (signature kept)."""
    _payload, stamp, signature = token.split(":")
    return f"{_b64(json.dumps(payload, separators=(',', ':')).encode())}:{stamp}:{signature}"


def tamperings(token, report_id, user_id, other_user_id):
    """(name, altered token) for each way of changing each part of ``token``."""
    payload, stamp, signature = token.split(":")
    flip = lambda s, i: s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1 :]  # noqa: E731  (a one-line helper, read where it is used)
    later = signing.b62_encode(signing.b62_decode(stamp) + 3600)
    other_key_signer = signing.TimestampSigner(key="another-secret-key-entirely", salt=links.LINK_SALT)
    return [
        # payload
        ("payload: first character", flip(payload, 0)),
        ("payload: last character", flip(payload, len(payload) - 1)),
        ("payload: another report", _reencode(token, {"r": report_id + 1, "u": user_id})),
        ("payload: another user", _reencode(token, {"r": report_id, "u": other_user_id})),
        ("payload: report id as text", _reencode(token, {"r": str(report_id), "u": user_id})),
        ("payload: extra field", _reencode(token, {"r": report_id, "u": user_id, "admin": True})),
        ("payload: compressed marker", "." + token),
        ("payload: removed", f":{stamp}:{signature}"),
        # timestamp
        ("timestamp: an hour later", f"{payload}:{later}:{signature}"),
        ("timestamp: zero", f"{payload}:0:{signature}"),
        ("timestamp: not base62", f"{payload}:!!:{signature}"),
        ("timestamp: removed", f"{payload}:{signature}"),
        ("timestamp: empty", f"{payload}::{signature}"),
        # signature
        ("signature: first character", flip(signature, 0)),
        ("signature: last character", flip(signature, len(signature) - 1)),
        ("signature: truncated", token[:-4]),
        ("signature: empty", f"{payload}:{stamp}:"),
        ("signature: removed", f"{payload}:{stamp}"),
        (
            "signature: upper-cased",
            f"{payload}:{stamp}:{signature.upper()}" if signature.upper() != signature else flip(signature, 1),
        ),
        ("signature: doubled", f"{token}{signature}"),
        # whole token
        ("token: signed with another key", other_key_signer.sign_object({"r": report_id, "u": user_id})),
        (
            "token: signed with another salt",
            signing.TimestampSigner(salt="django.contrib.sessions").sign_object({"r": report_id, "u": user_id}),
        ),
        ("token: unsalted dumps", signing.dumps({"r": report_id, "u": user_id})),
        ("token: extra part", f"{token}:extra"),
        ("token: reversed parts", f"{signature}:{stamp}:{payload}"),
        ("token: 10 kB", token + "A" * 10_000),
        ("token: non-ASCII", token[:-1] + "é"),
        ("token: percent-encoded colon", token.replace(":", "%3A")),
        ("token: whitespace", f" {token} "),
        ("token: null byte", token + "%00"),
    ]


N_TAMPERINGS = 30


def test_every_altered_token_is_refused(course):
    instructor = course.users["instructor"]
    token = links.make_report_link(course.report.id, instructor.pk).token
    client = client_for(instructor)
    assert served(client.get(url(token)))  # the genuine link works
    cases = tamperings(token, course.report.id, instructor.pk, course.users["course_staff"].pk)
    assert len(cases) == N_TAMPERINGS
    problems = []
    for name, altered in cases:
        if altered == token:
            problems.append(f"{name}: not altered")
            continue
        try:
            response = client.get(url(altered))
        except Exception as exc:  # noqa: BLE001 - reverse() may refuse a token with '/'
            problems.append(f"{name}: {type(exc).__name__}")
            continue
        if response.status_code not in (403, 404) or served(response):
            problems.append(f"{name}: {response.status_code}")
    assert not problems, problems
    # Only the genuine request was recorded.
    assert ReportDownload.objects.count() == 1


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(seconds=-300), True),  # the moment it was made
        (timedelta(seconds=-1), True),
        (timedelta(microseconds=-1), True),
        (timedelta(0), True),  # exactly LINK_EXPIRY_SECONDS old: still valid
        (timedelta(microseconds=1), False),
        (timedelta(seconds=1), False),
        (timedelta(days=365), False),
    ],
)
def test_expiry_at_the_boundary(course, offset, ok):
    instructor = course.users["instructor"]
    with time_machine.travel(T0, tick=False):
        link = links.make_report_link(course.report.id, instructor.pk)
    assert link.expires_at == T0 + timedelta(seconds=300)
    with time_machine.travel(link.expires_at + offset, tick=False):
        response = client_for(instructor).get(url(link.token))
    if ok:
        assert served(response), response.status_code
    else:
        assert response.status_code == 410
        assert b"Data Download" in response.content  # says where to get a new link


def test_a_link_never_outlives_five_minutes_from_when_it_was_made(course):
    """The timestamp is whole seconds, rounded down: a link made at .999 s still ends within 300 s."""
    instructor = course.users["instructor"]
    made = T0 + timedelta(milliseconds=999)
    with time_machine.travel(made, tick=False):
        link = links.make_report_link(course.report.id, instructor.pk)
    assert link.expires_at - made <= timedelta(seconds=300)
    with time_machine.travel(made + timedelta(seconds=300), tick=False):
        assert client_for(instructor).get(url(link.token)).status_code == 410


@override_settings(PROCTORING_RESULTS={"LINK_EXPIRY_SECONDS": 30})
def test_a_shorter_setting_shortens_existing_links(course):
    instructor = course.users["instructor"]
    with time_machine.travel(T0, tick=False):
        link = links.make_report_link(course.report.id, instructor.pk)
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        assert client_for(instructor).get(url(link.token)).status_code == 410


def test_each_link_works_only_for_its_own_user(course):
    """Course staff and the instructor each get a link; swapping them is refused both ways."""
    staff, instructor = course.users["course_staff"], course.users["instructor"]
    staff_link = links.make_report_link(course.report.id, staff.pk).token
    instructor_link = links.make_report_link(course.report.id, instructor.pk).token
    assert client_for(staff).get(url(instructor_link)).status_code == 403
    assert client_for(instructor).get(url(staff_link)).status_code == 403
    assert served(client_for(staff).get(url(staff_link)))
    assert served(client_for(instructor).get(url(instructor_link)))


@pytest.mark.parametrize("change", ["revoke_role", "deactivate", "remove_global_staff"])
def test_a_link_dies_with_its_users_access(course, change):
    """Access is checked when the link is followed, not when it was made; restoring it restores the link."""
    user = course.users["global_staff" if change == "remove_global_staff" else "instructor"]
    token = links.make_report_link(course.report.id, user.pk).token
    client = client_for(user)
    assert served(client.get(url(token)))
    if change == "revoke_role":
        api.revoke_course_roles(user, course.course_id)
        assert client.get(url(token)).status_code == 403
        api.grant_course_role(user, course.course_id, "instructor")
    elif change == "deactivate":
        user.is_active = False
        user.save()
        response = client.get(url(token))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        user.is_active = True
        user.save()
        client = client_for(user)
    else:
        user.is_staff = False
        user.save()
        assert client.get(url(token)).status_code == 403
        user.is_staff = True
        user.save()
    assert served(client.get(url(token)))


def test_a_link_to_another_courses_report_is_refused_even_when_signed_for_you(course):
    """Staff of another course holding a genuinely signed link to this course's report: still 403."""
    other = course.users["other_course_staff"]
    token = links.make_report_link(course.report.id, other.pk).token
    response = client_for(other).get(url(token))
    assert response.status_code == 403 and course.report.file_name.encode() not in response.content


def cases_tried():
    """Link attacks in this module, for docs/security.rst (category 3)."""
    return N_TAMPERINGS + 1 + 7 + 1 + 1 + 4 + 3 * 3 + 1
