"""
Settings of the example host project: the demo, and the test suite's host.

Embedded defaults (SQLite, a file-system Celery broker, local file storage)
need no server. Environment variables switch on the real components:

- ``DATABASE_URL``: e.g. ``postgres://postgres@127.0.0.1:5432/test`` or
  ``mysql://root@127.0.0.1:3306/pr_mysql`` (MySQL 8 / MariaDB 10.5+, as Open edX runs)
- ``CELERY_BROKER_URL``: e.g. ``redis://127.0.0.1:6379/0``
- ``PROCTORING_RESULTS_S3_ENDPOINT_URL`` (+ bucket/keys): S3-compatible report storage
"""

import os
from pathlib import Path

import dj_database_url
import django

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EXAMPLE_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    # First, so its ``runserver`` (a longer listen queue for the demo) overrides staticfiles' one.
    "example",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "proctoring_results",
    "drf_spectacular",  # the REST API's OpenAPI schema at api/proctoring-results/v1/schema/
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # No caching, nosniff, same-origin referrers and a CSP on the app's own pages (docs/security.rst).
    "proctoring_results.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'example.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    ),
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default holds up under a demo's concurrency (simultaneous review
    # callbacks and Generate clicks, a worker writing progress): the WAL journal lets
    # readers and the one writer work at once; BEGIN IMMEDIATE takes the write lock
    # when a transaction starts, so a writer waits its turn (up to ``timeout``
    # seconds) instead of failing with "database is locked" when a reader turns
    # writer. Django 5.1 reads ``transaction_mode`` and ``init_command``; on 4.2 the
    # example's backend reads them (docs/operations.rst, "SQLite").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
    if django.VERSION < (5, 1):
        DATABASES["default"]["ENGINE"] = "example.db.sqlite3"

if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 so learners' names, emails and exam names in any script survive (MySQL's
    # "utf8" is 3 bytes a character); strict mode so a too-long value is an error, not
    # silently cut (Django's check mysql.W002). The test database gets the same charset.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
    )
    DATABASES["default"].setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Signing out returns to the example's home page, not the admin's "logged out" page.
LOGOUT_REDIRECT_URL = "/"

# Report files: local file system by default, S3-compatible storage when configured.
_S3_ENDPOINT = os.environ.get("PROCTORING_RESULTS_S3_ENDPOINT_URL")


def _report_upload_config():
    """
    Multipart uploads in 8 MiB parts.

    Reports are uploaded part by part while they are written, about two parts
    in memory (``storage.report_upload``); anything else saved through this
    storage goes one part at a time from the caller's thread, where boto3's
    default reads up to ten parts ahead (docs/operations.rst).
    """
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, use_threads=False)


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "proctoring_results": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ.get("PROCTORING_RESULTS_S3_BUCKET", "proctoring-results"),
                "endpoint_url": _S3_ENDPOINT,
                "access_key": os.environ.get("PROCTORING_RESULTS_S3_ACCESS_KEY", "testing"),
                "secret_key": os.environ.get("PROCTORING_RESULTS_S3_SECRET_KEY", "testing"),
                "region_name": os.environ.get("PROCTORING_RESULTS_S3_REGION", "us-east-1"),
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
                "location": "proctoring-results",
                "transfer_config": _report_upload_config(),
            },
        }
        if _S3_ENDPOINT
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            # Owner-only files: reports hold personal data (docs/security.rst).
            "OPTIONS": {
                "location": VAR_DIR / "reports",
                "base_url": None,
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        }
    ),
}

# Celery: a broker that needs no server for the demo; Redis in production and CI.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        # The broker is a folder the worker lists: every 0.1 s rather than every second, so a
        # demo's report starts at once, and a burst of 50 is done in seconds, not a minute.
        "polling_interval": 0.1,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis hands an unacknowledged message (acks_late) to another worker after this long. Recovery
    # does not wait for it: the periodic check below requeues a dead run within about two minutes,
    # and any later copy of the message is a no-op (reports.claim_task). Five minutes bounds how long
    # messages a dead worker had reserved but not started wait (docs/operations.rst).
    else {"visibility_timeout": 300}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("broker", "broker-processed", "broker-control"):
        (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic check (run `celery beat`, or the worker with --beat): queue again, once, a report task
# whose worker died (no heartbeat for REPORT_HEARTBEAT_TIMEOUT_SECONDS, 90 s), and fail tasks stuck
# past REPORT_TASK_TIME_LIMIT_SECONDS. Every 20 s, so a dead run is recovered within two minutes.
CELERY_BEAT_SCHEDULE = {
    "proctoring-results-fail-stale-report-tasks": {
        "task": "proctoring_results.fail_stale_report_tasks",
        "schedule": float(os.environ.get("PROCTORING_RESULTS_STALE_CHECK_SECONDS", "20")),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    # OpenAPI 3 schema of the REST API (drf-spectacular); CI generates it with --validate --fail-on-warn.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "proctoring_results REST API",
    "DESCRIPTION": (
        "Proctored exam results for course teams (pending report tasks, reports with signed links that "
        "expire, status counts) and the signed review callback for proctoring providers. "
        "See docs/reference/rest_api.rst."
    ),
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/proctoring-results/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # REST API v1 only: the HTML page and the download redirect are not part of it.
    "PREPROCESSING_HOOKS": ["proctoring_results.rest_api.v1.schema.only_rest_api_v1"],
    "ENUM_NAME_OVERRIDES": {
        # Each vocabulary from its one home, so the schema names each enum once.
        "AttemptStatusEnum": "proctoring_results.statuses.AttemptStatus",
        "ProviderStatusEnum": "proctoring_results.statuses.ProviderStatus",
        "DecisionStatusEnum": "proctoring_results.statuses.STAFF_OUTCOMES",
    },
}

PROCTORING_RESULTS = {
    "COURSE_DISPLAY_NAME": "example.courses.display_name",
    "PROVIDERS": {"demo-provider": {"secret": os.environ.get("DEMO_PROVIDER_SECRET", "demo-provider-secret")}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"proctoring_results": {"handlers": ["console"], "level": "INFO"}},
}
