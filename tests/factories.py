"""factory_boy factories for every model the tests build."""

import factory
from django.contrib.auth import get_user_model

from proctoring_results.models import CourseRole, ExamAttempt, ProctoredExam
from proctoring_results.statuses import AttemptStatus

COURSE_ID = "course-v1:TestX+Proctoring+2026"
OTHER_COURSE_ID = "course-v1:OtherX+Elsewhere+2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"learner{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.edu")
    password = factory.django.Password("password")
    is_active = True


class CourseRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseRole

    user = factory.SubFactory(UserFactory)
    course_id = COURSE_ID
    role = CourseRole.Role.STAFF


class ProctoredExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProctoredExam

    course_id = COURSE_ID
    content_id = factory.Sequence(lambda n: f"block-v1:TestX+Proctoring+2026+type@sequential+block@exam{n}")
    exam_name = factory.Sequence(lambda n: f"Exam {n}")
    time_limit_mins = 60
    provider = "test-provider"


class ExamAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExamAttempt

    user = factory.SubFactory(UserFactory)
    exam = factory.SubFactory(ProctoredExamFactory)
    allowed_time_limit_mins = factory.LazyAttribute(lambda a: a.exam.time_limit_mins)
    is_sample_attempt = factory.LazyAttribute(lambda a: a.exam.is_practice_exam)
    status = AttemptStatus.CREATED
