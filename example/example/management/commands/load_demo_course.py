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

from example.courses import DEMO_COURSE_ID as COURSE_ID
from proctoring_results import api, rules
from proctoring_results.models import ExamAttempt, ProctoredExam, Review, ReviewFlag
from proctoring_results.statuses import AttemptStatus

INSTRUCTOR = ("instructor", "instructor@example.com", "demo-instructor-pw")
LEARNER = ("learner", "learner@example.com", "demo-learner-pw")

EXAMS = [
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@midterm", "Midterm Exam", 90, False),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@final", "Final Exam", 120, False),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@practice", "Practice Proctored Exam", 30, True),
    ("block-v1:DemoX+Proctoring101+2026+type@sequential+block@unit3", 'Unit 3 Quiz, "Part A" — Ökonomie', 45, False),
]

FIRST = [
    "Zoë",
    "José",
    "Aïcha",
    "Bjørn",
    "Łukasz",
    "Søren",
    "Ngọc",
    "Çağla",
    "Иван",
    "Ελένη",
    "美咲",
    "Siddharth",
    "Oluwaseun",
    "María",
    "François",
    "Anaïs",
    "Dvořák",
    "Ñusta",
    "Saoirse",
    "Jürgen",
]
LAST = [
    "Müller",
    "García",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Ødegaard",
    "Smith-Jones",
    "Петров",
    "Παπαδόπουλος",
    "山田",
    "Patel",
    "Adébáyọ̀",
    "Núñez",
    "Lefèvre",
    "Ibáñez",
    "Čapek",
]

# How the demo's attempts spread over the ten statuses (most are reviewed).
STATUS_WEIGHTS = {
    AttemptStatus.CREATED: 3,
    AttemptStatus.READY_TO_START: 3,
    AttemptStatus.STARTED: 4,
    AttemptStatus.TIMED_OUT: 3,
    AttemptStatus.COMPLETED: 3,
    AttemptStatus.SUBMITTED: 10,
    AttemptStatus.SECOND_REVIEW_REQUIRED: 5,
    AttemptStatus.VERIFIED: 50,
    AttemptStatus.REJECTED: 12,
    AttemptStatus.ERROR: 2,
}
NOT_STARTED = {AttemptStatus.CREATED, AttemptStatus.READY_TO_START}


class Command(BaseCommand):
    help = "Load the demo course (exams, learners, attempts in every status) and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=300, help="How many learners (default 300).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--site-url",
            default="http://127.0.0.1:8000",
            help="Where the demo site is served, for the URLs printed (default http://127.0.0.1:8000).",
        )

    def handle(self, *args, learners, seed, site_url, **options):
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
            statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=False)
            for exam in exams:
                for user in users:
                    if rng.random() < 0.15:
                        continue  # not everyone takes every exam
                    status = rng.choices(statuses, weights)[0]
                    limit = exam.time_limit_mins + rng.choice([0, 0, 0, 0, 15, 30, exam.time_limit_mins // 2])
                    started = (
                        None
                        if status in NOT_STARTED
                        else now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
                    )
                    completed = None
                    if started and status != AttemptStatus.STARTED:
                        completed = started + timedelta(
                            minutes=limit if status == AttemptStatus.TIMED_OUT else rng.randint(5, limit)
                        )
                    attempts.append(
                        ExamAttempt(
                            user=user,
                            exam_id=exam.id,
                            allowed_time_limit_mins=limit,
                            is_sample_attempt=exam.is_practice_exam,
                            started_at=started,
                            completed_at=completed,
                            status=status,
                            status_changed_at=completed or started or now,
                            external_id=f"demo-session-{rng.randrange(10**9):09d}",
                        )
                    )
            ExamAttempt.objects.bulk_create(attempts, batch_size=1000)
            reviews = self._reviews(rng)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {COURSE_ID}: {len(exams)} exams, {len(users)} learners, {len(attempts)} attempts."
            )
        )
        self.stdout.write(f"Provider reviews: {reviews} (flags, outcomes, disagreements as rules.decide makes them).")
        waiting = ExamAttempt.objects.filter(exam__course_id=COURSE_ID, status=AttemptStatus.SUBMITTED)
        codes = list(waiting.order_by("id").values_list("attempt_code", flat=True)[:3])
        self.stdout.write(f"Submitted attempts awaiting a review (see docs/providers.rst): {', '.join(codes)}")
        self.stdout.write(f"Instructor login: {INSTRUCTOR[0]} / {INSTRUCTOR[2]}")
        self.stdout.write(f"Learner login (no access to reports): {LEARNER[0]} / {LEARNER[2]}")
        self.stdout.write(f"Course page: {site_url.rstrip('/')}/courses/{COURSE_ID}/instructor/data_download/")

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
            new.append(
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{first}.{last}.{i}@example.edu".lower().replace(" ", "").replace("'", ""),
                )
            )
        User.objects.bulk_create(new, batch_size=1000)
        return list(User.objects.filter(username__startswith="demo-learner-").order_by("username")[:count])

    def _reviews(self, rng):
        """
        Give every reviewed attempt the provider review that explains its status.

        Each review is drawn for the attempt's status and checked against
        ``rules.decide``, so the demo's reviews, flags and statuses agree exactly
        as a posted review would have made them. Bulk-created for speed.
        """
        reviewed = (
            ExamAttempt.objects.filter(exam__course_id=COURSE_ID, status__in=DEMO_REVIEWS)
            .order_by("id")
            .only("id", "attempt_code", "status", "completed_at")
        )
        reviews, flag_lists = [], []
        for attempt in reviewed:
            provider_status, codes, second_review = rng.choice(DEMO_REVIEWS[attempt.status])
            codes = list(codes)
            if attempt.status == AttemptStatus.VERIFIED and rng.random() < 0.25:
                codes = rng.sample(DISCOURAGED_CODES, rng.randint(1, 2))  # flagged, still Satisfactory
            decision = rules.decide(
                provider_status, codes, second_review_requested=second_review, second_review_on_failure=False
            )
            assert decision.outcome == attempt.status, (attempt.status, decision)
            reviewed_at = (attempt.completed_at or timezone.now()) + timedelta(hours=rng.randint(2, 72))
            flags = []
            for code in codes:
                start = rng.randint(30, 3000)
                flags.append(
                    {
                        "rule": code,
                        "comment": rng.choice(DEMO_COMMENTS.get(code, ["See the recording."])),
                        "start": start,
                        "stop": start + rng.randint(5, 240),
                    }
                )
            review_id = f"demo-review-{attempt.id:06d}"
            payload = {
                "attempt_code": attempt.attempt_code,
                "review_id": review_id,
                "status": provider_status,
                "flags": flags,
                "reviewer": rng.choice(DEMO_REVIEWERS),
                "reviewed_at": reviewed_at.isoformat(),
                "second_review": second_review,
            }
            reviews.append(
                Review(
                    attempt_id=attempt.id,
                    provider="demo-provider",
                    review_id=review_id,
                    provider_status=provider_status,
                    second_review_requested=second_review,
                    outcome=decision.outcome,
                    disagreement=decision.disagreement,
                    reviewer=payload["reviewer"],
                    reviewed_at=reviewed_at,
                    raw_payload=payload,
                )
            )
            flag_lists.append(list(zip(flags, decision.severities, strict=False)))
        Review.objects.bulk_create(reviews, batch_size=1000)
        if reviews and reviews[0].pk is None:  # a database that does not return ids from bulk inserts
            ids = dict(
                Review.objects.filter(
                    provider="demo-provider", review_id__in=[r.review_id for r in reviews]
                ).values_list("review_id", "id")
            )
            for review in reviews:
                review.pk = review.id = ids[review.review_id]
        ReviewFlag.objects.bulk_create(
            [
                ReviewFlag(
                    review_id=review.pk,
                    rule_code=flag["rule"],
                    severity=severity,
                    comment=flag["comment"],
                    start_seconds=flag["start"],
                    stop_seconds=flag["stop"],
                )
                for review, flags in zip(reviews, flag_lists, strict=False)
                for flag, (_code, severity) in flags
            ],
            batch_size=1000,
        )
        return len(reviews)


