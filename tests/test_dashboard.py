"""
The Data Download page as the instructor sees it (server-rendered), who may see it, and its chart.
"""

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proctoring_results import api, charts
from proctoring_results.statuses import AttemptStatus

from .factories import COURSE_ID, OTHER_COURSE_ID, ExamAttemptFactory, ProctoredExamFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("proctoring_results:data_download", args=[COURSE_ID])
GENERATE = "Generate Proctored Exam Results Report"
SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
CONFIDENTIAL = (
    "Because the proctoring session results file contains confidential, personally identifiable data, "
    "be sure to follow your institution's data stewardship policies when you open or save this file."
)
EXPIRY_NOTE = "Do not copy these links for reuse elsewhere, as they expire within 5 minutes."


def test_page_url_matches_the_lms_path():
    assert PAGE == f"/courses/{COURSE_ID}/instructor/data_download/"


def test_instructor_sees_the_seed_texts_and_no_tasks(client, instructor):
    client.force_login(instructor)
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    for text in (GENERATE, CONFIDENTIAL, EXPIRY_NOTE, "Pending Tasks", "No tasks currently running."):
        assert text in page, text
    assert SEED_MESSAGE in page  # carried for the script, shown on click
    assert 'aria-live="polite"' in page
    assert re.search(r'<table class="pr-tasks" id="pr-tasks"[^>]*hidden', page)


def test_reports_are_listed_above_pending_tasks_newest_first_named_by_file(client, instructor, exam):
    ExamAttemptFactory(exam=exam, status=AttemptStatus.VERIFIED)
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=dt_timezone.utc), tick=False):
        older = api.generate_report(COURSE_ID, instructor)
    with time_machine.travel(datetime(2026, 3, 1, 11, 0, tzinfo=dt_timezone.utc), tick=False):
        newer = api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    links = re.findall(r'<a class="pr-report-link" href="([^"]+)"[^>]*>([^<]+)</a>', page)
    assert [name for _url, name in links] == [newer.file_name, older.file_name]
    assert re.fullmatch(r"TestX_Proctoring_2026_proctored_exam_results_report_.+\.csv", newer.file_name)
    assert page.index(newer.file_name) < page.index(older.file_name) < page.index(">Pending Tasks</h3>")
    # Each link works for the instructor who loaded the page.
    response = client.get(links[0][0])
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'filename="{newer.file_name}"')


def test_active_task_is_shown_with_requester_state_and_progress(client, instructor, exam):
    task = api.request_report(COURSE_ID, instructor)  # queued: the test transaction never commits it to a worker
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    row = re.search(rf'<tr data-task-id="{task.id}" data-state="queued">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == "Proctored Exam Results Report"
    assert cells[1] == "instructor"
    assert cells[3] == "Queued"
    assert "<progress" in row
    assert 'id="pr-no-tasks" hidden' in page


@pytest.mark.parametrize("who", ["learner", "other_course_instructor"])
def test_learners_and_other_courses_staff_get_403(client, learner, who):
    user = learner
    if who == "other_course_instructor":
        user = UserFactory(username="elsewhere")
        api.grant_course_role(user, OTHER_COURSE_ID, "instructor")
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 403
    page = response.content.decode()
    assert GENERATE not in page
    assert "Only the course team" in page


def test_global_staff_may_see_every_course(client):
    client.force_login(UserFactory(username="admin", is_staff=True))
    assert client.get(PAGE).status_code == 200


def test_inactive_instructor_is_refused(client, instructor):
    instructor.is_active = False
    instructor.save()
    client.force_login(instructor)
    assert client.get(PAGE).status_code in (302, 403)


def test_anonymous_is_sent_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE.replace(':', '%3A').replace('+', '%2B')}"


def test_malformed_course_id_is_a_404_with_a_message(client, instructor):
    client.force_login(instructor)
    response = client.get("/courses/not+a+course/instructor/data_download/")
    assert response.status_code == 404
    assert "is not a valid course id" in response.content.decode()


def test_the_fragment_renders_on_its_own_for_an_lms_to_include(rf, instructor):
    request = rf.get(PAGE)
    request.user = instructor
    html = render_to_string(
        "proctoring_results/_data_download_fragment.html",
        {
            "reports": [],
            "tasks": [],
            "chart_svg": "",
            "chart_rows": [],
            "chart_groups": charts.GROUPS,
            "tasks_url": "/t/",
            "reports_url": "/r/",
            "link_expiry_seconds": 300,
            "strings": {},
            "generate_message": SEED_MESSAGE,
        },
        request=request,
    )
    assert "<html" not in html and GENERATE in html and "data_download.js" in html


