"""Settings: defaults, overrides, unknown keys, and the system checks."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection  # noqa: F401 - read by a skipif condition
from django.test import override_settings

from proctoring_results.conf import app_settings
from proctoring_results.permissions import is_course_staff


def test_defaults():
    assert app_settings.LINK_EXPIRY_SECONDS == 300
    assert app_settings.PERMISSION_CHECK is is_course_staff


def test_override_settings_is_seen_and_undone():
    with override_settings(PROCTORING_RESULTS={"LINK_EXPIRY_SECONDS": 60}):
        assert app_settings.LINK_EXPIRY_SECONDS == 60
    assert app_settings.LINK_EXPIRY_SECONDS == 300


def test_unknown_key_raises_with_the_known_keys():
    with override_settings(PROCTORING_RESULTS={"LINK_EXPIRY_SECOND": 60}):
        with pytest.raises(ImproperlyConfigured, match="Unknown PROCTORING_RESULTS setting.*LINK_EXPIRY_SECOND"):
            app_settings.LINK_EXPIRY_SECONDS  # noqa: B018  (reading it is what raises)


def check_ids():
    return {message.id for message in run_checks() if message.id.startswith("proctoring_results.")}


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"TYPO": 1}, "proctoring_results.E001"),
        ({"PERMISSION_CHECK": "no.such.module.check"}, "proctoring_results.E001"),
        ({"PERMISSION_CHECK": 42}, "proctoring_results.E002"),
        ({"LINK_EXPIRY_SECONDS": 3600}, "proctoring_results.E003"),
        ({"PROVIDERS": {"acme": {"secret": ""}}}, "proctoring_results.E004"),
        ({"REPORT_RETENTION_DAYS": 0}, "proctoring_results.E005"),
    ],
)
def test_misconfiguration_is_reported_by_a_system_check(value, expected):
    with override_settings(PROCTORING_RESULTS=value):
        assert expected in check_ids()


def test_missing_storage_alias_is_a_warning():
    with override_settings(STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}):
        assert "proctoring_results.W001" in check_ids()


def test_example_settings_pass_every_check():
    assert check_ids() == set()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the check is about PostgreSQL's driver")
def test_a_postgresql_site_on_psycopg2_is_told_at_start_up(monkeypatch):
    """The report's COPY needs psycopg 3; with psycopg2 the first report would fail, so the check says it first."""
    from django.db.backends.postgresql import psycopg_any

    assert "proctoring_results.E012" not in check_ids()
    monkeypatch.setattr(psycopg_any, "is_psycopg3", False)
    assert "proctoring_results.E012" in check_ids()
