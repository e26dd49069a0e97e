"""
Test settings for the live-sync tests: this app's test settings, with edx-proctoring 6.1.4 installed beside it.

Used only in the virtualenv of ``make test-edx-proctoring-live`` (edx-proctoring
from PyPI); the LMS's parts that edx-proctoring calls (credit, instructor and
grades services) are edx-proctoring's own test doubles, set in conftest.py.
"""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "edx_when",  # imported by edx_proctoring.api
    "edx_proctoring",
]

SITE_NAME = PLATFORM_NAME = "edx-proctoring live sync tests"
DEFAULT_FROM_EMAIL = "noreply@example.invalid"
CONTACT_EMAIL = TECH_SUPPORT_EMAIL = "support@example.invalid"
ENV_ROOT = os.environ["EXAMPLE_VAR_DIR"]
PIPELINE = {"JAVASCRIPT": {}}  # edx-proctoring's plugin settings register their JavaScript bundle here
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FEATURES = {}

# edx-proctoring's own plugin settings, as the LMS applies them, then its mock provider as the default backend.
import sys  # noqa: E402

from edx_proctoring.settings.common import plugin_settings  # noqa: E402

plugin_settings(sys.modules[__name__])
PROCTORING_BACKENDS = {"DEFAULT": "mock", "mock": {}}
PROCTORING_SETTINGS = {"ALLOW_REVIEW_UPDATES": True}

# This app's own Open edX plugin settings (the beat entry among them), as the LMS applies them.
from proctoring_results.settings.common import _add_reconciliation_beat_entry  # noqa: E402

_add_reconciliation_beat_entry(sys.modules[__name__], PROCTORING_RESULTS)  # noqa: F405
