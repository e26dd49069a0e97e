"""
The OpenAPI description of REST API v1, for drf-spectacular (docs/reference/rest_api.rst).

The views are plain ``APIView``s that return documented JSON shapes; this
module describes those shapes from the outside (drf-spectacular's
``OpenApiViewExtension``) so the views stay thin and drf-spectacular stays
optional: the app imports this module only when a host lists
``drf_spectacular`` in ``INSTALLED_APPS`` (an Open edX LMS does not need it).
The example serves the schema at ``api/proctoring-results/v1/schema/``; CI
generates it with ``--validate --fail-on-warn`` and runs schemathesis against
the example site, which also checks the responses against these shapes.

A new endpoint under ``rest_api/v1/`` needs a class here too (copy one below):
``tests/test_schema.py`` fails until every route of v1 is in the schema
without a warning.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from proctoring_results import statuses

V1_PREFIX = "/api/proctoring-results/v1/"
TAG_REPORTS = "reports"
TAG_REVIEWS = "reviews"

#: Choice sets, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] so each gets one stable enum name.
STATUS_CHOICES = tuple(statuses.AttemptStatus.values)
PROVIDER_STATUS_CHOICES = ("passed", "violation", "suspicious", "not_reviewed")
DECISION_CHOICES = ("verified", "rejected")


def only_rest_api_v1(endpoints, **kwargs):
    """Preprocessing hook: the schema covers REST API v1, not the HTML pages or the download redirect."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(V1_PREFIX)]


# ---------------------------------------------------------------- shapes

def _errors(name):
    return inline_serializer(name, fields={
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text='Field name (or "body", "authentication", "permission") -> messages.',
        ),
    })


_DETAIL = inline_serializer("Detail", fields={"detail": serializers.CharField()})
_MESSAGE = inline_serializer("Message", fields={"message": serializers.CharField()})
#: A 400 is either the app's own message or DRF's ``detail`` (an unparseable body).
_BAD_REQUEST = inline_serializer("BadRequest", fields={
    "message": serializers.CharField(required=False), "detail": serializers.CharField(required=False),
})

_COURSE_ID = OpenApiParameter(
    "course_id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="Open edX course key, e.g. course-v1:edX+DemoX+2026.",
)
_ATTEMPT_CODE = OpenApiParameter(
    "attempt_code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The attempt's code.",
)


def _report_task():
    from .reports import ReportTaskSerializer

    return ReportTaskSerializer


def _report():
    from .reports import ReportSerializer

    class ReportWithLink(ReportSerializer):
        download_url = serializers.CharField(help_text="Signed link for the caller; expires after link_expiry_seconds.")
        download_url_expires_at = serializers.DateTimeField()

        class Meta:
            ref_name = "Report"

    return ReportWithLink


_FLAG = inline_serializer("ReviewFlag", fields={
    "rule_code": serializers.CharField(),
    "severity": serializers.CharField(allow_blank=True, help_text="integrity, discouraged, or empty for an unknown rule."),
    "comment": serializers.CharField(allow_blank=True),
    "start_seconds": serializers.FloatField(allow_null=True),
    "stop_seconds": serializers.FloatField(allow_null=True),
})

_REVIEW = inline_serializer("Review", fields={
    "id": serializers.IntegerField(),
    "attempt_code": serializers.CharField(),
    "provider": serializers.CharField(),
    "review_id": serializers.CharField(),
    "provider_status": serializers.CharField(),
    "second_review_requested": serializers.BooleanField(),
    "outcome": serializers.ChoiceField(choices=STATUS_CHOICES),
    "disagreement": serializers.CharField(allow_blank=True),
    "reviewer": serializers.CharField(allow_blank=True),
    "reviewed_at": serializers.DateTimeField(allow_null=True),
    "received_at": serializers.DateTimeField(),
    "flags": _FLAG.__class__(many=True),
})

_REVIEW_IN = inline_serializer("ReviewCallback", fields={
    "attempt_code": serializers.CharField(max_length=64),
    "review_id": serializers.CharField(max_length=255, help_text="The provider's unique id of this review."),
    "status": serializers.ChoiceField(choices=PROVIDER_STATUS_CHOICES),
    "flags": inline_serializer("ReviewCallbackFlag", many=True, fields={
        "rule": serializers.CharField(max_length=100, help_text="Online Proctoring Rule code, e.g. no_photo_id."),
        "comment": serializers.CharField(required=False),
        "start": serializers.FloatField(required=False, help_text="Seconds from the start of the recording."),
        "stop": serializers.FloatField(required=False),
    }),
    "reviewer": serializers.CharField(required=False, max_length=255),
    "reviewed_at": serializers.DateTimeField(required=False),
    "second_review": serializers.BooleanField(required=False),
})


# ---------------------------------------------------------------- views

class ReportTasksSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reports.ReportTasksView"

    def view_replacement(self):
        tasks = inline_serializer("ReportTaskList", fields={"tasks": _report_task()(many=True)})
        task_and_message = inline_serializer(
            "ReportTaskAccepted", fields={"task": _report_task()(), "message": serializers.CharField()},
        )

        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REPORTS], operation_id="list_report_tasks", parameters=[
                    _COURSE_ID,
                    OpenApiParameter("active_only", OpenApiTypes.BOOL, description="false adds recent ended tasks."),
                ],
                responses={200: tasks, 403: _DETAIL, 404: _DETAIL},
                description="Pending Tasks: the course's queued and running report tasks.",
            )
            def get(self, request, course_id):
                return super().get(request, course_id)

            @extend_schema(
                tags=[TAG_REPORTS], operation_id="request_report", parameters=[_COURSE_ID],
                request=inline_serializer("ReportOptions", fields={
                    "extra_columns": serializers.ListField(
                        child=serializers.CharField(), required=False,
                        help_text="Opt-in columns: username, review_result, flag_count, flag_comments, provider.",
                    ),
                }),
                responses={
                    202: task_and_message, 400: _BAD_REQUEST, 403: _DETAIL, 404: _DETAIL,
                    409: OpenApiResponse(task_and_message, description="A report of this course is already running."),
                    503: _MESSAGE,
                },
                description="Generate a Proctored Exam Results Report (one at a time per course).",
            )
            def post(self, request, course_id):
                return super().post(request, course_id)

        return Fixed


class ReportsSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reports.ReportsView"

    def view_replacement(self):
        listing = inline_serializer("ReportList", fields={
            "count": serializers.IntegerField(help_text="Reports of the course in all."),
            "link_expiry_seconds": serializers.IntegerField(),
            "reports": _report()(many=True),
        })

        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REPORTS], operation_id="list_reports", parameters=[
                    _COURSE_ID,
                    OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many, newest first (1-1000)."),
                ],
                responses={200: listing, 400: _DETAIL, 403: _DETAIL, 404: _DETAIL},
                description="The course's reports, newest first, each with a freshly signed download link.",
            )
            def get(self, request, course_id):
                return super().get(request, course_id)

        return Fixed


class StatusCountsSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reports.StatusCountsView"

    def view_replacement(self):
        counts = inline_serializer("StatusCounts", fields={
            "groups": inline_serializer("StatusGroup", many=True, fields={
                "key": serializers.CharField(), "label": serializers.CharField(),
                "statuses": serializers.ListField(child=serializers.ChoiceField(choices=STATUS_CHOICES)),
            }),
            "exams": inline_serializer("ExamStatusCounts", many=True, fields={
                "exam_id": serializers.IntegerField(), "exam_name": serializers.CharField(),
                "is_practice_exam": serializers.BooleanField(), "total": serializers.IntegerField(),
                "groups": serializers.DictField(child=serializers.IntegerField()),
                "by_status": serializers.DictField(child=serializers.IntegerField()),
            }),
        })

        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REPORTS], operation_id="status_counts", parameters=[_COURSE_ID],
                responses={200: counts, 403: _DETAIL, 404: _DETAIL},
                description="Per exam, how many attempts are in each status (the dashboard's chart).",
            )
            def get(self, request, course_id):
                return super().get(request, course_id)

        return Fixed


class ReviewCallbackSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reviews.ReviewCallbackView"

    def view_replacement(self):
        from .reviews import ReviewResultSerializer

        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REVIEWS], operation_id="post_review", request=_REVIEW_IN,
                responses={
                    200: ReviewResultSerializer, 400: _errors("ReviewErrors"), 401: _errors("AuthErrors"),
                    404: _errors("NotFoundErrors"), 409: _errors("ConflictErrors"), 413: _errors("TooLargeErrors"),
                },
                description="A proctoring provider's signed review of one attempt (docs/providers.rst).",
            )
            def post(self, request):
                return super().post(request)

        return Fixed


class AttemptDecisionSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reviews.AttemptDecisionView"

    def view_replacement(self):
        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REVIEWS], operation_id="decide_attempt", parameters=[_ATTEMPT_CODE],
                request=inline_serializer("StaffDecisionChange", fields={
                    "status": serializers.ChoiceField(choices=DECISION_CHOICES),
                    "reason": serializers.CharField(),
                }),
                responses={
                    200: inline_serializer("StaffDecision", fields={
                        "attempt_code": serializers.CharField(),
                        "status": serializers.ChoiceField(choices=STATUS_CHOICES),
                        "status_label": serializers.CharField(), "changed": serializers.BooleanField(),
                    }),
                    400: _errors("DecisionErrors"), 401: _errors("DecisionAuthErrors"),
                    403: _errors("DecisionPermissionErrors"), 404: _errors("DecisionNotFoundErrors"),
                    409: _errors("DecisionConflictErrors"),
                },
                description="Course staff confirm a second review or decide an appeal.",
            )
            def post(self, request, attempt_code):
                return super().post(request, attempt_code)

        return Fixed


class AttemptReviewsSchema(OpenApiViewExtension):
    target_class = "proctoring_results.rest_api.v1.reviews.AttemptReviewsView"

    def view_replacement(self):
        class Fixed(self.target_class):
            @extend_schema(
                tags=[TAG_REVIEWS], operation_id="list_attempt_reviews", parameters=[_ATTEMPT_CODE],
                responses={
                    200: inline_serializer("ReviewList", fields={"results": _REVIEW.__class__(many=True)}),
                    401: _errors("ReviewsAuthErrors"), 403: _errors("ReviewsPermissionErrors"),
                    404: _errors("ReviewsNotFoundErrors"),
                },
                description="An attempt's reviews, oldest first, with their flags (course staff only).",
            )
            def get(self, request, attempt_code):
                return super().get(request, attempt_code)

        return Fixed


class ProviderSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "proctoring_results.rest_api.v1.authentication.ProviderSignatureAuthentication"
    name = "providerSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "X-Proctoring-Signature",
            "description": (
                "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the provider's secret>, "
                "sent with X-Proctoring-Provider: <name> (docs/providers.rst)."
            ),
        }
