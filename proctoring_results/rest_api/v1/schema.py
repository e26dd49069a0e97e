"""
What the OpenAPI description of REST API v1 needs beyond the serializers (docs/reference/rest_api.rst).

The bodies are described by ``serializers.py``, which the views use to read
requests and render answers. This module adds only what a serializer cannot
say: which status code answers with which serializer, the operation ids and
tags, the path and query parameters, and the provider signature scheme.
It is imported only when a host lists ``drf_spectacular`` in
``INSTALLED_APPS`` (an Open edX LMS does not need it), so the views stay free
of drf-spectacular. The example serves the schema at
``api/proctoring-results/v1/schema/``; CI generates it with ``--validate
--fail-on-warn`` and runs schemathesis against the example site.

A new endpoint under ``rest_api/v1/`` needs a line in ``OPERATIONS`` too:
``tests/test_schema.py`` fails until every route of v1 is in the schema
without a warning.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from proctoring_results import statuses

from . import serializers as s

V1_PREFIX = "/api/proctoring-results/v1/"
TAG_REPORTS = "reports"
TAG_REVIEWS = "reviews"

# Enum names (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]) point at ``statuses``, the vocabularies'
# one home; these derived names are kept for host settings that named them before.
STATUS_CHOICES = tuple(statuses.AttemptStatus.values)
PROVIDER_STATUS_CHOICES = tuple(statuses.ProviderStatus.values)
DECISION_CHOICES = tuple(statuses.STAFF_OUTCOMES)


def only_rest_api_v1(endpoints, **kwargs):
    """Preprocessing hook: the schema covers REST API v1, not the HTML pages or the download redirect."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(V1_PREFIX)]


_COURSE_ID = OpenApiParameter(
    "course_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Open edX course key, e.g. course-v1:edX+DemoX+2026; at most 255 characters (longer: 400).",
)
_ATTEMPT_CODE = OpenApiParameter(
    "attempt_code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The attempt's code.",
)
#: Errors of the course-team report endpoints (with their 0.x keys) and of the review endpoints.
_REPORT_ERRORS = {code: s.ReportErrorsSerializer for code in (400, 401, 403, 404)}
_REVIEW_ERRORS = {code: s.ErrorsSerializer for code in (400, 401, 403, 404, 409)}

#: view -> method -> how the operation is described.
OPERATIONS = {
    "proctoring_results.rest_api.v1.reports.ReportTasksView": {
        "get": extend_schema(
            tags=[TAG_REPORTS],
            operation_id="list_report_tasks",
            parameters=[_COURSE_ID, s.ReportTasksQuerySerializer],
            responses={200: s.ReportTaskListSerializer, **_REPORT_ERRORS},
            description="Pending Tasks: the course's queued and running report tasks.",
        ),
        "post": extend_schema(
            tags=[TAG_REPORTS],
            operation_id="request_report",
            parameters=[_COURSE_ID],
            request=s.ReportOptionsSerializer,
            responses={
                200: OpenApiResponse(
                    s.ReportUnchangedSerializer,
                    description="Nothing in the course changed since its newest report with these columns: that "
                    "report, with a fresh link, and no new task.",
                ),
                202: s.ReportTaskAcceptedSerializer,
                **_REPORT_ERRORS,
                403: OpenApiResponse(
                    s.ReportErrorsSerializer, description="Not the course team, or force refused (REPORT_ALLOW_FORCE)."
                ),
                409: OpenApiResponse(
                    s.ReportTaskAcceptedSerializer, description="A report of this course is already running: that task."
                ),
                429: OpenApiResponse(
                    s.ReportErrorsSerializer,
                    description="The course reached REPORT_MAX_PER_HOUR reports in the last hour; "
                    "Retry-After says when one more is allowed.",
                ),
                503: OpenApiResponse(s.ReportErrorsSerializer, description="The task queue is unavailable."),
            },
            description=(
                "Generate a Proctored Exam Results Report (one at a time per course). When nothing in the "
                "course (exams, attempts, allowances, reviews) changed since its newest report, answers 200 "
                "with that report instead of writing another copy, unless force is true."
            ),
        ),
    },
    "proctoring_results.rest_api.v1.reports.ReportsView": {
        "get": extend_schema(
            tags=[TAG_REPORTS],
            operation_id="list_reports",
            parameters=[_COURSE_ID, s.ReportListQuerySerializer],
            responses={200: s.ReportListSerializer, **_REPORT_ERRORS},
            description="The course's reports, newest first, each with a freshly signed download link.",
        ),
    },
    "proctoring_results.rest_api.v1.reports.StatusCountsView": {
        "get": extend_schema(
            tags=[TAG_REPORTS],
            operation_id="status_counts",
            parameters=[_COURSE_ID],
            responses={200: s.StatusCountsSerializer, **_REPORT_ERRORS},
            description="Per exam, how many attempts are in each status (the dashboard's chart).",
        ),
    },
    "proctoring_results.rest_api.v1.reviews.ReviewCallbackView": {
        "post": extend_schema(
            tags=[TAG_REVIEWS],
            operation_id="post_review",
            request=s.ReviewCallbackSerializer,
            responses={200: s.ReviewResultSerializer, **_REVIEW_ERRORS, 413: s.ErrorsSerializer},
            description="A proctoring provider's signed review of one attempt (docs/providers.rst).",
        ),
    },
    "proctoring_results.rest_api.v1.reviews.AttemptDecisionView": {
        "post": extend_schema(
            tags=[TAG_REVIEWS],
            operation_id="decide_attempt",
            parameters=[_ATTEMPT_CODE],
            request=s.StaffDecisionSerializer,
            responses={200: s.StaffDecisionResultSerializer, **_REVIEW_ERRORS},
            description="Course staff confirm a second review or decide an appeal.",
        ),
    },
    "proctoring_results.rest_api.v1.reviews.AttemptReviewsView": {
        "get": extend_schema(
            tags=[TAG_REVIEWS],
            operation_id="list_attempt_reviews",
            parameters=[_ATTEMPT_CODE],
            responses={200: s.ReviewListSerializer, **{c: s.ErrorsSerializer for c in (401, 403, 404)}},
            description="An attempt's reviews, oldest first, with their flags (course staff only).",
        ),
    },
}


def _extension(target, operations):
    """An ``OpenApiViewExtension`` describing ``target``'s operations, without touching the view itself."""

    def view_replacement(self):
        return extend_schema_view(**operations)(type(self.target_class.__name__, (self.target_class,), {}))

    return type(
        f"{target.rsplit('.', 1)[1]}Schema",
        (OpenApiViewExtension,),
        {
            "target_class": target,
            "view_replacement": view_replacement,
        },
    )


EXTENSIONS = [_extension(target, operations) for target, operations in OPERATIONS.items()]


class ProviderSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "proctoring_results.rest_api.v1.authentication.ProviderSignatureAuthentication"
    name = "providerSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Proctoring-Signature",
            "description": (
                "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the provider's secret>, "
                "sent with X-Proctoring-Provider: <name> (docs/providers.rst)."
            ),
        }
