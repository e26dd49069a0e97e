"""
The Open edX plugin: the LMS finds the app, mounts its URLs, adds its settings, and asks its own roles.

These tests use edx-django-utils' real plugin machinery (what edx-platform
calls from its settings and urls.py) against this package's real
``lms.djangoapp`` entry point. edx-platform itself is not installed; where
the permission bridge needs it, a two-line stand-in for
``lms.djangoapps.instructor.permissions`` plays the LMS.
"""

import sys
import types

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core import checks
from django.test import override_settings
from django.urls import clear_url_caches, reverse
from edx_django_utils.plugins import PluginSettings, PluginURLs, add_plugins, get_plugin_apps, get_plugin_url_patterns
from opaque_keys.edx.keys import CourseKey

from proctoring_results.apps import ProctoringResultsConfig
from proctoring_results.openedx import permissions as openedx
from proctoring_results.settings import production

from .factories import COURSE_ID, UserFactory

LMS = "lms.djangoapp"
OTHER_COURSE = "course-v1:Other+Course+2026"
BRIDGE = "proctoring_results.openedx.can_view_exam_results"
DISPLAY_NAME_HOOK = "proctoring_results.openedx.courses.course_display_name"


def lms_settings(**values):
    """A stand-in for the LMS's settings module, as edx-platform hands it to ``add_plugins``."""
    module = types.ModuleType("fake_lms_settings")
    module.__dict__.update(values)
    sys.modules[module.__name__] = module
    return module


@pytest.fixture(autouse=True)
def _forget_fake_modules():
    yield
    sys.modules.pop("fake_lms_settings", None)
    sys.modules.pop("fake_lms_urls", None)


# ---------------------------------------------------------------- plugin configuration


def test_plugin_app_uses_the_plugin_frameworks_keys():
    config = ProctoringResultsConfig.plugin_app
    urls = config[PluginURLs.CONFIG][LMS]
    assert urls[PluginURLs.NAMESPACE] == "proctoring_results"
    assert urls[PluginURLs.RELATIVE_PATH] == "urls"
    settings_config = config[PluginSettings.CONFIG][LMS]
    assert settings_config == {
        "common": {PluginSettings.RELATIVE_PATH: "settings.common"},
        "production": {PluginSettings.RELATIVE_PATH: "settings.production"},
    }


def test_the_lms_finds_the_app_through_its_entry_point():
    assert "proctoring_results.apps.ProctoringResultsConfig" in get_plugin_apps(LMS)


def test_plugin_settings_fill_in_defaults_for_the_lms():
    settings = lms_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
        GRADES_DOWNLOAD={"STORAGE_TYPE": "s3", "BUCKET": "lms-reports", "ROOT_PATH": "/prod/reports"},
        GRADES_DOWNLOAD_ROUTING_KEY="edx.lms.core.high_mem",
    )

    add_plugins(settings.__name__, LMS, "common")
    add_plugins(settings.__name__, LMS, "production")

    assert settings.PROCTORING_RESULTS == {
        "PERMISSION_CHECK": BRIDGE,
        "REPORT_CELERY_QUEUE": "edx.lms.core.high_mem",
        "CONTENT_SECURITY_POLICY": None,
        "COURSE_DISPLAY_NAME": DISPLAY_NAME_HOOK,
    }
    storage = settings.STORAGES["proctoring_results"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"] == {
        "bucket_name": "lms-reports",
        "location": "prod/reports/proctoring-results",
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": 300,
        "file_overwrite": False,
        "signature_version": "s3v4",
    }
    assert settings.STORAGES["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_plugin_settings_never_replace_an_operators_values():
    own_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "mine"}}
    settings = lms_settings(
        PROCTORING_RESULTS={
            "PERMISSION_CHECK": "site.roles.check",
            "REPORT_CELERY_QUEUE": None,
            "LINK_EXPIRY_SECONDS": 120,
            "COURSE_DISPLAY_NAME": None,
        },
        STORAGES={"default": {}, "proctoring_results": own_storage},
        GRADES_DOWNLOAD={"STORAGE_TYPE": "s3", "BUCKET": "lms-reports"},
        GRADES_DOWNLOAD_ROUTING_KEY="edx.lms.core.high_mem",
    )

    add_plugins(settings.__name__, LMS, "common")
    add_plugins(settings.__name__, LMS, "production")

    assert settings.PROCTORING_RESULTS == {
        "PERMISSION_CHECK": "site.roles.check",
        "REPORT_CELERY_QUEUE": None,
        "LINK_EXPIRY_SECONDS": 120,
        "CONTENT_SECURITY_POLICY": None,
        "COURSE_DISPLAY_NAME": None,
    }
    assert settings.STORAGES["proctoring_results"] is own_storage


