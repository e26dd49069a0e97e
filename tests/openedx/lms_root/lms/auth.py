"""
The LMS's course roles, played by Django groups named ``<role>:<course key>``.

Roles are those of edx-platform's ``CourseAccessRole``: ``staff``, ``instructor``
and ``data_researcher``; a learner has none. The permission names are the LMS's
(``lms.djangoapps.instructor.permissions``), granted as its rules grant them.
"""

from django.contrib.auth.backends import BaseBackend

from .djangoapps.instructor import permissions


def grant(user, role, course_key):
    """Give ``user`` a course role, as the LMS's membership page does."""
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=f"{role}:{course_key}")
    user.groups.add(group)


def _roles(user, course_key):
    prefix_len = len(":") + len(str(course_key))
    return {
        name[:-prefix_len]
        for name in user.groups.filter(name__endswith=f":{course_key}").values_list("name", flat=True)
    }


class CourseRolesBackend(BaseBackend):
    """``has_perm(user, permission, course_key)`` as edx-platform's bridgekeeper rules answer it."""

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None or not user_obj.is_active:
            return False
        roles = _roles(user_obj, obj)
        course_staff = user_obj.is_staff or bool(roles & {"staff", "instructor"})
        if perm in (permissions.EXAM_RESULTS,):
            return course_staff
        if perm == permissions.VIEW_DASHBOARD:
            return course_staff or "data_researcher" in roles
        if perm == permissions.CAN_RESEARCH:
            return user_obj.is_staff or "data_researcher" in roles
        return False
