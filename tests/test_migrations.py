"""Models and migrations never drift."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "proctoring_results", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_0002_marks_the_active_tasks_and_fails_duplicates_mysql_let_in():
    """
    Migration 0002 sets ``active`` on queued/running tasks, then builds the unique constraint.

    MySQL and MariaDB never enforced 0001's partial constraint, so two active
    tasks of a course may exist there: all but the newest are failed.
    """
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("proctoring_results", "0001_initial")], [("proctoring_results", "0002_reporttask_active")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    Task = old_apps.get_model("proctoring_results", "ReportTask")
    course = "course-v1:Mig+0002+2026"
    kept = Task.objects.create(course_id=course, state="queued")
    ended = Task.objects.create(course_id=course, state="succeeded")
    duplicate = None
    if connection.vendor == "mysql":  # elsewhere 0001's constraint refuses a second active task
        duplicate, kept = kept, Task.objects.create(course_id=course, state="running")  # the newest is kept

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    Task = executor.loader.project_state(after).apps.get_model("proctoring_results", "ReportTask")
    assert Task.objects.get(pk=kept.pk).active is True
    assert Task.objects.get(pk=ended.pk).active is None
    if duplicate is not None:
        failed = Task.objects.get(pk=duplicate.pk)
        assert (failed.state, failed.active) == ("failed", None) and failed.finished_at is not None
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("proctoring_results"))
