"""
Open edX filter steps: this app's results inside the LMS's two instructor dashboards.

``DataDownloadSection`` runs in ``InstructorDashboardRenderStarted``
(``org.openedx.learning.instructor.dashboard.render.started.v1``), the filter
the legacy instructor dashboard calls with its page context just before it
renders. It puts the Generate button, Pending Tasks, the reports and the status
chart into the Data Download tab, and hides the LMS's own "Generate Proctored
Exam Results Report" button there, so an instructor never sees two buttons that
do different things. A user the LMS shows no Data Download tab (course staff
without the data researcher role) gets a "Proctoring results" tab of its own.

``ProctoringResultsTab`` runs in ``InstructorDashboardTabsRequested``
(``org.openedx.learning.instructor.dashboard.tabs.requested.v1``), which the
instructor API v2 calls for the new instructor dashboard's (frontend-app-instruct)
tab list. It adds a "Proctoring results" tab that leads to this app's page.

Both show only for courses with proctored exams, to users the LMS grants its
exam-results permission (``openedx.permissions``), and only while their switch
in ``PROCTORING_RESULTS`` is on. The plugin settings register them
(``settings/common.py``); docs/howto/install_openedx.rst explains the rest.

A step never breaks the LMS's page: it hands back what it was given when it
has nothing to add, so the site's later steps still run, and when it fails it
logs and hands back the same.
"""

import logging

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import api
from ..conf import app_settings
from ..exceptions import InvalidCourseId

try:  # inside the LMS; elsewhere (this app's own tests, the docs) a stand-in with the same constructor
    from openedx_filters import PipelineStep
except ImportError:  # pragma: no cover - depends on the environment

    class PipelineStep:
        """What openedx-filters' runner needs of a step: this constructor and ``run_filter``."""

        def __init__(self, filter_type, running_pipeline, **extra_config):
            self.filter_type = filter_type
            self.running_pipeline = running_pipeline
            self.extra_config = extra_config


log = logging.getLogger(__name__)

#: The legacy dashboard's filter, and the step this module registers for it.
RENDER_STARTED_FILTER = "org.openedx.learning.instructor.dashboard.render.started.v1"
SECTION_STEP = "proctoring_results.openedx.filters.DataDownloadSection"
#: The new instructor dashboard's filter, and the step for it.
TABS_REQUESTED_FILTER = "org.openedx.learning.instructor.dashboard.tabs.requested.v1"
TAB_STEP = "proctoring_results.openedx.filters.ProctoringResultsTab"

#: ``section_key`` values of the LMS's Data Download section (``_section_data_download``;
#: ``data_download_2`` while its v2 layout flag was on).
DATA_DOWNLOAD_KEYS = ("data_download", "data_download_2")
#: Key of the section this app adds when the user has no Data Download tab.
SECTION_KEY = "proctoring_results"
#: Where the LMS's Mako lookup finds this app's section templates (``MAKO_TEMPLATE_DIRS_BASE``);
#: the LMS includes ``{template_path_prefix}{section_key}.html``.
TEMPLATE_PATH_PREFIX = "/proctoring_results/instructor_dashboard/"
#: The LMS's flag in the Data Download section that shows its own proctored-results button.
LMS_BUTTON_FLAG = "show_generate_proctored_exam_report_button"

#: The tab: id, and its place among the LMS's (Data Downloads is 60, Open Responses 70).
TAB_ID = "proctoring_results"
TAB_SORT_ORDER = 65


def _current_request():
    """The request being served (the LMS runs django-crum's middleware); None outside one."""
    try:
        from crum import get_current_request
    except ImportError:  # pragma: no cover - edx-django-utils and the LMS bring django-crum
        return None
    return get_current_request()


