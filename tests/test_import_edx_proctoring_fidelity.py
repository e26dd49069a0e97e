"""
The import is faithful to edx-proctoring: every one of its statuses, and the time an unstarted attempt was allowed.

Each attempt is written with the times edx-proctoring itself leaves on a row in
that status (``started_at`` when it starts, ``completed_at`` when it is
submitted or times out as submitted), so the seed's word it becomes must agree
with those times. Allowed time follows edx-proctoring's ``_calculate_allowed_mins``.
"""

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections

from proctoring_results import api, statuses
from proctoring_results.importers import STATUS_MAP, agree_with_timestamps, unstarted_allowed_minutes
from proctoring_results.models import ExamAttempt
from proctoring_results.statuses import AttemptStatus as S

from . import edx_proctoring_data as edx
from .factories import UserFactory

pytestmark = pytest.mark.django_db(databases=["default", edx.ALIAS])

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)
T0, T1 = "2026-03-01 09:00:00", "2026-03-01 10:30:00"

#: edx-proctoring 6.1.4's nineteen attempt statuses (edx_proctoring.statuses.ProctoredExamStudentAttemptStatus).
EDX_STATUSES = {
    "eligible",
    "created",
    "download_software_clicked",
    "ready_to_start",
    "started",
    "ready_to_submit",
    "declined",
    "timed_out",
    "submitted",
    "second_review_required",
    "verified",
    "rejected",
    "error",
    "expired",
    "onboarding_reset",
    "onboarding_missing",
    "onboarding_pending",
    "onboarding_failed",
    "onboarding_expired",
}

#: (edx-proctoring status, started_at, completed_at as edx-proctoring leaves them) -> the report's status word.
CASES = [
    ("eligible", None, None, "created"),
    ("created", None, None, "created"),
    ("download_software_clicked", None, None, "created"),
    ("ready_to_start", None, None, "ready to start"),
    ("started", T0, None, "started"),
    ("ready_to_submit", T0, None, "completed"),  # ended; completed_at is set only on submission
    ("declined", None, None, "created"),  # no proctored session ever started
    ("timed_out", T0, T1, "timed out"),
    ("submitted", T0, T1, "submitted"),
    ("second_review_required", T0, T1, "second review required"),
    ("verified", T0, T1, "verified"),
    ("rejected", T0, T1, "rejected"),
    ("error", T0, None, "error"),
    ("expired", T0, None, "timed out"),  # the course ended while the exam was under way
    ("expired", None, None, "created"),  # ... or before it was begun
    ("onboarding_reset", T0, T1, "completed"),  # a finished onboarding attempt set aside for a retake
    ("onboarding_reset", T0, None, "started"),  # one set aside before it was finished
    ("onboarding_missing", None, None, "created"),
    ("onboarding_pending", None, None, "created"),
    ("onboarding_failed", None, None, "error"),
    ("onboarding_expired", None, None, "error"),
]


@pytest.fixture(scope="module", autouse=True)
def source_database(django_db_setup, tmp_path_factory):
    with edx.database_alias(tmp_path_factory.mktemp("edx-proctoring-fidelity") / "edx.sqlite3"):
        yield


