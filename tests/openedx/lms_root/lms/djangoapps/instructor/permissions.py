"""
Stand-in for ``lms.djangoapps.instructor.permissions``: the real permission names.

In edx-platform these names are bridgekeeper rules: ``EXAM_RESULTS`` and
``VIEW_DASHBOARD`` hold for course staff and instructors (``HasAccessRule('staff')``,
which global staff pass too), ``CAN_RESEARCH`` for global staff and the
``data_researcher`` role. ``lms.auth.CourseRolesBackend`` plays those rules.
"""

CAN_RESEARCH = "instructor.research"
EXAM_RESULTS = "instructor.view_exam_results"
VIEW_DASHBOARD = "instructor.dashboard"
