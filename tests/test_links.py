"""
Signed report links (ADR 0004): what a course team member gets when following one.

Expiry is tested with a frozen clock (time_machine), so the 300 seconds are exact.
"""

import csv
import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from proctoring_results import api, links, storage
from proctoring_results.exceptions import ReportLinkExpired, ReportLinkInvalid
from proctoring_results.models import ReportDownload

from .factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, UserFactory

pytestmark = pytest.mark.django_db

SEED_COLUMNS = [
    "user_email",
    "exam_name",
    "attempt_code",
    "allowed_time_limit_mins",
    "is_sample_attempt",
    "started_at",
    "completed_at",
    "status",
]
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=dt_timezone.utc)


@pytest.fixture
def report(instructor, exam):
    ExamAttemptFactory(exam=exam, status="verified", user=UserFactory(username="zoe", email="zoe@example.edu"))
    ExamAttemptFactory(exam=exam, status="rejected", user=UserFactory(username="jose", email="jose@example.edu"))
    return api.generate_report(COURSE_ID, instructor)


def link_for(report, user):
    return reverse("proctoring_results:report_download", args=[links.make_report_link(report.id, user.pk).token])


def body(response):
    return b"".join(response.streaming_content).decode("utf-8")


# ---------------------------------------------------------------- tokens


def test_token_names_report_and_user_and_expires_after_the_setting():
    with time_machine.travel(T0, tick=False):
        link = links.make_report_link(12, 34)
        assert link.expires_at == T0 + timedelta(seconds=300)
        read = links.read_report_link(link.token)
        assert (read.report_id, read.user_id, read.expires_at) == (12, 34, link.expires_at)
    with time_machine.travel(T0 + timedelta(seconds=300), tick=False):
        assert links.read_report_link(link.token).seconds_left == 0
    with time_machine.travel(T0 + timedelta(seconds=301), tick=False):
        with pytest.raises(ReportLinkExpired) as excinfo:
            links.read_report_link(link.token)
        assert excinfo.value.report_id == 12


@override_settings(PROCTORING_RESULTS={"LINK_EXPIRY_SECONDS": 60})
def test_expiry_follows_the_setting():
    with time_machine.travel(T0, tick=False):
        link = links.make_report_link(1, 1)
    assert link.expires_at == T0 + timedelta(seconds=60)
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False), pytest.raises(ReportLinkExpired):
        links.read_report_link(link.token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: t.replace(t.split(":")[0], "eyJyIjo5OSwidSI6MX0"),  # payload: another report
        lambda t: "garbage",
        lambda t: "",
    ],
)
def test_altered_token_is_invalid(mangle):
    token = links.make_report_link(1, 1).token
    with pytest.raises(ReportLinkInvalid):
        links.read_report_link(mangle(token))


def test_a_token_signed_for_something_else_is_refused():
    from django.core import signing

    other = signing.TimestampSigner(salt="something.else").sign_object({"r": 1, "u": 1})
    with pytest.raises(ReportLinkInvalid):
        links.read_report_link(other)


# ---------------------------------------------------------------- the download view


def test_instructor_downloads_the_csv_and_the_download_is_recorded(client, instructor, report):
    client.force_login(instructor)
    response = client.get(link_for(report, instructor), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{report.file_name}"'
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0] == SEED_COLUMNS
    assert sorted((r[0], r[-1]) for r in rows[1:]) == [
        ("jose@example.edu", "rejected"),
        ("zoe@example.edu", "verified"),
    ]
    audit = ReportDownload.objects.get()
    assert (audit.report_id, audit.user, audit.file_name, str(audit.course_id), audit.ip_address) == (
        report.id,
        instructor,
        report.file_name,
        COURSE_ID,
        "203.0.113.7",
    )


def test_expired_link_is_410_with_a_way_back_to_the_dashboard(client, instructor, report):
    client.force_login(instructor)
    with time_machine.travel(T0, tick=False):
        url = link_for(report, instructor)
    with time_machine.travel(T0 + timedelta(seconds=299), tick=True):
        assert client.get(url).status_code == 200
    with time_machine.travel(T0 + timedelta(seconds=301), tick=False):
        response = client.get(url)
    assert response.status_code == 410
    page = response.content.decode()
    assert "This link has expired" in page
    assert reverse("proctoring_results:data_download", args=[COURSE_ID]) in page
    assert ReportDownload.objects.count() == 1  # only the download made in time


