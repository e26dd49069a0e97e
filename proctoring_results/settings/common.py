"""
Defaults for every Open edX LMS environment (``lms.djangoapp``, settings type ``common``).

The LMS's own course roles decide who sees results (``openedx.can_view_exam_results``),
and report tasks go to the queue the LMS uses for its instructor reports.
"""

#: The permission bridge this app uses inside an Open edX LMS (``openedx/permissions.py``).
OPENEDX_PERMISSION_CHECK = "proctoring_results.openedx.can_view_exam_results"


def plugin_settings(settings):
    """Fill in ``PROCTORING_RESULTS`` defaults that suit the LMS, keeping every key the operator set."""
    values = getattr(settings, "PROCTORING_RESULTS", None)
    if values is None:
        values = {}
    elif not isinstance(values, dict):
        return  # the app's system check (E001) reports the mistake; do not hide it
    else:
        values = dict(values)
    values.setdefault("PERMISSION_CHECK", OPENEDX_PERMISSION_CHECK)
    # The LMS sends its own report tasks (grade reports and friends) to this queue,
    # served by its high-memory workers; ours stream and need little, but operators
    # already run and watch that queue.
    routing_key = getattr(settings, "GRADES_DOWNLOAD_ROUTING_KEY", None)
    if routing_key and "REPORT_CELERY_QUEUE" not in values:
        values["REPORT_CELERY_QUEUE"] = routing_key
    # The LMS's layout carries inline scripts: its own policy (if any) applies, not the app's default.
    values.setdefault("CONTENT_SECURITY_POLICY", None)
    settings.PROCTORING_RESULTS = values
    _add_security_headers_middleware(settings)


def _add_security_headers_middleware(settings):
    """No-store and nosniff on the app's pages (docs/security.rst), right after Django's SecurityMiddleware."""
    middleware = getattr(settings, "MIDDLEWARE", None)
    name = "proctoring_results.security.SecurityHeadersMiddleware"
    if not isinstance(middleware, list) or name in middleware:
        return
    anchor = "django.middleware.security.SecurityMiddleware"
    middleware.insert(middleware.index(anchor) + 1 if anchor in middleware else 0, name)
