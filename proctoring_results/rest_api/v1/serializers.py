"""
Every request and response body of REST API v1, as DRF serializers.

Each serializer is at once the validator of what comes in, the renderer of
what goes out, and what drf-spectacular reads to write the OpenAPI schema:
one description, so the code and the published schema cannot drift apart.
``schema.py`` adds only what a serializer cannot say (which status code
answers with which body, and the signature authentication).

Vocabularies come from their one home (``statuses``, ``reports``): a choice
added there is accepted, rendered and published here without another edit.
"""

import math
from collections.abc import Mapping
from datetime import datetime

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from proctoring_results import api, rules, statuses
from proctoring_results.data import FlagSubmission, ReviewSubmission

# ---------------------------------------------------------------- limits of a review callback

#: At most this many flags in one review.
MAX_FLAGS = 1000
#: JSON nested deeper than this is refused before anything looks at it.
MAX_NESTING = 32
#: Recording offsets above this (115 days) are typos, whatever the exam.
MAX_OFFSET_SECONDS = 10_000_000
#: Where the messages of an error that is about the whole body go.
BODY = "body"


def _unstorable(text):
    """PostgreSQL's text and jsonb refuse NUL, and nothing encodes a lone surrogate."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# ---------------------------------------------------------------- strict fields
# DRF's own fields are forgiving (42 is text, "yes" is true, "10" is a number):
# a provider's review is evidence, so these take JSON's types as they are.


class TextField(serializers.CharField):
    """Text only; NUL and lone surrogates refused; ``strip`` trims it, after its length was checked as sent."""

    default_error_messages = {
        "invalid": "Must be text.",
        "null": "This field is required.",
        "blank": "This field may not be blank.",
        "max_length": "At most {max_length} characters.",
        "unstorable": "Text must not contain NUL characters or unpaired surrogates.",
    }

    def __init__(self, *, strip=True, **kwargs):
        self.strip = strip
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if _unstorable(data):
            self.fail("unstorable")
        if not self.allow_blank and not data.strip():
            self.fail("blank")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return data.strip() if self.strip else data


class IdField(TextField):
    """A provider's id: text, or a whole number meaning the same id as its text."""

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        return super().to_internal_value(data)


class SecondsField(serializers.FloatField):
    """Seconds from the start of the recording: a JSON number in range, or null."""

    default_error_messages = {
        "invalid": "Must be a number of seconds from the start of the recording, or null.",
        "range": "Must be between {min} and {max} seconds.",
    }

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=MAX_OFFSET_SECONDS, required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        if not self.min_value <= data <= self.max_value:
            self.fail("range", min=self.min_value, max=self.max_value)
        return float(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time that says its UTC offset; nothing else is guessed."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date and time with a UTC offset, e.g. 2026-03-01T14:05:00Z.",
        "naive": "Must include a UTC offset, e.g. Z or +02:00.",
    }

    def to_internal_value(self, data):
        try:
            value = parse_datetime(data) if isinstance(data, str) else None
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        if value.utcoffset() is None:
            self.fail("naive")
        return value


class StrictBooleanField(serializers.BooleanField):
    """JSON's ``true`` or ``false`` (null: the default), not "yes" or 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ObjectSerializer(serializers.Serializer):
    """A JSON object body; anything else is an error on ``body``, said in ``body_message``."""

    body_message = "The body must be a JSON object."

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({BODY: [self.body_message]})
        return super().to_internal_value(data)


# ---------------------------------------------------------------- errors (every 4xx of v1)


class ErrorsSerializer(serializers.Serializer):
    """Every error answer of v1: ``{"errors": {"<field>": ["message", ...]}}`` (docs/reference/rest_api.rst)."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Field (a request field such as "flags[2].rule", or "body", "authentication", "permission", '
        '"course_id", "attempt_code", "method", "throttle", "non_field_errors") -> messages.',
    )


class ReportErrorsSerializer(ErrorsSerializer):
    """The error answer of the course-team report endpoints, with the one-line keys 0.x clients read."""

    detail = serializers.CharField(required=False, help_text="Deprecated: the first message (kept for 0.x clients).")
    message = serializers.CharField(
        required=False,
        help_text="Deprecated: the first message of an app error (kept for 0.x clients).",
    )


