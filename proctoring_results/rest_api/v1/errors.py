"""
The one error body of REST API v1: ``{"errors": {"<field>": ["message", ...]}}``.

Every 4xx of every v1 endpoint answers in this shape (docs/reference/rest_api.rst,
"Errors"), naming the request field at fault (``flags[2].rule``), or ``body``,
``authentication``, ``permission``, ``course_id``, ``attempt_code``, ``method``,
``throttle`` when the fault is not one field's. The course-team report
endpoints answered ``{"detail": ...}`` or ``{"message": ...}`` before this
shape was theirs; their error bodies still carry both keys, each holding the
first message, so scripts and pages written against them keep working.
"""

from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from proctoring_results.exceptions import AttemptNotFound, InvalidReview, ProctoringResultsError, ReviewConflict

from .authentication import PayloadTooLarge
from .parsers import PARSER_CLASSES

NON_FIELD = "non_field_errors"

#: The field an error of DRF's own is reported under (NotFound: the view's ``not_found_field``).
_DRF_ERROR_FIELDS = (
    (drf_exceptions.NotAuthenticated, "authentication"),
    (drf_exceptions.AuthenticationFailed, "authentication"),
    (drf_exceptions.PermissionDenied, "permission"),
    (drf_exceptions.MethodNotAllowed, "method"),
    (drf_exceptions.ParseError, "body"),
    (drf_exceptions.UnsupportedMediaType, "body"),
    (PayloadTooLarge, "body"),
    (drf_exceptions.Throttled, "throttle"),
)


class AppError(drf_exceptions.APIException):
    """An answer the app gives in its own words: ``AppError(503, "queue", "The task queue ...")``."""

    def __init__(self, status_code, field, message):
        self.status_code = status_code
        self.field = field
        super().__init__(message)


def flatten(detail, path=""):
    """DRF's nested error detail as ``{"flags[0].rule": [...]}``; a nested non-field error names its parent."""
    if isinstance(detail, dict):
        errors = {}
        for key, value in detail.items():
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == NON_FIELD and path:
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            for name, messages in flatten(value, child).items():
                errors.setdefault(name, []).extend(messages)
        return errors
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        errors = {}
        for index, item in enumerate(detail):
            if item:
                for name, messages in flatten(item, f"{path}[{index}]").items():
                    errors.setdefault(name, []).extend(messages)
        return errors
    messages = detail if isinstance(detail, list) else [detail]
    return {path or NON_FIELD: [str(m) for m in messages]}


def _errors_of(exc, view):
    """(status code, errors) for an exception the app or DRF raised, or None for a bug (a 500)."""
    if isinstance(exc, (InvalidReview, ReviewConflict)):
        code = status.HTTP_400_BAD_REQUEST if isinstance(exc, InvalidReview) else status.HTTP_409_CONFLICT
        return code, exc.errors
    if isinstance(exc, AttemptNotFound):
        return status.HTTP_404_NOT_FOUND, {"attempt_code": [str(exc)]}
    if isinstance(exc, AppError):
        return exc.status_code, {exc.field: [str(exc.detail)]}
    if isinstance(exc, drf_exceptions.ValidationError):
        return exc.status_code, flatten(exc.detail)
    if isinstance(exc, drf_exceptions.NotFound):
        return exc.status_code, {getattr(view, "not_found_field", NON_FIELD): [str(exc.detail)]}
    if isinstance(exc, drf_exceptions.APIException):
        field = next((name for cls, name in _DRF_ERROR_FIELDS if isinstance(exc, cls)), NON_FIELD)
        return exc.status_code, flatten(exc.detail, field)
    return None


def errors_exception_handler(exc, context):
    """DRF's handler (headers, 404s, authentication), with every error body in the one shape above."""
    view = context.get("view")
    response = exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After, turns Http404 into NotFound
    if isinstance(exc, ProctoringResultsError) or response is not None:
        if not isinstance(exc, (ProctoringResultsError, drf_exceptions.APIException)):
            exc = drf_exceptions.NotFound() if response.status_code == 404 else drf_exceptions.PermissionDenied()
        found = _errors_of(exc, view)
        if found is None:
            return response
        code, errors = found
        if response is None:
            response = Response(status=code)
        response.status_code = code
        response.data = {"errors": errors}
        if getattr(view, "legacy_error_keys", False):
            first = next((m for messages in errors.values() for m in messages), "")
            response.data.update(detail=first, message=first)
    return response


class V1View(APIView):
    """Every REST API v1 view: errors in the one shape, JSON bodies read through the depth guard."""

    parser_classes = PARSER_CLASSES

    #: The field a 404 of DRF's own (an unknown URL argument) is reported under.
    not_found_field = NON_FIELD
    #: Also answer ``detail`` and ``message`` (the report endpoints' error keys before ``errors``).
    legacy_error_keys = False

    def get_exception_handler(self):
        return errors_exception_handler
