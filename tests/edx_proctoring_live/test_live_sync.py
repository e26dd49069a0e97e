"""
edx-proctoring 6.1.4 drives; the report follows within seconds, through a real Celery worker on the broker.

Every change goes through edx-proctoring's own API (``edx_proctoring.api``, and
its review callback's ``make_review``), never through this app's API or raw
SQL, and every assertion is on the report a course team would generate right
after (``generate_proctored_exam_results_report --stdout``).
"""

import io
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from edx_proctoring import api as edx
from edx_proctoring.backends.mock import MockProctoringBackendProvider
from edx_proctoring.models import ProctoredExamStudentAttempt
from edx_proctoring.views import BaseReviewCallback

from example import celery_app
from proctoring_results.models import AttemptStatusChange, EdxProctoringSync
from proctoring_results.openedx import sync

from ..factories import UserFactory
from .conftest import COURSE, SETTINGS, eventually, report, rows_by_code

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FINAL = "block-v1:edX+Live+2026+type@sequential+block@final"


class ReviewingBackend(MockProctoringBackendProvider):
    """edx-proctoring's mock provider, answering its review callback the way the REST providers' payload reads."""

    def on_review_callback(self, attempt, payload):
        return {"status": payload["status"], "comments": payload.get("comments", []), "payload": {}}


def post_review(attempt_id, status, comments=(), reviewed_by=None):
    """The provider posts a review: edx-proctoring's review callback stores it and moves the attempt."""
    attempt = edx.get_exam_attempt_by_id(attempt_id)
    data = {"status": status, "comments": list(comments)}
    if reviewed_by:
        data["reviewed_by"] = reviewed_by.email
    BaseReviewCallback().make_review(attempt, data, backend=ReviewingBackend())


def new_exam(name="Final Exam", minutes=90, content_id=FINAL):
    """An exam due in a month: the import's mapping then knows an unstarted attempt's allowed time."""
    due = timezone.now() + timedelta(days=30)
    return edx.create_exam(COURSE, content_id, name, minutes, due_date=due, is_proctored=True, backend="mock")


def new_attempt(exam_id, learner=None):
    learner = learner or UserFactory()
    attempt_id = edx.create_exam_attempt(exam_id, learner.id)
    return attempt_id, edx.get_exam_attempt_by_id(attempt_id)["attempt_code"], learner


def submit(attempt_id):
    for status in ("ready_to_start", "started", "submitted"):
        edx.update_attempt_status(attempt_id, status)


@contextmanager
def broker_down():
    """This process's Celery app points at a port nothing listens on, as when the broker is down."""

    def fresh_connections():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    good = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    # The write URL too: publishing uses it, and it may have been read (and kept) from the broker URL.
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = "redis://127.0.0.1:9/0"
    fresh_connections()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_write_url = good
        fresh_connections()


def rows():
    try:
        return rows_by_code()
    except CommandError:  # no exam of the course here yet
        return {}


def status_of(code):
    row = rows().get(code)
    return row and row["status"]


def test_a_new_attempt_is_in_the_report(worker):
    exam_id = new_exam()
    _attempt_id, code, learner = new_attempt(exam_id)

    row = eventually(lambda: rows().get(code), "the new attempt in the report")
    assert (row["user_email"], row["exam_name"], row["allowed_time_limit_mins"], row["status"]) == (
        learner.email,
        "Final Exam",
        "90",
        "created",
    )
    assert row["is_sample_attempt"].lower() == "false"


def test_statuses_through_verified_and_rejected_and_a_second_review(worker):
    staff = UserFactory(is_staff=True)
    exam_id = new_exam()
    passed_id, passed, _ = new_attempt(exam_id)
    failed_id, failed, _ = new_attempt(exam_id)

    edx.update_attempt_status(passed_id, "started")
    eventually(lambda: status_of(passed) == "started", "started")
    assert rows()[passed]["started_at"]
    submit(failed_id)
    edx.update_attempt_status(passed_id, "submitted")
    eventually(lambda: status_of(passed) == "submitted", "submitted")
    assert rows()[passed]["completed_at"]

    post_review(passed_id, "passed")
    post_review(
        failed_id,
        "suspicious",
        comments=[{"status": "Suspicious", "comment": "A second person.", "start": 10, "stop": 20, "duration": 10}],
    )
    eventually(lambda: status_of(passed) == "verified", "verified")
    eventually(lambda: status_of(failed) == "second review required", "second review required")

    # The second review, by a member of staff, decides it.
    post_review(failed_id, "suspicious", reviewed_by=staff)
    eventually(lambda: status_of(failed) == "rejected", "rejected after the second review")
    assert edx.get_exam_attempt_by_id(failed_id)["status"] == "rejected"