def test_page_static_files_ship_in_the_package(client, instructor):
    from django.contrib.staticfiles import finders

    for name in ("proctoring_results/data_download.js", "proctoring_results/data_download.css"):
        assert finders.find(name), name
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    assert "//cdn" not in page and "https://" not in page


# ---------------------------------------------------------------- the chart


def _attempts(exam, **counts):
    for status, n in counts.items():
        for _ in range(n):
            ExamAttemptFactory(exam=exam, status=status)


def test_status_counts_come_from_one_query_and_fill_every_status():
    midterm = ProctoredExamFactory(exam_name="Midterm")
    final = ProctoredExamFactory(exam_name="Final")
    ProctoredExamFactory(exam_name="Unused")
    ProctoredExamFactory(exam_name="Elsewhere", course_id=OTHER_COURSE_ID)
    _attempts(midterm, verified=3, rejected=1, submitted=2, second_review_required=1, started=1, error=1)
    _attempts(final, created=2, timed_out=1)
    with CaptureQueriesContext(connection) as queries:
        counts = api.course_status_counts(COURSE_ID)
    assert len(queries) == 1
    assert "GROUP BY" in queries[0]["sql"].upper()
    assert [c.exam_name for c in counts] == ["Final", "Midterm", "Unused"]
    by_name = {c.exam_name: c for c in counts}
    assert by_name["Midterm"].by_status["verified"] == 3 and by_name["Midterm"].total == 9
    assert set(by_name["Unused"].by_status) == set(AttemptStatus.values) and by_name["Unused"].total == 0
    rows = {row.exam_name: {g.key: n for g, n in row.counts} for row in charts.group_counts(counts)}
    assert rows["Midterm"] == {
        "satisfactory": 3,
        "unsatisfactory": 1,
        "awaiting_review": 3,
        "in_progress": 1,
        "error": 1,
    }
    assert rows["Final"] == {"satisfactory": 0, "unsatisfactory": 0, "awaiting_review": 0, "in_progress": 3, "error": 0}


def test_every_status_is_in_exactly_one_chart_group():
    grouped = [s for g in charts.GROUPS for s in g.statuses]
    assert sorted(grouped) == sorted(AttemptStatus.values)


def test_chart_on_the_page_is_accessible_svg_with_the_numbers(client, instructor):
    exam = ProctoredExamFactory(exam_name='Unit 3 <b>"Quiz"</b>')
    _attempts(exam, verified=4, rejected=2, submitted=1)
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "4 Satisfactory, 2 Unsatisfactory, 1 Awaiting review, 0 In progress, 0 Error" in svg
    assert "<b>" not in svg and "&lt;b&gt;" in svg  # exam names are escaped
    assert "<summary>Show the numbers</summary>" in page


def test_chart_for_a_course_without_exams_says_so(client, instructor):
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    assert "This course has no proctored exams yet." in page


def test_page_queries_do_not_grow_with_attempts_or_reports(client, instructor, exam):
    client.force_login(instructor)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE).status_code == 200
        return len(queries)

    _attempts(exam, verified=2)
    api.generate_report(COURSE_ID, instructor)
    before = count()
    _attempts(ProctoredExamFactory(), verified=5, rejected=5)
    for _ in range(3):
        with time_machine.travel(timedelta(minutes=1)):
            api.generate_report(COURSE_ID, instructor)
    assert count() == before


def test_page_says_when_it_shows_only_the_newest_reports(client, instructor, exam, monkeypatch):
    from proctoring_results import views

    monkeypatch.setattr(views, "PAGE_REPORT_LIMIT", 2)
    for minute in range(3):
        with time_machine.travel(datetime(2026, 3, 1, 10, minute, tzinfo=dt_timezone.utc), tick=False):
            api.generate_report(COURSE_ID, instructor)
    client.force_login(instructor)
    page = client.get(PAGE).content.decode()
    assert len(re.findall(r'class="pr-report-link"', page)) == 2
    assert "Showing the 2 newest of 3 reports." in page
