"""
The example host's course catalogue: the names an LMS keeps for its courses.

``PROCTORING_RESULTS["COURSE_DISPLAY_NAME"]`` points here, so the demo's page
shows its course by name, as Open edX's does from the course overview.
"""

DEMO_COURSE_ID = "course-v1:DemoX+Proctoring101+2026"

COURSE_NAMES = {DEMO_COURSE_ID: "Proctoring 101: Exams Under Review"}


def display_name(course_key):
    """The course's name, or None for a course this host does not know (the page then shows the id alone)."""
    return COURSE_NAMES.get(str(course_key))
