"""
Seed N exam attempts into one course of the benchmark database, fast.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pr_bench \\
        .venv/bin/python benchmarks/seed.py --attempts 1000,100k,1M

Each N gets its own course (``course-v1:BenchX+Scale+N<N>``) with five exams
(one of them practice); learners take every exam, so N attempts need N/5
learners, shared between the sizes. Attempts are spread over all ten statuses;
reviewed ones have a provider review, and a share of reviews carry flagged
rule violations. Rows go in with ``COPY ... FROM STDIN`` (about a minute for a
million attempts on 2 cores), in one transaction per course, after
``migrate``.

Idempotent per N: a course already seeded with the same N (recorded in the
``benchmark_seed`` table, written in the same transaction as the rows) is
reused; one with another count is deleted and seeded again.
"""

import argparse
import json
import math
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import course_id_for, database_url, parse_sizes, psycopg_connect, setup_django

EXAMS = [
    # (content id suffix, name, time limit, practice). One name needs CSV quoting.
    ("midterm", "Midterm Exam", 90, False),
    ("final", "Final Exam, Part 1", 120, False),
    ("quiz1", "Quiz 1", 30, False),
    ("quiz2", "Quiz 2", 30, False),
    ("practice", "Practice Proctored Exam", 30, True),
]
LEARNER_PREFIX = "bench"

# (status, share of attempts). Review outcomes and error have a provider review.
STATUS_MIX = [
    ("verified", 0.58),
    ("rejected", 0.10),
    ("second_review_required", 0.03),
    ("error", 0.02),
    ("submitted", 0.10),
    ("completed", 0.03),
    ("timed_out", 0.02),
    ("started", 0.05),
    ("ready_to_start", 0.02),
    ("created", 0.05),
]
STARTED = {"started", "completed", "timed_out", "submitted", "verified", "rejected", "second_review_required", "error"}
COMPLETED = STARTED - {"started"}
REVIEWED = {"verified", "rejected", "second_review_required", "error"}
PROVIDER_STATUS = {
    "verified": "passed",
    "rejected": "violation",
    "second_review_required": "suspicious",
    "error": "not_reviewed",
}
DISCOURAGED = [("music_or_tv", "Music playing in the background.")]
INTEGRITY = [
    ("no_photo_id", "Learner did not show a photo ID."),
    ("second_computer", "A second computer was visible on the desk."),
    ("reading_exam_aloud", "Learner read questions to another person."),
]
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
CHUNK_LINES = 20000

# ---------------------------------------------------------------- the rows, for any database
#
# Plain Python values (int, str, bool, float, aware UTC datetime, None) in the
# columns' order; seed_course() below writes them with PostgreSQL's COPY and
# mysql_report.py with multi-row INSERTs. The random draws happen in one fixed
# order, so the same N gives the same course on every database.

USER_COLUMNS = (
    "id",
    "password",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
)
EXAM_COLUMNS = (
    "created",
    "modified",
    "course_id",
    "content_id",
    "exam_name",
    "time_limit_mins",
    "is_practice_exam",
    "is_proctored",
    "is_active",
    "provider",
)
ATTEMPT_COLUMNS = (
    "id",
    "created",
    "modified",
    "attempt_code",
    "external_id",
    "allowed_time_limit_mins",
    "is_sample_attempt",
    "started_at",
    "completed_at",
    "status",
    "status_changed_at",
    "user_id",
    "exam_id",
)
REVIEW_COLUMNS = (
    "id",
    "provider",
    "review_id",
    "provider_status",
    "second_review_requested",
    "outcome",
    "disagreement",
    "reviewer",
    "reviewed_at",
    "received_at",
    "raw_payload",
    "attempt_id",
)
FLAG_COLUMNS = ("id", "review_id", "rule_code", "severity", "comment", "start_seconds", "stop_seconds")
#: The tables seed_course() fills with explicit ids, each allocated from max(id) + 1.
ID_TABLES = ("proctoring_results_examattempt", "proctoring_results_review", "proctoring_results_reviewflag")


