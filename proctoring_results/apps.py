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

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
