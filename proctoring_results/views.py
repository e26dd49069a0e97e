"""
The instructor dashboard's Data Download page, and the view behind its signed report links.

Both are thin: they parse the course id, check ``api.can_view_course_results``
and call ``api.py`` (signed links: ``links.py``); the page's live parts talk to
``rest_api/v1/reports.py``.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from rest_framework.views import APIView

from . import api, charts, formats
from .conf import app_settings
from .exceptions import (
    CourseIdTooLong,
    InvalidCourseId,
    ProctoringResultsError,
    ReportFileMissing,
    ReportLinkExpired,
    ReportLinkInvalid,
)
from .links import deliver, read_report_link, report_download_link

#: The seed's words, shown when the button is clicked (one home: ``api.REPORT_BEING_CREATED``).
GENERATE_MESSAGE = api.REPORT_BEING_CREATED

#: How many reports the page lists, newest first; the REST API can list more (``api.REPORT_PAGE_SIZE``).
PAGE_REPORT_LIMIT = api.REPORT_PAGE_SIZE


def _message_page(request, status, title, message, course_id=None, new_link_hint=False):
    """A small page that says what went wrong and where to go next (``new_link_hint``: get a new link there)."""
    return render(
        request,
        "proctoring_results/message.html",
        {
            "title": title,
            "message": message,
            "course_id": course_id,
            "new_link_hint": new_link_hint,
        },
        status=status,
    )


def _dashboard_strings():
    """Translated strings the page's script shows (no JavaScript i18n build: the server translates)."""
    return {
        "expired": _("(link expired; getting a new one…)"),
        "requestFailed": _("The request failed (HTTP %(status)s). Please try again."),
        "networkError": _("The server could not be reached. Retrying…"),
        "reportReady": _("A new report is ready: %(name)s"),
        "taskFailed": _("The report could not be created: %(message)s"),
    }


def _course_for_page(request, course_id):
    """``(course_key, None)`` when the user may see the course's page, else ``(None, the refusal page)``."""
    try:
        course_key = api.parse_course_id(course_id)
    except CourseIdTooLong as exc:
        return None, _message_page(request, 400, _("Course id too long"), str(exc))
    except InvalidCourseId as exc:
        return None, _message_page(request, 404, _("Course not found"), str(exc))
    if not api.can_view_course_results(request.user, course_key):
        return None, _message_page(
            request,
            403,
            _("Permission denied"),
            _("Only the course team can see this course's proctored exam results."),
        )
    return course_key, None


def _tasks_context(course_key):
    """What ``_pending_tasks.html`` renders: active tasks and a recent failure (``api.list_pending_tasks``)."""
    tasks = api.list_pending_tasks(course_key)
    return {"tasks": tasks, "tasks_active": any(task.is_active for task in tasks)}


def _reports_context(request, course_key):
    """What ``_report_list.html`` renders: the newest reports, each with a link signed just now."""
    reports = []
    for report in api.list_reports(course_key, limit=PAGE_REPORT_LIMIT):
        url, expires_at = report_download_link(request, report)
        reports.append({"report": report, "url": url, "expires_at": expires_at})
    total = api.count_reports(course_key) if len(reports) == PAGE_REPORT_LIMIT else len(reports)
    return {"reports": reports, "reports_total": total}


@require_safe
def data_download(request, course_id):
    """The Data Download page: Generate button, reports (newest first), Pending Tasks, and the status chart."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    course_key, refusal = _course_for_page(request, course_id)
    if refusal:
        return refusal
    return render(request, "proctoring_results/data_download.html", dashboard_context(request, course_key))


def dashboard_context(request, course_key):
    """What the dashboard (page or fragment) shows for a course the user may see."""
    chart_rows = charts.group_counts(api.course_status_counts(course_key))
    return {
        "course_id": str(course_key),
        "course_name": api.course_display_name(course_key),
        **_reports_context(request, course_key),
        **_tasks_context(course_key),
        "chart_svg": charts.status_chart_svg(chart_rows),
        "chart_rows": chart_rows,
        "chart_groups": charts.GROUPS,
        "link_expiry_seconds": app_settings.LINK_EXPIRY_SECONDS,
        "tasks_url": reverse("proctoring_results:v1-report-tasks", args=[str(course_key)]),
        "reports_url": reverse("proctoring_results:v1-reports", args=[str(course_key)]),
        "tasks_part_url": reverse("proctoring_results:data_download_tasks", args=[str(course_key)]),
        "reports_part_url": reverse("proctoring_results:data_download_reports", args=[str(course_key)]),
        "strings": _dashboard_strings(),
        "generate_message": GENERATE_MESSAGE,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "allow_force": app_settings.REPORT_ALLOW_FORCE,
    }


def render_dashboard_fragment(request, course_key):
    """
    The dashboard's HTML for a host page that loads its stylesheet and script itself.

    Used inside the LMS's instructor dashboard (``openedx/filters.py``); the caller
    has already checked that the user may see the course's results.
    """
    context = dashboard_context(request, course_key)
    context["embedded"] = True
    return render_to_string("proctoring_results/_data_download_fragment.html", context, request=request)


def _part(request, course_id, template, build_context):
    """One live part of the page, rendered alone for the page's script; never a login page (403 instead)."""
    if not request.user.is_authenticated:
        return _message_page(request, 403, _("Permission denied"), _("Sign in to see this course's reports."))
    course_key, refusal = _course_for_page(request, course_id)
    if refusal:
        return refusal
    return render(request, template, build_context(course_key))


