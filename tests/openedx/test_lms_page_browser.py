"""
An instructor generates and downloads the report from the LMS's instructor dashboard, in headless Chromium.

The page is the LMS-shaped legacy dashboard (``lms_views``): its context went
through ``InstructorDashboardRenderStarted.run_filter`` with the plugin's
registered step, and was rendered with Mako over ``MAKO_TEMPLATE_DIRS_BASE``.
The page has scripts and globals of its own; the section must work beside them,
with the LMS request's CSRF token, a real Celery worker building the report.
"""

import csv
import re
from urllib.parse import quote

import pytest

from ..e2e.test_data_download_browser import ARTIFACTS, TIMEOUT_MS, browser  # noqa: F401  (browser: a fixture)
from ..factories import COURSE_ID

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DASHBOARD = f"/courses/{COURSE_ID}/instructor"
LMS_GLOBALS = "[typeof window.$, window.$(), window.DataDownload.lms, window.PendingInstructorTasks.lms]"
NEW_GLOBALS = "Object.keys(window).filter(k => k !== 'keysBeforeFragments' && !window.keysBeforeFragments.includes(k))"


@pytest.mark.worker
def test_instructor_generates_and_downloads_through_the_lms_dashboard(
    browser, live_server, team_member, exams, celery_worker
):
    from playwright.sync_api import expect

    context = browser.new_context(accept_downloads=True, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next={quote(DASHBOARD)}")
    page.fill("input[name=username]", team_member.username)
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(DASHBOARD) + "$"))

    # The LMS's tabs; the results are in its Data Download tab, where its own button is no more.
    expect(page.locator("#data_download")).to_be_hidden()
    page.locator(".instructor-nav button", has_text="Data Download").click()
    section = page.locator("#data_download")
    expect(section).to_be_visible()
    expect(section.locator("input[name=list-profiles-csv]")).to_be_visible()
    expect(page.locator("input[name=proctored-exam-results-report]")).to_have_count(0)
    generate = section.get_by_role("button", name="Generate Proctored Exam Results Report")
    expect(generate).to_have_count(1)

    # Its script made no global names, and the LMS's own are as the LMS left them.
    assert page.evaluate(NEW_GLOBALS) == []
    assert page.evaluate(LMS_GLOBALS) == ["function", "lms", True, True]

    generate.click()
    expect(section.locator("#pr-status")).to_contain_text("The proctored exam results report is being created.")
    link = section.locator("#pr-reports a.pr-report-link").first
    expect(link).to_have_text(re.compile(r"_proctored_exam_results_report_.*\.csv$"), timeout=TIMEOUT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lms_instructor_dashboard_data_download.png"), full_page=True)
    with page.expect_download() as download_info:
        link.click()
    with open(download_info.value.path(), encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["user_email", "exam_name"]
    assert sorted(r[0] for r in rows[1:]) == ["aicha@example.edu", "jose@example.edu", "zoe@example.edu"]
    assert errors == []
    context.close()
