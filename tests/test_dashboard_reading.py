"""
The Data Download page as an instructor reads it (server-rendered HTML): the course named, when and by
whom each report was made, one time zone named, a failure that stays in Pending Tasks, one wording for
the links' lifetime, a learner's page for a report link, exam names in full in the chart, and the live
parts rendered by the server alone.
"""

import logging
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from proctoring_results import api, charts, links
from proctoring_results.models import ReportTask
from proctoring_results.statuses import AttemptStatus

from .factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("proctoring_results:data_download", args=[COURSE_ID])
TASKS_PART = reverse("proctoring_results:data_download_tasks", args=[COURSE_ID])
REPORTS_PART = reverse("proctoring_results:data_download_reports", args=[COURSE_ID])
T0 = datetime(2026, 3, 2, 10, 30, 5, tzinfo=dt_timezone.utc)


def text(html):
    """What a reader sees of some HTML: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def element(page, element_id):
    """The HTML of the element with this id (its first closing tag of the same name ends it)."""
    match = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(2)


def task_rows(page):
    return {
        int(task_id): (state, [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)])
        for task_id, state, row in re.findall(
            r'<tr data-task-id="(\d+)" data-state="(\w+)"[^>]*>(.*?)</tr>', page, re.S
        )
    }


# ---------------------------------------------------------------- the course, named


def display_names(course_key):
    """A host's ``COURSE_DISPLAY_NAME`` hook, as a setting names it."""
    return {"course-v1:TestX+Proctoring+2026": "Proctoring <Basics> 101"}.get(str(course_key))


def failing_display_names(course_key):
    raise RuntimeError("catalogue down for learner@example.edu")


def test_the_course_display_name_stands_above_the_course_id(client, instructor):
    client.force_login(instructor)
    with override_settings(PROCTORING_RESULTS={"COURSE_DISPLAY_NAME": "tests.test_dashboard_reading.display_names"}):
        page = client.get(PAGE).content.decode()
    name = '<p class="pr-course-name">Proctoring &lt;Basics&gt; 101</p>'
    assert name in page
    assert page.index(name) < page.index(f'<p class="pr-course-id">{COURSE_ID}</p>')


def test_without_a_hook_the_course_id_stands_alone(client, instructor):
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    assert 'class="pr-course-name"' not in page
    assert f'<p class="pr-course-id">{COURSE_ID}</p>' in page


def test_a_failing_hook_leaves_the_page_up_with_the_id(client, instructor, caplog):
    client.force_login(instructor)
    hook = "tests.test_dashboard_reading.failing_display_names"
    with override_settings(PROCTORING_RESULTS={"COURSE_DISPLAY_NAME": hook}), caplog.at_level(logging.WARNING):
        response = client.get(PAGE)
    assert response.status_code == 200
    assert 'class="pr-course-name"' not in response.content.decode()
    assert "COURSE_DISPLAY_NAME failed" in caplog.text and "RuntimeError" in caplog.text
    assert "learner@example.edu" not in caplog.text


def test_a_hook_that_is_not_callable_is_a_system_check_error():
    from django.core import checks

    with override_settings(PROCTORING_RESULTS={"COURSE_DISPLAY_NAME": "proctoring_results.conf.SETTING_NAME"}):
        ids = {c.id for c in checks.run_checks(tags=[checks.Tags.compatibility])}
    assert "proctoring_results.E008" in ids


# ---------------------------------------------------------------- reports: when and by whom, in one named zone


def test_each_report_says_when_and_by_whom_in_the_zone_the_page_names(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status=AttemptStatus.VERIFIED)
    with time_machine.travel(T0, tick=False):
        report = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    row = text(re.search(rf'<li class="pr-report" data-report-id="{report.id}">(.*?)</li>', page, re.S).group(1))
    assert row == (
        f"{report.file_name} Generated 2026-03-02 10:30:05 UTC by instructor · 1 row · {report.size_bytes} bytes"
    )
    assert "All times on this page are in UTC." in text(page)


