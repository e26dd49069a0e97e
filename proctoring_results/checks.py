"""System checks that catch misconfiguration at start-up, not at the first report."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from .conf import SETTING_NAME, app_settings
from .rules import validate_rules_setting


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    errors = []
    try:
        app_settings.user_settings  # noqa: B018  (reading it raises on unknown keys)
        permission_check = app_settings.PERMISSION_CHECK
        display_name = app_settings.COURSE_DISPLAY_NAME
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint=f"Fix settings.{SETTING_NAME}.", id="proctoring_results.E001")]
    if not callable(permission_check):
        errors.append(
            Error(
                f"{SETTING_NAME}['PERMISSION_CHECK'] is not callable.",
                hint="Give a dotted path to a function (user, course_key) -> bool.",
                id="proctoring_results.E002",
            )
        )
    if display_name is not None and not callable(display_name):
        errors.append(
            Error(
                f"{SETTING_NAME}['COURSE_DISPLAY_NAME'] is not callable.",
                hint="Give a dotted path to a function (course_key) -> str or None, or leave it unset.",
                id="proctoring_results.E008",
            )
        )
    expiry = app_settings.LINK_EXPIRY_SECONDS
    if not isinstance(expiry, int) or not 0 < expiry <= 300:
        errors.append(
            Error(
                f"{SETTING_NAME}['LINK_EXPIRY_SECONDS'] must be a whole number of seconds between 1 and 300.",
                hint="The documentation promises that report links expire within 5 minutes.",
                id="proctoring_results.E003",
            )
        )
    providers = app_settings.PROVIDERS
    if not isinstance(providers, dict) or any(
        not isinstance(conf, dict) or not conf.get("secret") for conf in providers.values()
    ):
        errors.append(
            Error(
                f"{SETTING_NAME}['PROVIDERS'] must map each provider name to a dict with a non-empty 'secret'.",
                hint='E.g. {"acme": {"secret": env("ACME_REVIEW_SECRET")}}.',
                id="proctoring_results.E004",
            )
        )
    for problem in validate_rules_setting(app_settings.RULES):
        errors.append(
            Error(
                f"{SETTING_NAME}['RULES']: {problem}",
                hint='E.g. {"calculator": {"description": "Used a calculator.", "severity": "integrity"}}; '
                "see docs/rules.rst.",
                id="proctoring_results.E006",
            )
        )
    for name in ("SIGNATURE_TOLERANCE_SECONDS", "MAX_REVIEW_BODY_BYTES"):
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    f"{SETTING_NAME}['{name}'] must be a positive whole number.",
                    hint="Until it is fixed the review callback refuses every request (401 or 413).",
                    id="proctoring_results.E007",
                )
            )
    from .models import ReportTask
    from .reports import column_profiles

    profiles = column_profiles(ReportTask.ReportType.PROCTORED_EXAM_RESULTS)
    if app_settings.REPORT_COLUMN_PROFILE not in profiles:
        errors.append(
            Error(
                f"{SETTING_NAME}['REPORT_COLUMN_PROFILE'] must be one of: {', '.join(profiles)}.",
                hint="'seed' is the documented 8 columns; 'lms' the LMS's own report's (docs/reports.rst).",
                id="proctoring_results.E011",
            )
        )
    for name in ("OPENEDX_DASHBOARD_SECTION", "OPENEDX_DASHBOARD_TAB"):
        if not isinstance(getattr(app_settings, name), bool):
            errors.append(
                Error(
                    f"{SETTING_NAME}['{name}'] must be True or False.",
                    hint="It switches this app's part of the LMS's instructor dashboard on or off "
                    "(docs/howto/install_openedx.rst).",
                    id="proctoring_results.E010",
                )
            )
    retention = app_settings.REPORT_RETENTION_DAYS
    if retention is not None and (not isinstance(retention, int) or retention < 1):
        errors.append(
            Error(
                f"{SETTING_NAME}['REPORT_RETENTION_DAYS'] must be a positive number of days, or None.",
                id="proctoring_results.E005",
            )
        )
    if app_settings.STORAGE_ALIAS not in getattr(settings, "STORAGES", {}):
        errors.append(
            Warning(
                f"No '{app_settings.STORAGE_ALIAS}' storage in settings.STORAGES; "
                "reports are written to the local file system under MEDIA_ROOT.",
                hint="Configure an S3Storage under that alias in production (see docs/configuration.rst).",
                id="proctoring_results.W001",
            )
        )
    return errors


@register(Tags.compatibility)
def check_report_storage(app_configs=None, **kwargs):
    """Two reports must never replace each other, and django-storages' S3Storage overwrites by default."""
    from .storage import get_report_storage, overwrites_files

    try:
        storage = get_report_storage()
    except Exception:  # noqa: BLE001 - a broken STORAGES entry is Django's own check to report
        return []
    if not overwrites_files(storage):
        return []
    return [
        Warning(
            f"The '{app_settings.STORAGE_ALIAS}' storage is an S3Storage with file_overwrite=True: "
            "a report could replace another one stored under the same name.",
            hint='Add "file_overwrite": False to its OPTIONS (see docs/reports.rst).',
            id="proctoring_results.W002",
        )
    ]


@register(Tags.compatibility)
def check_report_database_driver(app_configs=None, **kwargs):
    """On PostgreSQL the report is read by psycopg 3's ``COPY``; a site on psycopg2 learns it at start-up."""
    from django.db import connections, router

    from .models import ExamAttempt

    alias = router.db_for_read(ExamAttempt)
    if connections[alias].vendor != "postgresql":
        return []
    from django.db.backends.postgresql import psycopg_any

    if psycopg_any.is_psycopg3:
        return []
    return [
        Error(
            f"The '{alias}' database is PostgreSQL through psycopg2; reports are read with psycopg 3's COPY.",
            hint="Install psycopg 3 (pip install 'psycopg[binary]'): Django uses it when it is installed.",
            id="proctoring_results.E012",
        )
    ]


@register(Tags.security, deploy=True)
def check_security_headers(app_configs=None, **kwargs):
    """The app's pages show personal data: they need the no-store / CSP headers of ``security.py``."""
    middleware = "proctoring_results.security.SecurityHeadersMiddleware"
    if middleware in getattr(settings, "MIDDLEWARE", []):
        return []
    return [
        Warning(
            f"'{middleware}' is not in MIDDLEWARE: the app's pages and API are sent without "
            "Cache-Control: no-store and a Content-Security-Policy.",
            hint="Add it after django.middleware.security.SecurityMiddleware (see docs/security.rst).",
            id="proctoring_results.W010",
        )
    ]
