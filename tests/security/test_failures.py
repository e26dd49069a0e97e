"""
Failures of the real components around a report, each ending the same way: a
failed task with a clear message, no partial object in storage and nothing
listed, then a later retry that succeeds.

- broker down when Generate is clicked (the REST call the page makes);
- storage failing on upload: S3 server gone (connection refused), S3 answering
  500/403/503 (a botocore event hook at the storage's client, the storage
  boundary), S3 not answering at all (a socket that accepts and never replies:
  a real read timeout); and on download (S3 gone while a link is followed);
- a worker killed while it uploads to S3;
- the database connection lost while a report is being recorded (PostgreSQL:
  the session killed by the server; SQLite: the driver's connection closed).

The S3 servers here are moto's server mode on loopback, started and stopped
by these tests only (the session's shared one is never stopped).
"""

import csv
import io
import os
import socket
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import boto3
import pytest
import time_machine
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import override_settings
from django.urls import reverse

from proctoring_results import api, links, storage
from proctoring_results.exceptions import ReportGenerationFailed
from proctoring_results.models import Report

from .. import pii_guard
from ..factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from ..services import S3_BUCKET, S3_LOCATION, free_port, s3_storage_config, wait_until
from .conftest import client_for

pytestmark = [pytest.mark.slow]

#: Fail fast: one attempt per request, one-second timeouts (the defaults would retry for minutes).
FAST_FAIL = Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1, signature_version="s3v4"
)


def seed(n=12):
    exam = ProctoredExamFactory(course_id=COURSE_ID, exam_name="Failure Final")
    for i in range(n):
        ExamAttemptFactory(exam=exam, user=UserFactory(email=f"failing.learner{i}@example.edu"), status="verified")


def assert_failed_cleanly(task_id, words, keys=()):
    task = api.get_report_task(task_id)
    assert task.state == "failed", task
    assert words in task.message and "Try again" in task.message, task.message
    assert pii_guard.find_marker(task.message) is None
    assert api.list_reports(COURSE_ID) == [] and not Report.objects.exists()
    assert list(keys) == [], f"partial objects left in storage: {keys}"


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# ---------------------------------------------------------------- S3 servers we may break


class Moto:
    """moto's S3 server on a fixed loopback port, which a test can stop and start again."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self._cls = ThreadedMotoServer
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        self.server = self._cls(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.client().create_bucket(Bucket=S3_BUCKET)  # moto keeps state in-process: exists after a restart

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def keys(self):
        return sorted(o["Key"] for o in self.client().list_objects_v2(Bucket=S3_BUCKET).get("Contents", []))


@pytest.fixture
def moto():
    server = Moto()
    server.start()
    for key in server.keys():
        server.client().delete_object(Bucket=S3_BUCKET, Key=key)
    yield server
    server.stop()


@contextmanager
def s3_reports_at(endpoint):
    with override_settings(
        STORAGES={**settings.STORAGES, "proctoring_results": s3_storage_config(endpoint, client_config=FAST_FAIL)}
    ):
        yield storage.get_report_storage()


class Blackhole:
    """A TCP server that accepts connections and never answers: every request times out."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


# ---------------------------------------------------------------- storage failing on upload


def error_response(status, code):
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()

    class Raw:
        def stream(self, **kwargs):
            yield body

    return AWSResponse("http://injected", status, {"Content-Type": "application/xml"}, Raw())


S3_ERRORS = [(500, "InternalError"), (503, "SlowDown"), (403, "AccessDenied")]


@pytest.mark.parametrize(("status", "code"), S3_ERRORS)
def test_s3_error_on_upload(db, moto, instructor, status, code):
    seed()
    with s3_reports_at(moto.endpoint) as report_storage:
        events = report_storage.connection.meta.client.meta.events

        def fail_upload(request, **kwargs):
            return error_response(status, code)

        for operation in ("PutObject", "CreateMultipartUpload", "UploadPart"):
            events.register(f"before-send.s3.{operation}", fail_upload, unique_id=f"fail-{operation}")
        with pytest.raises(ReportGenerationFailed) as excinfo:
            api.generate_report(COURSE_ID, instructor)
        assert_failed_cleanly(excinfo.value.task.id, "while storing the file", moto.keys())
        for operation in ("PutObject", "CreateMultipartUpload", "UploadPart"):
            events.unregister(f"before-send.s3.{operation}", unique_id=f"fail-{operation}")
        report = api.generate_report(COURSE_ID, instructor)
    assert moto.keys() == [f"{S3_LOCATION}/{report.storage_key}"]
    stored = moto.client().get_object(Bucket=S3_BUCKET, Key=f"{S3_LOCATION}/{report.storage_key}")["Body"].read()
    assert len(csv_rows(stored)) == 13