def test_tutor_style_local_reports_and_shorter_links():
    settings = lms_settings(
        PROCTORING_RESULTS={"LINK_EXPIRY_SECONDS": 120},
        STORAGES={"default": {}},
        GRADES_DOWNLOAD={"STORAGE_TYPE": "", "STORAGE_KWARGS": {"location": "/openedx/media/grades"}},
    )

    add_plugins(settings.__name__, LMS, "production")

    assert settings.STORAGES["proctoring_results"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": "/openedx/media/grades/proctoring-results", "base_url": None},
    }
    s3 = production.report_storage_from_grades_download({"STORAGE_TYPE": "s3", "BUCKET": "b"}, 120)
    assert s3["OPTIONS"]["querystring_expire"] == 120 and s3["OPTIONS"]["location"] == "proctoring-results"


def test_a_host_on_the_legacy_storage_setting_keeps_it():
    # Django 4.2 refuses STORAGES beside DEFAULT_FILE_STORAGE: adding one would stop the LMS from starting.
    settings = lms_settings(
        DEFAULT_FILE_STORAGE="django.core.files.storage.FileSystemStorage",
        GRADES_DOWNLOAD={"STORAGE_TYPE": "s3", "BUCKET": "lms-reports"},
    )

    add_plugins(settings.__name__, LMS, "production")

    assert not hasattr(settings, "STORAGES")
    assert settings.PROCTORING_RESULTS["PERMISSION_CHECK"] == BRIDGE


def test_a_malformed_setting_is_left_for_the_system_check_to_report():
    settings = lms_settings(PROCTORING_RESULTS="oops")

    add_plugins(settings.__name__, LMS, "production")

    assert settings.PROCTORING_RESULTS == "oops"


@pytest.mark.django_db
def test_the_lms_mounts_the_apps_urls_where_the_docs_say(client, instructor, exam):
    urlconf = types.ModuleType("fake_lms_urls")
    urlconf.urlpatterns = get_plugin_url_patterns(LMS)
    sys.modules[urlconf.__name__] = urlconf
    with override_settings(ROOT_URLCONF=urlconf.__name__):
        clear_url_caches()
        try:
            url = reverse("proctoring_results:v1-status-counts", kwargs={"course_id": COURSE_ID})
            client.force_login(instructor)
            response = client.get(url)
        finally:
            clear_url_caches()
    assert url == f"/api/proctoring-results/v1/courses/{COURSE_ID}/status-counts/"
    assert response.status_code == 200
    assert [e["exam_name"] for e in response.json()["exams"]] == ["Midterm"]


# ---------------------------------------------------------------- permission bridge

#: user id -> course keys in which the stand-in LMS makes them course staff.
LMS_COURSE_STAFF = {}


class LmsRolesBackend(ModelBackend):
    """Stands in for edx-platform's bridgekeeper rules: ``instructor.view_exam_results`` for course staff."""

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "instructor.view_exam_results" and obj in LMS_COURSE_STAFF.get(user_obj.pk, ())


@pytest.fixture
def lms(monkeypatch):
    """Install the stand-in ``lms.djangoapps.instructor.permissions`` (what the bridge imports lazily)."""
    permissions = types.ModuleType("lms.djangoapps.instructor.permissions")
    permissions.EXAM_RESULTS = "instructor.view_exam_results"
    for name in ("lms", "lms.djangoapps", "lms.djangoapps.instructor"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, permissions.__name__, permissions)
    LMS_COURSE_STAFF.clear()
    with override_settings(
        AUTHENTICATION_BACKENDS=["tests.test_openedx.LmsRolesBackend"],
        PROCTORING_RESULTS={"PERMISSION_CHECK": BRIDGE},
    ):
        yield LMS_COURSE_STAFF


@pytest.mark.django_db
def test_the_lms_course_roles_decide_who_sees_results(client, lms, exam):
    staff = UserFactory(username="lms-staff")
    lms[staff.pk] = {CourseKey.from_string(COURSE_ID)}
    client.force_login(staff)

    own = client.get(reverse("proctoring_results:v1-status-counts", kwargs={"course_id": COURSE_ID}))
    other = client.get(reverse("proctoring_results:v1-status-counts", kwargs={"course_id": OTHER_COURSE}))

    assert own.status_code == 200
    assert other.status_code == 403
    assert "proctoring_results.E101" not in {c.id for c in checks.run_checks(tags=[checks.Tags.compatibility])}