#: For each reviewed status, the (provider status, flagged rule codes, second review asked) a provider may
#: have sent; ``rules.decide`` of each gives that status (checked as the demo loads).
DEMO_REVIEWS = {
    AttemptStatus.VERIFIED: [("passed", (), False)] * 6 + [("passed", ("music_or_tv",), False)],
    AttemptStatus.REJECTED: [
        ("violation", ("second_computer",), False),
        ("violation", ("no_photo_id",), False),
        ("violation", ("phone", "music_or_tv"), False),
        ("suspicious", ("reading_exam_aloud",), False),
        ("violation", ("explicit_content",), False),
        ("suspicious", ("other_programs", "another_person"), False),
        ("passed", ("second_computer",), False),  # status and flags disagree: the stricter outcome wins
    ],
    AttemptStatus.SECOND_REVIEW_REQUIRED: [
        ("violation", ("another_person",), True),
        ("suspicious", ("left_room",), True),
        ("passed", ("vendor_gaze_tracking",), False),  # a rule code the catalog does not know
    ],
    AttemptStatus.ERROR: [("not_reviewed", (), False)],
}
DISCOURAGED_CODES = [rule.code for rule in rules.BUILTIN_RULES if rule.severity == rules.Severity.DISCOURAGED]
DEMO_COMMENTS = {
    "music_or_tv": ["Radio audible in the background.", "TV on in the next room."],
    "poor_lighting": ["Face hard to see: the room is dark."],
    "desk_not_clear": ["Books stacked on the desk, not opened."],
    "headphones": ["Wore earbuds for the first minutes."],
    "second_computer": ["A laptop beside the monitor is used during the exam."],
    "no_photo_id": ["No photo ID shown at the start of the session."],
    "phone": ["Looks at a phone under the desk."],
    "reading_exam_aloud": ["Reads the questions aloud towards someone off camera."],
    "explicit_content": ["Explicit material visible on screen."],
    "other_programs": ["Switches to a search engine."],
    "another_person": ["A second voice answers a question."],
    "left_room": ["Out of view for several minutes."],
    "vendor_gaze_tracking": ["Gaze tracker: frequent looks to the left."],
}
DEMO_REVIEWERS = ["Reviewer A. Okafor", "Reviewer M. Lindqvist", "Reviewer S. Tanaka"]