def test_a_report_whose_requester_is_gone_still_says_when(client, instructor, exam):
    with time_machine.travel(T0, tick=False):
        api.generate_report(COURSE_ID, UserFactory(username="leaver"))
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="leaver").delete()
    client.force_login(instructor)
    meta = text(re.search(r'<span class="pr-report-meta">(.*?)</span>', client.get(PAGE).content.decode(), re.S)[1])
    assert meta.startswith("Generated 2026-03-02 10:30:05 UTC ·")


@override_settings(TIME_ZONE="America/New_York")
def test_every_time_on_the_page_is_in_the_one_zone_it_names(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status=AttemptStatus.VERIFIED)
    with time_machine.travel(T0, tick=False):
        api.generate_report(COURSE_ID, instructor)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        task = api.request_report(COURSE_ID, instructor)
        client.force_login(instructor)
        page = client.get(PAGE).content.decode()
    assert "All times on this page are in America/New_York." in text(page)
    assert "Generated 2026-03-02 05:30:05 EST by instructor" in text(page)
    assert task_rows(page)[task.id][1][2] == "2026-03-02 06:30:05 EST"
    # Machines get the instant in UTC.
    assert '<time datetime="2026-03-02T10:30:05+00:00">2026-03-02 05:30:05 EST</time>' in page
    shown = re.findall(r"<time [^>]*>([^<]+)</time>", page)
    assert len(shown) == 2 and all(t.endswith(" EST") for t in shown)


def test_durations_read_in_minutes_and_seconds(client, instructor, exam):
    task = ReportTask.objects.create(
        course_id=COURSE_ID,
        requester=instructor,
        state=ReportTask.State.RUNNING,
        started_at=T0,
        rows_done=3,
        rows_total=10,
    )
    client.force_login(instructor)
    with time_machine.travel(T0 + timedelta(seconds=125), tick=False):
        cells = task_rows(client.get(PAGE).content.decode())[task.id][1]
    assert cells[3:6] == ["Running", "2 min 5 s", "3 / 10 rows"]


# ---------------------------------------------------------------- a failed task stays in Pending Tasks


def fail(task, message="The report could not be stored. Try again later."):
    ReportTask.objects.filter(pk=task.id).update(
        state=ReportTask.State.FAILED, message=message, finished_at=datetime.now(dt_timezone.utc)
    )


def test_a_failed_task_stays_in_pending_tasks_with_its_message_after_a_reload(client, instructor, exam):
    with time_machine.travel(T0, tick=False):
        task = api.request_report(COURSE_ID, instructor)
        fail(task)
    client.force_login(instructor)
    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        page = client.get(PAGE).content.decode()
    state, cells = task_rows(page)[task.id]
    assert state == "failed"
    assert cells[3] == "Failed" and cells[6] == "The report could not be stored. Try again later."
    assert "<progress" not in element(page, "pr-tasks-body")  # nothing is moving any more
    # Nothing is running, and the page says that too, above the failure.
    assert 'id="pr-no-tasks">' in page and not re.search(r'<table class="pr-tasks" id="pr-tasks"[^>]*hidden', page)


def test_a_failure_leaves_pending_tasks_after_a_day(client, instructor, exam):
    with time_machine.travel(T0, tick=False):
        fail(api.request_report(COURSE_ID, instructor))
    client.force_login(instructor)
    with time_machine.travel(T0 + ReportTask.FAILURE_SHOWN_FOR + timedelta(seconds=1), tick=False):
        page = client.get(PAGE).content.decode()
    assert task_rows(page) == {}
    assert re.search(r'<table class="pr-tasks" id="pr-tasks"[^>]*hidden', page)


