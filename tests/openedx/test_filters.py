"""
The plugin inside the LMS's instructor dashboards, through openedx-filters' own ``run_filter``.

Settings come from ``lms_settings`` (built as the LMS builds them, only the plugin
installed); contexts and tab lists are shaped as edx-platform makes them
(``lms_views``); assertions are on what the filters hand back to the LMS.
"""

import pytest
from django.conf import settings
from django.test import override_settings
from lms.djangoapps.instructor import permissions as lms_permissions
from opaque_keys.edx.keys import CourseKey
from openedx_filters.learning.filters import InstructorDashboardRenderStarted, InstructorDashboardTabsRequested

from proctoring_results.openedx import filters
from proctoring_results.openedx import permissions as bridge
from proctoring_results.settings import common as plugin_common

from ..factories import COURSE_ID, OTHER_COURSE_ID
from . import lms_views

SECTION_STEP = "proctoring_results.openedx.filters.DataDownloadSection"
TAB_STEP = "proctoring_results.openedx.filters.ProctoringResultsTab"
RESULTS_PAGE = f"http://lms.example.test/courses/{COURSE_ID}/instructor/data_download/"

pytestmark = pytest.mark.django_db


def dashboard_context(user, course_id=COURSE_ID):
    """What ``instructor_dashboard_2`` hands the filter for ``user``: Course Info, and Data Download if allowed."""
    key = CourseKey.from_string(course_id)
    course = lms_views.get_course(key)
    sections = [lms_views.section_course_info(course)]
    if user.has_perm(lms_permissions.CAN_RESEARCH, key):
        sections.append(lms_views.section_data_download(course, {"admin": False, "data_researcher": True}))
    return {"course": course, "sections": sections, "studio_url": None, "disable_buttons": False}


def render_started(user, course_id=COURSE_ID):
    context, template = InstructorDashboardRenderStarted.run_filter(
        context=dashboard_context(user, course_id),
        template_name=lms_views.TEMPLATE,
    )
    assert template == lms_views.TEMPLATE
    return context


def section(context, key):
    return next((s for s in context["sections"] if s["section_key"] == key), None)


def tabs_requested(user, course_id=COURSE_ID):
    key = CourseKey.from_string(course_id)
    given = lms_views.lms_tabs(user, key)
    tabs, returned_user, returned_key = InstructorDashboardTabsRequested.run_filter(
        tabs=given, user=user, course_key=key
    )
    assert returned_user is user and returned_key is key
    return tabs


# ---------------------------------------------------------------- registration by the plugin


def test_the_plugin_registers_both_steps_after_the_sites_own():
    assert "proctoring_results.apps.ProctoringResultsConfig" in settings.INSTALLED_APPS
    assert settings.OPEN_EDX_FILTERS_CONFIG == {
        "org.openedx.learning.instructor.dashboard.render.started.v1": {
            "fail_silently": False,
            "pipeline": ["tests.openedx.site_steps.SiteSection", SECTION_STEP],
        },
        "org.openedx.learning.instructor.dashboard.tabs.requested.v1": ["tests.openedx.site_steps.SiteTab", TAB_STEP],
        "org.openedx.learning.course.enrollment.started.v1": {"pipeline": ["tests.openedx.site_steps.SiteEnrollment"]},
    }
    assert settings.PROCTORING_RESULTS["PERMISSION_CHECK"] == "proctoring_results.openedx.can_view_exam_results"
    assert plugin_common.MAKO_TEMPLATES_DIR in settings.MAKO_TEMPLATE_DIRS_BASE
    assert (filters.RENDER_STARTED_FILTER, SECTION_STEP) in plugin_common.FILTER_STEPS.items()
    assert (filters.TABS_REQUESTED_FILTER, TAB_STEP) in plugin_common.FILTER_STEPS.items()


def test_merging_keeps_every_shape_and_adds_nothing_twice():
    assert plugin_common.add_filter_steps(None) == {
        filters.RENDER_STARTED_FILTER: {"fail_silently": True, "pipeline": [SECTION_STEP]},
        filters.TABS_REQUESTED_FILTER: {"fail_silently": True, "pipeline": [TAB_STEP]},
    }
    site = {filters.RENDER_STARTED_FILTER: "site.Step", filters.TABS_REQUESTED_FILTER: {"pipeline": [], "log": 1}}
    merged = plugin_common.add_filter_steps(site)
    assert merged == {
        filters.RENDER_STARTED_FILTER: ["site.Step", SECTION_STEP],
        filters.TABS_REQUESTED_FILTER: {"pipeline": [TAB_STEP], "log": 1},
    }
    assert plugin_common.add_filter_steps(merged) == merged
    assert site == {
        filters.RENDER_STARTED_FILTER: "site.Step",
        filters.TABS_REQUESTED_FILTER: {"pipeline": [], "log": 1},
    }


