"""
Production settings of the example host: the example's settings, hardened.

``manage.py check --deploy --fail-level WARNING --settings example.settings_production``
must be clean (``make quality`` runs it in CI). Everything secret or
site-specific comes from the environment, and a missing value stops the
process with one sentence rather than falling back to the example's defaults:

- ``DJANGO_SECRET_KEY`` (required, at least 50 characters),
- ``DJANGO_ALLOWED_HOSTS`` (required, comma-separated),
- ``DJANGO_CSRF_TRUSTED_ORIGINS`` (optional, e.g. ``https://lms.example.edu``),
- ``DJANGO_BEHIND_TLS_PROXY=1`` when a proxy terminates TLS and sets ``X-Forwarded-Proto``,
- ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``PROCTORING_RESULTS_S3_*`` as in the example.
"""

import os

from .settings import *  # noqa: F403  (the development settings, then what production changes)
from .settings import MIDDLEWARE, STORAGES


def _refuse_to_start(sentence):
    """
    Stop the process with one sentence on standard error, exit status 1.

    Not ``ImproperlyConfigured``: Django 4.2's ``manage.py`` defers that
    exception and ends in an unrelated traceback; ``SystemExit`` reads the
    same under manage.py, gunicorn and Celery on every Django version.
    """
    raise SystemExit(f"example.settings_production: {sentence}")


def _required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        _refuse_to_start(f"Set {name} in the environment for the production settings.")
    return value


DEBUG = False

SECRET_KEY = _required("DJANGO_SECRET_KEY")
if SECRET_KEY == "example-only-not-a-secret":
    _refuse_to_start("DJANGO_SECRET_KEY is the example's placeholder; generate a real secret.")

ALLOWED_HOSTS = [host.strip() for host in _required("DJANGO_ALLOWED_HOSTS").split(",") if host.strip()]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()
]

# HTTPS only, for a year, on every subdomain; cookies never sent in clear.
SECURE_SSL_REDIRECT = True
if os.environ.get("DJANGO_BEHIND_TLS_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 365 * 24 * 3600
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The app's own security headers must be on (check proctoring_results.W010).
assert "proctoring_results.security.SecurityHeadersMiddleware" in MIDDLEWARE

# Static files (the Data Download page's script and styles) served by the Django process
# itself with WhiteNoise, right after the security middleware as WhiteNoise asks: with
# DEBUG off Django serves none, and gunicorn none either. ``manage.py collectstatic``
# gathers them into STATIC_ROOT at deploy time (docs/operations.rst, "Deploying");
# the manifest gives each file a name with its hash, cached for a year by browsers.
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1 :],
]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

# Errors go to the log, never to the browser; the app's loggers carry no personal data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"proctoring_results": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
