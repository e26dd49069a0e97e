"""
How the Data Download page words times, durations and the links' lifetime: one formatting for every part.

The page's live parts are rendered by the server (templates under
``templates/proctoring_results/``) and the script only swaps them in, so these
functions are the one place a time or a duration is written for a person.
Every time is shown in Django's current time zone (``TIME_ZONE``, or the one a
host activates per request) and names it.
"""

from datetime import timezone as dt_timezone

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .conf import app_settings

#: Date and time with the zone's abbreviation, e.g. "2026-03-01 10:00:05 UTC".
TIME_FORMAT = "Y-m-d H:i:s T"


def time_zone_name():
    """The name of the zone every time on the page is shown in, e.g. "UTC" or "Europe/Paris"."""
    return timezone.get_current_timezone_name()


def page_time(value):
    """A ``<time>`` element: the moment in the page's zone, named, with the UTC instant for machines."""
    if value is None:
        return "—"
    return format_html(
        '<time datetime="{}">{}</time>',
        value.astimezone(dt_timezone.utc).isoformat(),
        date_format(timezone.localtime(value), TIME_FORMAT),
    )


def duration(seconds):
    """A task's duration, e.g. "45 s" or "2 min 5 s"; "—" before it started."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    if whole < 60:
        return _("%(n)s s") % {"n": whole}
    return _("%(m)s min %(s)s s") % {"m": whole // 60, "s": whole % 60}


def link_lifetime(seconds=None):
    """How long a signed link lives (``LINK_EXPIRY_SECONDS`` unless given), in the seed's words: "5 minutes"."""
    if seconds is None:
        seconds = app_settings.LINK_EXPIRY_SECONDS
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}


def report_meta(report):
    """
    A report's line under its link: "Generated 2026-03-02 10:30:05 UTC by instructor · 6 rows · 618 bytes".

    Built here rather than with three ``blocktranslate`` tags per row: the list is
    fetched again every minute by every open page, and rendering those tags was
    most of its cost (benchmarks/dashboard_load.py --target page).
    """
    when = page_time(report.created)
    if report.requester_username:
        generated = format_html(_("Generated {time} by {who}"), time=when, who=report.requester_username)
    else:
        generated = format_html(_("Generated {time}"), time=when)
    rows = ngettext("%(rows)s row", "%(rows)s rows", report.row_count) % {"rows": report.row_count}
    return format_html("{} · {} · {}", generated, rows, filesizeformat(report.size_bytes))
