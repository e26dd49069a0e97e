"""
Has anything in a course changed since its newest report? Each report records a ``data_version``.

Generate (``api.generate_report_if_changed``) answers with the newest report
while the course's version is the one it recorded, instead of writing another
full copy of the learners' data (issue 14). The version is taken before the
report's snapshot, so a change that lands meanwhile makes the next request
generate again, never the other way round.
"""

import hashlib

from .specs import spec_for


def course_data_version(course_key, extra_columns, report_type, column_profile=None):
    """A fingerprint of the course's data (``ReportSpec.data_state``) and the report's columns; "" when unknown."""
    spec = spec_for(report_type, column_profile)
    state = spec.data_state(course_key)
    if state is None:
        return ""
    parts = [str(report_type), str(column_profile), list(spec.column_names(extra_columns)), str(course_key), state]
    return hashlib.sha256(repr(parts).encode()).hexdigest()
