"""
``import_edx_proctoring``: edx-proctoring's rows become exams, attempts, reviews and the report's rows.

Most tests build edx-proctoring's tables from the SQL extracted from its own
migrations (fixtures/edx_proctoring_schema.sql). The ``edx_proctoring`` test
runs those migrations for real, with edx-proctoring from PyPI in a virtualenv
of its own (``make test-import`` builds it; CI requires it).
"""

import csv
import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from proctoring_results import api, reports
from proctoring_results.models import AttemptStatusChange, ExamAttempt, ProctoredExam, ReportTask, Review

from . import edx_proctoring_data as edx
from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
EDX_PYTHON = Path(os.environ.get("EDX_PROCTORING_PYTHON", ROOT / ".tox" / "edx-proctoring" / "bin" / "python"))
REQUIRED = os.environ.get("PROCTORING_RESULTS_REQUIRE_SERVICES") == "1"

CODE = "AAAAAAAA-0000-4000-8000-000000000{}".format


pytestmark = pytest.mark.django_db(databases=["default", edx.ALIAS])


@pytest.fixture(scope="module", autouse=True)
def source_database(django_db_setup, tmp_path_factory):
    """
    An SQLite file for edx-proctoring's tables, registered before any test case starts.

    After ``django_db_setup``, so the test run does not make a test database of it.
    """
    with edx.database_alias(tmp_path_factory.mktemp("edx-proctoring") / "edx.sqlite3"):
        yield


@pytest.fixture
def learners():
    """The source's learners exist here under other ids, as in a copied database: match by username."""
    return {name: UserFactory(username=name, email=f"{name}@example.edu") for name in ("ada", "grace", "linus")}


@pytest.fixture
def source():
    """edx-proctoring's tables and rows; the test's transaction on the alias removes them afterwards."""
    edx.create_schema()
    edx.load_rows()


def run(*args, database=edx.ALIAS):
    out = io.StringIO()
    call_command("import_edx_proctoring", "--database", database, *args, stdout=out)
    return out.getvalue()