def write_source(exams, attempts, allowances=()):
    """
    edx-proctoring's tables with these rows.

    exams: (id, limit, due); attempts: (id, exam, status, start, end, allowed, remaining).
    """
    edx.create_schema()
    with connections[edx.ALIAS].cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES (1, '!', 0, 'ada', '', '', 'ada@example.edu', 0, 1, %s)",
            [T0],
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexam (id, created, modified, course_id, content_id, exam_name, "
            "time_limit_mins, due_date, is_proctored, is_practice_exam, is_active, backend, hide_after_due) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, 0, 1, 'proctortrack', 0)",
            [
                (
                    e,
                    T0,
                    T0,
                    edx.COURSE,
                    f"block-v1:EdxP+Import101+2026+type@sequential+block@e{e}",
                    f"Exam {e}",
                    limit,
                    due,
                )
                for e, limit, due in exams
            ],
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexamstudentattempt (id, created, modified, user_id, proctored_exam_id, "
            "started_at, completed_at, attempt_code, external_id, allowed_time_limit_mins, status, "
            "taking_as_proctored, is_sample_attempt, is_status_acknowledged, is_resumable, ready_to_resume, resumed, "
            "time_remaining_seconds) VALUES (%s, %s, %s, 1, %s, %s, %s, %s, '', %s, %s, 1, 0, 0, 0, 0, 0, %s)",
            [
                (a, T0, T0, exam, start, end, f"CODE-{a}", allowed, status, remaining)
                for a, exam, status, start, end, allowed, remaining in attempts
            ],
        )
        for exam, minutes in allowances:
            cursor.execute(
                "INSERT INTO proctoring_proctoredexamstudentallowance (created, modified, "
                f"{connections[edx.ALIAS].ops.quote_name('key')}, value, proctored_exam_id, user_id) "
                "VALUES (%s, %s, 'additional_time_granted', %s, %s, 1)",
                [T0, T0, str(minutes), exam],
            )


def import_source():
    UserFactory(username="ada", email="ada@example.edu")
    call_command("import_edx_proctoring", "--database", edx.ALIAS, "--match-users-by", "username", stdout=None)
    return {a.attempt_code: a for a in ExamAttempt.objects.all()}


def test_every_edx_proctoring_status_is_tested_and_mapped():
    assert {status for status, *_ in CASES} == EDX_STATUSES == set(STATUS_MAP)


def test_each_status_becomes_the_seed_word_its_timestamps_agree_with():
    write_source(
        [(1, 60, "2026-03-20 00:00:00")],
        [
            (100 + i, 1, status, start, end, 60 if start else None, None)
            for i, (status, start, end, _word) in enumerate(CASES)
        ],
    )
    attempts = import_source()
    got = {
        (status, start, end): statuses.csv_word(attempts[f"CODE-{100 + i}"].status)
        for i, (status, start, end, _word) in enumerate(CASES)
    }
    assert got == {(status, start, end): word for status, start, end, word in CASES}
    for attempt in attempts.values():  # the seed's definitions: Created / Ready to Start = not started yet
        assert (attempt.started_at is None) == (attempt.status in (S.CREATED, S.READY_TO_START)) or attempt.status in (
            S.ERROR,
            S.VERIFIED,
            S.REJECTED,
            S.SECOND_REVIEW_REQUIRED,
            S.SUBMITTED,
        )


def test_the_operators_own_mapping_is_taken_as_said():
    write_source([(1, 60, None)], [(100, 1, "declined", None, None, None, None)])
    UserFactory(username="ada", email="ada@example.edu")
    call_command(
        "import_edx_proctoring",
        "--database",
        edx.ALIAS,
        "--match-users-by",
        "username",
        "--map-status",
        "declined=completed",
        stdout=None,
    )
    assert ExamAttempt.objects.get(attempt_code="CODE-100").status == S.COMPLETED


@time_machine.travel(NOW, tick=False)
def test_unstarted_attempts_never_claim_more_time_than_edx_proctoring_would_give():
    write_source(
        [
            (1, 120, "2026-03-15 00:00:00"),  # due date passed: edx-proctoring would give 0
            (2, 120, "2026-04-01 13:00:00"),  # due in an hour: cut to 60
            (3, 120, "2026-06-01 00:00:00"),  # due far ahead: the limit plus the allowance
            (4, 120, None),
        ],  # due date only in edx-when, if any: unknown
        [
            (101, 1, "created", None, None, None, None),
            (102, 1, "declined", None, None, None, None),
            (103, 1, "onboarding_missing", None, None, None, None),
            (201, 2, "ready_to_start", None, None, None, None),
            (301, 3, "created", None, None, None, None),
            (302, 3, "ready_to_start", None, None, None, 1800),  # resuming: 30 minutes were left
            (401, 4, "created", None, None, None, None),
            (402, 4, "started", T0, None, 95, None),
        ],  # started: edx-proctoring's own figure is kept
        allowances=[(3, 15)],
    )
    allowed = {code: a.allowed_time_limit_mins for code, a in import_source().items()}
    assert allowed == {
        "CODE-101": 0,
        "CODE-102": 0,
        "CODE-103": 0,
        "CODE-201": 60,
        "CODE-301": 135,
        "CODE-302": 30,
        "CODE-401": None,
        "CODE-402": 95,
    }

    rows = {}
    import csv
    import io

    buffer = io.BytesIO()
    api.write_report_csv(edx.COURSE, buffer)
    for row in csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8"))):
        rows[row["attempt_code"]] = row["allowed_time_limit_mins"]
    assert rows["CODE-401"] == "" and rows["CODE-101"] == "0" and rows["CODE-301"] == "135"


def test_the_rules_alone():
    due = NOW + timedelta(minutes=45)
    assert unstarted_allowed_minutes(90, 15, None, due, NOW) == 45
    assert unstarted_allowed_minutes(90, 15, 0, NOW + timedelta(days=1), NOW) == 105
    assert unstarted_allowed_minutes(90, 15, 600, NOW + timedelta(days=1), NOW) == 10
    assert unstarted_allowed_minutes(90, 15, None, NOW - timedelta(days=1), NOW) == 0
    assert unstarted_allowed_minutes(90, 15, None, None, NOW) is None
    assert agree_with_timestamps(S.CREATED, NOW, None) == S.STARTED
    assert agree_with_timestamps(S.CREATED, NOW, NOW) == S.COMPLETED
    assert agree_with_timestamps(S.TIMED_OUT, None, None) == S.CREATED
    assert agree_with_timestamps(S.VERIFIED, None, None) == S.VERIFIED  # a review says more than a missing time
