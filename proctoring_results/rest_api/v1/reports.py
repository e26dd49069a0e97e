"""
REST endpoints behind the Data Download page: generate a report, Pending Tasks, reports with fresh links.

Used by the page's script (session + CSRF), by scripts (token auth) and by an
MFE. The views are thin: permission from ``CanViewCourseResults``, requests
read and answers rendered by ``serializers.py``, data from ``api.py``, links
from ``links.report_download_link``, as on the page.
"""

from rest_framework import status
from rest_framework.response import Response

from proctoring_results import api, charts, exceptions
from proctoring_results.conf import app_settings
from proctoring_results.links import report_download_link

from .errors import AppError, V1View
from .permissions import CanViewCourseResults
from .serializers import (
    ReportListQuerySerializer,
    ReportListSerializer,
    ReportOptionsSerializer,
    ReportTaskAcceptedSerializer,
    ReportTaskListSerializer,
    ReportTasksQuerySerializer,
    ReportUnchangedSerializer,
    StatusCountsSerializer,
)


class CourseView(V1View):
    permission_classes = [CanViewCourseResults]
    course_key = None  # set by CanViewCourseResults
    not_found_field = "course_id"
    legacy_error_keys = True


class ReportTasksView(CourseView):
    """
    ``GET``: the course's active report tasks (Pending Tasks); ``?active_only=false`` adds recent ended ones.
    ``POST``: request a Proctored Exam Results Report; 202 with the task, 409 if one is already running,
    200 with the newest report when nothing changed since it (``{"force": true}`` asks for a new one anyway),
    429 once the course reached ``REPORT_MAX_PER_HOUR``.
    """

    #: With ``?active_only=false``, the newest tasks of any state (to read why one failed), at most this many.
    RECENT_TASKS = 20
    serializer_class = ReportOptionsSerializer

    def get(self, request, course_id):
        query = ReportTasksQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        active_only = query.validated_data["active_only"]
        tasks = api.list_report_tasks(self.course_key, active_only=active_only)
        if not active_only:
            tasks = tasks[: self.RECENT_TASKS]
        return Response(ReportTaskListSerializer({"tasks": tasks}).data)

    def post(self, request, course_id):
        options = ReportOptionsSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        try:
            task = api.generate_report_if_changed(
                self.course_key,
                request.user,
                extra_columns=options.validated_data.get("extra_columns") or None,
                column_profile=options.validated_data.get("column_profile"),
                force=options.validated_data.get("force", False),
            )
        except exceptions.ReportAlreadyRunning as exc:
            # Not an error: the seed's sentence again, with the task that is already running.
            return Response(
                ReportTaskAcceptedSerializer({"task": exc.task, "message": str(exc)}).data,
                status=status.HTTP_409_CONFLICT,
            )
        except exceptions.ReportUnchanged as exc:
            # Not an error either: the newest report is the answer, with a fresh link.
            return Response(
                ReportUnchangedSerializer(
                    {"report": exc.report, "message": str(exc)},
                    context={"link": lambda report: report_download_link(request, report)},
                ).data,
                status=status.HTTP_200_OK,
            )
        except exceptions.ReportLimitReached as exc:
            error = AppError(status.HTTP_429_TOO_MANY_REQUESTS, "throttle", str(exc))
            error.wait = exc.retry_after  # DRF's handler sends it as Retry-After
            raise error from None
        except exceptions.ForceNotAllowed as exc:
            raise AppError(status.HTTP_403_FORBIDDEN, "force", str(exc)) from None
        except exceptions.ReportQueueUnavailable as exc:
            raise AppError(status.HTTP_503_SERVICE_UNAVAILABLE, "non_field_errors", str(exc)) from None
        except (exceptions.ProctoringResultsError, ValueError) as exc:
            # e.g. an unknown extra column: the message names it, and holds no personal data.
            raise AppError(status.HTTP_400_BAD_REQUEST, "extra_columns", str(exc)) from None
        return Response(
            ReportTaskAcceptedSerializer({"task": task, "message": str(api.REPORT_BEING_CREATED)}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ReportsView(CourseView):
    """``GET``: the course's reports, newest first, each with a link signed for the caller that expires soon."""

    def get(self, request, course_id):
        query = ReportListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports = api.list_reports(self.course_key, limit=query.validated_data["limit"])
        return Response(
            ReportListSerializer(
                {
                    "count": api.count_reports(self.course_key),
                    "link_expiry_seconds": app_settings.LINK_EXPIRY_SECONDS,
                    "reports": reports,
                },
                context={"link": lambda report: report_download_link(request, report)},
            ).data
        )


class StatusCountsView(CourseView):
    """``GET``: per exam, attempts by the chart's groups (Satisfactory, Unsatisfactory, ...) and by status."""

    def get(self, request, course_id):
        exams = api.course_status_counts(self.course_key)
        rows = charts.group_counts(exams)
        return Response(
            StatusCountsSerializer(
                {
                    "groups": [
                        {"key": g.key, "label": str(g.label), "statuses": sorted(g.statuses)} for g in charts.GROUPS
                    ],
                    "exams": [
                        {
                            "exam_id": row.exam_id,
                            "exam_name": row.exam_name,
                            "is_practice_exam": row.is_practice_exam,
                            "total": row.total,
                            "groups": {g.key: n for g, n in row.counts},
                            "by_status": exam.by_status,
                        }
                        for exam, row in zip(exams, rows, strict=True)
                    ],
                }
            ).data
        )
