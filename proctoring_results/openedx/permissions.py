"""
The permission bridge for Open edX: the LMS's own course roles decide who sees results.

Inside an Open edX LMS set (the plugin's settings do it by default)::

    PROCTORING_RESULTS = {"PERMISSION_CHECK": "proctoring_results.openedx.can_view_exam_results"}

The check asks the LMS the same question its instructor dashboard asks before
it builds the Proctored Exam Results Report: does the user hold the
``instructor.view_exam_results`` permission for the course? In edx-platform
that permission is granted to course staff and instructors (and, through
``has_access``, to global staff and organisation-wide roles), through the
``bridgekeeper`` rules of ``lms.djangoapps.instructor.permissions``.

edx-platform is imported inside the functions, never when this module is
imported, so the app keeps working (and testing) outside the LMS.
"""

import logging

from django.core.checks import Error, Tags, Warning, register

from ..conf import SETTING_NAME, app_settings
from ..settings.common import OPENEDX_PERMISSION_CHECK

log = logging.getLogger(__name__)

#: The dotted path operators set as ``PERMISSION_CHECK`` (the plugin's settings do it by default).
BRIDGE_PATH = OPENEDX_PERMISSION_CHECK

#: Where edx-platform defines its instructor-dashboard permissions.
LMS_PERMISSIONS_MODULE = "lms.djangoapps.instructor.permissions"

#: The permission the LMS checks for the proctored exam results report (``permissions.EXAM_RESULTS``).
EXAM_RESULTS_PERMISSION = "instructor.view_exam_results"


def _lms_permissions():
    """edx-platform's instructor permissions module (importing it registers its rules), or None outside the LMS."""
    import importlib

    try:
        return importlib.import_module(LMS_PERMISSIONS_MODULE)
    except ImportError:
        return None


def can_view_exam_results(user, course_key):
    """
    ``PERMISSION_CHECK`` for Open edX: may ``user`` see the proctored exam results of ``course_key``?

    Fails closed: outside an LMS (edx-platform not importable) nobody is allowed,
    and the system check ``proctoring_results.E101`` says why at start-up.
    """
    permissions = _lms_permissions()
    if permissions is None:
        log.error(
            "PERMISSION_CHECK is the Open edX bridge, but %s cannot be imported; access refused.",
            LMS_PERMISSIONS_MODULE,
        )
        return False
    permission = getattr(permissions, "EXAM_RESULTS", EXAM_RESULTS_PERMISSION)
    return bool(user.has_perm(permission, course_key))


@register(Tags.compatibility)
def check_openedx_bridge(app_configs=None, **kwargs):
    """
    The bridge only works inside an LMS, and inside an LMS only the bridge asks the LMS's roles.

    E101: the bridge is configured but edx-platform is not importable (nobody would get in).
    W101: inside the LMS, ``PERMISSION_CHECK`` was left to this app's own ``CourseRole``
    table, typically because a settings file assigned ``PROCTORING_RESULTS = {...}``
    after the plugin had filled it in.
    """
    if not _settings_ok():
        return []
    configured = app_settings.user_settings.get("PERMISSION_CHECK")
    in_lms = _lms_permissions() is not None
    if configured is None and in_lms:
        return [
            Warning(
                f"Inside the Open edX LMS, {SETTING_NAME}['PERMISSION_CHECK'] is unset, so access is decided by "
                "this app's own CourseRole table instead of the LMS's course roles.",
                hint=f"Set it to '{BRIDGE_PATH}', or update {SETTING_NAME} in your settings "
                "instead of replacing the dict the plugin filled in (docs/howto/install_openedx.rst).",
                id="proctoring_results.W101",
            )
        ]
    if configured not in (BRIDGE_PATH, can_view_exam_results) or in_lms:
        return []
    return [
        Error(
            f"{SETTING_NAME}['PERMISSION_CHECK'] is the Open edX bridge, but {LMS_PERMISSIONS_MODULE} "
            "cannot be imported, so nobody may see results.",
            hint="Use it only inside an Open edX LMS; elsewhere keep the default "
            "proctoring_results.permissions.is_course_staff or point it at your own roles.",
            id="proctoring_results.E101",
        )
    ]


def _settings_ok():
    try:
        app_settings.user_settings  # noqa: B018  (reading it raises on a malformed setting)
    except Exception:  # noqa: BLE001 - E001 already reports a malformed setting
        return False
    return True
