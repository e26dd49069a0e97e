"""
The Data Download page as an instructor reads it, in headless Chromium (issue 11, item 6).

The course named above its id; each report's time (zone named) and requester; one zone for every
time on the page, before and after the script refreshes the parts; the links' lifetime worded once;
a learner's page for a report link; long exam names readable in the chart, thin segments' numbers.
"""

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine

from proctoring_results import api, links
from proctoring_results.models import ReportTask
from proctoring_results.statuses import AttemptStatus

from ..factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory
from .test_data_download_browser import ARTIFACTS, TIMEOUT_MS, browser, course, sign_in, sign_in_refused  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.system, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Unit 3: Applied Thermodynamics and Statistical Mechanics, Final Examination (Section B, Spring Cohort)"
TIME_SHOWN = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def display_names(course_key):
    """The host's ``COURSE_DISPLAY_NAME`` hook for these tests."""
    return "Proctoring Basics 101" if str(course_key) == COURSE_ID else None


def test_the_page_names_the_course_and_who_made_each_report_when(browser, live_server, course, settings):
    from playwright.sync_api import expect

    settings.PROCTORING_RESULTS = {"COURSE_DISPLAY_NAME": "tests.e2e.test_data_download_reading.display_names"}
    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    running = ReportTask.objects.create(
        course_id=COURSE_ID,
        requester=instructor,
        state=ReportTask.State.RUNNING,
        started_at=datetime.now(dt_timezone.utc),
        rows_done=2,
        rows_total=6,
    )
    page = sign_in(browser, live_server, "instructor")

    # The course's name, its id beneath.
    name, course_id = page.locator(".pr-course-name"), page.locator(".pr-course-id")
    expect(name).to_have_text("Proctoring Basics 101")
    expect(course_id).to_have_text(COURSE_ID)
    assert name.bounding_box()["y"] < course_id.bounding_box()["y"]
    expect(page).to_have_title(re.compile("Proctoring Basics 101"))

    # The report: when (zone named) and by whom, besides its rows and size; the zone named once for the page.
    meta = page.locator(f"#pr-reports li[data-report-id='{report.id}'] .pr-report-meta")
    expect(meta).to_have_text(
        re.compile(r"^Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by instructor · 6 rows · \d+\sbytes$")
    )
    expect(page.get_by_text("All times on this page are in UTC.")).to_be_visible()

    # Every time on the page reads the same way, before and after the script fetches the parts again.
    def times():
        return page.locator("#pr-dashboard time").all_inner_texts()

    first, first_meta = times(), meta.inner_text()
    assert len(first) == 2 and all(TIME_SHOWN.match(t) for t in first), first
    with page.expect_response(re.compile(r"/data_download/tasks/$")):
        pass  # a running task: the script polls Pending Tasks every 2 s
    task_row = page.locator(f"#pr-tasks-body tr[data-task-id='{running.id}']")
    expect(task_row.locator("td").nth(4)).to_have_text(re.compile(r"^\d+ s$"))
    # The task ends: the script fetches both parts again; the report's line reads exactly as the first render.
    with page.expect_response(re.compile(r"/data_download/reports/$"), timeout=TIMEOUT_MS):
        ReportTask.objects.filter(pk=running.id).update(
            state=ReportTask.State.SUCCEEDED, finished_at=datetime.now(dt_timezone.utc)
        )
    expect(page.get_by_text("No tasks currently running.")).to_be_visible(timeout=TIMEOUT_MS)
    assert times() == first[:1]  # the report's time; the ended task has left Pending Tasks
    assert meta.inner_text() == first_meta
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data_download_reading.png"), full_page=True)
    page.context.close()