def report_rows():
    buffer = io.BytesIO()
    api.write_report_csv(edx.COURSE, buffer)
    return list(csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8"))))


def assert_imported(learners):
    """What a course team sees after the import: the seed's statuses, times and time limits."""
    rows = {row["attempt_code"]: row for row in report_rows()}
    assert {code: row["status"] for code, row in rows.items()} == {
        CODE(101): "verified",
        CODE(102): "rejected",
        CODE(103): "created",  # declined: no proctored session was ever started
        CODE(104): "completed",  # ready_to_submit
        CODE(105): "created",  # onboarding_missing
        CODE(106): "timed out",  # expired
        CODE(107): "error",  # a status edx-proctoring never had
    }
    first = rows[CODE(101)]
    assert first["user_email"] == "ada@example.edu"
    assert first["exam_name"] == "Final Exam"
    assert first["allowed_time_limit_mins"] == "90"
    assert first["started_at"].startswith("2026-03-01T09:00:00")
    assert first["completed_at"].startswith("2026-03-01T10:30:00")
    # Never started, and the exam's due date is not in its row (edx-when holds it): unknown, so empty.
    assert rows[CODE(103)]["allowed_time_limit_mins"] == ""
    assert rows[CODE(103)]["started_at"] == rows[CODE(103)]["completed_at"] == ""
    assert rows[CODE(104)]["is_sample_attempt"].lower() == "true"

    suspicious = api.list_attempt_reviews(CODE(102))
    assert [(r.provider, r.provider_status, r.outcome) for r in suspicious] == [
        ("software_secure", "suspicious", "rejected"),
    ]
    assert [(f.rule_code, f.comment, f.start_seconds) for f in suspicious[0].flags] == [
        ("Suspicious", "Second person in the room.", 100.0),
        ("phone", "Looked at a phone.", 300.0),
    ]
    assert suspicious[0].flags[1].severity == "integrity"  # "phone" is one of our rules
    review = Review.objects.get(review_id="edx-proctoring:202")
    assert "videoReviewLink" not in review.raw_payload  # a recording's URL is never copied
    history = AttemptStatusChange.objects.get(attempt__attempt_code=CODE(103))
    assert "declined" in history.reason


def test_import_copies_exams_attempts_reviews_and_comments(source, learners):
    out = run("--match-users-by", "username")

    assert_imported(learners)
    assert "exams            read 3, created 2, updated 0, unchanged 0, skipped 1 (invalid course id: 1)" in out
    assert (
        "attempts         read 9, created 7, updated 0, unchanged 0, skipped 2 "
        "(exam not imported: 1, learner not found: 1)"
    ) in out
    assert "reviews          read 3, created 2, updated 0, unchanged 0, skipped 1 (attempt not imported: 1)" in out
    assert "review comments  read 4, created 3, updated 0, unchanged 0, skipped 1 (attempt not imported: 1)" in out
    assert "Unknown edx-proctoring statuses, imported as 'error': 'weird_status': 1" in out


def test_running_it_again_changes_nothing(source, learners):
    run("--match-users-by", "username")
    before = report_rows()

    out = run("--match-users-by", "username", "--batch-size", "2")

    assert report_rows() == before
    assert ExamAttempt.objects.count() == 7 and Review.objects.count() == 2
    assert "attempts         read 9, created 0, updated 0, unchanged 7" in out
    assert "reviews          read 3, created 0, updated 0, unchanged 2" in out


def test_a_second_run_picks_up_changes_made_in_edx_proctoring(source, learners):
    run("--match-users-by", "username")
    edx.execute("UPDATE proctoring_proctoredexamstudentattempt SET status = 'verified' WHERE id = 104")
    edx.execute("UPDATE proctoring_proctoredexam SET exam_name = 'Final Exam (v2)' WHERE id = 1")

    out = run("--match-users-by", "username")

    rows = {row["attempt_code"]: row for row in report_rows()}
    assert rows[CODE(104)]["status"] == "verified"
    assert rows[CODE(101)]["exam_name"] == "Final Exam (v2)"
    assert "attempts         read 9, created 0, updated 1, unchanged 6" in out
    assert AttemptStatusChange.objects.filter(attempt__attempt_code=CODE(104)).count() == 2


def test_a_review_changed_in_edx_proctoring_is_refreshed_with_its_comments(source, learners):
    run("--match-users-by", "username")
    edx.execute(
        "UPDATE proctoring_proctoredexamsoftwaresecurereview SET review_status = 'Rules Violation' WHERE id = 201"
    )
    edx.execute(
        "INSERT INTO proctoring_proctoredexamstudentattemptcomment (created, modified, review_id, "
        "start_time, stop_time, duration, comment, status) VALUES (%s, %s, 201, 50, 55, 5, 'Phone.', 'phone')",
        (edx.MODIFIED, edx.MODIFIED),
    )

    out = run("--match-users-by", "username")

    (review,) = api.list_attempt_reviews(CODE(101))
    assert review.provider_status == "violation" and review.outcome == "verified"
    assert [f.rule_code for f in review.flags] == ["Rules Violation", "phone"]
    assert "reviews          read 3, created 0, updated 1, unchanged 1" in out
    assert Review.objects.count() == 2


def test_a_review_added_in_edx_proctoring_makes_generate_write_a_new_report(source, learners):
    run("--match-users-by", "username")
    kind = ReportTask.ReportType.PROCTORED_EXAM_RESULTS
    before = reports.course_data_version(edx.COURSE, [], kind)
    edx.execute(
        "INSERT INTO proctoring_proctoredexamsoftwaresecurereview (id, created, modified, attempt_code, "
        "review_status, raw_data, exam_id, is_attempt_active) VALUES (204, %s, %s, %s, 'Clean', '{}', 2, 1)",
        (edx.MODIFIED, edx.MODIFIED, CODE(104)),
    )

    out = run("--match-users-by", "username")

    assert "reviews          read 4, created 1, updated 0, unchanged 2" in out
    # The attempt's own row in edx-proctoring did not change: the new review alone says the course did.
    assert "attempts         read 9, created 0, updated 0, unchanged 7" in out
    assert reports.course_data_version(edx.COURSE, [], kind) != before


def test_resume_continues_an_interrupted_import_without_refreshing(source, learners):
    run("--match-users-by", "username")
    # Simulate an interruption after the first batches: the newest rows never arrived.
    ExamAttempt.objects.filter(attempt_code__in=[CODE(106), CODE(107)]).delete()
    edx.execute("UPDATE proctoring_proctoredexamstudentattempt SET status = 'error' WHERE id = 101")

    out = run("--match-users-by", "username", "--resume", "--batch-size", "3")

    assert "attempts         read 9, created 2, updated 0, unchanged 5" in out
    rows = {row["attempt_code"]: row["status"] for row in report_rows()}
    assert rows[CODE(106)] == "timed out" and rows[CODE(107)] == "error"
    assert rows[CODE(101)] == "verified"  # --resume leaves imported rows alone


def test_dry_run_prints_counts_and_writes_nothing(source, learners):
    out = run("--match-users-by", "username", "--dry-run")

    assert out.startswith("Dry run: nothing was written.")
    assert "attempts         read 9, would create 7" in out
    assert "reviews          read 3, would create 2" in out
    assert ProctoredExam.objects.count() == ExamAttempt.objects.count() == Review.objects.count() == 0


def test_users_are_matched_by_id_by_default(source):
    # Inside the LMS the source is its own database: same users, same ids.
    for user_id, username, email in edx.USERS[:3]:
        UserFactory(id=user_id, username=username, email=email)

    out = run()

    assert "attempts         read 9, created 7" in out
    assert ExamAttempt.objects.get(attempt_code=CODE(102)).user.username == "grace"


def test_status_mapping_can_be_overridden(source, learners):
    run("--match-users-by", "username", "--map-status", "declined=error")

    assert {r["attempt_code"]: r["status"] for r in report_rows()}[CODE(103)] == "error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database", "nope"], "There is no database alias 'nope' in settings.DATABASES."),
        (["--map-status", "declined"], "'declined' is not EDX_STATUS=OUR_STATUS"),
        (["--map-status", "declined=lost"], "'declined=lost' is not EDX_STATUS=OUR_STATUS"),
        (["--batch-size", "0"], "The batch size must be a positive whole number."),
    ],
)
def test_bad_options_fail_with_one_sentence_and_write_nothing(source, learners, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call_command("import_edx_proctoring", "--database", edx.ALIAS, *args, stdout=io.StringIO())
    assert ExamAttempt.objects.count() == 0


def test_a_database_without_edx_proctoring_tables_is_refused():
    with pytest.raises(CommandError, match="has no edx-proctoring table"):
        call_command("import_edx_proctoring", "--database", edx.ALIAS, stdout=io.StringIO())


MIGRATED = "edx_proctoring_migrated"


@pytest.fixture(scope="module")
def migrated_database(django_db_setup, tmp_path_factory):
    """A database whose tables edx-proctoring's own migrations made (edx-proctoring from PyPI, its own venv)."""
    if not EDX_PYTHON.exists():
        message = f"{EDX_PYTHON} is missing: run `make edx-proctoring-venv` (make test-import does)."
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    path = tmp_path_factory.mktemp("edx-proctoring-migrated") / "edx.sqlite3"
    result = subprocess.run(
        [str(EDX_PYTHON), "-m", "django", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT / "tests" / "edx_proctoring_site",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "EDXP_DB": str(path), "DJANGO_SETTINGS_MODULE": "edxp_settings", "PYTHONPATH": "."},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with edx.database_alias(path, MIGRATED):
        yield


@pytest.mark.edx_proctoring
@pytest.mark.django_db(databases=["default", edx.ALIAS, MIGRATED])
def test_import_from_a_database_migrated_by_edx_proctoring_itself(migrated_database, learners):
    """The same rows, in tables made by edx-proctoring's own migrations rather than the extracted SQL."""
    edx.load_rows(MIGRATED)

    out = run("--match-users-by", "username", database=MIGRATED)

    assert "attempts         read 9, created 7" in out
    assert_imported(learners)


def test_the_status_table_in_the_how_to_is_the_mapping_the_import_uses():
    from proctoring_results.importers import STATUS_MAP
    from proctoring_results.statuses import CSV_WORDS

    text = (ROOT / "docs" / "howto" / "import_edx_proctoring.rst").read_text(encoding="utf-8")
    table = text.split("Statuses\n********", 1)[1].split("Disagree", 1)[0]
    by_word = {word: status for status, word in CSV_WORDS.items()}
    documented = {}
    for sources, target in re.findall(r"\* - (.+)\n\s+- (.+)\n", table)[1:]:  # [0] is the header row
        names = re.findall(r"``([a-z_]+)``", sources)
        targets = [by_word[t.strip()] for t in target.split("/")] if names else []
        if len(targets) == len(names) > 1 and "/" in sources:  # "verified / rejected"
            documented.update(zip(names, targets, strict=False))
        else:
            documented.update({name: targets[0] for name in names})
    assert documented == STATUS_MAP
