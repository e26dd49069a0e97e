"""REST API v1, mounted under ``api/proctoring-results/v1/``."""

from django.urls import path

from . import reports, reviews

urlpatterns = [
    path("reviews/", reviews.ReviewCallbackView.as_view(), name="v1-reviews"),
    path("attempts/<str:attempt_code>/decision/", reviews.AttemptDecisionView.as_view(), name="v1-attempt-decision"),
    path("attempts/<str:attempt_code>/reviews/", reviews.AttemptReviewsView.as_view(), name="v1-attempt-reviews"),
    path("courses/<course_key:course_id>/report-tasks/", reports.ReportTasksView.as_view(), name="v1-report-tasks"),
    path("courses/<course_key:course_id>/reports/", reports.ReportsView.as_view(), name="v1-reports"),
    path("courses/<course_key:course_id>/status-counts/", reports.StatusCountsView.as_view(), name="v1-status-counts"),
]