def test_an_allowance_changes_the_allowed_time(worker):
    exam_id = new_exam(minutes=60)
    _attempt_id, code, learner = new_attempt(exam_id)
    eventually(lambda: rows().get(code, {}).get("allowed_time_limit_mins") == "60", "60 minutes")

    edx.add_allowance_for_user(exam_id, learner.username, "additional_time_granted", "30")
    eventually(lambda: rows()[code]["allowed_time_limit_mins"] == "90", "60 + 30 minutes")

    edx.remove_allowance_for_user(exam_id, learner.id, "additional_time_granted")
    eventually(lambda: rows()[code]["allowed_time_limit_mins"] == "60", "back to 60 minutes")


def test_an_exam_renamed(worker):
    exam_id = new_exam(name="Midterm")
    _attempt_id, code, _ = new_attempt(exam_id)
    eventually(lambda: rows().get(code, {}).get("exam_name") == "Midterm", "the exam's name")

    edx.update_exam(exam_id, exam_name="Midterm (revised)")
    eventually(lambda: rows()[code]["exam_name"] == "Midterm (revised)", "the exam's new name")


def test_an_attempt_removed_leaves_the_report_and_its_history_stays(worker):
    staff = UserFactory(is_staff=True)
    exam_id = new_exam()
    removed_id, removed, _ = new_attempt(exam_id)
    _kept_id, kept, _ = new_attempt(exam_id)
    edx.update_attempt_status(removed_id, "started")
    eventually(lambda: status_of(removed) == "started" and kept in rows(), "both attempts")

    edx.remove_exam_attempt(removed_id, staff)
    eventually(lambda: removed not in rows(), "the removed attempt gone from the report")
    assert kept in rows()
    history = AttemptStatusChange.objects.filter(attempt_code=removed).order_by("id")
    assert [(h.to_status, "Removed" in h.reason) for h in history][-1] == ("started", True)
    assert history.count() >= 2  # what happened before the removal is still there


def test_200_changes_in_a_burst(worker):
    exam_id = new_exam()
    attempts = [new_attempt(exam_id) for _ in range(50)]
    for attempt_id, _code, _learner in attempts:
        submit(attempt_id)  # 3 changes each: 150, plus the 50 creations

    expected = {code: "submitted" for _id, code, _l in attempts}
    eventually(lambda: {c: r["status"] for c, r in rows().items()} == expected, "all 50 attempts submitted", timeout=90)


def test_changes_made_while_the_worker_is_stopped_arrive_when_it_starts(celery_worker_factory):
    worker = celery_worker_factory(DJANGO_SETTINGS_MODULE=SETTINGS)
    attempt_id, code, _ = new_attempt(new_exam())
    eventually(lambda: status_of(code) == "created", "created")

    worker.kill()
    submit(attempt_id)
    assert status_of(code) == "created"  # nothing applied them yet: they wait on the broker

    celery_worker_factory(DJANGO_SETTINGS_MODULE=SETTINGS)
    eventually(lambda: status_of(code) == "submitted", "the queued changes, once a worker runs")


def test_changes_lost_while_the_worker_is_stopped_are_repaired_by_the_reconciliation(celery_worker_factory):
    worker = celery_worker_factory(DJANGO_SETTINGS_MODULE=SETTINGS)
    attempt_id, code, _ = new_attempt(new_exam())
    eventually(lambda: status_of(code) == "created", "created")
    call_command("reconcile_edx_proctoring", "--full", stdout=io.StringIO())  # the watermark starts here

    worker.kill()
    submit(attempt_id)
    assert sync.publisher.flush()
    celery_app.control.purge()  # and the messages are lost, as when a broker without persistence restarts
    worker = celery_worker_factory(DJANGO_SETTINGS_MODULE=SETTINGS)
    assert status_of(code) == "created"

    before = EdxProctoringSync.objects.get().last_pass_finished_at
    celery_app.send_task(sync.RECONCILE_TASK)  # what Celery beat sends every few minutes
    eventually(lambda: status_of(code) == "submitted", "the reconciliation's repair")
    state = eventually(
        lambda: EdxProctoringSync.objects.filter(last_pass_finished_at__gt=before).first(), "the pass's figures"
    )
    assert state.last_pass_repaired >= 1 and state.behind_seconds > 0, worker.log()[-3000:]
    out = io.StringIO()
    call_command("reconcile_edx_proctoring", "--status", stdout=out)
    assert f"repaired {state.last_pass_repaired}, behind by {state.behind_seconds:.1f} s" in out.getvalue()


def test_a_queryset_update_behind_the_signals_back_is_repaired(worker):
    exam_id = new_exam()
    attempt_id, code, _ = new_attempt(exam_id)
    other_id, other, _ = new_attempt(exam_id)
    eventually(lambda: status_of(code) == "created" and status_of(other) == "created", "created")
    sync.reconcile(full=True)

    # One update() that moves edx-proctoring's modified time, one that does not: no signal for either.
    ProctoredExamStudentAttempt.objects.filter(pk=attempt_id).update(status="error", modified=timezone.now())
    ProctoredExamStudentAttempt.objects.filter(pk=other_id).update(status="error")
    assert status_of(code) == status_of(other) == "created"

    celery_app.send_task(sync.RECONCILE_TASK)  # incremental: the modified row
    eventually(lambda: status_of(code) == "error", "the incremental pass's repair")
    celery_app.send_task(sync.RECONCILE_TASK, kwargs={"full": True})  # full: every row compared
    eventually(lambda: status_of(other) == "error", "the full pass's repair")