def test_the_next_success_replaces_a_failure(client, instructor, exam):
    with time_machine.travel(T0, tick=False):
        failed = api.request_report(COURSE_ID, instructor)
        fail(failed)
    client.force_login(instructor)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        running = api.request_report(COURSE_ID, instructor)
        rows = task_rows(client.get(PAGE).content.decode())
        assert [rows[running.id][0], rows[failed.id][0]] == ["queued", "failed"]  # while it runs, both
        api.generate_report_now(running.id)
        assert task_rows(client.get(PAGE).content.decode()) == {}


def test_a_later_failure_takes_the_earlier_ones_place(client, instructor, exam):
    with time_machine.travel(T0, tick=False):
        first = api.request_report(COURSE_ID, instructor)
        fail(first, "first")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        second = api.request_report(COURSE_ID, instructor)
        fail(second, "second")
        client.force_login(instructor)
        rows = task_rows(client.get(PAGE).content.decode())
    assert list(rows) == [second.id] and rows[second.id][1][6] == "second"


def test_the_rest_api_still_lists_only_queued_and_running_tasks(client, instructor, exam):
    fail(api.request_report(COURSE_ID, instructor))
    client.force_login(instructor)
    tasks_url = reverse("proctoring_results:v1-report-tasks", args=[COURSE_ID])
    assert client.get(tasks_url).json() == {"tasks": []}


# ---------------------------------------------------------------- the links' lifetime, in one wording


def expired_link_page(client, user, report):
    with time_machine.travel(T0, tick=False):
        token = links.make_report_link(report.id, user.pk).token
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        return client.get(reverse("proctoring_results:report_download", args=[token]))


def test_five_minutes_on_the_page_and_on_the_expired_link_page(client, instructor, exam):
    report = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    page = text(client.get(PAGE).content.decode())
    assert (
        "as they expire within 5 minutes. The links on this page also expire if the page is open for more "
        "than 5 minutes." in page
    )
    response = expired_link_page(client, instructor, report)
    assert response.status_code == 410
    expired = text(response.content.decode())
    assert "Report links expire within 5 minutes." in expired
    assert "seconds" not in expired
    assert "Return to the Data Download page" in expired


@override_settings(PROCTORING_RESULTS={"LINK_EXPIRY_SECONDS": 120})
def test_a_shorter_lifetime_is_worded_the_same_way_everywhere(client, instructor, exam):
    report = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    assert "as they expire within 2 minutes." in text(client.get(PAGE).content.decode())
    expired = expired_link_page(client, instructor, report).content.decode()
    assert "Report links expire within 2 minutes." in text(expired)


# ---------------------------------------------------------------- a learner with a report link

LEARNER_TITLE = "Only the course team can download these reports"


@pytest.mark.parametrize("link_state", ["fresh", "expired"])
def test_a_learner_who_opens_a_report_link_is_told_it_is_for_the_course_team(client, instructor, learner, link_state):
    report = api.generate_report(COURSE_ID, instructor)
    client.force_login(learner)
    if link_state == "fresh":
        token = links.make_report_link(report.id, instructor.pk).token
        response = client.get(reverse("proctoring_results:report_download", args=[token]))
    else:
        response = expired_link_page(client, instructor, report)
    assert response.status_code == 403
    page = text(response.content.decode())
    assert LEARNER_TITLE in page
    assert "new link" not in page and "get a new one" not in page and "Data Download page" not in page
    assert report.file_name not in page


