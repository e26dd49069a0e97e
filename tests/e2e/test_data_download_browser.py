"""
The seed's "Viewing Proctored Session Results", done by an instructor in headless Chromium.

Debian's ``chromium`` driven by Playwright's sync API against the example site
on pytest-django's live server, with a real Celery worker process building the
report. Without Chromium the test is skipped, unless
``PROCTORING_RESULTS_REQUIRE_SERVICES=1`` (CI), where it fails.
"""

import csv
import io
import os
import re
from pathlib import Path

import pytest

from proctoring_results import api, statuses
from proctoring_results.statuses import AttemptStatus

from ..factories import COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory
from ..services import unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.system, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("PROCTORING_RESULTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE = f"/courses/{COURSE_ID}/instructor/data_download/"
SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
TIMEOUT_MS = 60_000


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        unavailable(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is in requirements/test.in
        unavailable(f"Playwright is not installed: {exc}")
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser, live_server, username, password="password"):
    context = browser.new_context(accept_downloads=True, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}{PAGE}")
    assert "/accounts/login/" in page.url  # anonymous: the login page first
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(PAGE)))
    return page


@pytest.fixture
def course(db):
    """An instructor, a learner, and attempts at two exams in statuses the CSV and chart must show."""
    instructor = UserFactory(username="instructor", email="instructor@example.edu")
    api.grant_course_role(instructor, COURSE_ID, "instructor")
    learner = UserFactory(username="learner", email="learner@example.edu")
    midterm = ProctoredExamFactory(exam_name="Midterm", time_limit_mins=90)
    practice = ProctoredExamFactory(exam_name="Practice", time_limit_mins=30, is_practice_exam=True)
    names = ["zoe", "jose", "aicha", "bjorn", "lukasz"]
    midterm_statuses = [
        AttemptStatus.VERIFIED,
        AttemptStatus.VERIFIED,
        AttemptStatus.REJECTED,
        AttemptStatus.SECOND_REVIEW_REQUIRED,
        AttemptStatus.ERROR,
    ]
    for name, status in zip(names, midterm_statuses, strict=False):
        ExamAttemptFactory(exam=midterm, status=status, user=UserFactory(username=name, email=f"{name}@example.edu"))
    ExamAttemptFactory(exam=practice, status=AttemptStatus.STARTED, user=UserFactory(username="zoe"))
    return instructor, learner


def expected_rows():
    """What the CSV must hold, read from the database: (email, exam, attempt code, status word)."""
    from proctoring_results.models import ExamAttempt

    return sorted(
        (a.user.email, a.exam.exam_name, a.attempt_code, statuses.csv_word(a.status))
        for a in ExamAttempt.objects.select_related("user", "exam")
    )


