"""
Who may see a course's proctoring results (the page, the API, the report files).

The check is pluggable: ``PROCTORING_RESULTS["PERMISSION_CHECK"]`` names a
callable ``(user, course_key) -> bool``. The default reads this app's own
``CourseRole`` table; an LMS such as Open edX points it at its own roles.
"""

from .conf import app_settings


def is_course_staff(user, course_key):
    """Default check: active global staff, or an instructor/staff role in the course."""
    from .models import CourseRole

    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_staff:
        return True
    return CourseRole.objects.filter(user=user, course_id=course_key).exists()


def can_view_course_results(user, course_key):
    """Ask the configured check; an inactive or anonymous user is always refused."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return bool(app_settings.PERMISSION_CHECK(user, course_key))
