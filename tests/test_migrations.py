"""Models and migrations never drift."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "proctoring_results", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
