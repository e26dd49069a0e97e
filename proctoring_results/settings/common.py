"""
Defaults for every Open edX LMS environment (``lms.djangoapp``, settings type ``common``).

The LMS's own course roles decide who sees results (``openedx.can_view_exam_results``),
report tasks go to the queue the LMS uses for its instructor reports, and the
instructor dashboards show this app through its two filter steps (``openedx/filters.py``).

Nothing here imports edx-platform, openedx-filters or the rest of this app: settings
modules are read before Django is set up.
"""

from pathlib import Path

#: The permission bridge this app uses inside an Open edX LMS (``openedx/permissions.py``).
OPENEDX_PERMISSION_CHECK = "proctoring_results.openedx.can_view_exam_results"

#: The course overview's display name, for the page's heading (``openedx/courses.py``).
OPENEDX_COURSE_DISPLAY_NAME = "proctoring_results.openedx.courses.course_display_name"

#: Filter type -> this app's step for it (the constants of ``openedx/filters.py``, spelt out
#: here so that reading the settings imports nothing).
_FILTERS_MODULE = "proctoring_results.openedx.filters"
FILTER_STEPS = {
    "org.openedx.learning.instructor.dashboard.render.started.v1": f"{_FILTERS_MODULE}.DataDownloadSection",
    "org.openedx.learning.instructor.dashboard.tabs.requested.v1": f"{_FILTERS_MODULE}.ProctoringResultsTab",
}

#: The Mako templates the LMS includes for this app's section (``MAKO_TEMPLATE_DIRS_BASE``).
MAKO_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "openedx" / "mako"


def add_filter_steps(filters_config):
    """
    ``OPEN_EDX_FILTERS_CONFIG`` with this app's steps appended, everything the site had kept.

    Each filter's entry keeps its shape (a dict with ``pipeline``, ``fail_silently``
    and any extra keys, a list, or one dotted path); a step already present is not
    added twice, so applying this again changes nothing. Returns a new dict.
    Operators whose own settings assign ``OPEN_EDX_FILTERS_CONFIG`` after the plugin
    ran (a Tutor patch, for instance) call it on their value.
    """
    merged = dict(filters_config) if isinstance(filters_config, dict) else {}
    for filter_type, step in FILTER_STEPS.items():
        entry = merged.get(filter_type)
        if isinstance(entry, dict):
            pipeline = list(entry.get("pipeline") or [])
            merged[filter_type] = {**entry, "pipeline": pipeline + ([step] if step not in pipeline else [])}
        elif isinstance(entry, (list, tuple)):
            merged[filter_type] = list(entry) + ([step] if step not in entry else [])
        elif isinstance(entry, str) and entry:
            merged[filter_type] = [entry] + ([step] if step != entry else [])
        else:
            merged[filter_type] = {"fail_silently": True, "pipeline": [step]}
    return merged


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
    values.setdefault("COURSE_DISPLAY_NAME", OPENEDX_COURSE_DISPLAY_NAME)
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
    settings.OPEN_EDX_FILTERS_CONFIG = add_filter_steps(getattr(settings, "OPEN_EDX_FILTERS_CONFIG", None))
    _add_mako_templates(settings)
    _add_reconciliation_beat_entry(settings, values)


def _add_mako_templates(settings):
    """Let the LMS's Mako lookup find the section templates (the LMS builds its template dirs from this list)."""
    dirs = getattr(settings, "MAKO_TEMPLATE_DIRS_BASE", None)
    if isinstance(dirs, list) and not any(str(d) == str(MAKO_TEMPLATES_DIR) for d in dirs):
        dirs.append(MAKO_TEMPLATES_DIR)


#: The beat entry's name in the site's schedule.
RECONCILE_BEAT_ENTRY = "proctoring_results.reconcile_edx_proctoring"


def _add_reconciliation_beat_entry(settings, values):
    """
    Schedule the edx-proctoring reconciliation (openedx/sync.py), unless switched off.

    The LMS's Celery app reads Django settings without a namespace, so its schedule
    is ``CELERYBEAT_SCHEDULE``; a site whose app uses ``namespace="CELERY"`` has
    ``CELERY_BEAT_SCHEDULE``. The entry goes into each that exists (the first when
    neither does), beside the site's own entries, and never replaces one of theirs.
    """
    seconds = values.get("EDX_PROCTORING_RECONCILE_SECONDS", 300)
    if not seconds:
        return
    entry = {
        "task": RECONCILE_BEAT_ENTRY,
        "schedule": float(seconds),
        # A pass that could not start before the next one is due is dropped, not queued up behind it.
        "options": {
            "expires": float(seconds),
            **({"queue": values["EDX_PROCTORING_SYNC_QUEUE"]} if values.get("EDX_PROCTORING_SYNC_QUEUE") else {}),
        },
    }
    names = [n for n in ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE") if isinstance(getattr(settings, n, None), dict)]
    for name in names or ["CELERYBEAT_SCHEDULE"]:
        schedule = dict(getattr(settings, name, None) or {})
        schedule.setdefault(RECONCILE_BEAT_ENTRY, entry)
        setattr(settings, name, schedule)


def _add_security_headers_middleware(settings):
    """No-store and nosniff on the app's pages (docs/security.rst), right after Django's SecurityMiddleware."""
    middleware = getattr(settings, "MIDDLEWARE", None)
    name = "proctoring_results.security.SecurityHeadersMiddleware"
    if not isinstance(middleware, list) or name in middleware:
        return
    anchor = "django.middleware.security.SecurityMiddleware"
    middleware.insert(middleware.index(anchor) + 1 if anchor in middleware else 0, name)
