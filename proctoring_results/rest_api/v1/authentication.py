"""
Authentication of proctoring providers' review callbacks by signature (see ``signatures.py``).

The body is read here, once, with its size checked twice: on the announced
Content-Length and on the bytes actually read, both before anything parses it.
The raw bytes are what the signature covers, so they are kept on the request
for the view. Every authentication failure is the same 401.
"""

import logging

from django.contrib.auth.models import AnonymousUser
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.permissions import BasePermission

from proctoring_results import signatures
from proctoring_results.conf import app_settings

log = logging.getLogger(__name__)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class ProviderIdentity:
    """``request.auth`` of a signed callback: which provider sent it."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def read_limited_body(request):
    """The raw body, or ``PayloadTooLarge`` when it is over ``MAX_REVIEW_BODY_BYTES``."""
    limit = app_settings.MAX_REVIEW_BODY_BYTES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        limit = 0  # misconfigured (system check E007): refuse every body rather than fail
    django_request = getattr(request, "_request", request)
    announced = django_request.META.get("CONTENT_LENGTH") or "0"
    try:
        announced = int(announced)
    except ValueError:
        announced = 0  # Django reads nothing for a malformed length; the signature will not match
    if announced > limit:
        raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
    body = django_request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
    return body


class ProviderSignatureAuthentication(BaseAuthentication):
    """``X-Proctoring-Provider`` + ``X-Proctoring-Signature: t=<unix>,v1=<hex HMAC-SHA256>``."""

    def authenticate(self, request):
        body = read_limited_body(request)
        provider = request.META.get("HTTP_X_PROCTORING_PROVIDER", "")
        try:
            signatures.verify(provider, request.META.get("HTTP_X_PROCTORING_SIGNATURE", ""), body)
        except signatures.SignatureError as exc:
            # The reason stays in our log; the caller gets one message for every failure.
            log.warning("Refused a review callback: %s (provider %r).", exc.reason, provider[:100])
            raise AuthenticationFailed(signatures.SignatureError.public_message) from None
        request.provider_body = body
        return AnonymousUser(), ProviderIdentity(provider)

    def authenticate_header(self, request):
        return f'{signatures.SIGNATURE_HEADER} realm="proctoring-results"'


class IsSignedProvider(BasePermission):
    """Only a callback authenticated by ``ProviderSignatureAuthentication`` passes."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ProviderIdentity)