# ---------------------------------------------------------------- the LMS's permission


def test_the_bridge_asks_the_lms_exam_results_permission_by_its_real_name():
    assert lms_permissions.EXAM_RESULTS == bridge.EXAM_RESULTS_PERMISSION == "instructor.view_exam_results"
    assert bridge.LMS_PERMISSIONS_MODULE == lms_permissions.__name__


def test_the_data_download_tab_alone_does_not_show_results(researcher_only, exams, as_user):
    # instructor.research opens the LMS's Data Download tab; only instructor.view_exam_results shows results.
    as_user(researcher_only)
    context = render_started(researcher_only)
    data_download = section(context, "data_download")
    assert "fragment" not in data_download and "template_path_prefix" not in data_download
    assert data_download["show_generate_proctored_exam_report_button"] is True
    assert section(context, "proctoring_results") is None
    assert tabs_requested(researcher_only) == lms_views.lms_tabs(researcher_only, CourseKey.from_string(COURSE_ID)) + [
        {"tab_id": "site_notes", "title": "Site notes", "url": "http://site.test/notes", "sort_order": 200}
    ]


# ---------------------------------------------------------------- legacy dashboard: the section


def test_course_team_gets_the_section_in_the_data_download_tab(team_member, exams, as_user):
    as_user(team_member)
    context = render_started(team_member)

    assert [s["section_key"] for s in context["sections"]] == ["course_info", "data_download", "site_notes"]
    data_download = section(context, "data_download")
    assert data_download["template_path_prefix"] == "/proctoring_results/instructor_dashboard/"
    assert data_download["show_generate_proctored_exam_report_button"] is False  # the LMS's button is gone
    fragment = data_download["fragment"]
    body = fragment.body_html()
    assert 'id="pr-dashboard"' in body and "Generate Proctored Exam Results Report" in body
    assert 'name="csrfmiddlewaretoken"' in body  # the LMS request's own CSRF token
    assert f"/api/proctoring-results/v1/courses/{COURSE_ID}/report-tasks/" in body
    assert "proctoring_results/data_download.css" in fragment.head_html()
    assert "proctoring_results/data_download.js" in fragment.foot_html()
    assert "data_download.js" not in body and "data_download.css" not in body  # loaded once, by head and foot
    assert context["site_steps_ran"] == ["SiteSection"]


def test_course_staff_without_the_data_download_tab_get_a_tab_of_their_own(course_staff_only, exams, as_user):
    as_user(course_staff_only)
    context = render_started(course_staff_only)

    assert [s["section_key"] for s in context["sections"]] == ["course_info", "site_notes", "proctoring_results"]
    own = section(context, "proctoring_results")
    assert own["section_display_name"] == "Proctoring results"
    assert own["template_path_prefix"] == "/proctoring_results/instructor_dashboard/"
    assert 'id="pr-dashboard"' in own["fragment"].body_html()


def test_a_learner_gets_nothing(learner, exams, as_user):
    as_user(learner)
    context = render_started(learner)
    assert [s["section_key"] for s in context["sections"]] == ["course_info", "site_notes"]
    assert not any("fragment" in s for s in context["sections"])


def test_a_course_without_proctored_exams_gets_nothing(team_member, exams, as_user):
    as_user(team_member)
    context = render_started(team_member, OTHER_COURSE_ID)
    data_download = section(context, "data_download")
    assert "fragment" not in data_download and "template_path_prefix" not in data_download
    assert data_download["show_generate_proctored_exam_report_button"] is False  # the LMS's own: not proctored
    assert section(context, "proctoring_results") is None
    assert context["site_steps_ran"] == ["SiteSection"]


def test_proctored_exams_this_app_holds_count_even_if_studio_setting_is_off(team_member, exams, as_user, courses):
    courses[COURSE_ID] = False
    as_user(team_member)
    assert "fragment" in section(render_started(team_member), "data_download")


def test_switched_off_the_lms_keeps_its_own_button(team_member, exams, as_user):
    as_user(team_member)
    with override_settings(PROCTORING_RESULTS={**settings.PROCTORING_RESULTS, "OPENEDX_DASHBOARD_SECTION": False}):
        context = render_started(team_member)
    data_download = section(context, "data_download")
    assert "fragment" not in data_download
    assert data_download["show_generate_proctored_exam_report_button"] is True
    assert context["site_steps_ran"] == ["SiteSection"]


def test_a_site_step_after_ours_still_runs(team_member, exams, as_user, learner):
    config = {
        filters.RENDER_STARTED_FILTER: {
            "fail_silently": False,
            "pipeline": [SECTION_STEP, "tests.openedx.site_steps.SiteSection"],
        }
    }
    with override_settings(OPEN_EDX_FILTERS_CONFIG=config):
        for user in (team_member, learner):  # with and without a section to add
            as_user(user)
            assert render_started(user)["site_steps_ran"] == ["SiteSection"]


