"""
REST endpoints of provider reviews and staff decisions.

- ``POST reviews/``: a proctoring provider's signed review callback (no session,
  no CSRF: the signature is the authentication).
- ``POST attempts/<attempt_code>/decision/``: course staff confirm a second
  review or decide an appeal (session with CSRF, or token).
- ``GET attempts/<attempt_code>/reviews/``: course staff read an attempt's review history.

Views are thin: a serializer (``serializers.py``) reads the request and
renders the answer, ``api.py`` does the work, and errors are answered as
``{"errors": {"<field>": ["message"]}}`` with a 4xx status (``errors.py``).
"""

import math

from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from proctoring_results import api, jsonbody
from proctoring_results.exceptions import InvalidReview

from .authentication import IsSignedProvider, ProviderSignatureAuthentication
from .errors import V1View
from .serializers import (
    ReviewCallbackSerializer,
    ReviewListSerializer,
    ReviewResultSerializer,
    StaffDecisionResultSerializer,
    StaffDecisionSerializer,
)


def parse_json_body(raw):
    """Decode a callback body; malformed, non-UTF-8 or non-finite JSON is an ``InvalidReview`` on ``body``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidReview.on("body", "The body must be JSON encoded as UTF-8.") from None
    try:
        return jsonbody.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except jsonbody.JSONTooDeep:
        raise InvalidReview.on("body", "The JSON is nested too deeply.") from None
    except ValueError:
        raise InvalidReview.on("body", "The body is not valid JSON.") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


class ReviewCallbackView(V1View):
    """
    A proctoring provider posts one review of one attempt (docs/providers.rst).

    200 with the outcome, for a new review and for a repeated one (``duplicate``
    tells them apart); 400 bad payload, 401 bad signature, 404 unknown attempt,
    409 attempt not yet submitted or review id reused, 413 body too large.
    The body is the exact bytes the signature covers, so it is parsed here
    rather than by DRF's parsers.
    """

    authentication_classes = [ProviderSignatureAuthentication]
    permission_classes = [IsSignedProvider]
    not_found_field = "attempt_code"
    serializer_class = ReviewCallbackSerializer

    def post(self, request):
        serializer = ReviewCallbackSerializer(data=parse_json_body(request.provider_body))
        serializer.is_valid(raise_exception=True)
        result = api.record_review(request.auth.name, serializer.to_submission())
        return Response(ReviewResultSerializer(result).data, status=status.HTTP_200_OK)


class _StaffAttemptView(V1View):
    """An attempt named in the URL, for the course staff of its course only."""

    permission_classes = [IsAuthenticated]
    not_found_field = "attempt_code"

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

    serializer_class = StaffDecisionSerializer

    def post(self, request, attempt_code):
        self.attempt_for(request, attempt_code)
        serializer = StaffDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = api.record_staff_decision(
            attempt_code,
            serializer.validated_data["status"],
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(StaffDecisionResultSerializer(result).data)


class AttemptReviewsView(_StaffAttemptView):
    """An attempt's reviews, oldest first, with their flags (comments included: staff only)."""

    def get(self, request, attempt_code):
        self.attempt_for(request, attempt_code)
        return Response(ReviewListSerializer({"results": api.list_attempt_reviews(attempt_code)}).data)
