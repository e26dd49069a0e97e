"""
Smallest Django project that runs edx-proctoring's own migrations (used only by the import tests).

It runs in a virtualenv of its own (``make edx-proctoring-venv``: edx-proctoring
from PyPI), never in ours: ``EDXP_DB`` names the SQLite file to create.
"""

import os

SECRET_KEY = "edx-proctoring-schema-only"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "edx_when",  # imported by edx_proctoring.api
    "edx_proctoring",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["EDXP_DB"]}}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SITE_NAME = PLATFORM_NAME = "edx-proctoring schema"
DEFAULT_FROM_EMAIL = "noreply@example.invalid"
ENV_ROOT = os.path.dirname(os.environ["EDXP_DB"])  # edx-proctoring writes workers.json here
PIPELINE = {"JAVASCRIPT": {}}  # its settings register their JavaScript bundle here

# edx-proctoring's own plugin settings, as the LMS would apply them.
import sys  # noqa: E402  (after the settings its plugin settings read)

from edx_proctoring.settings.common import plugin_settings  # noqa: E402  (likewise)

plugin_settings(sys.modules[__name__])