# ---------------------------------------------------------------- provider review callback


class FlagSerializer(ObjectSerializer):
    """One flagged Online Proctoring Rule of a review."""

    default_error_messages = {"invalid": "Must be an object with at least a 'rule'."}

    rule = TextField(max_length=rules.MAX_RULE_CODE_LENGTH, help_text="Online Proctoring Rule code, e.g. no_photo_id.")
    comment = TextField(required=False, allow_null=True, allow_blank=True, strip=False)
    start = SecondsField(help_text="Seconds from the start of the recording.")
    stop = SecondsField(help_text="Seconds from the start of the recording; not before start.")

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            self.fail("invalid")
        return super().to_internal_value(data)

    def validate(self, attrs):
        start, stop = attrs.get("start"), attrs.get("stop")
        if start is not None and stop is not None and stop < start:
            raise serializers.ValidationError({"stop": ["Must not be before start."]})
        return attrs


class FlagListField(serializers.ListField):
    default_error_messages = {
        "not_a_list": "Must be a list of {{rule, comment, start, stop}} objects.",
        "null": "This field is required (an empty list when nothing was flagged).",
        "required": "This field is required (an empty list when nothing was flagged).",
    }

    def __init__(self, **kwargs):
        super().__init__(child=FlagSerializer(), max_length=MAX_FLAGS, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_FLAGS:
            self.fail("max_length", max_length=MAX_FLAGS)  # before reading a thousand flags
        return super().to_internal_value(data)


def _storable_problems(value, path, depth, errors):
    """Every string of the body (keys too) must be storable as sent, and the JSON not nested too deeply."""
    if depth > MAX_NESTING:
        errors.setdefault(path or BODY, []).append("The JSON is nested too deeply.")
        return
    if isinstance(value, str):
        if _unstorable(value):
            errors.setdefault(path or BODY, []).append("Text must not contain NUL characters or unpaired surrogates.")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _unstorable(key):
                errors.setdefault(path or BODY, []).append(
                    "Keys must not contain NUL characters or unpaired surrogates."
                )
                continue
            child = f"{path}.{key}" if path else str(key)
            _storable_problems(item, child[:200], depth + 1, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable_problems(item, f"{path}[{index}]", depth + 1, errors)


class ReviewCallbackSerializer(ObjectSerializer):
    """
    A provider's review of one attempt (docs/providers.rst): the callback's body.

    Other fields are kept with the review, as sent. No text anywhere in the
    body (keys included) may hold a NUL character or an unpaired surrogate.
    """

    attempt_code = TextField(max_length=64)
    review_id = IdField(max_length=255, help_text="The provider's unique id of this review (text or a whole number).")
    status = serializers.ChoiceField(
        choices=statuses.ProviderStatus.choices,
        error_messages={
            "null": "This field is required.",
            "invalid_choice": f"Must be one of: {', '.join(statuses.ProviderStatus.values)}.",
        },
    )
    flags = FlagListField(help_text="The flagged rules; an empty list when nothing was flagged.")
    reviewer = TextField(required=False, allow_null=True, allow_blank=True, max_length=255)
    reviewed_at = AwareDateTimeField(required=False, allow_null=True)
    second_review = StrictBooleanField(
        required=False, allow_null=True, help_text="The provider asks for a second review by a person."
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            _storable_problems(data, "", 0, errors)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def to_submission(self):
        """The validated review as the domain takes it (``data.ReviewSubmission``)."""
        data = self.validated_data
        return ReviewSubmission(
            attempt_code=data["attempt_code"],
            review_id=data["review_id"],
            status=data["status"],
            flags=tuple(
                FlagSubmission(rule=f["rule"], comment=f.get("comment") or "", start=f.get("start"), stop=f.get("stop"))
                for f in data["flags"]
            ),
            reviewer=data.get("reviewer") or "",
            reviewed_at=data.get("reviewed_at"),
            second_review=bool(data.get("second_review")),
            raw=dict(self.initial_data),
        )


class ReviewResultSerializer(serializers.Serializer):
    """What the provider is told; ``status`` is where the attempt stands after the review."""

    attempt_code = serializers.CharField()
    review_id = serializers.CharField()
    status = serializers.ChoiceField(choices=statuses.AttemptStatus.choices)
    outcome = serializers.ChoiceField(choices=statuses.AttemptStatus.choices)
    duplicate = serializers.BooleanField(help_text="True when this review id was already recorded: nothing changed.")


# ---------------------------------------------------------------- staff decisions and review history


class StaffDecisionSerializer(ObjectSerializer):
    """Course staff decide a reviewed attempt, and say why."""

    body_message = 'Send an object: {"status": "verified" or "rejected", "reason": "..."}.'

    status = serializers.ChoiceField(
        choices=statuses.STAFF_OUTCOMES,
        error_messages={"invalid_choice": f"Must be one of: {', '.join(statuses.STAFF_OUTCOMES)}."},
    )
    reason = TextField(
        max_length=255,
        strip=False,
        error_messages={
            "required": "Say why, in a few words.",
            "null": "Say why, in a few words.",
            "blank": "Say why, in a few words.",
            "invalid": "At most 255 characters of text.",
            "max_length": "At most 255 characters of text.",
            "unstorable": "At most 255 characters of text.",
        },
    )


class StaffDecisionResultSerializer(serializers.Serializer):
    attempt_code = serializers.CharField()
    status = serializers.ChoiceField(choices=statuses.AttemptStatus.choices)
    status_label = serializers.CharField()
    changed = serializers.BooleanField(help_text="False when the attempt already had that status.")


class ReviewFlagSerializer(serializers.Serializer):
    rule_code = serializers.CharField()
    severity = serializers.CharField(
        allow_blank=True,
        help_text="integrity, discouraged, or empty for an unknown rule.",
    )
    comment = serializers.CharField(allow_blank=True)
    start_seconds = serializers.FloatField(allow_null=True)
    stop_seconds = serializers.FloatField(allow_null=True)


class ReviewSerializer(serializers.Serializer):
    """A ``ReviewData``: one provider review of an attempt, with its flags."""

    id = serializers.IntegerField()
    attempt_code = serializers.CharField()
    provider = serializers.CharField()
    review_id = serializers.CharField()
    provider_status = serializers.ChoiceField(choices=statuses.ProviderStatus.choices)
    second_review_requested = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=statuses.AttemptStatus.choices)
    disagreement = serializers.CharField(allow_blank=True)
    reviewer = serializers.CharField(allow_blank=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField()
    flags = ReviewFlagSerializer(many=True)


class ReviewListSerializer(serializers.Serializer):
    results = ReviewSerializer(many=True)


# ---------------------------------------------------------------- reports (the Data Download page's REST side)


class ReportTaskSerializer(serializers.Serializer):
    """A ``ReportTaskData`` as a row of Pending Tasks."""

    id = serializers.IntegerField()
    course_id = serializers.CharField()
    report_type = serializers.CharField()
    report_type_label = serializers.CharField()
    requester = serializers.CharField(source="requester_username", allow_null=True)
    state = serializers.CharField()
    state_label = serializers.CharField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class ReportTaskListSerializer(serializers.Serializer):
    tasks = ReportTaskSerializer(many=True)


class ReportTaskAcceptedSerializer(serializers.Serializer):
    """The answer to Generate: the task, and the seed's sentence (also when one was already running: 409)."""

    task = ReportTaskSerializer()
    message = serializers.CharField()


class TrueUnlessFalseField(serializers.BooleanField):
    """A query flag that is true unless it says false, 0 or no (so a typo never hides tasks)."""

    def to_internal_value(self, data):
        return str(data).lower() not in ("false", "0", "no")


class ReportTasksQuerySerializer(serializers.Serializer):
    active_only = TrueUnlessFalseField(
        required=False,
        default=True,
        help_text="false adds recently ended tasks (to read why one failed).",
    )


class ReportOptionsSerializer(ObjectSerializer):
    """What Generate may ask for: opt-in columns after the seed's eight."""

    body_message = 'Send an object, e.g. {} or {"extra_columns": ["username"]}.'

    extra_columns = serializers.ListField(
        child=serializers.ChoiceField(
            choices=api.report_extra_columns(),
            error_messages={
                "invalid_choice": "Unknown report column: {input}. Extra columns are: "
                + ", ".join(api.report_extra_columns())
                + "."
            },
        ),
        required=False,
        allow_null=True,
        help_text="Opt-in columns after the seed's eight; the REPORT_EXTRA_COLUMNS setting when absent.",
        error_messages={"not_a_list": "extra_columns must be a list of column names."},
    )
    column_profile = serializers.ChoiceField(
        choices=api.report_column_profiles(),
        required=False,
        allow_null=True,
        help_text="The report's columns: seed (the documented 8, with any extra columns) or lms (the LMS's own "
        "report's header and cells); the REPORT_COLUMN_PROFILE setting when absent.",
        error_messages={
            "invalid_choice": "Unknown column profile: {input}. Column profiles are: "
            + ", ".join(api.report_column_profiles())
            + "."
        },
    )
    force = StrictBooleanField(
        required=False,
        default=False,
        help_text="Generate a new report even when nothing in the course changed since its newest one "
        "(refused with 403 where the operator set REPORT_ALLOW_FORCE to False).",
    )


class ReportSerializer(serializers.Serializer):
    """A ``ReportData`` with a link signed for the caller just now; the view passes ``context["link"]``."""

    id = serializers.IntegerField()
    course_id = serializers.CharField()
    file_name = serializers.CharField()
    created = serializers.DateTimeField()
    size_bytes = serializers.IntegerField()
    row_count = serializers.IntegerField()
    requester = serializers.CharField(
        source="requester_username",
        allow_null=True,
        help_text="Username of who asked for the report; null if gone.",
    )
    download_url = serializers.SerializerMethodField(
        help_text="Signed link for the caller; expires after link_expiry_seconds.",
    )
    download_url_expires_at = serializers.SerializerMethodField()

    def _link(self, report):
        links = self.context.setdefault("links", {})
        if report.id not in links:
            links[report.id] = self.context["link"](report)
        return links[report.id]

    def get_download_url(self, report) -> str:
        return self._link(report)[0]

    def get_download_url_expires_at(self, report) -> datetime:
        return serializers.DateTimeField().to_representation(self._link(report)[1])


class ReportUnchangedSerializer(serializers.Serializer):
    """Generate's answer when nothing changed since the course's newest report: that report, and a sentence."""

    report = ReportSerializer()
    message = serializers.CharField(help_text="No results have changed since the report generated at ...")


class ReportListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Reports of the course in all.")
    link_expiry_seconds = serializers.IntegerField()
    reports = ReportSerializer(many=True)


#: The most reports one listing returns (``?limit=``); the default is the page's size, ``api.REPORT_PAGE_SIZE``.
MAX_REPORT_LIMIT = 1000


class ReportListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        default=api.REPORT_PAGE_SIZE,
        min_value=1,
        max_value=MAX_REPORT_LIMIT,
        help_text=f"At most this many, newest first (1-{MAX_REPORT_LIMIT}).",
        error_messages={
            key: f"limit must be a whole number from 1 to {MAX_REPORT_LIMIT}."
            for key in ("invalid", "min_value", "max_value", "max_string_length", "null")
        },
    )


class StatusGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=statuses.AttemptStatus.choices))


class ExamStatusCountsSerializer(serializers.Serializer):
    exam_id = serializers.IntegerField()
    exam_name = serializers.CharField()
    is_practice_exam = serializers.BooleanField()
    total = serializers.IntegerField()
    groups = serializers.DictField(child=serializers.IntegerField(), help_text="Group key -> attempts.")
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Attempt status -> attempts.")


class StatusCountsSerializer(serializers.Serializer):
    groups = StatusGroupSerializer(many=True)
    exams = ExamStatusCountsSerializer(many=True)