def test_s3_server_gone_on_upload_then_back(db, moto, instructor):
    seed()
    with s3_reports_at(moto.endpoint):
        moto.stop()
        with pytest.raises(ReportGenerationFailed) as excinfo:
            api.generate_report(COURSE_ID, instructor)
        moto.start()
        assert_failed_cleanly(excinfo.value.task.id, "while storing the file", moto.keys())
        report = api.generate_report(COURSE_ID, instructor)
    assert moto.keys() == [f"{S3_LOCATION}/{report.storage_key}"]


def test_s3_timeout_on_upload(db, moto, instructor):
    """S3 accepts the connection and never answers: the one-second read timeout fails the task."""
    seed()
    hole = Blackhole()
    try:
        with s3_reports_at(hole.endpoint):
            with pytest.raises(ReportGenerationFailed) as excinfo:
                api.generate_report(COURSE_ID, instructor)
    finally:
        hole.close()
    assert_failed_cleanly(excinfo.value.task.id, "while storing the file", moto.keys())
    with s3_reports_at(moto.endpoint):
        report = api.generate_report(COURSE_ID, instructor)
    assert moto.keys() == [f"{S3_LOCATION}/{report.storage_key}"]


# ---------------------------------------------------------------- storage failing on download


def test_s3_gone_while_a_link_is_followed(db, moto, instructor):
    """The link still answers (a redirect, never a 5xx); the storage URL fails while S3 is down, then works."""
    seed()
    with s3_reports_at(moto.endpoint):
        report = api.generate_report(COURSE_ID, instructor)
        client = client_for(instructor)
        token = links.make_report_link(report.id, instructor.pk).token
        moto.stop()
        response = client.get(reverse("proctoring_results:report_download", args=[token]))
        assert response.status_code == 302
        presigned = response["Location"]
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(presigned, timeout=2)
        moto.start()
        with urllib.request.urlopen(presigned, timeout=5) as fetched:
            assert len(csv_rows(fetched.read())) == 13


def test_report_files_are_private_in_s3(db, moto, instructor):
    """No public read: the object's ACL grants only its owner, and its plain URL is refused."""
    seed()
    with s3_reports_at(moto.endpoint):
        report = api.generate_report(COURSE_ID, instructor)
    acl = moto.client().get_object_acl(Bucket=S3_BUCKET, Key=f"{S3_LOCATION}/{report.storage_key}")
    grantees = [g["Grantee"].get("URI", g["Grantee"].get("ID")) for g in acl["Grants"]]
    assert all("AllUsers" not in str(g) and "AuthenticatedUsers" not in str(g) for g in grantees), grantees
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(f"{moto.endpoint}/{S3_BUCKET}/{S3_LOCATION}/{report.storage_key}", timeout=5)
    assert excinfo.value.code == 403
    # The dashboard's API and page offer only the app's signed links, never a storage URL or key.
    with s3_reports_at(moto.endpoint):
        client = client_for(instructor)
        listing = client.get(reverse("proctoring_results:v1-reports", args=[COURSE_ID])).content.decode()
        page = client.get(reverse("proctoring_results:data_download", args=[COURSE_ID])).content.decode()
    for text in (listing, page):
        assert report.file_name in text
        assert moto.endpoint not in text and report.storage_key not in text and "X-Amz-" not in text


# ---------------------------------------------------------------- broker down at Generate


@contextmanager
def broker_at(url):
    """Point this process's Celery app (the one Generate publishes with) at another broker."""
    from example.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    saved, saved_env = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")
    app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL")
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None


