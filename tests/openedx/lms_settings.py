"""
Settings built the way an Open edX LMS builds them, with only this plugin installed.

The LMS lists its own apps, then adds every ``lms.djangoapp`` plugin found by
edx-django-utils (``get_plugin_apps``) and runs their ``common`` plugin settings
(``add_plugins``); its production settings then assign ``OPEN_EDX_FILTERS_CONFIG``
whole from the site's configuration and run the ``production`` plugin settings.
Nothing of this app is configured by hand: its section, tab, permission bridge
and Mako templates come from its plugin settings alone.

The site has filter steps of its own (``tests.openedx.site_steps``), which must still run.
"""

import sys
from pathlib import Path

from edx_django_utils.plugins import add_plugins, get_plugin_apps

from tests.settings import *  # noqa: F403  (database, broker, storage and test switches)

HERE = Path(__file__).resolve().parent
# edx-platform's importable names (lms.djangoapps.instructor.permissions), played by a stand-in.
sys.path.insert(0, str(HERE / "lms_root"))

PLUGIN_CONTEXT = "lms.djangoapp"

# The host without this app: the LMS does not list plugins by hand.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("proctoring_results", "example")]
del PROCTORING_RESULTS  # noqa: F821  (the example's; the LMS has none until the plugin fills it in)
INSTALLED_APPS += ["example"]  # the example's Celery app module, used by the worker fixture

# As in lms/envs/common.py: django-crum tells filter steps who is asking; bridgekeeper's
# rules (played by lms.auth) answer the instructor dashboard's permissions.
MIDDLEWARE = [*MIDDLEWARE, "crum.CurrentRequestUserMiddleware"]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "lms.auth.CourseRolesBackend"]
ROOT_URLCONF = "tests.openedx.lms_urls"
LMS_ROOT_URL = "http://lms.example.test"
INSTRUCTOR_MICROFRONTEND_URL = "http://apps.lms.example.test/instructor-dashboard"
MAKO_TEMPLATE_DIRS_BASE = [HERE / "lms_templates"]

#: The site's own filter configuration, as its YAML (or Tutor) sets it.
SITE_FILTERS_CONFIG = {
    "org.openedx.learning.instructor.dashboard.render.started.v1": {
        "fail_silently": False,
        "pipeline": ["tests.openedx.site_steps.SiteSection"],
    },
    "org.openedx.learning.instructor.dashboard.tabs.requested.v1": ["tests.openedx.site_steps.SiteTab"],
    "org.openedx.learning.course.enrollment.started.v1": {"pipeline": ["tests.openedx.site_steps.SiteEnrollment"]},
}
OPEN_EDX_FILTERS_CONFIG = dict(SITE_FILTERS_CONFIG)

INSTALLED_APPS.extend(get_plugin_apps(PLUGIN_CONTEXT))
add_plugins(__name__, PLUGIN_CONTEXT, "common")

# lms/envs/production.py: the site's configuration replaces the setting whole, then the plugins run again.
OPEN_EDX_FILTERS_CONFIG = dict(SITE_FILTERS_CONFIG)
add_plugins(__name__, PLUGIN_CONTEXT, "production")
