"""
The LMS's legacy instructor dashboard and the instructor API v2's tab list, shaped as edx-platform makes them.

``instructor_dashboard_2`` builds its sections and context the way
``lms/djangoapps/instructor/views/instructor_dashboard.py`` does (only the
Course Info and Data Download sections are kept), calls
``InstructorDashboardRenderStarted.run_filter`` and renders the template it
returns with Mako, through a lookup over ``MAKO_TEMPLATE_DIRS_BASE`` as the LMS
does. ``lms_tabs`` is the tab list of ``CourseInformationSerializerV2.get_tabs``.
"""

from types import SimpleNamespace

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.views.decorators.csrf import ensure_csrf_cookie
from lms.djangoapps.instructor import permissions
from mako.lookup import TemplateLookup
from opaque_keys.edx.keys import CourseKey
from openedx_filters.learning.filters import InstructorDashboardRenderStarted

TEMPLATE = "instructor/instructor_dashboard_2/instructor_dashboard_2.html"

#: The modulestore's courses: course key -> ``enable_proctored_exams`` (Studio's advanced setting).
COURSES = {}


def get_course(course_key):
    if str(course_key) not in COURSES:
        raise Http404()
    return SimpleNamespace(
        id=course_key, display_name=f"Course {course_key.course}", enable_proctored_exams=COURSES[str(course_key)]
    )


def section_course_info(course):
    return {"section_key": "course_info", "section_display_name": "Course Info", "course_id": str(course.id)}


#: The Data Download section's key: ``data_download_2`` in the LMS while its v2 layout's flag was on.
DATA_DOWNLOAD_SECTION_KEY = "data_download"


def section_data_download(course, access):
    """``_section_data_download``: the LMS shows its button when special exams are on and the course is proctored."""
    course_id = str(course.id)
    return {
        "section_key": DATA_DOWNLOAD_SECTION_KEY,
        "section_display_name": "Data Download",
        "access": access,
        "show_generate_proctored_exam_report_button": bool(course.enable_proctored_exams),
        "list_proctored_results_url": f"/courses/{course_id}/instructor/api/get_proctored_exam_results",
        "list_report_downloads_url": f"/courses/{course_id}/instructor/api/list_report_downloads",
    }


@ensure_csrf_cookie
def instructor_dashboard_2(request, course_id):
    course_key = CourseKey.from_string(course_id)
    course = get_course(course_key)
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next={request.path}")
    if not user.has_perm(permissions.VIEW_DASHBOARD, course_key):
        raise Http404()
    access = {"admin": user.is_staff, "data_researcher": user.has_perm(permissions.CAN_RESEARCH, course_key)}
    sections = [section_course_info(course)]
    if access["data_researcher"]:
        sections.append(section_data_download(course, access))
    context = {"course": course, "sections": sections, "studio_url": None, "disable_buttons": False}
    template = TEMPLATE
    try:
        context, template = InstructorDashboardRenderStarted.run_filter(context=context, template_name=template)
    except InstructorDashboardRenderStarted.RedirectToPage as exc:
        return HttpResponseRedirect(exc.redirect_to)
    lookup = TemplateLookup(
        directories=[str(d) for d in settings.MAKO_TEMPLATE_DIRS_BASE], default_filters=["str", "h"]
    )
    html = lookup.get_template("/" + template).render(settings=settings, csrf_token=get_token(request), **context)
    return HttpResponse(html)


def lms_tabs(user, course_key):
    """The tabs ``get_tabs`` lists for course staff (Course Info, ..., Data Downloads, Special Exams)."""
    base = f"{settings.INSTRUCTOR_MICROFRONTEND_URL}/instructor/{course_key}"
    tabs = [
        {"tab_id": "course_info", "title": "Course Info", "url": f"{base}/course_info", "sort_order": 10},
        {"tab_id": "enrollments", "title": "Enrollments", "url": f"{base}/enrollments", "sort_order": 20},
    ]
    if user.has_perm(permissions.CAN_RESEARCH, course_key):
        tabs.append(
            {"tab_id": "data_downloads", "title": "Data Downloads", "url": f"{base}/data_downloads", "sort_order": 60}
        )
    return tabs
