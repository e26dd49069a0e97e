"""
Many workers, many courses: an end-of-term rush on real worker processes.

Issue 14: two or more worker processes, 100 courses requested at once. Every
task ends exactly once, none deadlocks, no report is lost or doubled. Run on
the configured database and broker (PostgreSQL and Redis, MariaDB and Redis in
CI; SQLite (WAL, BEGIN IMMEDIATE) and the file-system broker in the first run). The figures of such a
rush at scale come from ``benchmarks/rush.py`` (docs/operations.rst).
"""

import re
import threading
from collections import Counter

import pytest
from django.db import connection

from proctoring_results import api
from proctoring_results.models import ExamAttempt, ProctoredExam, Report, ReportTask

from .factories import UserFactory
from .services import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

COURSES = 100
WORKERS = 2
REQUESTERS = 16


def seed_courses():
    learners = [UserFactory(email=f"rush{i}@example.edu") for i in range(3)]
    courses = [f"course-v1:RushX+C{n:03d}+2026" for n in range(COURSES)]
    exams = ProctoredExam.objects.bulk_create(
        [
            ProctoredExam(
                course_id=course,
                content_id=f"block-v1:RushX+C{n:03d}+2026+type@sequential+block@final",
                exam_name="Final",
                time_limit_mins=60,
            )
            for n, course in enumerate(courses)
        ]
    )
    ExamAttempt.objects.bulk_create(
        [
            ExamAttempt(exam=exam, user=learner, allowed_time_limit_mins=60, status="verified")
            for exam in exams
            for learner in learners
        ]
    )
    return courses


def test_two_workers_build_100_courses_requested_at_once_each_exactly_once(celery_worker_factory):
    courses = seed_courses()
    workers = [celery_worker_factory() for _ in range(WORKERS)]
    # Requested at once: REQUESTERS threads (course teams' web requests), released together, share the
    # 100 courses; a thread per course would open 100 database connections, over PostgreSQL's default limit.
    task_ids, errors = {}, []

    def request(share, start):
        try:
            start.wait()
            for course in share:
                try:
                    task_ids[course] = api.request_report(course, None).id
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(f"{course}: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    start = threading.Barrier(REQUESTERS)
    threads = [threading.Thread(target=request, args=(courses[i::REQUESTERS], start)) for i in range(REQUESTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and len(task_ids) == COURSES

    def all_ended():
        return not ReportTask.objects.filter(state__in=ReportTask.ACTIVE_STATES).exists()

    wait_until(all_ended, timeout=300, interval=0.5, message="every report task to end")
    tasks = {t.course_id: t for t in (api.get_report_task(i) for i in task_ids.values())}
    assert {t.state for t in tasks.values()} == {"succeeded"}, [t.message for t in tasks.values()][:3]
    # Exactly once: one run each, one report each, one report per course, each with all its rows.
    assert set(ReportTask.objects.values_list("runs", flat=True)) == {1}
    assert Report.objects.count() == COURSES
    assert Counter(str(r.course_id) for r in Report.objects.all()) == Counter({c: 1 for c in courses})
    assert set(Report.objects.values_list("row_count", flat=True)) == {3}
    assert sorted(Report.objects.values_list("task_id", flat=True)) == sorted(task_ids.values())
    # Both workers took part, each message ran once, and no database error (deadlock, lock timeout) was logged.
    logs = [worker.log() for worker in workers]
    ran = Counter(
        m
        for log in logs
        for m in re.findall(
            r"Task proctoring_results\.generate_proctored_exam_results_"
            r"report\[([0-9a-f-]+)\] succeeded",
            log,
        )
    )
    ours = set(ReportTask.objects.values_list("celery_task_id", flat=True))
    # (A message left by an earlier test, e.g. one Redis restores after a killed worker, may run too:
    # its task id means nothing here, or finds its task ended or alive, and does nothing.)
    assert Counter({m: n for m, n in ran.items() if m in ours}) == Counter({m: 1 for m in ours})
    assert all(re.search(r"succeeded", log) for log in logs), "a worker took no report"
    assert not any(re.search(r"deadlock|lock wait timeout|database is locked|Traceback", log, re.I) for log in logs)
