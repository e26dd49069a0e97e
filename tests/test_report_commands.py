"""The report management commands: what an operator types and sees."""

import csv
import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings

from proctoring_results import api
from proctoring_results.storage import get_report_storage

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempts(db):
    exam = ProctoredExamFactory(exam_name='Final, "B"')
    return [ExamAttemptFactory(exam=exam, status="verified"), ExamAttemptFactory(exam=exam, status="rejected")]


def run(*args):
    out = io.StringIO()
    call_command("generate_proctored_exam_results_report", *args, stdout=out)
    return out.getvalue()


def test_generate_stores_the_report_and_prints_its_file_name(attempts):
    UserFactory(username="ops")
    printed = run(COURSE_ID, "--requester", "ops").strip()
    [report] = api.list_reports(COURSE_ID)
    assert printed == report.file_name
    assert printed.startswith("TestX_Proctoring_2026_proctored_exam_results_report_") and printed.endswith(".csv")
    with get_report_storage().open(report.storage_key) as fh:
        rows = list(csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline="")))
    assert [r[2] for r in rows[1:]] == [a.attempt_code for a in sorted(attempts, key=lambda a: (a.user_id, a.id))]
    assert api.get_report_task(api.list_report_tasks(COURSE_ID, active_only=False)[0].id).requester_username == "ops"


def test_generate_to_stdout_writes_the_csv_and_stores_nothing(attempts):
    text = run(COURSE_ID, "--stdout", "--extra-columns", "username")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][-1] == "username" and len(rows) == 3
    assert rows[1][1] == 'Final, "B"'
    assert api.list_reports(COURSE_ID) == [] and api.list_report_tasks(COURSE_ID, active_only=False) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["course-v1:Nobody+Nothing+2026"], "No proctored exams in course course-v1:Nobody+Nothing+2026"),
        (["not a course"], "'not a course' is not a valid course id."),
        ([COURSE_ID, "--extra-columns", "password"], "Unknown report column(s): password."),
        ([COURSE_ID, "--requester", "ghost"], "No user named 'ghost'."),
    ],
)
def test_bad_input_is_one_sentence_and_a_non_zero_exit(attempts, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert message in str(caught.value)
    assert api.list_reports(COURSE_ID) == []


def test_generate_while_a_task_is_running_refuses(attempts):
    api.request_report(COURSE_ID, None)
    with pytest.raises(CommandError, match="The proctored exam results report is being created"):
        run(COURSE_ID)


def test_generate_exits_non_zero_from_the_shell(attempts):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as caught:
        ManagementUtility(
            ["manage.py", "generate_proctored_exam_results_report", "course-v1:Nobody+Nothing+2026"]
        ).execute()
    assert caught.value.code == 1


def test_fail_stale_report_tasks_command(attempts):
    task = api.request_report(COURSE_ID, None)
    out = io.StringIO()
    with time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(hours=2)):
        call_command("fail_stale_report_tasks", stdout=out)
    assert out.getvalue().strip() == "Failed 1 stale report task(s)."
    assert api.get_report_task(task.id).state == "failed"


def test_delete_expired_reports_command(attempts):
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=dt_timezone.utc), tick=False):
        old = api.generate_report(COURSE_ID)
    kept = api.generate_report(COURSE_ID)
    out = io.StringIO()
    with override_settings(PROCTORING_RESULTS={"REPORT_RETENTION_DAYS": 7}):
        call_command("delete_expired_proctored_exam_results_reports", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 report(s) older than 7 days."
    assert [r.id for r in api.list_reports(COURSE_ID)] == [kept.id]
    assert not get_report_storage().exists(old.storage_key)
    out = io.StringIO()
    with override_settings(PROCTORING_RESULTS={"REPORT_RETENTION_DAYS": None}):
        call_command("delete_expired_proctored_exam_results_reports", stdout=out)
    assert "kept forever" in out.getvalue()