def test_broker_down_during_the_learners_update_the_change_arrives_later(worker, caplog):
    exam_id = new_exam()
    attempt_id, code, _ = new_attempt(exam_id)
    eventually(lambda: status_of(code) == "created", "created")
    sync.reconcile(full=True)

    with broker_down(), caplog.at_level("WARNING", logger="proctoring_results.openedx.sync"):
        edx.update_attempt_status(attempt_id, "started")  # the learner's call succeeds
        assert sync.publisher.flush()  # the publishing thread tried, and gave the change up to reconciliation
    assert edx.get_exam_attempt_by_id(attempt_id)["status"] == "started"
    assert "1 change(s) not sent" in caplog.text and "the reconciliation will apply them" in caplog.text
    assert status_of(code) == "created"

    celery_app.send_task(sync.RECONCILE_TASK)
    eventually(lambda: status_of(code) == "started", "the change, after the broker is back")


@pytest.mark.parametrize("broken", ["change_of", "_queue_put"])
def test_a_bug_in_the_receivers_never_reaches_the_learner_and_reconciliation_repairs(worker, monkeypatch, broken):
    attempt_id, code, _ = new_attempt(new_exam())
    eventually(lambda: status_of(code) == "created", "created")
    sync.reconcile(full=True)

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug in this app")

    if broken == "change_of":  # in the receiver, inside edx-proctoring's transaction
        monkeypatch.setattr(sync, "change_of", bug)
    else:  # in the on_commit callback, after edx-proctoring committed
        monkeypatch.setattr(sync.publisher, "put", bug)
    edx.update_attempt_status(attempt_id, "started")  # the learner's call succeeds, and is committed
    monkeypatch.undo()
    assert ProctoredExamStudentAttempt.objects.get(pk=attempt_id).status == "started"
    assert status_of(code) == "created"

    celery_app.send_task(sync.RECONCILE_TASK)
    eventually(lambda: status_of(code) == "started", "the reconciliation's repair")


def test_the_report_command_output_is_the_api_report():
    """The helper reads the same CSV the command prints (guards the helper, not the sync)."""
    exam_id = new_exam()
    new_attempt(exam_id)
    sync.reconcile(full=True)
    assert len(report(COURSE)) == 1


def test_the_same_change_twice_writes_once_and_a_late_one_never_goes_back(worker):
    attempt_id, code, _ = new_attempt(new_exam())
    submit(attempt_id)
    eventually(lambda: status_of(code) == "submitted", "submitted")
    history = AttemptStatusChange.objects.filter(attempt__attempt_code=code).count()

    change = ["proctoring_proctoredexamstudentattempt", attempt_id]
    summary, _removed = sync.apply_changes([tuple(change)])  # the same change, again
    attempts = next(c for c in summary.counts if c.kind == "attempts")
    assert (attempts.read, attempts.created, attempts.updated) == (1, 0, 0)

    # The message of the attempt's creation, delivered late by a redelivery: it re-reads the row of now.
    celery_app.send_task(sync.SYNC_TASK, args=[[change]])
    edx.update_attempt_status(attempt_id, "error")
    eventually(lambda: status_of(code) == "error", "the newest status")
    celery_app.send_task(sync.SYNC_TASK, args=[[change]])
    # One worker takes messages in order: once a later attempt shows, the late message was applied.
    _marker_id, marker, _ = new_attempt(exam_of(attempt_id))
    eventually(lambda: marker in rows(), "a change sent after the late one")
    assert status_of(code) == "error"
    assert AttemptStatusChange.objects.filter(attempt__attempt_code=code).count() == history + 1


def exam_of(attempt_id):
    return edx.get_exam_attempt_by_id(attempt_id)["proctored_exam"]["id"]


def test_one_reconciliation_pass_at_a_time():
    new_attempt(new_exam())
    sync.reconcile(full=True)
    EdxProctoringSync.objects.update(running_since=timezone.now())  # a pass is under way elsewhere

    assert sync.reconcile() is None
    with pytest.raises(CommandError, match="^Another reconciliation pass is running"):
        call_command("reconcile_edx_proctoring")

    # A claim older than an hour is a pass that died with its worker: the next one runs.
    EdxProctoringSync.objects.update(running_since=timezone.now() - sync.STALE_PASS - timedelta(minutes=1))
    out = io.StringIO()
    call_command("reconcile_edx_proctoring", stdout=out)
    assert out.getvalue().startswith("Last pass (incremental) finished")
    assert EdxProctoringSync.objects.get().running_since is None
