"""
PII guard: a pytest plugin that fails any test whose log records or Celery task
messages carry personal data.

The app holds learners' emails, names and reviewers' comments about them
(docs/security.rst): none of it may reach a log line, a task message or
an error message. Rather than trusting each module's author, every test in the
suite runs under this guard:

- the personal data a test creates is learnt as it is saved: each user's
  email, first and last name, each review flag's comment and each review's
  reviewer (``post_save`` signals), plus anything a test registers with
  ``pii_guard.register(text)``;
- a handler on the root logger sees every record of the test (the app's own
  loggers are opened down to DEBUG for the test's length), and the message,
  its arguments and any formatted traceback are searched for those markers;
- Celery's ``before_task_publish`` signal shows every task message before it
  reaches the broker; its body and headers are searched the same way;
- the log files of Celery worker processes a test started (``tests/services.py``
  writes them as ``worker-*.log`` in the test's ``tmp_path``) are searched at
  the end of the test.

A hit fails the test with the logger name and where the marker was found, but
never prints the marker itself. A test that must provoke such a record on
purpose (to prove the guard works) uses ``pii_guard.expect_leaks()``.
"""

import logging
import threading

import pytest

#: Markers shorter than this are too likely to occur by chance ("a", "Li").
MIN_MARKER_LENGTH = 5

#: Loggers opened down to DEBUG during every test, so debug lines are checked too.
WATCHED_LOGGERS = ("proctoring_results", "example", "celery", "django.request", "django.security")


class PIILeak(AssertionError):
    """A log record or task message contained a known personal-data marker."""


class _Guard:
    def __init__(self):
        self.lock = threading.Lock()
        self.markers = set()
        self.leaks = []
        self.expecting = 0
        self.records_seen = 0
        self.messages_seen = 0

    def reset(self):
        with self.lock:
            self.markers = set()
            self.leaks = []
            self.expecting = 0
            self.records_seen = 0
            self.messages_seen = 0

    def register(self, *texts):
        with self.lock:
            for text in texts:
                if isinstance(text, str) and len(text.strip()) >= MIN_MARKER_LENGTH:
                    self.markers.add(text.strip())
                    # The lower-cased form too: an email normalised before logging is still an email.
                    self.markers.add(text.strip().lower())

    def find(self, text):
        if not text:
            return None
        lowered = text.lower()
        with self.lock:
            markers = list(self.markers)
        for marker in markers:
            if marker.lower() in lowered:
                return marker
        return None

    def report(self, where):
        with self.lock:
            if not self.expecting:
                self.leaks.append(where)


guard = _Guard()


def register(*texts):
    """Tell the guard that these strings are personal data for the current test."""
    guard.register(*texts)


def markers():
    """The personal-data markers known so far in the current test (for scenario tests)."""
    with guard.lock:
        return set(guard.markers)


def find_marker(text):
    """The first known marker in ``text``, or None; scenario tests assert on pages and files with it."""
    return guard.find(text)


class expect_leaks:
    """Context manager: leaks inside it are recorded by ``caught`` instead of failing the test."""

    def __enter__(self):
        with guard.lock:
            guard.expecting += 1
            self._start = len(guard.leaks)
        self.caught = []
        self._handler = _RecordingHandler(self.caught)
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self._handler)
        with guard.lock:
            guard.expecting -= 1
        return False


class _RecordingHandler(logging.Handler):
    def __init__(self, sink):
        super().__init__(level=logging.NOTSET)
        self.sink = sink

    def emit(self, record):
        if _record_marker(record):
            self.sink.append(record.name)


def _record_text(record):
    parts = [str(record.msg)]
    try:
        parts.append(record.getMessage())
    except Exception:  # noqa: BLE001  (a malformed record is not our concern here)
        pass
    if record.args:
        parts.append(repr(record.args))
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    # Structured extras (``logger.info("...", extra={...})``) are personal data too.
    standard = logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    parts.extend(repr(value) for key, value in record.__dict__.items() if key not in standard)
    return "\n".join(parts)


def _record_marker(record):
    return guard.find(_record_text(record))


class _GuardHandler(logging.Handler):
    """Searches every record of the test for known markers."""

    def __init__(self):
        super().__init__(level=logging.NOTSET)

    def emit(self, record):
        guard.records_seen += 1
        if _record_marker(record):
            guard.report(
                f"log record of logger '{record.name}' at {record.levelname} ({record.pathname}:{record.lineno})"
            )


def _on_task_publish(sender=None, body=None, headers=None, exchange=None, routing_key=None, **kwargs):
    guard.messages_seen += 1
    if guard.find(repr(body)) or guard.find(repr(headers)):
        guard.report(f"Celery task message for '{sender}'")


def _learn_user(sender, instance, **kwargs):
    guard.register(
        getattr(instance, "email", ""), getattr(instance, "first_name", ""), getattr(instance, "last_name", "")
    )
    get_full_name = getattr(instance, "get_full_name", None)
    if callable(get_full_name):
        guard.register(get_full_name())


def _learn_flag(sender, instance, **kwargs):
    guard.register(instance.comment)


def _learn_review(sender, instance, **kwargs):
    guard.register(instance.reviewer)


_connected = False


def _connect_signals():
    """Connect once per session (after Django is set up)."""
    global _connected  # noqa: PLW0603  (one connection per test session, whatever test comes first)
    if _connected:
        return
    from celery.signals import before_task_publish
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save

    from proctoring_results.models import Review, ReviewFlag

    post_save.connect(_learn_user, sender=get_user_model(), weak=False, dispatch_uid="pii_guard_user")
    post_save.connect(_learn_flag, sender=ReviewFlag, weak=False, dispatch_uid="pii_guard_flag")
    post_save.connect(_learn_review, sender=Review, weak=False, dispatch_uid="pii_guard_review")
    before_task_publish.connect(_on_task_publish, weak=False, dispatch_uid="pii_guard_publish")
    _connected = True


def _check_worker_logs(request):
    """Celery worker processes log to files (tests/services.py): search those of this test too."""
    tmp_path = getattr(request.node, "funcargs", {}).get("tmp_path")
    if tmp_path is None:
        return
    for log_file in sorted(tmp_path.glob("worker-*.log")):
        if guard.find(log_file.read_text(errors="replace")):
            guard.report(f"the Celery worker's log {log_file.name}")


@pytest.fixture(autouse=True)
def pii_guard(request):
    """Autouse: fail the test if a log record or task message carried personal data."""
    _connect_signals()
    guard.reset()
    handler = _GuardHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    saved_levels = {}
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
    try:
        yield guard
    finally:
        root.removeHandler(handler)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
    _check_worker_logs(request)
    leaks = list(guard.leaks)
    guard.reset()
    if leaks:
        raise PIILeak(
            "Personal data (an email, a name or a review comment) reached "
            + "; ".join(sorted(set(leaks)))
            + ". Log ids, never people."
        )
