"""
The course's display name inside Open edX, for the Data Download page's heading.

Inside an LMS the plugin's settings set (an operator's own value wins)::

    PROCTORING_RESULTS = {"COURSE_DISPLAY_NAME": "proctoring_results.openedx.courses.course_display_name"}

The LMS keeps a course's catalogue data in ``CourseOverview``; its public door,
``openedx.core.djangoapps.content.course_overviews.api.get_course_overview_or_none``,
returns the overview or None (and logs) when the course has none. edx-platform
is imported inside the function, so this module imports outside the LMS too.
"""

#: edx-platform's door to course overviews.
COURSE_OVERVIEWS_API = "openedx.core.djangoapps.content.course_overviews.api"


def course_display_name(course_key):
    """``COURSE_DISPLAY_NAME`` for Open edX: the course overview's ``display_name``, or None if unknown."""
    import importlib

    try:
        overviews = importlib.import_module(COURSE_OVERVIEWS_API)
    except ImportError:
        return None
    overview = overviews.get_course_overview_or_none(course_key)
    return getattr(overview, "display_name", None) or None