def test_the_links_lifetime_reads_five_minutes_on_the_page_and_when_expired(browser, live_server, course):
    from playwright.sync_api import expect

    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    page = sign_in(browser, live_server, "instructor")
    expect(page.get_by_text("as they expire within 5 minutes")).to_be_visible()

    with time_machine.travel(datetime.now(dt_timezone.utc) - timedelta(minutes=10), tick=False):
        stale = links.make_report_link(report.id, instructor.pk).token
    response = page.goto(f"{live_server.url}/proctoring-results/reports/download/{stale}/")
    assert response.status == 410
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(page.get_by_text("Report links expire within 5 minutes.")).to_be_visible()
    expect(page.get_by_text("seconds")).to_have_count(0)
    page.get_by_role("link", name="Return to the Data Download page").click()
    expect(page.get_by_role("button", name="Generate Proctored Exam Results Report")).to_be_visible()
    page.context.close()


def test_a_learner_with_a_report_link_is_told_it_is_for_the_course_team(browser, live_server, course):
    from playwright.sync_api import expect

    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    link = links.make_report_link(report.id, instructor.pk).token
    page = sign_in_refused(browser, live_server, "learner")
    response = page.goto(f"{live_server.url}/proctoring-results/reports/download/{link}/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Only the course team can download these reports")).to_be_visible()
    expect(page.get_by_text("only the course team can download them")).to_be_visible()
    body = page.locator("main").inner_text()
    assert "new link" not in body and "Data Download" not in body and report.file_name not in body
    page.context.close()


def test_long_exam_names_read_in_full_and_thin_segments_keep_their_number(browser, live_server, course):
    from playwright.sync_api import expect

    exam = ProctoredExamFactory(exam_name=LONG_NAME)
    for status in [AttemptStatus.VERIFIED] * 60 + [AttemptStatus.REJECTED]:
        ExamAttemptFactory(exam=exam, status=status)
    page = sign_in(browser, live_server, "instructor")

    label = page.locator("svg.pr-status-chart text.pr-chart-label").filter(has_text="Thermodynamics")
    expect(label).to_have_count(1)
    # Every line of the name is drawn, inside the label column, left of the bars.
    drawn = label.evaluate("""t => ({
        lines: Array.from(t.querySelectorAll('tspan')).map(s => s.textContent),
        right: t.getBBox().x + t.getBBox().width,
        barsLeft: Math.min(...Array.from(t.parentNode.querySelectorAll('.pr-chart-segment rect'))
                              .map(r => r.x.baseVal.value)),
        title: t.querySelector('title').textContent,
    })""")
    assert " ".join(drawn["lines"]) == LONG_NAME and len(drawn["lines"]) > 1
    assert drawn["right"] < drawn["barsLeft"], drawn
    assert drawn["title"] == LONG_NAME
    # Rows do not overlap: the next row's label starts below this one's last line.
    boxes = page.locator("svg.pr-status-chart text.pr-chart-label").evaluate_all(
        "ts => ts.map(t => { const b = t.getBBox(); return [b.y, b.y + b.height]; })"
    )
    assert all(a[1] <= b[0] for a, b in zip(sorted(boxes), sorted(boxes)[1:], strict=False)), boxes

    # The thin Unsatisfactory segment (1 of 61) has no room for its number: hovering it names it,
    # and "Show the numbers" shows it in the table.
    thin = page.locator("svg.pr-status-chart g.pr-chart-unsatisfactory").filter(
        has=page.locator("title", has_text="Thermodynamics")
    )
    assert thin.locator("rect").evaluate("r => r.width.baseVal.value") < 10
    expect(thin.locator("text")).to_have_count(0)
    thin.hover()
    expect(thin.locator("title")).to_have_text(f"{LONG_NAME}: 1 Unsatisfactory")
    assert thin.locator("rect").evaluate("r => getComputedStyle(r).strokeWidth") == "2px"  # the hover shows which
    page.get_by_text("Show the numbers").click()
    row = page.locator("#pr-chart-numbers tr").filter(has_text="Thermodynamics")
    expect(row.locator("th")).to_have_text(LONG_NAME)
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(row.locator("td").nth(1)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "data_download_chart.png"), full_page=True)
    page.context.close()
