"""The demo course a newcomer sees after `make demo`."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from proctoring_results import api
from proctoring_results.statuses import AttemptStatus

pytestmark = pytest.mark.django_db

DEMO_COURSE = "course-v1:DemoX+Proctoring101+2026"


def test_demo_course_has_every_status_and_prints_how_to_sign_in():
    out = StringIO()
    call_command("load_demo_course", "--learners", "120", stdout=out)
    attempts = api.list_course_attempts(DEMO_COURSE)
    assert {a.status for a in attempts} == set(AttemptStatus.values)
    exams = api.list_course_exams(DEMO_COURSE)
    assert len(exams) >= 3 and sum(e.is_practice_exam for e in exams) == 1
    assert all(a.completed_at >= a.started_at for a in attempts if a.completed_at)
    text = out.getvalue()
    assert "Instructor login: instructor / " in text
    assert f"/courses/{DEMO_COURSE}/instructor/data_download/" in text
    # Running it again replaces the demo data instead of doubling it.
    call_command("load_demo_course", "--learners", "120", stdout=StringIO())
    assert len(api.list_course_attempts(DEMO_COURSE)) == len(attempts)


def test_the_demo_page_names_its_course_above_the_course_id(client):
    call_command("load_demo_course", "--learners", "20", stdout=StringIO())
    client.force_login(User.objects.get(username="instructor"))
    page = client.get(f"/courses/{DEMO_COURSE}/instructor/data_download/").content.decode()
    name = page.index('<p class="pr-course-name">Proctoring 101: Exams Under Review</p>')
    assert name < page.index(f'<p class="pr-course-id">{DEMO_COURSE}</p>')