@pytest.mark.worker
def test_broker_down_at_generate_then_retry(celery_worker, instructor):
    seed()
    client = client_for(instructor)
    url = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
    closed_port = free_port()
    with broker_at(f"redis://127.0.0.1:{closed_port}/0"):
        response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 503, response.content
    assert "task queue is unavailable" in response.json()["message"]
    [failed] = api.list_report_tasks(COURSE_ID, active_only=False)
    assert failed.state == "failed" and "Try again later" in failed.message
    assert api.list_reports(COURSE_ID) == []
    # Pending Tasks shows nothing stuck, and a second click works once the broker is back.
    assert api.list_report_tasks(COURSE_ID) == []
    response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 202
    task_id = response.json()["task"]["id"]
    done = wait_until(
        lambda: (lambda t: t if t.state in ("succeeded", "failed") else None)(api.get_report_task(task_id)),
        timeout=60,
        message="the retried report",
    )
    assert done.state == "succeeded", done.message
    assert len(api.list_reports(COURSE_ID)) == 1
    assert pii_guard.find_marker(celery_worker.log()) is None, "the worker's log shows personal data"


# ---------------------------------------------------------------- worker killed while uploading


@pytest.mark.worker
def test_worker_killed_while_uploading_to_s3(celery_worker_factory, moto):
    """The worker's S3 never answers; it is killed mid-upload: no object, no report; stale check, retry."""
    seed()
    hole = Blackhole()
    try:
        stuck = celery_worker_factory(PROCTORING_RESULTS_S3_ENDPOINT_URL=hole.endpoint)
        task = api.request_report(COURSE_ID, None)
        wait_until(
            lambda: len(hole.held) > 0 and api.get_report_task(task.id).rows_done == 12,
            timeout=60,
            message="the worker to start uploading",
        )
        stuck.kill()
    finally:
        hole.close()
    assert api.get_report_task(task.id).state == "running" and api.list_reports(COURSE_ID) == []
    with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(hours=2)):
        call_command("fail_stale_report_tasks", stdout=io.StringIO())
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and "Generate it again" in failed.message
    assert moto.keys() == [] and not Report.objects.exists()
    worker = celery_worker_factory(PROCTORING_RESULTS_S3_ENDPOINT_URL=moto.endpoint)
    again = api.request_report(COURSE_ID, None)
    done = wait_until(
        lambda: (lambda t: t if t.state in ("succeeded", "failed") else None)(api.get_report_task(again.id)),
        timeout=60,
        message="the retried report",
    )
    assert done.state == "succeeded", done.message
    [report] = api.list_reports(COURSE_ID)
    assert moto.keys() == [f"{S3_LOCATION}/{report.storage_key}"]
    for log in (stuck.log(), worker.log()):
        assert pii_guard.find_marker(log) is None, "a worker's log shows personal data"


# ---------------------------------------------------------------- database connection lost


def terminate_django_connection():
    """Kill this process's database session from the server side, as a failover or restart would."""
    if connection.vendor == "sqlite":
        # No server to kill it from: close the driver's connection under Django's feet instead.
        connection.connection.close()
        return
    if connection.vendor == "mysql":
        # KILL from a second session of the same server, as a failover or restart would.
        pid = connection.connection.thread_id()
        killer = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with killer.cursor() as cursor:
                cursor.execute(f"KILL {int(pid)}")
        finally:
            killer.close()
        return
    import psycopg

    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")}, autocommit=True
    ) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


class DatabaseKillingStorage(FileSystemStorage):
    """Stores the file, then the database connection dies: the Report cannot be recorded."""

    def _save(self, name, content):
        saved = super()._save(name, content)
        terminate_django_connection()
        return saved


@pytest.mark.django_db(transaction=True)
def test_database_connection_lost_while_recording_the_report(tmp_path):
    seed()
    instructor = UserFactory(username="db-instructor", email="db.instructor@example.edu")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    location = tmp_path / "reports"
    killing = {"BACKEND": f"{__name__}.DatabaseKillingStorage", "OPTIONS": {"location": str(location)}}
    with override_settings(STORAGES={**settings.STORAGES, "proctoring_results": killing}):
        with pytest.raises(ReportGenerationFailed) as excinfo:
            api.generate_report(COURSE_ID, instructor)
    connection.close()  # the test's own connection died with it
    assert_failed_cleanly(excinfo.value.task.id, "database error", [str(p) for p in location.rglob("*.csv")])
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "proctoring_results": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(location)},
            },
        }
    ):
        report = api.generate_report(COURSE_ID, instructor)
    assert [p.name for p in location.rglob("*.csv")] == [report.file_name]


def cases_tried():
    """Failure scenarios in this module, for docs/security.rst (category 5)."""
    return len(S3_ERRORS) + 1 + 1 + 1 + 1 + 1 + 1  # S3 errors, gone, timeout, download, broker, kill, database