def test_tampered_link_is_403(client, instructor, report):
    client.force_login(instructor)
    url = link_for(report, instructor)
    response = client.get(url[:-3] + "x/")
    assert response.status_code == 403
    assert "Data Download page" in response.content.decode()
    assert not ReportDownload.objects.exists()


def test_another_users_link_is_403(client, instructor, report):
    colleague = UserFactory(username="colleague")
    api.grant_course_role(colleague, COURSE_ID, "staff")
    client.force_login(colleague)
    response = client.get(link_for(report, instructor))
    assert response.status_code == 403
    assert "not valid for your account" in response.content.decode()
    assert not ReportDownload.objects.exists()


@pytest.mark.parametrize("who", ["learner", "other_course_staff", "revoked_instructor"])
def test_no_permission_now_is_403_even_with_a_link_made_for_you(client, instructor, learner, report, who):
    if who == "learner":
        user = learner
    elif who == "other_course_staff":
        user = UserFactory(username="elsewhere")
        api.grant_course_role(user, OTHER_COURSE_ID, "instructor")
    else:
        user = instructor
    url = link_for(report, user)
    if who == "revoked_instructor":
        api.revoke_course_roles(instructor, COURSE_ID)  # roles are checked when the link is followed
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 403
    assert report.file_name not in response.content.decode()
    assert not ReportDownload.objects.exists()


def test_anonymous_is_sent_to_the_login_page(client, instructor, report):
    url = link_for(report, instructor)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not ReportDownload.objects.exists()


def test_a_script_follows_its_link_with_its_api_token(instructor, report):
    token = Token.objects.create(user=instructor)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    listing = client.get(reverse("proctoring_results:v1-reports", args=[COURSE_ID])).json()
    response = client.get(listing["reports"][0]["download_url"])
    assert response.status_code == 200
    assert body(response).splitlines()[0] == ",".join(SEED_COLUMNS)


def test_deleted_report_is_404_not_500(client, instructor, report):
    from proctoring_results.models import Report

    url = link_for(report, instructor)
    Report.objects.filter(pk=report.id).delete()
    client.force_login(instructor)
    response = client.get(url)
    assert response.status_code == 404
    assert "no longer exists" in response.content.decode()


def test_missing_file_is_404_not_500(client, instructor, report):
    storage.get_report_storage().delete(report.storage_key)
    client.force_login(instructor)
    response = client.get(link_for(report, instructor))
    assert response.status_code == 404
    assert not ReportDownload.objects.exists()


# ---------------------------------------------------------------- S3: a presigned URL that dies with the link


def test_s3_link_redirects_to_a_presigned_url_no_longer_lived_than_the_link(client, instructor, exam, s3_storage):
    import urllib.parse
    import urllib.request

    ExamAttemptFactory(exam=exam, status="verified", user=UserFactory(username="zoe", email="zoe@example.edu"))
    report = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)

    with time_machine.travel(T0, tick=False):
        url = link_for(report, instructor)
    with time_machine.travel(T0 + timedelta(seconds=200), tick=False):
        response = client.get(url)
    assert response.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) == 100  # the link's remaining life, not the storage's default 300
    assert "no-store" in response["Cache-Control"]
    assert ReportDownload.objects.count() == 1

    response = client.get(link_for(report, instructor))
    assert response.status_code == 302
    presigned = response["Location"]
    assert 295 <= int(urllib.parse.parse_qs(urllib.parse.urlsplit(presigned).query)["X-Amz-Expires"][0]) <= 300
    with urllib.request.urlopen(presigned, timeout=10) as fetched:  # the S3-compatible server on loopback
        assert fetched.headers["Content-Disposition"] == f'attachment; filename="{report.file_name}"'
        text = fetched.read().decode("utf-8")
    assert text.splitlines()[0] == ",".join(SEED_COLUMNS)
    assert "zoe@example.edu" in text


def test_s3_link_with_under_a_second_left_is_expired(client, instructor, exam, s3_storage):
    report = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    with time_machine.travel(T0, tick=False):
        url = link_for(report, instructor)
    with time_machine.travel(T0 + timedelta(seconds=299, milliseconds=500), tick=False):
        response = client.get(url)
    assert response.status_code == 410
    assert not ReportDownload.objects.exists()
