"""
Load a realistic demo course: exams, a few hundred learners, attempts in every status.

Run by ``make demo``; safe to run again (it replaces the demo course's data).
"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from proctoring_results import api
from proctoring_results.models import ExamAttempt, ProctoredExam
from proctoring_results.statuses import AttemptStatus

COURSE_ID = "course-v1:DemoX+Proctoring101+2026"
INSTRUCTOR = ("instructor", "instructor@example.com", "demo-instructor-pw")
LEARNER = ("learner", "learner@example.com", "demo-learner-pw")

EXAMS = [
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@midterm", "Midterm Exam", 90, False),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@final", "Final Exam", 120, False),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@practice", "Practice Proctored Exam", 30, True),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@unit3", 'Unit 3 Quiz, "Part A" — Ökonomie', 45, False),
]

FIRST = ["Zoë", "José", "Aïcha", "Bjørn", "Łukasz", "Søren", "Ngọc", "Çağla", "Иван", "Ελένη", "美咲", "Siddharth",
         "Oluwaseun", "María", "François", "Anaïs", "Dvořák", "Ñusta", "Saoirse", "Jürgen"]
LAST = ["Müller", "García", "O'Brien", "Nguyễn", "Kowalski", "Ødegaard", "Smith-Jones", "Петров", "Παπαδόπουλος",
        "山田", "Patel", "Adébáyọ̀", "Núñez", "Lefèvre", "Ibáñez", "Čapek"]

# How the demo's attempts spread over the ten statuses (most are reviewed).
STATUS_WEIGHTS = {
    AttemptStatus.CREATED: 3, AttemptStatus.READY_TO_START: 3, AttemptStatus.STARTED: 4,
    AttemptStatus.TIMED_OUT: 3, AttemptStatus.COMPLETED: 3, AttemptStatus.SUBMITTED: 10,
    AttemptStatus.SECOND_REVIEW_REQUIRED: 5, AttemptStatus.VERIFIED: 50, AttemptStatus.REJECTED: 12,
    AttemptStatus.ERROR: 2,
}
NOT_STARTED = {AttemptStatus.CREATED, AttemptStatus.READY_TO_START}


class Command(BaseCommand):
    help = "Load the demo course (exams, learners, attempts in every status) and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=300, help="How many learners (default 300).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")

    def handle(self, *args, learners, seed, **options):
        rng = random.Random(seed)
        User = get_user_model()
        with transaction.atomic():
            ExamAttempt.objects.filter(exam__course_id=COURSE_ID).delete()
            ProctoredExam.objects.filter(course_id=COURSE_ID).delete()
            instructor = self._user(User, *INSTRUCTOR)
            self._user(User, *LEARNER)
            api.grant_course_role(instructor, COURSE_ID, "instructor")
            exams = [
                api.create_exam(COURSE_ID, content_id, name, limit, is_practice_exam=practice, provider="demo-provider")
                for content_id, name, limit, practice in EXAMS
            ]
            users = self._learners(User, learners, rng)
            attempts = []
            now = timezone.now()
            statuses, weights = zip(*STATUS_WEIGHTS.items())
            for exam in exams:
                for user in users:
                    if rng.random() < 0.15:
                        continue  # not everyone takes every exam
                    status = rng.choices(statuses, weights)[0]
                    limit = exam.time_limit_mins + rng.choice([0, 0, 0, 0, 15, 30, exam.time_limit_mins // 2])
                    started = None if status in NOT_STARTED else now - timedelta(days=rng.randint(1, 30),
                                                                               minutes=rng.randint(0, 600))
                    completed = None
                    if started and status != AttemptStatus.STARTED:
                        completed = started + timedelta(minutes=limit if status == AttemptStatus.TIMED_OUT
                                                        else rng.randint(5, limit))
                    attempts.append(ExamAttempt(
                        user=user, exam_id=exam.id, allowed_time_limit_mins=limit,
                        is_sample_attempt=exam.is_practice_exam, started_at=started, completed_at=completed,
                        status=status, status_changed_at=completed or started or now,
                        external_id=f"demo-session-{rng.randrange(10**9):09d}",
                    ))
            ExamAttempt.objects.bulk_create(attempts, batch_size=1000)
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {COURSE_ID}: {len(exams)} exams, {len(users)} learners, {len(attempts)} attempts."
        ))
        self.stdout.write(f"Instructor login: {INSTRUCTOR[0]} / {INSTRUCTOR[2]}")
        self.stdout.write(f"Learner login (no access to reports): {LEARNER[0]} / {LEARNER[2]}")
        self.stdout.write(f"Course page: http://127.0.0.1:8000/courses/{COURSE_ID}/instructor/data_download/")

    def _user(self, User, username, email, password):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
        user.set_password(password)
        user.save()
        return user

    def _learners(self, User, count, rng):
        existing = {u.username: u for u in User.objects.filter(username__startswith="demo-learner-")}
        new = []
        for i in range(count):
            username = f"demo-learner-{i:04d}"
            first, last = rng.choice(FIRST), rng.choice(LAST)  # drawn always, so reruns repeat the data
            if username in existing:
                continue
            new.append(User(username=username, first_name=first, last_name=last,
                            email=f"{first}.{last}.{i}@example.edu".lower().replace(" ", "").replace("'", "")))
        User.objects.bulk_create(new, batch_size=1000)
        return list(User.objects.filter(username__startswith="demo-learner-").order_by("username")[:count])
