"""
docs/dashboard.rst's script example, run as written (curl + token auth) against the live example site.

Only the ``BASE`` line is changed, to point at the test server and course; a
real Celery worker builds the report the script asks for.
"""

import csv
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from proctoring_results import api

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from .services import unavailable

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOC = Path(__file__).resolve().parent.parent / "docs" / "dashboard.rst"


def doc_script():
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"\.\. code-block:: bash\n\n((?:   .*\n|\n)+)", text).group(1)
    return textwrap.dedent(block)


def test_the_documented_script_generates_waits_and_downloads(live_server, celery_worker, tmp_path):
    if not shutil.which("curl"):
        unavailable("curl is not installed")
    instructor = UserFactory(username="instructor")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    exam = ProctoredExamFactory(exam_name="Midterm")
    ExamAttemptFactory(exam=exam, status="verified", user=UserFactory(username="zoe", email="zoe@example.edu"))
    token = Token.objects.create(user=instructor)

    script = doc_script()
    assert script.startswith("BASE=")
    script = re.sub(
        r"^BASE=.*$",
        f"BASE={live_server.url}/api/proctoring-results/v1/courses/{COURSE_ID}",
        script,
        count=1,
        flags=re.M,
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "TOKEN": token.key},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:], celery_worker.log()[-2000:])
    with open(tmp_path / "report.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["user_email", "exam_name", "attempt_code"]
    assert [(r[0], r[1], r[-1]) for r in rows[1:]] == [("zoe@example.edu", "Midterm", "verified")]
    [report] = api.list_reports(COURSE_ID)
    assert report.row_count == 1