@pytest.mark.django_db
def test_a_role_in_this_apps_own_table_does_not_count_inside_the_lms(client, lms, instructor):
    client.force_login(instructor)  # has a CourseRole here, but no role in the LMS

    response = client.get(reverse("proctoring_results:v1-status-counts", kwargs={"course_id": COURSE_ID}))

    assert response.status_code == 403


@pytest.mark.django_db
def test_outside_the_lms_the_bridge_refuses_everyone_and_the_check_says_why(client, instructor):
    with override_settings(PROCTORING_RESULTS={"PERMISSION_CHECK": BRIDGE}):
        client.force_login(instructor)
        response = client.get(reverse("proctoring_results:v1-status-counts", kwargs={"course_id": COURSE_ID}))
        errors = [e for e in checks.run_checks(tags=[checks.Tags.compatibility]) if e.id == "proctoring_results.E101"]

    assert response.status_code == 403
    assert len(errors) == 1
    assert "lms.djangoapps.instructor.permissions cannot be imported" in errors[0].msg


def test_importing_the_bridge_does_not_import_edx_platform():
    assert openedx.LMS_PERMISSIONS_MODULE not in sys.modules
    assert "lms" not in sys.modules


def test_inside_the_lms_an_unset_permission_check_is_a_warning(lms):
    with override_settings(PROCTORING_RESULTS={}):
        found = {c.id: c for c in checks.run_checks(tags=[checks.Tags.compatibility])}

    assert "proctoring_results.W101" in found
    assert "instead of the LMS's course roles" in found["proctoring_results.W101"].msg


# ---------------------------------------------------------------- the course's display name


@pytest.fixture
def course_overviews(monkeypatch):
    """
    Install a stand-in for edx-platform's ``course_overviews.api`` (what the hook imports lazily).

    Like the real ``get_course_overview_or_none``: the overview, or None for a course the LMS does not know.
    """
    overviews = {}
    api_module = types.ModuleType("openedx.core.djangoapps.content.course_overviews.api")
    api_module.get_course_overview_or_none = lambda course_key: overviews.get(str(course_key))
    parts = api_module.__name__.split(".")
    for depth in range(1, len(parts)):
        monkeypatch.setitem(sys.modules, ".".join(parts[:depth]), types.ModuleType(".".join(parts[:depth])))
    monkeypatch.setitem(sys.modules, api_module.__name__, api_module)
    return overviews


@pytest.mark.django_db
def test_inside_the_lms_the_page_names_the_course_above_its_id(client, instructor, course_overviews):
    course_overviews[COURSE_ID] = types.SimpleNamespace(display_name="Proctoring & Integrity 101")
    client.force_login(instructor)
    with override_settings(PROCTORING_RESULTS={"COURSE_DISPLAY_NAME": DISPLAY_NAME_HOOK}):
        page = client.get(reverse("proctoring_results:data_download", args=[COURSE_ID])).content.decode()
        unknown = client.get(reverse("proctoring_results:data_download", args=[OTHER_COURSE]))

    name = '<p class="pr-course-name">Proctoring &amp; Integrity 101</p>'
    assert name in page
    assert page.index(name) < page.index(f'<p class="pr-course-id">{COURSE_ID}</p>')
    assert "<title>Data Download · Proctoring &amp; Integrity 101</title>" in page
    assert unknown.status_code == 403  # not on that course's team; the lookup never decides access


@pytest.mark.django_db
def test_a_course_the_lms_does_not_know_shows_its_id_alone(client, instructor, course_overviews):
    client.force_login(instructor)
    with override_settings(PROCTORING_RESULTS={"COURSE_DISPLAY_NAME": DISPLAY_NAME_HOOK}):
        page = client.get(reverse("proctoring_results:data_download", args=[COURSE_ID])).content.decode()

    assert 'class="pr-course-name"' not in page
    assert f'<p class="pr-course-id">{COURSE_ID}</p>' in page


def test_outside_the_lms_the_display_name_hook_answers_none():
    from proctoring_results.openedx.courses import course_display_name

    assert course_display_name(CourseKey.from_string(COURSE_ID)) is None
    assert "openedx.core" not in sys.modules
