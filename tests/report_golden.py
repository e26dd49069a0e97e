"""
A fixed course whose report is saved byte for byte in ``tests/golden/`` (``test_report_golden.py``).

Everything that reaches a cell is spelled out here, so the bytes depend only on
the report's code and the database: every status, allowances, practice
attempts, missing and non-UTC times with microseconds, names that need RFC 4180
quoting, non-ASCII text, cells a spreadsheet would run as formulas, several
reviews of one attempt (only the latest counts), flags with empty, formula-like
and long comments, an exam without attempts and another course's attempts.
No factory sequence or random value is used: the ids differ between runs and
databases, but only their order reaches the report.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model

from proctoring_results.models import ExamAttempt, ProctoredExam, Review, ReviewFlag
from proctoring_results.statuses import AttemptStatus

COURSE_ID = "course-v1:GoldX+Report+2026"
OTHER_COURSE_ID = "course-v1:GoldX+Elsewhere+2026"

#: The report variants saved: name -> the ``extra_columns`` asked for. Listed by name (not
#: ``EXTRA_COLUMNS``), so adding an extra column later leaves these files as they are.
VARIANTS = {
    "default": None,
    "extra": ["username", "review_result", "flag_count", "flag_comments", "provider"],
    "some_extra": ["provider", "flag_comments"],  # asked out of order: the report's order wins
}

T0 = datetime(2026, 3, 1, 9, 30, 15, 987654, tzinfo=dt_timezone.utc)
PACIFIC = dt_timezone(timedelta(hours=-7))

PEOPLE = [
    ("ann", "ann@example.edu"),
    ("bob", '"bob, jr"@example.edu'),
    ("zoë", "zoë@exämple.edu"),
    ("eve", "+eve@example.edu"),
    ("fw", "＠fullwidth@example.edu"),
    ("noemail", ""),
    ('=HYPERLINK("x")', "-minus@example.edu"),
    ("\ttab", "tab@example.edu"),
    ("中文名", "学生@例子.中国"),
]

EXAMS = [
    # (name, time limit, practice, provider)
    ('Midterm, "part 1"\nwith a newline', 90, False, "acme"),
    ("=SUM(A1:A9) — final ✓", 120, False, "+provider"),
    ("Übung 練習", 30, True, ""),
    ("@home quiz", 45, False, "Proctor Ünited"),
    ("\ufe63small hyphen", 60, False, "acme"),
]

REVIEW_COMMENTS = [
    # (outcome of the older review, its comments), (outcome of the latest, its comments) or None
    [("rejected", ["older review: not in the report"]), ("verified", [])],
    [("rejected", ["=looked at a laptop", "radio on"])],
    [("second_review_required", ["", "  ", "\uff0dwide minus", 'said "hi", twice'])],
    [("error", ["línea\nnueva", "很好 🙂"])],
    [("verified", ["@mention", "\tindented", "plain"])],
    [("rejected", [f"comment {i:03d} " + "é" * 200 for i in range(40)])],  # about 16 KB: MySQL's GROUP_CONCAT
]


def build():
    """Create the golden course; return nothing (the report reads it all back)."""
    User = get_user_model()
    people = [User.objects.create(username=name, email=email) for name, email in PEOPLE]
    exams = [
        ProctoredExam.objects.create(
            course_id=COURSE_ID,
            content_id=f"block-v1:GoldX+Report+2026+type@sequential+block@exam{n}",
            exam_name=name,
            time_limit_mins=limit,
            is_practice_exam=practice,
            provider=provider,
        )
        for n, (name, limit, practice, provider) in enumerate(EXAMS)
    ]
    ProctoredExam.objects.create(
        course_id=COURSE_ID,
        content_id="block-v1:GoldX+Report+2026+type@sequential+block@empty",
        exam_name="No attempts yet",
        time_limit_mins=60,
    )
    statuses = list(AttemptStatus)
    attempts = []
    n = 0
    # Exams and learners created in one order and attempted in another, so the report's sort shows.
    for exam in (exams[1], exams[0], exams[3], exams[2], exams[4]):
        for person in reversed(people):
            tries = 2 if n % 7 == 3 else 1  # some learners have two attempts at an exam
            for _ in range(tries):
                status = statuses[n % len(statuses)]
                started = None
                if status not in (AttemptStatus.CREATED, AttemptStatus.READY_TO_START):
                    started = (T0 + timedelta(minutes=17 * n, microseconds=n)).astimezone(PACIFIC)
                completed = started + timedelta(minutes=45, seconds=30) if started and n % 3 else None
                code = f"GOLD-{n:04d}-ATTEMPT"
                if n == 5:
                    code = "=1+1-GOLD"
                elif n == 11:
                    code = "＋GOLD-FULLWIDTH"
                attempts.append(
                    ExamAttempt.objects.create(
                        exam=exam,
                        user=person,
                        attempt_code=code,
                        status=status,
                        allowed_time_limit_mins=exam.time_limit_mins + (15 * (n % 4) if n % 5 else 0),
                        is_sample_attempt=exam.is_practice_exam,
                        started_at=started,
                        completed_at=completed,
                    )
                )
                n += 1
    for index, reviews in enumerate(REVIEW_COMMENTS):
        attempt = attempts[3 + 7 * index]
        for order, (outcome, comments) in enumerate(reviews):
            review = Review.objects.create(
                attempt=attempt,
                provider="acme",
                review_id=f"gold-{index}-{order}",
                provider_status=Review.ProviderStatus.VIOLATION,
                outcome=outcome,
                raw_payload={},
            )
            Review.objects.filter(pk=review.pk).update(received_at=T0 + timedelta(hours=index, minutes=order))
            for number, comment in enumerate(comments):
                ReviewFlag.objects.create(
                    review=review,
                    rule_code="second_computer" if number % 2 else "music",
                    comment=comment,
                    start_seconds=float(number),
                )
    elsewhere = ProctoredExam.objects.create(
        course_id=OTHER_COURSE_ID,
        content_id="block-v1:GoldX+Elsewhere+2026+type@sequential+block@exam",
        exam_name="Elsewhere",
        time_limit_mins=60,
    )
    ExamAttempt.objects.create(
        exam=elsewhere,
        user=people[0],
        attempt_code="GOLD-ELSEWHERE",
        allowed_time_limit_mins=60,
        status=AttemptStatus.VERIFIED,
    )
