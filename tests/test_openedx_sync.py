"""
The edx-proctoring sync where edx-proctoring is not installed, and the beat entry the plugin adds.

What it does with edx-proctoring installed is proved by tests/edx_proctoring_live/
(``make test-edx-proctoring-live``: edx-proctoring 6.1.4 from PyPI, a real worker).
"""

import sys
import types

import pytest
from django.core.management import CommandError, call_command
from django.db.models.signals import post_save
from edx_django_utils.plugins import add_plugins

from proctoring_results.conf import DEFAULTS
from proctoring_results.openedx import sync
from proctoring_results.settings.common import RECONCILE_BEAT_ENTRY

LMS = "lms.djangoapp"


def lms_settings(**values):
    module = types.ModuleType("fake_lms_sync_settings")
    module.__dict__.update(values)
    sys.modules[module.__name__] = module
    return module


@pytest.fixture(autouse=True)
def _forget_fake_settings():
    yield
    sys.modules.pop("fake_lms_sync_settings", None)


def test_the_lms_gets_the_reconciliation_beat_entry_beside_its_own():
    theirs = {"task": "lms.cleanup", "schedule": 60.0}
    settings = lms_settings(CELERYBEAT_SCHEDULE={"cleanup": theirs})

    add_plugins(settings.__name__, LMS, "common")

    assert settings.CELERYBEAT_SCHEDULE["cleanup"] is theirs
    entry = settings.CELERYBEAT_SCHEDULE[RECONCILE_BEAT_ENTRY]
    assert entry["task"] == sync.RECONCILE_TASK
    assert entry["schedule"] == DEFAULTS["EDX_PROCTORING_RECONCILE_SECONDS"] == 300
    assert entry["options"] == {"expires": 300.0}


def test_a_site_with_a_namespaced_celery_app_gets_it_in_celery_beat_schedule_and_the_queue_it_names():
    settings = lms_settings(
        CELERY_BEAT_SCHEDULE={},
        PROCTORING_RESULTS={"EDX_PROCTORING_RECONCILE_SECONDS": 60, "EDX_PROCTORING_SYNC_QUEUE": "edx.lms.core.low"},
    )

    add_plugins(settings.__name__, LMS, "common")

    assert not hasattr(settings, "CELERYBEAT_SCHEDULE")
    assert settings.CELERY_BEAT_SCHEDULE[RECONCILE_BEAT_ENTRY]["schedule"] == 60.0
    assert settings.CELERY_BEAT_SCHEDULE[RECONCILE_BEAT_ENTRY]["options"] == {
        "expires": 60.0,
        "queue": "edx.lms.core.low",
    }


@pytest.mark.parametrize("seconds", [0, None])
def test_the_switch_leaves_the_schedule_alone(seconds):
    settings = lms_settings(PROCTORING_RESULTS={"EDX_PROCTORING_RECONCILE_SECONDS": seconds})

    add_plugins(settings.__name__, LMS, "common")

    assert not hasattr(settings, "CELERYBEAT_SCHEDULE")


def test_an_operators_own_entry_under_the_same_name_is_kept():
    mine = {"task": sync.RECONCILE_TASK, "schedule": 900.0}
    settings = lms_settings(CELERYBEAT_SCHEDULE={RECONCILE_BEAT_ENTRY: mine})

    add_plugins(settings.__name__, LMS, "common")

    assert settings.CELERYBEAT_SCHEDULE[RECONCILE_BEAT_ENTRY] is mine


def test_without_edx_proctoring_nothing_is_connected():
    assert sync.connect() is False
    assert not any("proctoring_results.sync" in str(entry[0]) for entry in post_save.receivers)


def test_without_edx_proctoring_the_reconcile_command_says_so_in_one_sentence():
    with pytest.raises(CommandError, match=r"^edx-proctoring is not installed here; use import_edx_proctoring"):
        call_command("reconcile_edx_proctoring")