def test_another_team_members_link_still_says_how_to_get_ones_own(client, instructor):
    report = api.generate_report(COURSE_ID, instructor)
    colleague = UserFactory(username="colleague")
    api.grant_course_role(colleague, COURSE_ID, "staff")
    client.force_login(colleague)
    token = links.make_report_link(report.id, instructor.pk).token
    response = client.get(reverse("proctoring_results:report_download", args=[token]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "not valid for your account" in page and LEARNER_TITLE not in page
    assert f'href="{PAGE}"' in page


# ---------------------------------------------------------------- the chart: names in full, every number

LONG_NAME = "Unit 3: Applied Thermodynamics and Statistical Mechanics, Final Examination (Section B, Spring Cohort)"


def test_a_long_exam_name_is_wrapped_in_full_and_carried_whole_as_its_tooltip(client, instructor):
    exam = ProctoredExamFactory(exam_name=LONG_NAME)
    for status in [AttemptStatus.VERIFIED] * 40 + [AttemptStatus.REJECTED]:
        ExamAttemptFactory(exam=exam, status=status)
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    label = re.search(r'<text class="pr-chart-label"[^>]*><title>(.*?)</title>(.*?)</text>', page, re.S)
    assert label.group(1) == LONG_NAME
    lines = re.findall(r"<tspan[^>]*>(.*?)</tspan>", label.group(2))
    assert len(lines) > 1 and " ".join(lines) == LONG_NAME
    # The thin Unsatisfactory segment (1 of 41) is too narrow for its number: its tooltip and the table say it.
    thin = re.search(
        r'<g class="pr-chart-segment pr-chart-unsatisfactory" data-count="1"><title>(.*?)</title>'
        r"(.*?)</g>",
        page,
        re.S,
    )
    assert thin.group(1) == f"{LONG_NAME}: 1 Unsatisfactory"
    assert "<text" not in thin.group(2)
    row = re.search(r'<tr>\s*<th scope="row">([^<]*)</th>(.*?)</tr>', element(page, "pr-chart-numbers"), re.S)
    assert row.group(1) == LONG_NAME
    assert [text(c) for c in re.findall(r"<td>(.*?)</td>", row.group(2))] == ["40", "1", "0", "0", "0", "41"]


def test_wrapping_never_loses_a_character():
    for name in [LONG_NAME, "x" * 70, "期末考试：高等数学与线性代数综合测验第二部分", "Midterm", "a  b"]:
        lines = charts._wrap(name)
        assert "".join(lines).replace(" ", "") == name.replace(" ", "")
        assert all(sum(charts._char_width(c) for c in line) <= charts._LABEL_CHARS for line in lines)


# ---------------------------------------------------------------- the live parts: one rendering each


def test_the_live_parts_are_the_pages_own_html(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status=AttemptStatus.VERIFIED)
    with time_machine.travel(T0, tick=False):
        api.generate_report(COURSE_ID, instructor)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        api.request_report(COURSE_ID, instructor)
        client.force_login(instructor)
        page = client.get(PAGE).content.decode()
        tasks = client.get(TASKS_PART)
        reports = client.get(REPORTS_PART)
    assert tasks.status_code == reports.status_code == 200
    assert "<html" not in tasks.content.decode() and "<html" not in reports.content.decode()

    def part(html, part_id):
        return re.search(rf'<div class="pr-part" id="{part_id}"[^>]*>(.*?)</div>\s*(?:<h3|<h2)', html, re.S).group(1)

    assert text(part(page, "pr-tasks-part")) == text(tasks.content.decode())
    assert text(part(page, "pr-reports-part")) == text(reports.content.decode())
    assert re.findall(r'href="([^"]+)"', part(page, "pr-reports-part")) == re.findall(
        r'href="([^"]+)"', reports.content.decode()
    )
    assert f'data-tasks-part-url="{TASKS_PART}"' in page and f'data-reports-part-url="{REPORTS_PART}"' in page


def test_the_parts_refuse_without_a_login_page(client, learner):
    for url in (TASKS_PART, REPORTS_PART):
        assert client.get(url).status_code == 403  # anonymous: the script must not show a login form
    client.force_login(learner)
    for url in (TASKS_PART, REPORTS_PART):
        response = client.get(url)
        assert response.status_code == 403 and "Only the course team" in response.content.decode()


def test_the_script_formats_nothing_itself():
    """Durations, sizes and dates come from the server: the script has no formatting of its own."""
    from django.contrib.staticfiles import finders

    with open(finders.find("proctoring_results/data_download.js"), encoding="utf-8") as fh:
        script = fh.read()
    for formatter in ("toLocaleString", "toFixed", "Math.floor", "getTimezoneOffset", "new Date("):
        assert formatter not in script, formatter
