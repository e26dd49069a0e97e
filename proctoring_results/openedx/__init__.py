"""
Open edX: the face this app shows inside an LMS.

A face like the views and the REST API: it may import the domain, never the
reverse. ``can_view_exam_results`` stays importable from here because
operators' settings name it as ``proctoring_results.openedx.can_view_exam_results``.
"""

from .permissions import can_view_exam_results  # noqa: F401  (the published PERMISSION_CHECK path)
