"""Django application configuration for proctoring_results."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProctoringResultsConfig(AppConfig):
    """
    Explicit configuration, so a host project's settings cannot change our migrations.

    ``default_auto_field`` is fixed here rather than inherited from the host's
    ``DEFAULT_AUTO_FIELD``: otherwise a host with a different default would see
    ``makemigrations`` want to alter every primary key of this app.
    """

    name = "proctoring_results"
    label = "proctoring_results"
    verbose_name = _("Proctoring results")
    default_auto_field = "django.db.models.BigAutoField"

    # Open edX's plugin framework (edx-django-utils) reads this through the
    # ``lms.djangoapp`` entry point in setup.py: it adds the app to the LMS's
    # INSTALLED_APPS, mounts ``urls.py`` at the site root and runs
    # ``settings/{common,production}.py:plugin_settings``. The keys are the
    # plain strings of ``PluginURLs`` / ``PluginSettings``, so nothing from
    # edx-django-utils or edx-platform is imported here (docs/howto/install_openedx.rst).
    plugin_app = {
        "url_config": {
            "lms.djangoapp": {
                "namespace": "proctoring_results",
                "regex": r"^",
                "relative_path": "urls",
            },
        },
        "settings_config": {
            "lms.djangoapp": {
                "common": {"relative_path": "settings.common"},
                "production": {"relative_path": "settings.production"},
            },
        },
    }

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .openedx import filters, permissions, sync  # noqa: F401  (register the Open edX bridge's and steps' checks)

        sync.connect()  # follows edx-proctoring's models when it is installed; nothing otherwise

        from django.apps import apps

        if apps.is_installed("drf_spectacular"):  # optional: only hosts that serve the OpenAPI schema
            from .rest_api.v1 import schema  # noqa: F401  (registers the REST API's OpenAPI description)
