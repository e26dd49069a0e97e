"""The PII guard itself: it must catch a leak, or every other test's silence proves nothing."""

import logging

import pytest

from tests import pii_guard
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

log = logging.getLogger("proctoring_results.tests")


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_an_email_in_a_log_record_is_caught_at_any_level(level):
    user = UserFactory(username="leaky", email="Leaky.Learner@Example.edu", first_name="Philomena")
    with pii_guard.expect_leaks() as leaks:
        log.log(level, "attempt of %s", user.email.lower())  # lower-cased: still the same email
        log.log(level, "hello %s", user.first_name)
        log.log(level, "user id %s", user.pk)  # ids are fine
    assert leaks.caught == ["proctoring_results.tests", "proctoring_results.tests"]


def test_a_comment_in_a_traceback_or_extra_is_caught():
    pii_guard.register("Learner held a phone under the desk")
    with pii_guard.expect_leaks() as leaks:
        try:
            raise ValueError("flag: Learner held a phone under the desk")
        except ValueError:
            log.exception("review failed")
        log.warning("review stored", extra={"comment": "Learner held a phone under the desk"})
    assert len(leaks.caught) == 2


def test_a_task_message_with_an_email_is_caught():
    from celery import Celery
    from celery.signals import before_task_publish

    user = UserFactory(username="queued", email="queued.learner@example.edu")
    with pii_guard.expect_leaks():
        before_task_publish.send(sender="proctoring_results.tasks.x", body=((user.email,), {}, {}), headers={})
        assert pii_guard.guard.leaks == []  # recorded only outside expect_leaks
    before_task_publish.send(sender="proctoring_results.tasks.x", body=((user.pk,), {}, {}), headers={})
    assert pii_guard.guard.leaks == []
    # Outside expect_leaks the leak is recorded, and would fail this test at teardown.
    before_task_publish.send(sender="proctoring_results.tasks.x", body=((), {"to": user.email}, {}), headers={})
    assert pii_guard.guard.leaks == ["Celery task message for 'proctoring_results.tasks.x'"]
    pii_guard.guard.leaks.clear()
    assert Celery  # the real signal, not a stand-in


def test_a_worker_log_with_an_email_is_caught(tmp_path, request):
    """Worker processes log to files: the guard reads those of the test at its end."""
    user = UserFactory(username="workerlog", email="worker.log.learner@example.edu")
    (tmp_path / "worker-0.log").write_text(f"[INFO] Task succeeded for {user.pk}\n")
    pii_guard._check_worker_logs(request)
    assert pii_guard.guard.leaks == []
    (tmp_path / "worker-1.log").write_text(f"[ERROR] could not mail {user.email}\n")
    pii_guard._check_worker_logs(request)
    assert pii_guard.guard.leaks == ["the Celery worker's log worker-1.log"]
    pii_guard.guard.leaks.clear()
    (tmp_path / "worker-1.log").unlink()


def test_short_or_empty_values_are_not_markers():
    pii_guard.register("", "Li", None)
    assert pii_guard.find_marker("Li said hello") is None


def cases_tried():
    """The guard's own checks, for docs/security.rst (category 6)."""
    return 4 + 1 + 1 + 1 + 1
