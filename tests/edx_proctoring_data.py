"""
An edx-proctoring database for the import tests: its tables, a few rows, and a Django alias for it.

The tables come either from ``fixtures/edx_proctoring_schema.sql`` (extracted
from edx-proctoring's own migrations) or from running those migrations in the
edx-proctoring virtualenv (``make test-import``); the rows are the same.
"""

import contextlib
from pathlib import Path

from django.db import connections

SCHEMA_SQL = Path(__file__).resolve().parent / "fixtures" / "edx_proctoring_schema.sql"
ALIAS = "edx_proctoring"
COURSE = "course-v1:EdxP+Import101+2026"

T0 = "2026-03-01 09:00:00"
T1 = "2026-03-01 10:30:00"
MODIFIED = "2026-03-02 12:00:00"

#: (id, username, email)
USERS = [
    (11, "ada", "ada@example.edu"),
    (12, "grace", "grace@example.edu"),
    (13, "linus", "linus@example.edu"),
    (14, "ghost", "ghost@example.edu"),
]

#: (id, course_id, content_id, exam_name, time_limit_mins, is_proctored, is_practice_exam, is_active, backend)
EXAMS = [
    (
        1,
        COURSE,
        "block-v1:EdxP+Import101+2026+type@sequential+block@final",
        "Final Exam",
        90,
        1,
        0,
        1,
        "software_secure",
    ),
    (2, COURSE, "block-v1:EdxP+Import101+2026+type@sequential+block@practice", "Practice Exam", 30, 1, 1, 1, None),
    (3, "not a course key", "block-x", "Broken", 60, 1, 0, 1, None),
]

#: (id, user_id, exam_id, started_at, completed_at, attempt_code, allowed_time_limit_mins, status, is_sample_attempt)
ATTEMPTS = [
    (101, 11, 1, T0, T1, "AAAAAAAA-0000-4000-8000-000000000101", 90, "verified", 0),
    (102, 12, 1, T0, T1, "AAAAAAAA-0000-4000-8000-000000000102", 120, "rejected", 0),
    # Declined: never started, so no start time and no allowed time (edx-proctoring sets both at start).
    (103, 13, 1, None, None, "AAAAAAAA-0000-4000-8000-000000000103", None, "declined", 0),  # allowance: +15
    (104, 11, 2, T0, T1, "AAAAAAAA-0000-4000-8000-000000000104", 30, "ready_to_submit", 1),
    (105, 12, 2, None, None, "AAAAAAAA-0000-4000-8000-000000000105", 30, "onboarding_missing", 1),
    (106, 13, 2, T0, None, "AAAAAAAA-0000-4000-8000-000000000106", 30, "expired", 1),
    (107, 11, 1, T0, T1, "AAAAAAAA-0000-4000-8000-000000000107", 90, "weird_status", 0),
    (108, 14, 1, T0, T1, "AAAAAAAA-0000-4000-8000-000000000108", 90, "submitted", 0),  # learner unknown here
    (109, 11, 3, T0, T1, "AAAAAAAA-0000-4000-8000-000000000109", 60, "submitted", 0),  # exam skipped
]

#: (id, attempt_code, review_status, raw_data, exam_id)
REVIEWS = [
    (201, "AAAAAAAA-0000-4000-8000-000000000101", "Clean", '{"examMetaData": {"ssiRecordLocator": "x"}}', 1),
    (
        202,
        "AAAAAAAA-0000-4000-8000-000000000102",
        "Suspicious",
        '{"videoReviewLink": "https://video.invalid/secret", "reviewStatus": "Suspicious"}',
        1,
    ),
    (203, "AAAAAAAA-0000-4000-8000-000000000108", "Clean", "{}", 1),  # its attempt is not imported
]

#: (id, review_id, start_time, stop_time, duration, comment, status)
COMMENTS = [
    (301, 201, 10, 20, 10, "Music in the background.", "Rules Violation"),
    (302, 202, 100, 160, 60, "Second person in the room.", "Suspicious"),
    (303, 202, 300, 320, 20, "Looked at a phone.", "phone"),
    (304, 203, 1, 2, 1, "Nothing.", "Clean"),
]


