"""
REST endpoints behind the Data Download page: generate a report, Pending Tasks, reports with fresh links.

Used by the page's script (session + CSRF), by scripts (token auth) and by an
MFE. The views are thin: permission from ``CanViewCourseResults``, data from
``api.py``, links from ``storage.make_report_link`` through ``views.report_download_url``.
"""

from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from proctoring_results import api, charts, exceptions
from proctoring_results.conf import app_settings
from proctoring_results.views import GENERATE_MESSAGE, report_download_link

from .permissions import CanViewCourseResults

#: A listing returns at most this many reports, newest first, unless ``?limit=`` asks for fewer or more.
#: The page's size: signing links is most of a poll's cost (docs/performance.rst).
DEFAULT_REPORT_LIMIT = 25
MAX_REPORT_LIMIT = 1000


class ReportTaskSerializer(serializers.Serializer):
    """A ``ReportTaskData`` as a row of Pending Tasks."""

    id = serializers.IntegerField()
    course_id = serializers.CharField()
    report_type = serializers.CharField()
    report_type_label = serializers.CharField()
    requester = serializers.CharField(source="requester_username", allow_null=True)
    state = serializers.CharField()
    state_label = serializers.CharField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class ReportSerializer(serializers.Serializer):
    """A ``ReportData`` with a link signed for the caller just now."""

    id = serializers.IntegerField()
    course_id = serializers.CharField()
    file_name = serializers.CharField()
    created = serializers.DateTimeField()
    size_bytes = serializers.IntegerField()
    row_count = serializers.IntegerField()
    download_url = serializers.SerializerMethodField()
    download_url_expires_at = serializers.SerializerMethodField()

    def _link(self, report):
        links = self.context.setdefault("links", {})
        if report.id not in links:
            links[report.id] = report_download_link(self.context["request"], report)
        return links[report.id]

    def get_download_url(self, report):
        return self._link(report)[0]

    def get_download_url_expires_at(self, report):
        return serializers.DateTimeField().to_representation(self._link(report)[1])


class CourseView(APIView):
    permission_classes = [CanViewCourseResults]
    course_key = None  # set by CanViewCourseResults


class ReportTasksView(CourseView):
    """
    ``GET``: the course's active report tasks (Pending Tasks); ``?active_only=false`` adds recent ended ones.
    ``POST``: request a Proctored Exam Results Report; 202 with the task, 409 if one is already running.
    """

    #: With ``?active_only=false``, the newest tasks of any state (to read why one failed), at most this many.
    RECENT_TASKS = 20

    def get(self, request, course_id):
        active_only = request.query_params.get("active_only", "true").lower() not in ("false", "0", "no")
        tasks = api.list_report_tasks(self.course_key, active_only=active_only)
        if not active_only:
            tasks = tasks[: self.RECENT_TASKS]
        return Response({"tasks": ReportTaskSerializer(tasks, many=True).data})

    def post(self, request, course_id):
        extra_columns = request.data.get("extra_columns") if hasattr(request.data, "get") else None
        if extra_columns is not None and (
            not isinstance(extra_columns, list) or not all(isinstance(c, str) for c in extra_columns)
        ):
            raise ParseError(_("extra_columns must be a list of column names."))
        try:
            task = api.request_report(self.course_key, request.user, extra_columns=extra_columns or None)
        except exceptions.ReportAlreadyRunning as exc:
            return Response(
                {"task": ReportTaskSerializer(exc.task).data, "message": str(exc)}, status=status.HTTP_409_CONFLICT,
            )
        except exceptions.ReportQueueUnavailable as exc:
            return Response({"message": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except (exceptions.ProctoringResultsError, ValueError) as exc:
            # e.g. an unknown extra column: the message names it, and holds no personal data.
            return Response({"message": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"task": ReportTaskSerializer(task).data, "message": str(GENERATE_MESSAGE)},
            status=status.HTTP_202_ACCEPTED,
        )


class ReportsView(CourseView):
    """``GET``: the course's reports, newest first, each with a link signed for the caller that expires soon."""

    def get(self, request, course_id):
        limit = request.query_params.get("limit", DEFAULT_REPORT_LIMIT)
        try:
            limit = int(limit)
            if not 1 <= limit <= MAX_REPORT_LIMIT:
                raise ValueError
        except (TypeError, ValueError):
            raise ParseError(_("limit must be a whole number from 1 to %(max)s.") % {"max": MAX_REPORT_LIMIT}) from None
        reports = api.list_reports(self.course_key, limit=limit)
        return Response({
            "count": api.count_reports(self.course_key),
            "link_expiry_seconds": app_settings.LINK_EXPIRY_SECONDS,
            "reports": ReportSerializer(reports, many=True, context={"request": request}).data,
        })


class StatusCountsView(CourseView):
    """``GET``: per exam, attempts by the chart's groups (Satisfactory, Unsatisfactory, ...) and by status."""

    def get(self, request, course_id):
        exams = api.course_status_counts(self.course_key)
        rows = charts.group_counts(exams)
        return Response({
            "groups": [{"key": g.key, "label": str(g.label), "statuses": sorted(g.statuses)} for g in charts.GROUPS],
            "exams": [
                {
                    "exam_id": row.exam_id, "exam_name": row.exam_name, "is_practice_exam": row.is_practice_exam,
                    "total": row.total, "groups": {g.key: n for g, n in row.counts}, "by_status": exam.by_status,
                }
                for exam, row in zip(exams, rows)
            ],
        })
