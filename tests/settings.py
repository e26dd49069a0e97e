"""
Test settings: the example host project, with fast password hashing and
throw-away directories. ``DATABASE_URL`` / ``CELERY_BROKER_URL`` /
``PROCTORING_RESULTS_S3_ENDPOINT_URL`` switch on the real services, as in the
example (``.ci/run`` sets them).
"""

import os
import tempfile

os.environ.setdefault("EXAMPLE_VAR_DIR", tempfile.mkdtemp(prefix="proctoring-results-tests-"))

from example.settings import *  # noqa: F403  (the example site, then what tests change)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A Celery worker process (tests/services.py) must open the same test database:
# on SQLite that means a file, not the in-memory default.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(
        os.environ["EXAMPLE_VAR_DIR"],
        "test-db.sqlite3",
    )

# A worker started with this variable stores reports slowly, so a test can kill it mid-report.
if os.environ.get("PROCTORING_RESULTS_TEST_STORAGE_DELAY"):
    STORAGES = {
        **STORAGES,
        "proctoring_results": {
            "BACKEND": "tests.slow_storage.SlowFileSystemStorage",
            "OPTIONS": {"location": os.path.join(os.environ["EXAMPLE_VAR_DIR"], "reports")},
        },
    }

# A worker started with this variable beats every second and is taken for dead after four, and its
# beat checks every second: the crash-recovery tests run the real path in seconds, not minutes.
if os.environ.get("PROCTORING_RESULTS_TEST_FAST_RECOVERY"):
    PROCTORING_RESULTS = {
        **PROCTORING_RESULTS,
        "REPORT_HEARTBEAT_SECONDS": 1,
        "REPORT_HEARTBEAT_TIMEOUT_SECONDS": 4,
    }
    CELERY_BEAT_SCHEDULE["proctoring-results-fail-stale-report-tasks"]["schedule"] = 1.0