@require_safe
def data_download_tasks(request, course_id):
    """Pending Tasks as HTML, polled by the page's script (``_pending_tasks.html``)."""
    return _part(request, course_id, "proctoring_results/_pending_tasks.html", _tasks_context)


@require_safe
def data_download_reports(request, course_id):
    """The report list with freshly signed links, as HTML, fetched by the page's script (``_report_list.html``)."""
    return _part(
        request,
        course_id,
        "proctoring_results/_report_list.html",
        lambda course_key: _reports_context(request, course_key),
    )


class ReportDownloadView(APIView):
    """
    Follow a signed report link (ADR 0004, docs/decisions/).

    A DRF view only so that scripts can follow links with their API token;
    browsers use their session. Checks, in order: signed in (else the login
    page), the signature and age (tampered → 403, expired → 410), the link's
    user is the caller, the caller may still see the course (roles are
    re-checked now, not when the link was made). Then the download is
    recorded and the file served, or redirected to a storage URL that expires
    no later than the link (``links.deliver`` decides which).
    """

    permission_classes = []

    def get(self, request, token):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            link = read_report_link(token)
        except ReportLinkExpired as exc:
            report, on_team = self._report_of(request, exc.report_id)
            if on_team is False:
                return self._not_on_team(request)
            return _message_page(
                request,
                410,
                _("This link has expired"),
                _("Report links expire within %(lifetime)s. Return to the Data Download page to get a new link.")
                % {"lifetime": formats.link_lifetime()},
                course_id=report.course_id if report else None,
                new_link_hint=True,
            )
        except ReportLinkInvalid:
            return self._refused(request)
        report, on_team = self._report_of(request, link.report_id)
        if on_team is False:
            return self._not_on_team(request)
        if link.user_id != request.user.pk:
            return self._refused(request, report.course_id if report else None)
        if report is None:
            return _message_page(
                request,
                404,
                _("Report not found"),
                _("This report no longer exists. Return to the Data Download page for the current reports."),
            )
        return self._serve(request, report, link)

    @staticmethod
    def _report_of(request, report_id):
        """The linked report and whether the caller is on its course team; ``(None, None)`` if it is gone."""
        if report_id is None:
            return None, None
        try:
            report = api.get_report(report_id)
        except (LookupError, ProctoringResultsError):
            return None, None
        return report, api.can_view_course_results(request.user, report.course_id)

    @staticmethod
    def _refused(request, course_id=None):
        """A link that is not this course-team member's (altered, or made for someone else): get your own."""
        return _message_page(
            request,
            403,
            _("This link cannot be used"),
            _(
                "This download link is not valid for your account. Return to the Data Download page of your "
                "course and click the report's link there to get a new one."
            ),
            course_id=course_id,
            new_link_hint=True,
        )

    @staticmethod
    def _not_on_team(request):
        """A learner (or anyone off the course team) followed a link: no advice that could not work for them."""
        return _message_page(
            request,
            403,
            _("Only the course team can download these reports"),
            _(
                "These reports hold the proctoring results of a course's learners, so only the course team can "
                "download them. If you think you should have access, ask the course team."
            ),
        )

    def _serve(self, request, report, link):
        try:
            delivery = deliver(report, link)
        except ReportLinkExpired:
            # Under a second left: a presigned URL cannot expire by then, so this link is done.
            return _message_page(
                request,
                410,
                _("This link has expired"),
                _("Return to the Data Download page to get a new link."),
                course_id=report.course_id,
            )
        except ReportFileMissing:
            return _message_page(
                request,
                404,
                _("Report file not found"),
                _("The file of this report is no longer available. Generate a new report on the Data Download page."),
                course_id=report.course_id,
            )
        api.record_report_download(report, request.user, _client_ip(request))
        if delivery.url is not None:
            response = HttpResponseRedirect(delivery.url)
        else:
            response = FileResponse(
                delivery.file,
                as_attachment=True,
                filename=report.file_name,
                content_type="text/csv; charset=utf-8",
            )
        response["Cache-Control"] = "no-store"
        return response


def _client_ip(request):
    """The address the request came from, as Django sees it (a proxy host sets REMOTE_ADDR correctly)."""
    return request.META.get("REMOTE_ADDR")