def course_shows_results(user, course_key, course=None):
    """
    Should ``user`` see this app's results for the course in the LMS's dashboards?

    Yes when the course has proctored exams (the LMS's own ``enable_proctored_exams``,
    which shows its button, or proctored exams this app holds) and the permission
    check (inside the LMS: its ``instructor.view_exam_results``) allows the user.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    has_exams = bool(getattr(course, "enable_proctored_exams", False)) or api.course_has_proctored_exams(course_key)
    return has_exams and api.can_view_course_results(user, course_key)


class DataDownloadSection(PipelineStep):
    """``InstructorDashboardRenderStarted``: this app's dashboard in the LMS's Data Download tab."""

    def run_filter(self, context, template_name):  # pylint: disable=arguments-differ
        unchanged = {"context": context, "template_name": template_name}
        if not app_settings.OPENEDX_DASHBOARD_SECTION:
            return unchanged
        try:
            self._add_section(context)
        except Exception:  # the LMS's dashboard must render whatever happens here
            log.exception("The proctoring results section could not be added to the instructor dashboard.")
        return unchanged

    @staticmethod
    def _add_section(context):
        course = context.get("course") if isinstance(context, dict) else None
        sections = context.get("sections") if isinstance(context, dict) else None
        request = _current_request()
        if course is None or not isinstance(sections, list) or request is None:
            return
        try:
            course_key = api.parse_course_id(getattr(course, "id", None))
        except InvalidCourseId:
            return
        if not course_shows_results(request.user, course_key, course):
            return
        fragment = dashboard_fragment(request, course_key)
        data_download = next(
            (
                s
                for s in sections
                if isinstance(s, dict)
                and s.get("section_key") in DATA_DOWNLOAD_KEYS
                and not s.get("template_path_prefix")
                and "fragment" not in s
            ),
            None,
        )
        if data_download is not None:
            # The LMS renders its own Data Download template through ours, which adds this app's part.
            data_download.update(
                {
                    "template_path_prefix": TEMPLATE_PATH_PREFIX,
                    "fragment": fragment,
                    LMS_BUTTON_FLAG: False,
                }
            )
            return
        sections.append(
            {
                "section_key": SECTION_KEY,
                "section_display_name": _("Proctoring results"),
                "course_id": str(course_key),
                "template_path_prefix": TEMPLATE_PATH_PREFIX,
                "fragment": fragment,
            }
        )
        for section in sections:  # another plugin owns the Data Download template: still one button only
            if isinstance(section, dict) and section.get("section_key") in DATA_DOWNLOAD_KEYS:
                section[LMS_BUTTON_FLAG] = False


def dashboard_fragment(request, course_key):
    """
    The Data Download dashboard as a web fragment: HTML body, stylesheet in the head, script at the foot.

    The LMS adds the head and foot of every section's ``fragment`` to its page
    (instructor_dashboard_2.html); the body is placed by this app's Mako templates.
    """
    from web_fragments.fragment import Fragment

    from ..views import render_dashboard_fragment

    fragment = Fragment(render_dashboard_fragment(request, course_key))
    fragment.add_css_url(static("proctoring_results/data_download.css"))
    fragment.add_javascript_url(static("proctoring_results/data_download.js"))
    return fragment


class ProctoringResultsTab(PipelineStep):
    """``InstructorDashboardTabsRequested``: a "Proctoring results" tab in the new instructor dashboard."""

    def run_filter(self, tabs, user, course_key):  # pylint: disable=arguments-differ
        unchanged = {"tabs": tabs, "user": user, "course_key": course_key}
        if not app_settings.OPENEDX_DASHBOARD_TAB or not isinstance(tabs, list):
            return unchanged
        try:
            key = api.parse_course_id(course_key)
            if not any(isinstance(t, dict) and t.get("tab_id") == TAB_ID for t in tabs) and course_shows_results(
                user, key
            ):
                tabs.append(results_tab(key))
        except InvalidCourseId:
            pass
        except Exception:  # the LMS's tab list must come back whatever happens here
            log.exception("The proctoring results tab could not be added to the instructor dashboard.")
        return unchanged


def results_tab(course_key):
    """
    The tab, shaped like the LMS's own (``tab_id``, ``title``, ``url``, ``sort_order``).

    The MFE routes a url that starts with "/" inside itself, so the url is
    absolute: the LMS's ``LMS_ROOT_URL``, or the current request's host.
    """
    path = reverse("proctoring_results:data_download", args=[str(course_key)])
    root = getattr(settings, "LMS_ROOT_URL", "") or ""
    if root:
        url = root.rstrip("/") + path
    else:
        request = _current_request()
        url = request.build_absolute_uri(path) if request is not None else path
    return {"tab_id": TAB_ID, "title": _("Proctoring results"), "url": url, "sort_order": TAB_SORT_ORDER}


@register(Tags.compatibility)
def check_filter_steps(app_configs=None, **kwargs):
    """
    W102: inside the LMS, a switched-on step is missing from ``OPEN_EDX_FILTERS_CONFIG``.

    The plugin settings add both steps; a settings file (a Tutor patch, say) that
    assigns ``OPEN_EDX_FILTERS_CONFIG`` whole afterwards drops them, and the LMS's
    own proctored-results button is back without a word.
    """
    try:
        import openedx_filters  # noqa: F401  (only the LMS, or a host using Open edX filters, has it)

        switches = {SECTION_STEP: app_settings.OPENEDX_DASHBOARD_SECTION, TAB_STEP: app_settings.OPENEDX_DASHBOARD_TAB}
    except Exception:  # noqa: BLE001 - not inside an LMS, or E001 already reports the settings
        return []
    config = getattr(settings, "OPEN_EDX_FILTERS_CONFIG", None) or {}
    missing = []
    for filter_type, step in ((RENDER_STARTED_FILTER, SECTION_STEP), (TABS_REQUESTED_FILTER, TAB_STEP)):
        entry = config.get(filter_type) if isinstance(config, dict) else None
        pipeline = entry.get("pipeline") or [] if isinstance(entry, dict) else entry or []
        pipeline = [pipeline] if isinstance(pipeline, str) else pipeline
        if switches[step] is True and step not in pipeline:
            missing.append(step)
    if not missing:
        return []
    return [
        Warning(
            f"OPEN_EDX_FILTERS_CONFIG lacks {', '.join(missing)}: the instructor dashboard will not show "
            "this app's results.",
            hint="A settings file assigned OPEN_EDX_FILTERS_CONFIG after the plugin added its steps; pass your value "
            "through proctoring_results.settings.common.add_filter_steps() (docs/howto/install_openedx.rst).",
            id="proctoring_results.W102",
        )
    ]