def schema_statements():
    """The statements of ``fixtures/edx_proctoring_schema.sql`` (SQLite's dialect)."""
    text = SCHEMA_SQL.read_text(encoding="utf-8")
    return [
        s.strip().rstrip(";")
        for s in "\n".join(line for line in text.splitlines() if not line.startswith("--")).split(";\n")
        if s.strip()
    ]


def create_schema(alias=ALIAS):
    """Create edx-proctoring's tables from the SQL extracted from its migrations."""
    with connections[alias].cursor() as cursor:
        for statement in schema_statements():
            cursor.execute(statement)


def create_schema_mysql(alias):
    """
    The same tables in MySQL's dialect, as Open edX keeps them.

    Only the spelling changes: backquoted names, AUTO_INCREMENT, DATETIME(6)
    (Django's MySQL type); SQLite's DEFERRABLE goes, and so do the indexes,
    which the import does not need.
    """
    with connections[alias].cursor() as cursor:
        for statement in schema_statements():
            if not statement.startswith("CREATE TABLE"):
                continue
            statement = (
                statement.replace('"', "`")
                .replace("AUTOINCREMENT", "AUTO_INCREMENT")
                .replace(" DEFERRABLE INITIALLY DEFERRED", "")
                .replace(" datetime ", " datetime(6) ")
            )
            cursor.execute(statement)


def load_rows(alias=ALIAS):
    """Insert the rows above with plain SQL, as edx-proctoring's tables would hold them."""
    with connections[alias].cursor() as cursor:
        cursor.executemany(
            "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES (%s, '!', 0, %s, '', '', %s, 0, 1, %s)",
            [(*user, T0) for user in USERS],
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexam (id, created, modified, course_id, content_id, exam_name, "
            "time_limit_mins, is_proctored, is_practice_exam, is_active, backend, hide_after_due) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0)",
            [(e[0], T0, T0, *e[1:]) for e in EXAMS],
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexamstudentattempt (id, created, modified, user_id, proctored_exam_id, "
            "started_at, completed_at, attempt_code, external_id, allowed_time_limit_mins, status, "
            "taking_as_proctored, is_sample_attempt, is_status_acknowledged, is_resumable, ready_to_resume, resumed) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, 0, 0, 0, 0)",
            [(a[0], T0, MODIFIED, a[1], a[2], a[3], a[4], a[5], f"ext-{a[0]}", a[6], a[7], a[8]) for a in ATTEMPTS],
        )
        cursor.execute(  # "key" is a reserved word in MySQL
            "INSERT INTO proctoring_proctoredexamstudentallowance (created, modified, "
            f"{connections[alias].ops.quote_name('key')}, value, proctored_exam_id, "
            "user_id) VALUES (%s, %s, 'additional_time_granted', '15', 1, 13)",
            (T0, T0),
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexamsoftwaresecurereview (id, created, modified, attempt_code, "
            "review_status, raw_data, exam_id, is_attempt_active) VALUES (%s, %s, %s, %s, %s, %s, %s, 1)",
            [(r[0], MODIFIED, MODIFIED, *r[1:]) for r in REVIEWS],
        )
        cursor.executemany(
            "INSERT INTO proctoring_proctoredexamstudentattemptcomment (id, created, modified, review_id, start_time, "
            "stop_time, duration, comment, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(c[0], MODIFIED, MODIFIED, *c[1:]) for c in COMMENTS],
        )


def execute(sql, params=(), alias=ALIAS):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)


@contextlib.contextmanager
def database_alias(path, alias=ALIAS):
    """
    Make ``path`` reachable as ``settings.DATABASES[alias]``.

    Register it before the test case starts (a module fixture) and list the
    alias in ``django_db(databases=...)``: the test case then allows it and
    wraps it in a transaction rolled back after each test, like ``default``.
    """
    configured = connections.configure_settings(
        {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)},
        },
    )[alias]
    connections.settings[alias] = configured
    try:
        yield alias
    finally:
        if alias in connections:
            connections[alias].close()
            del connections[alias]
        del connections.settings[alias]