def learner_name(index):
    return f"{LEARNER_PREFIX}{index:07d}"


#: Learners are bench0000000..bench9999999: selected by this range, never by a prefix,
#: which would also take in the report benchmarks' ``bench-staff`` requester.
LEARNERS_WHERE = "username BETWEEN %s AND %s"


def learner_bounds(count):
    return learner_name(0), learner_name(count - 1)


def learner_rows(indexes, first_id, now):
    """auth_user rows for the learners numbered ``indexes``, with ids from ``first_id``."""
    for offset, i in enumerate(indexes):
        name = learner_name(i)
        # '!' is Django's unusable password: these learners never log in.
        yield (first_id + offset, "!", False, name, "Learner", str(i), f"{name}@example.edu", False, True, now)


def exam_rows(course_id, attempts, now):
    """The course's five exams, in EXAMS order."""
    for suffix, name, limit, practice in EXAMS:
        content_id = f"block-v1:BenchX+Scale+N{attempts}+type@sequential+block@{suffix}"
        yield (now, now, course_id, content_id, name, limit, practice, True, True, "bench-provider")


class CourseRows:
    """
    The attempts, reviews and flags of one course of ``attempts`` attempts.

    ``learners`` are the auth_user ids in learner order, ``exam_ids`` those of
    ``exam_rows`` in order, ``first_ids`` the first free id of each of
    ``ID_TABLES``. Read ``attempts()``, then ``reviews()``, then ``flags()``,
    each to its end: the reviews and flags are drawn while the attempts are.
    """

    def __init__(self, attempts, learners, exam_ids, first_ids, now, seed=None):
        self.count, self.learners, self.exam_ids, self.now = attempts, learners, exam_ids, now
        self.first_ids = dict(zip(ID_TABLES, first_ids, strict=False))
        # One fixed order of draws per N; a named course (benchmarks/rush.py) draws its own (attempt codes differ).
        self.rng = random.Random(attempts if seed is None else seed)
        self.review_list, self.flag_list = [], []

    def attempts(self):
        rng, now, attempts = self.rng, self.now, self.count
        statuses = [s for s, _ in STATUS_MIX]
        weights = [w for _, w in STATUS_MIX]
        attempt_id, review_id, flag_id = (self.first_ids[table] for table in ID_TABLES)
        reviews, flags = self.review_list, self.flag_list
        for k in range(attempts):
            exam_index = k % len(EXAMS)
            _, _, limit, practice = EXAMS[exam_index]
            status = rng.choices(statuses, weights)[0]
            begin = BASE_TIME + timedelta(days=7 * exam_index, seconds=rng.randrange(5 * 86400))
            started_at = begin if status in STARTED else None
            completed_at = begin + timedelta(minutes=rng.randrange(5, limit + 1)) if status in COMPLETED else None
            allowance = limit + (30 if rng.random() < 0.05 else 0)
            yield (
                attempt_id,
                now,
                now,
                str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
                f"bench-session-{attempts}-{k}" if started_at else "",
                allowance,
                practice,
                started_at,
                completed_at,
                status,
                completed_at or started_at,
                self.learners[k // len(EXAMS)],
                self.exam_ids[exam_index],
            )
            if status in REVIEWED:
                reviews.append((review_id, attempt_id, status, completed_at))
                if status in ("rejected", "second_review_required"):
                    picked = rng.sample(INTEGRITY, rng.choice((1, 1, 2)))
                    flags.extend(
                        (flag_id + i, review_id, code, "integrity", comment) for i, (code, comment) in enumerate(picked)
                    )
                    flag_id += len(picked)
                elif status == "verified" and rng.random() < 0.25:
                    code, comment = DISCOURAGED[0]
                    flags.append((flag_id, review_id, code, "discouraged", comment))
                    flag_id += 1
                review_id += 1
            attempt_id += 1

    def reviews(self):
        for rid, aid, status, completed_at in self.review_list:
            reviewed_at = completed_at + timedelta(hours=6)
            payload = json.dumps({"reviewStatus": PROVIDER_STATUS[status], "sessionId": f"bench-{aid}"})
            yield (
                rid,
                "bench-provider",
                f"bench-review-{rid}",
                PROVIDER_STATUS[status],
                status == "second_review_required",
                status,
                "",
                "Reviewer",
                reviewed_at,
                reviewed_at,
                payload,
                aid,
            )

    def flags(self):
        rng = self.rng
        for fid, rid, code, severity, comment in self.flag_list:
            offset = rng.randrange(3600)
            yield (fid, rid, code, severity, comment, float(offset), float(offset + 20))


# ---------------------------------------------------------------- PostgreSQL: COPY


def _ts(value):
    """An aware UTC datetime as COPY text (``isoformat`` is C, several times faster than ``strftime``)."""
    return value.isoformat(" ")


def _copy_line(now):
    """The function that turns a row of values into a text-format COPY line (the seeded texts need no escaping)."""
    now_text = _ts(now)
    formats = {
        str: str,
        int: str,
        float: str,
        bool: lambda value: "t" if value else "f",
        type(None): lambda value: r"\N",
        datetime: lambda value: now_text if value is now else _ts(value),  # most rows share ``now``
    }

    def line(row):
        return "\t".join([formats[type(value)](value) for value in row])

    return line


class _Writer:
    """Buffer text-format COPY lines and hand them to psycopg in chunks."""

    def __init__(self, copy):
        self.copy, self.lines, self.count = copy, [], 0

    def row(self, line):
        self.lines.append(line)
        self.count += 1
        if len(self.lines) >= CHUNK_LINES:
            self.flush()

    def flush(self):
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.lines = []


def copy_rows(cur, table, columns, rows, now):
    """``COPY table (columns) FROM STDIN`` of the rows; returns how many."""
    line = _copy_line(now)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        out = _Writer(copy)
        for row in rows:
            out.row(line(row))
        out.flush()
    return out.count


def next_id(cur, table):
    cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # fixed table names, never input
    return cur.fetchone()[0]


def _reset_sequence(cur, table):
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")


def missing_learners(cur, count):
    """The numbers of the learners 0..count-1 not in auth_user yet."""
    cur.execute(f"SELECT username FROM auth_user WHERE {LEARNERS_WHERE}", learner_bounds(count))
    existing = {username for (username,) in cur.fetchall()}
    return [i for i in range(count) if learner_name(i) not in existing]


def learner_ids(cur, count):
    """auth_user ids of learners 0..count-1, in learner order."""
    cur.execute(f"SELECT id FROM auth_user WHERE {LEARNERS_WHERE} ORDER BY username", learner_bounds(count))
    return [row[0] for row in cur.fetchall()]


def ensure_learners(cur, count):
    """Learners bench0000000.. up to ``count``, shared by every N; returns their ids in order."""
    missing = missing_learners(cur, count)
    if missing:
        now = datetime.now(timezone.utc)
        copy_rows(cur, "auth_user", USER_COLUMNS, learner_rows(missing, next_id(cur, "auth_user"), now), now)
        _reset_sequence(cur, "auth_user")
    return learner_ids(cur, count)


def _delete_course(cur, course_id):
    exams = "SELECT id FROM proctoring_results_proctoredexam WHERE course_id = %s"
    attempts = f"SELECT id FROM proctoring_results_examattempt WHERE exam_id IN ({exams})"
    reviews = f"SELECT id FROM proctoring_results_review WHERE attempt_id IN ({attempts})"
    cur.execute(f"DELETE FROM proctoring_results_reviewflag WHERE review_id IN ({reviews})", (course_id,))
    cur.execute(f"DELETE FROM proctoring_results_review WHERE attempt_id IN ({attempts})", (course_id,))
    cur.execute(f"DELETE FROM proctoring_results_attemptstatuschange WHERE attempt_id IN ({attempts})", (course_id,))
    cur.execute(f"DELETE FROM proctoring_results_examattempt WHERE exam_id IN ({exams})", (course_id,))
    cur.execute("DELETE FROM proctoring_results_proctoredexam WHERE course_id = %s", (course_id,))
    cur.execute("DELETE FROM benchmark_seed WHERE course_id = %s", (course_id,))


def seed_course(conn, attempts, log=print, course_id=None):
    """Seed one course (``course_id_for(attempts)`` unless named) with ``attempts`` attempts, unless it has them."""
    course_id = course_id or course_id_for(attempts)
    with conn.transaction(), conn.cursor() as cur:
        # One seeder at a time per database: ids are allocated from max(id).
        cur.execute("SELECT pg_advisory_xact_lock(724061)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS benchmark_seed (course_id text PRIMARY KEY, attempts integer NOT NULL,"
            " seeded_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT attempts FROM benchmark_seed WHERE course_id = %s", (course_id,))
        row = cur.fetchone()
        if row and row[0] == attempts:
            log(f"{course_id}: already seeded with {attempts:,} attempts, reused")
            return course_id, False
        started = time.perf_counter()
        _delete_course(cur, course_id)
        learners = ensure_learners(cur, math.ceil(attempts / len(EXAMS)))
        now = datetime.now(timezone.utc)

        exam_ids = []
        for exam in exam_rows(course_id, attempts, now):
            cur.execute(
                f"INSERT INTO proctoring_results_proctoredexam ({', '.join(EXAM_COLUMNS)})"
                f" VALUES ({', '.join(['%s'] * len(EXAM_COLUMNS))}) RETURNING id",
                exam,
            )
            exam_ids.append(cur.fetchone()[0])

        rows = CourseRows(
            attempts,
            learners,
            exam_ids,
            [next_id(cur, table) for table in ID_TABLES],
            now,
            seed=None if course_id == course_id_for(attempts) else course_id,
        )
        copy_rows(cur, "proctoring_results_examattempt", ATTEMPT_COLUMNS, rows.attempts(), now)
        reviews = copy_rows(cur, "proctoring_results_review", REVIEW_COLUMNS, rows.reviews(), now)
        flags = copy_rows(cur, "proctoring_results_reviewflag", FLAG_COLUMNS, rows.flags(), now)
        for table in ID_TABLES:
            _reset_sequence(cur, table)
        cur.execute("INSERT INTO benchmark_seed (course_id, attempts) VALUES (%s, %s)", (course_id, attempts))
        log(
            f"{course_id}: seeded {attempts:,} attempts, {reviews:,} reviews, {flags:,} flags"
            f" in {time.perf_counter() - started:.1f} s"
        )
    return course_id, True


def analyze(conn):
    """Fresh statistics and visibility map, so plans and timings are those of a settled table."""
    conn.autocommit = True
    for table in (
        "auth_user",
        "proctoring_results_proctoredexam",
        "proctoring_results_examattempt",
        "proctoring_results_review",
        "proctoring_results_reviewflag",
    ):
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.autocommit = False


def migrate():
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(sizes, log=print):
    """Migrate, then seed each size; returns {N: course_id}."""
    migrate()
    courses = {}
    changed = False
    with psycopg_connect() as conn:
        for attempts in sizes:
            courses[attempts], created = seed_course(conn, attempts, log=log)
            changed = changed or created
        if changed:
            analyze(conn)
    return courses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", default="1000", help="comma-separated sizes, e.g. 1000,100k,1M (default 1000)")
    args = parser.parse_args(argv)
    print(f"database: {database_url()}")
    seed(parse_sizes(args.attempts))


if __name__ == "__main__":
    main()
