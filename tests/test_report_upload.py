"""
Reports stored in S3 are uploaded while they are written, and nothing is left behind when that fails.

Against moto's S3-compatible server over HTTP (``tests/services.py``), with
5 MiB parts (S3's smallest) so that a report of a few MiB goes up in several.
"""

import errno
import hashlib
import io
import os
import subprocess
import sys

import pytest
from boto3.s3.transfer import TransferConfig
from django.conf import settings
from django.db import DatabaseError
from django.test import override_settings

from proctoring_results import api, reports, storage
from proctoring_results.exceptions import ReportGenerationFailed
from proctoring_results.models import ExamAttempt
from proctoring_results.reports import build
from proctoring_results.storage import ReportUploadError, get_report_storage, report_upload

from .factories import COURSE_ID, ProctoredExamFactory, UserFactory
from .services import S3_BUCKET, app_subprocess_env, s3_keys, s3_storage_config

PART = 5 * 2**20


@pytest.fixture
def s3_parts(s3_server, s3_storage):
    """Report storage on moto with 5 MiB parts; yields the boto3 client. No upload of an earlier test is left."""
    for upload in s3_storage.list_multipart_uploads(Bucket=S3_BUCKET).get("Uploads", []):
        s3_storage.abort_multipart_upload(Bucket=S3_BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    config = s3_storage_config(s3_server, transfer_config=TransferConfig(multipart_chunksize=PART, use_threads=False))
    with override_settings(STORAGES={**settings.STORAGES, "proctoring_results": config}):
        yield s3_storage


def unfinished_uploads(client):
    return client.list_multipart_uploads(Bucket=S3_BUCKET).get("Uploads", [])


def chunks(total, size=100_000):
    """``total`` bytes of CSV-like lines in writes of ``size``, as the report's writers hand them over."""
    line = b"learner@example.edu,Midterm Exam,8C3EDEA2,90,False,2026-03-02T08:00:00Z,,created\r\n"
    block = (line * (size // len(line) + 1))[:size]
    for start in range(0, total, size):
        yield block[: min(size, total - start)]


def test_a_report_of_several_parts_is_stored_whole_private_and_as_csv(s3_parts):
    written = io.BytesIO()
    with report_upload(get_report_storage(), "course/1-abc/report.csv") as upload:
        for chunk in chunks(2 * PART + 12345):
            upload.write(chunk)
            written.write(chunk)
    assert upload.name == "course/1-abc/report.csv"
    key = "proctoring-results/course/1-abc/report.csv"
    assert s3_keys(s3_parts) == [key]
    stored = s3_parts.get_object(Bucket=S3_BUCKET, Key=key)
    assert stored["Body"].read() == written.getvalue()
    assert stored["ContentType"] == "text/csv"
    grants = s3_parts.get_object_acl(Bucket=S3_BUCKET, Key=key)["Grants"]
    assert all("AllUsers" not in str(g.get("Grantee", {}).get("URI", "")) for g in grants)
    assert unfinished_uploads(s3_parts) == []


def test_each_part_is_checked_by_s3_and_the_object_keeps_their_composite_checksum(s3_parts):
    with report_upload(get_report_storage(), "course/3-abc/report.csv") as upload:
        for chunk in chunks(2 * PART + 1):
            upload.write(chunk)
    head = s3_parts.head_object(Bucket=S3_BUCKET, Key="proctoring-results/" + upload.name, ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"]  # composed by S3 of the CRC32 each part was sent and checked with


def test_an_operator_who_turned_checksums_off_gets_none_asked_for(s3_server, s3_parts):
    from botocore.config import Config

    config = s3_storage_config(
        s3_server,
        transfer_config=TransferConfig(multipart_chunksize=PART),
        client_config=Config(request_checksum_calculation="when_required"),
    )
    with override_settings(STORAGES={**settings.STORAGES, "proctoring_results": config}):
        with report_upload(get_report_storage(), "course/4-abc/report.csv") as upload:
            for chunk in chunks(PART + 1):
                upload.write(chunk)
        key = "proctoring-results/" + upload.name
    head = s3_parts.head_object(Bucket=S3_BUCKET, Key=key, ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in head
    assert s3_parts.get_object(Bucket=S3_BUCKET, Key=key)["ContentLength"] == PART + 1


def test_a_failure_after_parts_went_up_leaves_no_object_and_no_unfinished_upload(s3_parts):
    with pytest.raises(DatabaseError), report_upload(get_report_storage(), "course/2-abc/report.csv") as upload:
        for chunk in chunks(2 * PART + 1):
            upload.write(chunk)
        assert upload.upload_id is not None  # a part handed over: the multipart upload is under way
        raise DatabaseError("the connection was lost")
    assert s3_keys(s3_parts) == []
    assert unfinished_uploads(s3_parts) == []


def test_a_storage_that_refuses_the_upload_is_a_report_upload_error_and_leaves_nothing(s3_server, s3_parts):
    broken = s3_storage_config(
        s3_server, bucket_name="no-such-bucket", transfer_config=TransferConfig(multipart_chunksize=PART)
    )
    with override_settings(STORAGES={**settings.STORAGES, "proctoring_results": broken}):
        with pytest.raises(ReportUploadError), report_upload(get_report_storage(), "c/3/report.csv") as upload:
            for chunk in chunks(2 * PART):
                upload.write(chunk)
    assert s3_keys(s3_parts) == [] and unfinished_uploads(s3_parts) == []


@pytest.fixture
def big_course(db):
    """A course whose report is about 6 MiB (two 5 MiB parts): long names, 10,000 attempts."""
    exam = ProctoredExamFactory(exam_name="Final Exam " + "x" * 240)
    learner = UserFactory(email=("a" * 230) + "@example.edu")
    ExamAttempt.objects.bulk_create(
        [
            ExamAttempt(exam=exam, user=learner, allowed_time_limit_mins=90, attempt_code=f"CODE-{i:08d}")
            for i in range(10_000)
        ]
    )
    return exam


def test_a_report_in_s3_goes_up_in_parts_with_its_size_and_checksum(big_course, s3_parts, instructor):
    expected = io.BytesIO()
    reports.write_csv(api.parse_course_id(COURSE_ID), expected)
    assert len(expected.getvalue()) > PART  # more than one part
    report = api.generate_report(COURSE_ID, instructor)
    key = f"proctoring-results/{report.storage_key}"
    assert s3_keys(s3_parts) == [key] and unfinished_uploads(s3_parts) == []
    data = s3_parts.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read()
    assert data == expected.getvalue()
    assert report.size_bytes == len(data) and report.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert report.row_count == 10_000


def test_a_report_failing_midway_in_s3_leaves_nothing_and_says_why(big_course, s3_parts, instructor, monkeypatch):
    """The database goes away after the first part went up: the task fails, S3 keeps nothing."""
    real_write_csv = build.write_csv
    handed_over = []

    def write_then_lose_the_database(spec, course_key, fileobj, **kwargs):
        real_write_csv(spec, course_key, fileobj, **kwargs)
        handed_over.append(fileobj.size)
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(build, "write_csv", write_then_lose_the_database)
    task = api.request_report(COURSE_ID, instructor)
    with pytest.raises(ReportGenerationFailed):
        api.generate_report_now(task.id)
    assert handed_over and handed_over[0] > PART
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and "database error while reading the course's attempts" in failed.message
    assert api.list_reports(COURSE_ID) == []
    assert s3_keys(s3_parts) == [] and unfinished_uploads(s3_parts) == []


def test_a_disk_that_fills_midway_fails_the_report_and_leaves_no_file(big_course, instructor, monkeypatch):
    """The local file system refuses a write halfway (ENOSPC): the task fails and says where; no file, no report."""
    real_open, written = open, []

    class FillingFile:
        def __init__(self, fileobj):
            self.fileobj = fileobj

        def write(self, data):
            if sum(written) > 300_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            written.append(len(data))
            return self.fileobj.write(data)

        def close(self):
            self.fileobj.close()

    def stored_files():
        return {os.path.join(top, f) for top, _, files in os.walk(get_report_storage().location) for f in files}

    before = stored_files()  # other tests' reports, kept on disk while their rows are rolled back
    monkeypatch.setattr(storage, "open", lambda *args: FillingFile(real_open(*args)), raising=False)
    task = api.request_report(COURSE_ID, instructor)
    with pytest.raises(ReportGenerationFailed):
        api.generate_report_now(task.id)
    failed = api.get_report_task(task.id)
    assert failed.state == "failed" and "(OSError while storing the file)" in failed.message
    assert written and api.list_reports(COURSE_ID) == []
    assert stored_files() == before


def test_a_site_storing_reports_on_disk_never_loads_boto3(tmp_path):
    """Telling S3 from local storage imports nothing: boto3 cost a worker's first report 0.3 s and 15 MB."""
    script = (
        "import sys, django; django.setup();"
        "from proctoring_results.storage import get_report_storage, is_s3_storage, report_upload;"
        "storage = get_report_storage();"
        "upload = report_upload(storage, 'course/1/report.csv'); upload.__enter__().write(b'x');"
        "upload.__exit__(None, None, None);"
        "print(is_s3_storage(storage), 'boto3' in sys.modules)"
    )
    env = app_subprocess_env(EXAMPLE_VAR_DIR=str(tmp_path))
    env.pop("PROCTORING_RESULTS_S3_ENDPOINT_URL", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
