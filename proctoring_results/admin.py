"""
Django admin pages for support staff.

Attempt statuses are read-only here: they change through ``api.py`` (row lock,
transition check, history), or through the review actions added by the
review workflow, never by editing the field.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import api
from .exceptions import ReviewError
from .models import (
    AttemptStatusChange,
    CourseRole,
    EdxProctoringSync,
    ExamAttempt,
    ProctoredExam,
    Report,
    ReportDownload,
    ReportTask,
    Review,
    ReviewFlag,
)


@admin.register(CourseRole)
class CourseRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "course_id", "role", "created")
    list_filter = ("role",)
    search_fields = ("course_id",)
    raw_id_fields = ("user",)


@admin.register(ProctoredExam)
class ProctoredExamAdmin(admin.ModelAdmin):
    list_display = ("exam_name", "course_id", "time_limit_mins", "is_practice_exam", "is_proctored", "is_active")
    list_filter = ("is_practice_exam", "is_proctored", "is_active", "provider")
    search_fields = ("exam_name", "course_id", "content_id")


class AttemptStatusChangeInline(admin.TabularInline):
    model = AttemptStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "source", "actor", "reason", "changed_at")

    def has_add_permission(self, request, obj=None):
        return False


class ReviewInline(admin.TabularInline):
    """The attempt's provider reviews, oldest first, for staff deciding a second review or an appeal."""

    model = Review
    extra = 0
    can_delete = False
    fields = (
        "review_id",
        "provider",
        "provider_status",
        "second_review_requested",
        "outcome",
        "disagreement",
        "reviewed_at",
        "received_at",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ExamAttempt)
class ExamAttemptAdmin(admin.ModelAdmin):
    list_display = ("attempt_code", "exam", "user", "status", "started_at", "completed_at")
    list_filter = ("status", "is_sample_attempt")
    search_fields = ("attempt_code", "external_id")
    raw_id_fields = ("user", "exam")
    readonly_fields = ("attempt_code", "status", "status_changed_at")
    inlines = [AttemptStatusChangeInline, ReviewInline]
    actions = ["decide_verified", "decide_rejected"]

    @admin.action(description=_("Staff decision: Satisfactory (verified)"), permissions=["change"])
    def decide_verified(self, request, queryset):
        return self._staff_decision(request, queryset, "verified", "decide_verified")

    @admin.action(description=_("Staff decision: Unsatisfactory (rejected)"), permissions=["change"])
    def decide_rejected(self, request, queryset):
        return self._staff_decision(request, queryset, "rejected", "decide_rejected")

    def _staff_decision(self, request, queryset, status, action):
        """
        Confirm a second review or decide an appeal, through ``api.record_staff_decision``.

        A first step asks for the reason; each attempt is then decided on its own,
        so one that cannot be (wrong status, another course) does not stop the rest.
        """
        reason = (request.POST.get("reason") or "").strip()
        if "apply" not in request.POST or not reason:
            return TemplateResponse(
                request,
                "admin/proctoring_results/examattempt/staff_decision.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Staff decision"),
                    "opts": self.model._meta,
                    "attempts": queryset,
                    "status": status,
                    "status_label": api.AttemptStatus(status).label,
                    "action": action,
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                    "reason_missing": "apply" in request.POST,
                },
            )
        decided, unchanged, refused = 0, 0, []
        for attempt in queryset.select_related("exam"):
            if not api.can_view_course_results(request.user, attempt.exam.course_id):
                refused.append(_("%(code)s: you are not course staff of its course.") % {"code": attempt.attempt_code})
                continue
            try:
                result = api.record_staff_decision(attempt.attempt_code, status, actor=request.user, reason=reason)
            except ReviewError as exc:
                refused.append(f"{attempt.attempt_code}: {' '.join(m for ms in exc.errors.values() for m in ms)}")
            else:
                decided += result.changed
                unchanged += not result.changed
        if decided:
            self.message_user(
                request,
                _("%(count)d attempt(s) set to %(label)s.")
                % {"count": decided, "label": api.AttemptStatus(status).label},
                messages.SUCCESS,
            )
        if unchanged:
            self.message_user(
                request,
                _("%(count)d attempt(s) were already %(label)s; left as they were.")
                % {"count": unchanged, "label": api.AttemptStatus(status).label},
                messages.INFO,
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)
        return None


class ReviewFlagInline(admin.TabularInline):
    model = ReviewFlag
    extra = 0
    can_delete = False
    readonly_fields = ("rule_code", "severity", "comment", "start_seconds", "stop_seconds")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews are append-only history: viewable, never edited."""

    list_display = ("review_id", "provider", "attempt", "provider_status", "outcome", "received_at")
    list_filter = ("provider", "provider_status", "outcome")
    search_fields = ("review_id", "attempt__attempt_code")
    inlines = [ReviewFlagInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False  # reviews come from providers, through the signed callback

    def has_delete_permission(self, request, obj=None):
        return False  # append-only history


@admin.register(ReportTask)
class ReportTaskAdmin(admin.ModelAdmin):
    list_display = ("course_id", "report_type", "state", "rows_done", "rows_total", "requester", "created")
    list_filter = ("state", "report_type")
    search_fields = ("course_id",)
    readonly_fields = [f.name for f in ReportTask._meta.fields]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("file_name", "course_id", "row_count", "size_bytes", "created")
    search_fields = ("file_name", "course_id")
    readonly_fields = [f.name for f in Report._meta.fields]


@admin.register(ReportDownload)
class ReportDownloadAdmin(admin.ModelAdmin):
    list_display = ("file_name", "course_id", "user", "downloaded_at")
    search_fields = ("file_name", "course_id")
    readonly_fields = [f.name for f in ReportDownload._meta.fields]


@admin.register(EdxProctoringSync)
class EdxProctoringSyncAdmin(admin.ModelAdmin):
    """Where following edx-proctoring stands (openedx/sync.py): read-only, written by the reconciliation."""

    list_display = (
        "synced_until",
        "behind_seconds",
        "last_pass_read",
        "last_pass_repaired",
        "last_pass_full",
        "last_pass_finished_at",
        "running_since",
        "last_error",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
