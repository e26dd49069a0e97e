"""
Security headers on every response of this app's URLs.

The pages and API show confidential, personally identifiable data (the seed
says so), so nothing they return may be cached, sniffed into another type,
framed by another site, or leak its URL to another origin. Django's own
``SecurityMiddleware`` covers the site-wide headers (HSTS, SSL redirect; see
``example/settings_production.py``); this middleware adds, on the app's URL
namespace only (the host's other pages are its own business):

- ``Cache-Control: no-store`` (through Django's ``add_never_cache_headers``),
- ``X-Content-Type-Options: nosniff``,
- ``Referrer-Policy: same-origin`` (never ``no-referrer``: browsers then send
  ``Origin: null`` on POST, and Django's CSRF check refuses the Generate click),
- ``X-Frame-Options: DENY`` and the ``CONTENT_SECURITY_POLICY`` setting, with a
  per-request nonce that templates may put on an inline ``<style>``/``<script>``
  as ``nonce="{{ request.csp_nonce }}"``.

A header the view (or the host) already set is left alone.
"""

import secrets

from django.utils.cache import add_never_cache_headers

from .conf import app_settings

APP_NAMESPACE = "proctoring_results"


def apply_security_headers(request, response):
    """Add the app's security headers to ``response`` (idempotent)."""
    add_never_cache_headers(response)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    policy = app_settings.CONTENT_SECURITY_POLICY
    if policy and "Content-Security-Policy" not in response.headers:
        nonce = getattr(request, "csp_nonce", None)
        if nonce:
            policy = policy.replace("{nonce}", nonce)
        else:
            policy = policy.replace(" 'nonce-{nonce}'", "")
        response.headers["Content-Security-Policy"] = policy
    return response


def is_app_request(request):
    match = getattr(request, "resolver_match", None)
    return bool(match and APP_NAMESPACE in match.namespaces)


class SecurityHeadersMiddleware:
    """
    Put the app's security headers on responses of its own URLs.

    Install it after Django's ``SecurityMiddleware``; check ``proctoring_results.W010``
    warns when it is missing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if is_app_request(request):
            apply_security_headers(request, response)
        return response