def test_without_a_request_or_user_nothing_is_added(team_member, exams, as_user):
    as_user(None)
    context = render_started(team_member)
    assert not any("fragment" in s for s in context["sections"])


# ---------------------------------------------------------------- new dashboard: the tab


def test_course_team_gets_the_tab(team_member, exams, as_user):
    as_user(team_member)
    tabs = tabs_requested(team_member)
    lms_tabs = lms_views.lms_tabs(team_member, CourseKey.from_string(COURSE_ID))
    assert tabs[: len(lms_tabs)] == lms_tabs
    assert tabs[len(lms_tabs) :] == [
        {"tab_id": "site_notes", "title": "Site notes", "url": "http://site.test/notes", "sort_order": 200},
        {"tab_id": "proctoring_results", "title": "Proctoring results", "url": RESULTS_PAGE, "sort_order": 65},
    ]
    # The MFE sorts by sort_order: right after the LMS's Data Downloads (60).
    order = [t["tab_id"] for t in sorted(tabs, key=lambda t: t["sort_order"])]
    assert order[order.index("data_downloads") + 1] == "proctoring_results"


def test_the_tab_leads_to_the_results_page(client, team_member, exams):
    client.force_login(team_member)
    response = client.get(RESULTS_PAGE.removeprefix("http://lms.example.test"))
    assert response.status_code == 200
    assert b"Generate Proctored Exam Results Report" in response.content


@pytest.mark.parametrize("who,course_id", [("learner", COURSE_ID), ("team_member", OTHER_COURSE_ID)])
def test_no_tab_for_a_learner_or_a_course_without_proctored_exams(request, who, course_id, exams):
    user = request.getfixturevalue(who)
    tabs = tabs_requested(user, course_id)
    assert "proctoring_results" not in [t["tab_id"] for t in tabs]
    assert tabs[-1]["tab_id"] == "site_notes"


def test_the_tab_switched_off(team_member, exams):
    with override_settings(PROCTORING_RESULTS={**settings.PROCTORING_RESULTS, "OPENEDX_DASHBOARD_TAB": False}):
        tabs = tabs_requested(team_member)
    assert [t["tab_id"] for t in tabs][-1] == "site_notes"


# ---------------------------------------------------------------- the LMS page, rendered with Mako


@pytest.mark.parametrize("section_key", ["data_download", "data_download_2"])
def test_the_lms_page_renders_the_section_in_place_of_its_button(client, team_member, exams, monkeypatch, section_key):
    """In either layout of the LMS's Data Download tab (``data_download_2`` while its v2 flag was on)."""
    monkeypatch.setattr(lms_views, "DATA_DOWNLOAD_SECTION_KEY", section_key)
    client.force_login(team_member)
    html = client.get(f"/courses/{COURSE_ID}/instructor").content.decode()

    data_download = html[html.index(f'<section id="{section_key}"') : html.index('<section id="site_notes"')]
    assert 'name="list-profiles-csv"' in data_download  # the LMS's own tab content, kept
    assert 'name="proctored-exam-results-report"' not in html  # its proctored-results button, gone
    assert 'id="pr-generate"' in data_download and "Proctored Exam Results" in data_download
    assert html.count("proctoring_results/data_download.js") == 1
    assert html.index("proctoring_results/data_download.css") < html.index("</head>")


def test_the_lms_page_keeps_its_button_for_a_course_without_proctored_exams_in_this_app(client, researcher_only, exams):
    client.force_login(researcher_only)
    html = client.get(f"/courses/{COURSE_ID}/instructor").content.decode()
    assert 'name="proctored-exam-results-report"' in html
    assert 'id="pr-dashboard"' not in html


def test_a_settings_file_that_drops_the_steps_is_reported():
    from django.core import checks

    site_only = {filters.TABS_REQUESTED_FILTER: ["tests.openedx.site_steps.SiteTab"]}
    with override_settings(OPEN_EDX_FILTERS_CONFIG=site_only):
        [warning] = [m for m in checks.run_checks() if m.id == "proctoring_results.W102"]
        assert SECTION_STEP in warning.msg and TAB_STEP in warning.msg
        with override_settings(
            PROCTORING_RESULTS={
                **settings.PROCTORING_RESULTS,
                "OPENEDX_DASHBOARD_SECTION": False,
                "OPENEDX_DASHBOARD_TAB": False,
            }
        ):
            assert not [m for m in checks.run_checks() if m.id == "proctoring_results.W102"]
        with override_settings(OPEN_EDX_FILTERS_CONFIG=plugin_common.add_filter_steps(site_only)):
            assert not [m for m in checks.run_checks() if m.id == "proctoring_results.W102"]
    assert not [m for m in checks.run_checks() if m.id == "proctoring_results.W102"]
