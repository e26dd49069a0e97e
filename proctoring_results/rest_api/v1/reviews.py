"""
REST endpoints of provider reviews and staff decisions.

- ``POST reviews/``: a proctoring provider's signed review callback (no session,
  no CSRF: the signature is the authentication).
- ``POST attempts/<attempt_code>/decision/``: course staff confirm a second
  review or decide an appeal (session with CSRF, or token).
- ``GET attempts/<attempt_code>/reviews/``: course staff read an attempt's review history.

Views are thin: they call ``api.py`` and turn its errors into
``{"errors": {"<field>": ["message"]}}`` with a 4xx status.
"""

from dataclasses import asdict

from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from proctoring_results import api
from proctoring_results.exceptions import AttemptNotFound, InvalidReview, ReviewConflict

from .authentication import IsSignedProvider, PayloadTooLarge, ProviderSignatureAuthentication

#: The field an error of DRF's own is reported under.
_DRF_ERROR_FIELDS = (
    (drf_exceptions.NotAuthenticated, "authentication"),
    (drf_exceptions.AuthenticationFailed, "authentication"),
    (drf_exceptions.PermissionDenied, "permission"),
    (drf_exceptions.MethodNotAllowed, "method"),
    (drf_exceptions.ParseError, "body"),
    (drf_exceptions.UnsupportedMediaType, "body"),
    (PayloadTooLarge, "body"),
    (drf_exceptions.NotFound, "attempt_code"),
    (drf_exceptions.Throttled, "throttle"),
)


def errors_exception_handler(exc, context):
    """DRF's handler, with every error body in the ``{"errors": {"<field>": [...]}}`` shape."""
    if isinstance(exc, (InvalidReview, ReviewConflict)):
        code = status.HTTP_400_BAD_REQUEST if isinstance(exc, InvalidReview) else status.HTTP_409_CONFLICT
        return Response({"errors": exc.errors}, status=code)
    if isinstance(exc, AttemptNotFound):
        return Response({"errors": {"attempt_code": [str(exc)]}}, status=status.HTTP_404_NOT_FOUND)
    response = exception_handler(exc, context)
    if response is None:
        return None
    field = next((name for cls, name in _DRF_ERROR_FIELDS if isinstance(exc, cls)), "non_field_errors")
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        data = {field: [str(data["detail"])]}
    elif isinstance(data, dict):
        data = {key: [str(m) for m in (value if isinstance(value, list) else [value])] for key, value in data.items()}
    else:
        data = {field: [str(m) for m in (data if isinstance(data, list) else [data])]}
    response.data = {"errors": data}
    return response


class _ErrorsShapeMixin:
    def get_exception_handler(self):
        return errors_exception_handler


class ReviewResultSerializer(serializers.Serializer):
    """What the provider is told; ``status`` is where the attempt stands after the review."""

    attempt_code = serializers.CharField()
    review_id = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    duplicate = serializers.BooleanField()


class ReviewCallbackView(_ErrorsShapeMixin, APIView):
    """
    A proctoring provider posts one review of one attempt (docs/providers.rst).

    200 with the outcome, for a new review and for a repeated one (``duplicate``
    tells them apart); 400 bad payload, 401 bad signature, 404 unknown attempt,
    409 attempt not yet submitted or review id reused, 413 body too large.
    """

    authentication_classes = [ProviderSignatureAuthentication]
    permission_classes = [IsSignedProvider]

    def post(self, request):
        result = api.record_review(request.auth.name, request.provider_body)
        return Response(ReviewResultSerializer(result).data, status=status.HTTP_200_OK)


class _StaffAttemptView(_ErrorsShapeMixin, APIView):
    """An attempt named in the URL, for the course staff of its course only."""

    permission_classes = [IsAuthenticated]

    def attempt_for(self, request, attempt_code):
        attempt = api.get_attempt(attempt_code)
        if not api.can_view_course_results(request.user, attempt.course_id):
            raise drf_exceptions.PermissionDenied("Only the course staff of this attempt's course may do this.")
        return attempt


class AttemptDecisionView(_StaffAttemptView):
    """
    Course staff set a reviewed attempt to verified or rejected: ``{"status": ..., "reason": ...}``.

    Allowed from second_review_required (confirming the second review) and
    between rejected and verified (an appeal). Who and when are recorded. The
    status the attempt already has is a no-op 200 with ``"changed": false``.
    """

    def post(self, request, attempt_code):
        self.attempt_for(request, attempt_code)
        data = request.data
        if not hasattr(data, "get"):
            raise InvalidReview.on("body", 'Send an object: {"status": "verified" or "rejected", "reason": "..."}.')
        result = api.record_staff_decision(
            attempt_code, data.get("status"), actor=request.user, reason=data.get("reason"),
        )
        return Response(asdict(result))


class AttemptReviewsView(_StaffAttemptView):
    """An attempt's reviews, oldest first, with their flags (comments included: staff only)."""

    def get(self, request, attempt_code):
        self.attempt_for(request, attempt_code)
        return Response({"results": [asdict(review) for review in api.list_attempt_reviews(attempt_code)]})