@pytest.mark.worker
def test_instructor_generates_watches_and_downloads_the_report(browser, live_server, course, celery_worker_factory):
    from playwright.sync_api import expect

    instructor, learner = course
    page = sign_in(browser, live_server, "instructor")

    # The page as the seed describes it, before anything is generated.
    expect(page.get_by_role("button", name="Generate Proctored Exam Results Report")).to_be_visible()
    expect(page.get_by_text("confidential, personally identifiable data")).to_be_visible()
    expect(page.get_by_text("No tasks currently running.")).to_be_visible()
    expect(page.locator("#pr-reports a")).to_have_count(0)
    expect(page.locator("svg.pr-status-chart")).to_have_attribute("role", "img")
    expect(page.locator("#proctoring-status-chart-desc")).to_contain_text(
        "Midterm: 2 Satisfactory, 1 Unsatisfactory, 1 Awaiting review, 0 In progress, 1 Error."
    )

    # A real worker, storing files slowly (6 s) so the running task and its progress can be watched.
    worker = celery_worker_factory(PROCTORING_RESULTS_TEST_STORAGE_DELAY="6")

    # Generate: the seed's status message, announced; the task appears in Pending Tasks with its progress.
    page.get_by_role("button", name="Generate Proctored Exam Results Report").click()
    expect(page.locator("#pr-status")).to_have_text(SEED_MESSAGE)
    task_row = page.locator("#pr-tasks-body tr")
    expect(task_row).to_have_count(1)
    expect(page.get_by_text("No tasks currently running.")).to_be_hidden()
    expect(task_row.locator("td").nth(0)).to_have_text("Proctored Exam Results Report")
    expect(task_row.locator("td").nth(1)).to_have_text("instructor")
    expect(task_row.locator("td").nth(3)).to_have_text(re.compile("^(Queued|Running)$"))
    expect(task_row.locator("progress")).to_have_count(1)
    try:
        expect(task_row.locator("td").nth(3)).to_have_text("Running", timeout=TIMEOUT_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nWorker log:\n{worker.log()[-3000:]}") from None
    expect(task_row.locator("progress")).to_have_attribute("max", "6", timeout=TIMEOUT_MS)
    expect(task_row.locator("td.pr-progress-cell")).to_contain_text("6 / 6 rows")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data_download_running.png"), full_page=True)

    # It leaves Pending Tasks, and its report appears on top of the list, without a reload.
    expect(page.get_by_text("No tasks currently running.")).to_be_visible(timeout=TIMEOUT_MS)
    [report] = api.list_reports(COURSE_ID)
    assert re.fullmatch(r"TestX_Proctoring_2026_proctored_exam_results_report_[-0-9]+\.csv", report.file_name)
    first_link = page.locator("#pr-reports a.pr-report-link").first
    expect(first_link).to_have_text(report.file_name, timeout=TIMEOUT_MS)
    expect(page.locator("#pr-status")).to_have_text(f"A new report is ready: {report.file_name}")
    assert page.evaluate("document.querySelector('#pr-reports').getBoundingClientRect().top") < page.evaluate(
        "document.querySelector('#pr-tasks-heading').getBoundingClientRect().top"
    )

    page.screenshot(path=str(ARTIFACTS / "data_download.png"), full_page=True)

    # Click the link: the browser downloads the CSV, which matches the database.
    with page.expect_download() as download_info:
        first_link.click()
    download = download_info.value
    assert download.suggested_filename == report.file_name
    with open(download.path(), encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "user_email",
        "exam_name",
        "attempt_code",
        "allowed_time_limit_mins",
        "is_sample_attempt",
        "started_at",
        "completed_at",
        "status",
    ]
    assert sorted((r[0], r[1], r[2], r[7]) for r in rows[1:]) == expected_rows()
    from proctoring_results.models import ReportDownload

    assert ReportDownload.objects.filter(user=instructor, report_id=report.id).count() == 1
    link_url = first_link.get_attribute("href")
    page.context.close()
    worker.stop()

    # A learner is refused: the page, and the instructor's link, with words that fit a learner.
    learner_page = sign_in_refused(browser, live_server, "learner")
    response = learner_page.goto(link_url)
    assert response.status == 403
    expect(learner_page.get_by_role("heading", name="Only the course team can download these reports")).to_be_visible()
    expect(learner_page.get_by_text("new link")).to_have_count(0)
    learner_page.context.close()


def sign_in_refused(browser, live_server, username):
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_load_state()
    response = page.goto(f"{live_server.url}{PAGE}")
    assert response.status == 403
    expect(page.get_by_text("Only the course team")).to_be_visible()
    expect(page.get_by_role("button", name="Generate Proctored Exam Results Report")).to_have_count(0)
    return page


def test_open_page_never_offers_an_expired_link(browser, live_server, course):
    """The page refreshes links well within 5 minutes, and marks them expired if it cannot."""
    from playwright.sync_api import expect

    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    page = sign_in(browser, live_server, "instructor")
    page.clock.install()
    page.reload()
    link = page.locator("#pr-reports a.pr-report-link").first
    expect(link).to_have_text(report.file_name)

    # Within a minute the page asks for the list again, so its links are always freshly signed.
    with page.expect_response(re.compile(r"/reports/$")) as refreshed:
        page.clock.run_for(61_000)
    assert refreshed.value.status == 200
    expect(link).to_have_attribute("href", re.compile("/reports/download/"))
    expect(link).not_to_have_class(re.compile("pr-expired"))

    # If the list cannot be refreshed (server unreachable), the link is shown expired, not offered.
    page.route(re.compile(r".*/reports/\?*.*$|.*/reports/$"), lambda route: route.abort())
    page.clock.run_for(300_000)
    expect(link).to_have_class(re.compile("pr-expired"))
    expect(link).not_to_have_attribute("href", re.compile(".*"))
    expect(page.locator(".pr-expired-note")).to_have_count(1)
    page.context.close()


def test_csv_in_the_browser_matches_the_api_listing(browser, live_server, course):
    """The link on the page and the REST API's link fetch the same bytes (scripts see what people see)."""
    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    page = sign_in(browser, live_server, "instructor")
    listing = page.request.get(f"{live_server.url}/api/proctoring-results/v1/courses/{COURSE_ID}/reports/").json()
    assert [r["file_name"] for r in listing["reports"]] == [report.file_name]
    body = page.request.get(listing["reports"][0]["download_url"]).body().decode("utf-8")
    rows = list(csv.reader(io.StringIO(body)))
    assert sorted((r[0], r[1], r[2], r[7]) for r in rows[1:]) == expected_rows()
    page.context.close()


def test_a_failed_task_leaves_pending_tasks_and_the_page_says_why(browser, live_server, course):
    from playwright.sync_api import expect

    from proctoring_results.models import ReportTask

    instructor, _learner = course
    # A queued task, written directly so no message waits in the broker for a later test's worker.
    task = ReportTask.objects.create(course_id=COURSE_ID, requester=instructor)
    page = sign_in(browser, live_server, "instructor")
    row = page.locator(f"#pr-tasks-body tr[data-task-id='{task.id}']")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("Queued")

    # The pipeline fails it (as a worker would), with a message safe to show.
    ReportTask.objects.filter(pk=task.id).update(
        state="failed", message="The report could not be stored. Try again later."
    )
    expect(page.get_by_text("No tasks currently running.")).to_be_visible()
    expect(page.locator("#pr-status")).to_have_text(
        "The report could not be created: The report could not be stored. Try again later."
    )
    expect(page.locator("#pr-reports a")).to_have_count(0)
    # The failure stays in Pending Tasks, with its message, after a reload too (until the next success or a day).
    for reloaded in (False, True):
        if reloaded:
            page.reload()
        expect(row.locator("td").nth(3)).to_have_text("Failed")
        expect(row.locator("td.pr-task-message")).to_have_text("The report could not be stored. Try again later.")
        expect(row.locator("progress")).to_have_count(0)
    page.context.close()


def test_generate_on_an_unchanged_course_answers_with_the_newest_report(browser, live_server, course):
    """Issue 14: re-clicking Generate writes no new copy; the page says which report to use, and offers force."""
    from playwright.sync_api import expect

    from proctoring_results.models import Report, ReportTask

    instructor, _learner = course
    report = api.generate_report(COURSE_ID, instructor)
    page = sign_in(browser, live_server, "instructor")
    expect(page.locator("#pr-reports a.pr-report-link")).to_have_count(1)
    for _ in range(3):
        page.click("#pr-generate")
        expect(page.locator("#pr-status")).to_have_text(
            f"No results have changed since the report generated at {report.created:%Y-%m-%d %H:%M} UTC; "
            "it is listed below."
        )
        expect(page.locator("#pr-generate")).to_be_enabled()
    assert Report.objects.count() == 1 and ReportTask.objects.count() == 1
    expect(page.locator("#pr-reports a.pr-report-link")).to_have_text(report.file_name)
    # Forcing asks for a new one: the seed's sentence, and a queued task in Pending Tasks.
    page.check("#pr-force")
    page.click("#pr-generate")
    expect(page.locator("#pr-status")).to_have_text(SEED_MESSAGE)
    assert ReportTask.objects.filter(state="queued").count() == 1
    ReportTask.objects.filter(state="queued").update(state="failed", message="Stopped by the test.")
    page.context.close()
