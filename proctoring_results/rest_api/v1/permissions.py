"""
Who may call the dashboard's REST endpoints: the course team of the course in the URL.

The course id comes from the URL (``course_id`` kwarg) and is parsed here, so a
malformed one is a 404 with a message rather than a server error (one longer
than the database's column a 400), and only
after the caller is known to be signed in (an anonymous caller learns nothing).
"""

from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import BasePermission

from proctoring_results import api
from proctoring_results.exceptions import CourseIdTooLong, InvalidCourseId


class CanViewCourseResults(BasePermission):
    """``api.can_view_course_results`` for the course named in the URL."""

    message = "You do not have permission to see the proctoring results of this course."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        try:
            course_key = api.parse_course_id(view.kwargs.get("course_id"))
        except CourseIdTooLong as exc:
            raise ParseError(str(exc)) from None  # 400: no course can have such an id
        except InvalidCourseId as exc:
            raise NotFound(str(exc)) from None
        view.course_key = course_key
        return api.can_view_course_results(user, course_key)
