"""
URLs of proctoring_results; a host mounts them with ``path("", include("proctoring_results.urls"))``.

Course ids appear in paths as Open edX course keys (``course-v1:Org+Course+Run``),
matched by the ``course_key`` converter below and parsed again by the views.
"""

from django.urls import include, path, register_converter

from . import views


class CourseKeyConverter:
    """Matches an Open edX course key in a URL path (new style or old slash-separated)."""

    regex = r"[^/+]+(?:/|\+)[^/+]+(?:/|\+)[^/?]+?"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


register_converter(CourseKeyConverter, "course_key")

app_name = "proctoring_results"

urlpatterns = [
    path("api/proctoring-results/v1/", include("proctoring_results.rest_api.v1.urls")),
    path("courses/<course_key:course_id>/instructor/data_download/", views.data_download, name="data_download"),
    # The page's live parts as HTML, fetched by its script (one rendering per part).
    path(
        "courses/<course_key:course_id>/instructor/data_download/tasks/",
        views.data_download_tasks,
        name="data_download_tasks",
    ),
    path(
        "courses/<course_key:course_id>/instructor/data_download/reports/",
        views.data_download_reports,
        name="data_download_reports",
    ),
    path(
        "proctoring-results/reports/download/<str:token>/", views.ReportDownloadView.as_view(), name="report_download"
    ),
]
