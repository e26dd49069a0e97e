"""
Settings for proctoring_results, read from one namespaced dict.

A host project sets, for example::

    PROCTORING_RESULTS = {
        "LINK_EXPIRY_SECONDS": 300,
        "PERMISSION_CHECK": "myproject.roles.can_see_course_reports",
    }

and code reads ``app_settings.LINK_EXPIRY_SECONDS``. Unknown keys raise
``ImproperlyConfigured`` (a typo must not silently fall back to a default), and
every read checks it serves the dict in force, so ``override_settings`` works in tests.
The pattern follows Django REST framework's ``api_settings``.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

SETTING_NAME = "PROCTORING_RESULTS"

#: Every key, its default, and (in docs/configuration.rst) what it means.
DEFAULTS = {
    # Callable ``(user, course_key) -> bool``: may this user see this course's results?
    # An LMS points it at its own course roles (see permissions.py).
    "PERMISSION_CHECK": "proctoring_results.permissions.is_course_staff",
    # Callable ``(course_key) -> str | None``: the course's display name, shown above its id on
    # the Data Download page. None shows the id alone; Open edX's plugin settings name the
    # course overview's display name (``openedx/courses.py``).
    "COURSE_DISPLAY_NAME": None,
    # Signed download links, and the S3 presigned URLs behind them, live this long.
    "LINK_EXPIRY_SECONDS": 300,
    # Alias in Django's STORAGES for report files; local file system when absent.
    "STORAGE_ALIAS": "proctoring_results",
    # Reports older than this are deleted by `delete_expired_proctored_exam_results_reports`.
    # None keeps them forever.
    "REPORT_RETENTION_DAYS": 90,
    # The report's columns: "seed" (the documented 8, the default) or "lms" (the LMS's own
    # Proctored Exam Results Report's header and cells, for scripts written against it).
    "REPORT_COLUMN_PROFILE": "seed",
    # Extra report columns, opt-in, by name (the list: reports/specs/proctored_exam_results_report.py).
    "REPORT_EXTRA_COLUMNS": [],
    # A task still queued or running after this long is failed by `fail_stale_report_tasks`.
    "REPORT_TASK_TIME_LIMIT_SECONDS": 3600,
    # A running report task proves it is alive this often (a thread beside the report, and every
    # progress write), even while one long query runs.
    "REPORT_HEARTBEAT_SECONDS": 10,
    # A running task silent for longer is taken for dead by the periodic check (`fail_stale_report_tasks`):
    # queued again once, failed with a message if its worker dies again. Keep it several heartbeats long.
    "REPORT_HEARTBEAT_TIMEOUT_SECONDS": 90,
    # Generate answers with the newest report when nothing in the course changed since it; a user may
    # ask for a new one anyway ("force") unless this is False.
    "REPORT_ALLOW_FORCE": True,
    # New reports of one course per rolling hour; once reached Generate answers 429. None: no cap.
    "REPORT_MAX_PER_HOUR": 12,
    # How many times a running report writes its progress (after each 1/n of its rows), whatever
    # the course's size: the task's queries stay constant in the number of attempts.
    "REPORT_PROGRESS_UPDATES": 20,
    # Celery queue for report tasks; None uses the worker's default queue.
    "REPORT_CELERY_QUEUE": None,
    # Proctoring providers allowed to post reviews: {"name": {"secret": "..."}}.
    "PROVIDERS": {},
    # A signed review callback is refused when its timestamp is further than this from now.
    "SIGNATURE_TOLERANCE_SECONDS": 300,
    # Review callbacks larger than this are refused before they are parsed.
    "MAX_REVIEW_BODY_BYTES": 256 * 1024,
    # Extra or re-graded Online Proctoring Rules: {"code": {"description": "...", "severity": "integrity"}}.
    "RULES": {},
    # When True an Unsatisfactory review becomes second_review_required instead of rejected.
    "SECOND_REVIEW_ON_FAILURE": False,
    # Inside an LMS with edx-proctoring: follow every change to its exams, attempts, reviews,
    # review comments and allowances into this app's tables (openedx/sync.py). False stops the
    # receivers; the reconciliation still runs while its beat entry is there.
    "EDX_PROCTORING_SYNC": True,
    # Celery queue for the sync and reconciliation tasks; None uses the worker's default queue.
    "EDX_PROCTORING_SYNC_QUEUE": None,
    # Seconds between incremental reconciliation passes (the plugin's Celery beat entry);
    # None or 0 adds no beat entry. Read when the LMS loads its plugin settings.
    "EDX_PROCTORING_RECONCILE_SECONDS": 300,
    # Each incremental pass re-reads rows modified this long before the last pass's start,
    # so a transaction that committed late is not missed.
    "EDX_PROCTORING_RECONCILE_OVERLAP_SECONDS": 120,
    # Hours between full passes (every row compared; catches update() and raw SQL that left
    # edx-proctoring's modified time alone); None or 0 never runs one from beat.
    "EDX_PROCTORING_FULL_RECONCILE_HOURS": 24,
    # Rows read and written per transaction by a reconciliation pass.
    "EDX_PROCTORING_RECONCILE_BATCH_SIZE": 500,
    # Content-Security-Policy of the app's pages and API (security.py); "{nonce}" is the
    # per-request nonce for an inline <style>/<script>. None leaves the header to the host.
    "CONTENT_SECURITY_POLICY": (
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    # Inside an Open edX LMS: this app's section in the legacy instructor dashboard's Data
    # Download tab, and its tab in the new instructor dashboard (openedx/filters.py).
    # False turns one off at once, without a restart of the filter configuration.
    "OPENEDX_DASHBOARD_SECTION": True,
    "OPENEDX_DASHBOARD_TAB": True,
}

#: Keys whose values are dotted paths, imported on first use.
IMPORT_STRINGS = {"PERMISSION_CHECK", "COURSE_DISPLAY_NAME"}


_NOT_SET = {}


class AppSettings:
    """
    Attribute access to ``settings.PROCTORING_RESULTS`` merged over ``DEFAULTS``.

    Resolved values are cached for the very dict object they came from, and
    the cache is replaced in one assignment. Any thread therefore sees the
    settings in force now: a cache cleared only by ``setting_changed`` could be
    refilled from the old dict by a thread (a live server's, in tests) reading
    during the change, and then stayed stale for the rest of the process.
    """

    def __init__(self, defaults=None, import_strings=None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self._cache = (None, {})

    def _current(self):
        value = getattr(settings, SETTING_NAME, None)
        if value is None:
            value = _NOT_SET
        source, resolved = self._cache
        if value is not source:
            self._validate(value)
            resolved = {}
            self._cache = (value, resolved)
        return value, resolved

    def _validate(self, value):
        if not isinstance(value, dict):
            raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict.")
        unknown = sorted(set(value) - set(self.defaults))
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown {SETTING_NAME} setting(s): {', '.join(unknown)}. "
                f"Known settings: {', '.join(sorted(self.defaults))}."
            )

    @property
    def user_settings(self):
        return self._current()[0]

    def __getattr__(self, attr):
        if attr.startswith("_") or attr not in self.defaults:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: '{attr}'")
        user_settings, resolved = self._current()
        if attr in resolved:
            return resolved[attr]
        value = user_settings.get(attr, self.defaults[attr])
        if attr in self.import_strings and isinstance(value, str):
            try:
                value = import_string(value)
            except ImportError as exc:
                raise ImproperlyConfigured(f"{SETTING_NAME}['{attr}'] = '{value}' cannot be imported: {exc}") from exc
        resolved[attr] = value
        return value


app_settings = AppSettings()
