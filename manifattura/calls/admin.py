"""Staff area for calls: set a call up while it is a draft; once published its rules are read-only.

Changes to a call go through ``calls.domain`` (create, update, publish, copy) so they are validated and
audited like everywhere else. Applications and submissions are read-only here: they change only by
the applicant's own actions, and a submission is never edited or deleted.
"""

import rules
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import pgettext
from simple_history.admin import SimpleHistoryAdmin

from manifattura.accounts.enums import OrganizationKind
from manifattura.calls import domain
from manifattura.calls.enums import CallStatus, QuestionKind
from manifattura.calls.forms import suggested_copy_code
from manifattura.calls.models import (
    Application,
    Call,
    CallDocument,
    Criterion,
    Declaration,
    DeadlineExtension,
    FormSection,
    Question,
    Submission,
)

CALL_RULE_FIELDS = sorted(domain.CALL_FIELDS) + ["offered_spaces"]
ALWAYS_READ_ONLY = ["status", "published_at", "copied_from", "created_at", "updated_at", "pages"]


# The rules are asked directly (``rules.has_perm``), not through the auth backends, so a superuser
# gets no exception: a published call's rules are read-only for everybody.


def _is_staff(request) -> bool:
    return rules.has_perm("calls.manage_call", request.user)


def _call_is_editable(request, call) -> bool:
    """A draft call's set-up may change; a published one's never (rule ``calls.change_call``)."""
    if call is None:
        return _is_staff(request)
    return rules.has_perm("calls.change_call", request.user, call)


class ListField(forms.CharField):
    """A JSON list edited as text: one item per line (or separated by commas)."""

    def __init__(self, *args, separator="\n", **kwargs):
        self.separator = separator
        kwargs.setdefault("required", False)
        if separator == "\n":
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return ("\n" if self.separator == "\n" else ", ").join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        parts = text.splitlines() if self.separator == "\n" else text.replace("\n", ",").split(",")
        return [part.strip() for part in parts if part.strip()]


class CallAdminForm(forms.ModelForm):
    allowed_organization_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Allowed organization kinds"), required=False, choices=OrganizationKind.choices,
        widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("None ticked: every kind may apply."),
    )

    class Meta:
        model = Call
        fields = "__all__"


class QuestionAdminForm(forms.ModelForm):
    choices = ListField(label=gettext_lazy("Options"), help_text=gettext_lazy("One option per line (choice questions)."))
    allowed_file_types = ListField(
        label=gettext_lazy("Allowed file types"), separator=",",
        help_text=gettext_lazy("File questions: extensions separated by commas, e.g. pdf, png, jpg."),
    )

    class Meta:
        model = Question
        fields = "__all__"

    def clean_allowed_file_types(self):
        return [t.lower().lstrip(".") for t in self.cleaned_data["allowed_file_types"]]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE) and len(data.get("choices") or []) < 2:
            self.add_error("choices", _("A choice question needs at least two options, one per line."))
        if kind == QuestionKind.FILE and not data.get("allowed_file_types"):
            self.add_error("allowed_file_types", _("Say which file types the question accepts, e.g. pdf."))
        return data


class DraftCallInlineMixin:
    """Inline rows of a call may change only while the call is a draft."""

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)

    def has_add_permission(self, request, obj=None):
        return _call_is_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return _call_is_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _call_is_editable(request, obj)


class FormSectionInline(DraftCallInlineMixin, admin.TabularInline):
    model = FormSection
    fields = ["order", "title", "help_text"]
    extra = 0
    show_change_link = True
    verbose_name_plural = gettext_lazy("Form sections (open a section to edit its questions)")


class CriterionInline(DraftCallInlineMixin, admin.TabularInline):
    model = Criterion
    fields = ["order", "code", "title", "description", "max_points", "weight"]
    extra = 0


class DeclarationInline(DraftCallInlineMixin, admin.TabularInline):
    model = Declaration
    fields = ["order", "text"]
    extra = 0


class CallDocumentInline(DraftCallInlineMixin, admin.TabularInline):
    model = CallDocument
    fields = ["order", "title", "file"]
    extra = 0


class DeadlineExtensionInline(admin.TabularInline):
    """Extensions are made from the call's manage page (with a reason); shown here read-only."""

    model = DeadlineExtension
    fields = ["previous_closes_at", "new_closes_at", "reason", "decided_by", "decided_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)


@admin.register(Call)
class CallAdmin(SimpleHistoryAdmin):
    form = CallAdminForm
    list_display = ["code", "title", "kind", "selection_mode", "status", "opens_at", "closes_at", "is_demo"]
    list_filter = ["status", "kind", "selection_mode", "is_demo"]
    search_fields = ["code", "title"]
    filter_horizontal = ["offered_spaces"]
    inlines = [FormSectionInline, CriterionInline, DeclarationInline, CallDocumentInline, DeadlineExtensionInline]
    actions = ["publish_calls", "copy_calls"]
    fieldsets = [
        (None, {"fields": ["code", "title", "kind", "selection_mode", "summary", "body", "is_demo", "pages"]}),
        (gettext_lazy("Window (Europe/Rome)"), {"fields": ["opens_at", "closes_at", "status", "published_at"]}),
        (gettext_lazy("Contact"), {"fields": ["contact_email", "contact_phone"]}),
        (gettext_lazy("What the call offers"), {"fields": [
            "offered_spaces", "grant_budget", "grant_max_per_application", "cofinancing_share"]}),
        (gettext_lazy("Eligibility rules"), {"fields": [
            "allowed_organization_kinds", "max_organization_age_years", "require_valid_vat", "seat_requirement",
            "seat_needs_human_check", "one_per_organization"]}),
        (gettext_lazy("Rubric"), {"fields": ["rubric_total", "min_total_score"]}),
        (gettext_lazy("Record"), {"fields": ["copied_from", "created_at", "updated_at"]}),
    ]

    # One rule decides: staff manage calls (no Django model permissions needed).
    def has_module_permission(self, request):
        return _is_staff(request)

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)

    def has_add_permission(self, request):
        return _is_staff(request)

    def has_change_permission(self, request, obj=None):
        return _is_staff(request)  # a published call opens read-only (get_readonly_fields)

    def has_delete_permission(self, request, obj=None):
        # Only a draft nobody applied to; calls with applications are protected by the database too.
        return _call_is_editable(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would skip the per-call check
        return actions

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != CallStatus.DRAFT:
            return ALWAYS_READ_ONLY + CALL_RULE_FIELDS + ["allowed_kinds"]
        return ALWAYS_READ_ONLY

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.status == CallStatus.DRAFT:
            return fieldsets
        # Read-only, the kinds are shown by name rather than as stored codes.
        return [(title, {**options, "fields": ["allowed_kinds" if f == "allowed_organization_kinds" else f
                                              for f in options["fields"]]}) for title, options in fieldsets]

    @admin.display(description=gettext_lazy("Allowed organization kinds"))
    def allowed_kinds(self, obj):
        kinds = [str(OrganizationKind(k).label) for k in obj.allowed_organization_kinds if k in OrganizationKind.values]
        return ", ".join(kinds) or _("Every kind")

    @admin.display(description=gettext_lazy("Pages"))
    def pages(self, obj):
        if not obj or not obj.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("calls:call-detail", args=[obj.code]), _("Public page"),
            reverse("calls:manage", args=[obj.code]), _("Manage: applications, publish, extend the deadline"),
        )

    def save_model(self, request, obj, form, change):
        """Through the domain, so the call is validated and the change audited."""
        fields = {name: form.cleaned_data[name] for name in domain.CALL_FIELDS if name in form.cleaned_data}
        if not change:
            created = domain.call_create(by=request.user, **fields)
            obj.pk = created.pk
            obj._state.adding = False
            obj._state.db = created._state.db
            obj.created_at, obj.updated_at = created.created_at, created.updated_at
            return
        changed = {name: value for name, value in fields.items() if name in form.changed_data}
        if changed:
            domain.call_update(call=obj, by=request.user, **changed)

    @admin.action(description=gettext_lazy("Publish the selected calls"))
    def publish_calls(self, request, queryset):
        for call in queryset:
            try:
                domain.call_publish(call=call, by=request.user)
            except ValidationError as exc:
                self.message_user(request, format_html(
                    "{} <ul>{}</ul>", _("“%(code)s” was not published:") % {"code": call.code},
                    format_html_join("", "<li>{}</li>", ((problem,) for problem in exc.messages)),
                ), messages.ERROR)
            except domain.NotEditable as exc:
                self.message_user(request, f"{call.code}: {exc}", messages.WARNING)
            else:
                self.message_user(request, _("“%(code)s” is published.") % {"code": call.code}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Copy the selected calls as new drafts"))
    def copy_calls(self, request, queryset):
        copies = []
        for call in queryset:
            copy = domain.call_copy(call=call, by=request.user, code=suggested_copy_code(call))
            copies.append(copy)
            self.message_user(request, _(
                "“%(code)s” copied as “%(copy)s”: set its code, dates and title, then publish it.") % {
                "code": call.code, "copy": copy.code}, messages.SUCCESS)
        if len(copies) == 1:
            return redirect("admin:calls_call_change", copies[0].pk)
        return None


class QuestionInline(DraftCallInlineMixin, admin.StackedInline):
    model = Question
    form = QuestionAdminForm
    extra = 0
    fields = [
        ("order", "kind", "required"), "label", "help_text", ("min_length", "max_length"),
        ("min_value", "max_value", "is_requested_amount"), "choices", ("allowed_file_types", "max_file_mb"),
    ]

    def _call(self, obj):
        return obj.call if obj is not None else None

    def has_add_permission(self, request, obj=None):
        return _call_is_editable(request, self._call(obj))

    def has_change_permission(self, request, obj=None):
        return _call_is_editable(request, self._call(obj))

    def has_delete_permission(self, request, obj=None):
        return _call_is_editable(request, self._call(obj))


class SectionCallFilterMixin:
    def has_module_permission(self, request):
        return _is_staff(request)

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)

    def has_add_permission(self, request):
        return _is_staff(request)

    def has_change_permission(self, request, obj=None):
        return _call_is_editable(request, self._call(obj))

    def has_delete_permission(self, request, obj=None):
        return _call_is_editable(request, self._call(obj))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # New sections and questions only in calls still in preparation.
        if db_field.name == "call":
            kwargs["queryset"] = Call.objects.filter(status=CallStatus.DRAFT)
        elif db_field.name == "section":
            kwargs["queryset"] = FormSection.objects.filter(call__status=CallStatus.DRAFT).select_related("call")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(FormSection)
class FormSectionAdmin(SectionCallFilterMixin, admin.ModelAdmin):
    list_display = ["title", "call", "order"]
    list_filter = ["call"]
    list_select_related = ["call"]
    search_fields = ["title", "call__code"]
    inlines = [QuestionInline]

    def _call(self, obj):
        return obj.call if obj is not None else None


@admin.register(Question)
class QuestionAdmin(SectionCallFilterMixin, admin.ModelAdmin):
    form = QuestionAdminForm
    list_display = ["label", "section", "call_code", "kind", "required", "order"]
    list_filter = ["section__call", "kind", "required"]
    list_select_related = ["section__call"]
    search_fields = ["label", "section__title", "section__call__code"]

    def _call(self, obj):
        return obj.section.call if obj is not None else None

    @admin.display(description=gettext_lazy("call"), ordering="section__call__code")
    def call_code(self, obj):
        return obj.section.call.code


class ReadOnlyAdminMixin:
    """Records made by applicants: staff may look, nobody may add, change or delete them here."""

    def has_module_permission(self, request):
        return _is_staff(request)

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SubmissionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Submission
    fields = ["protocol", "received_at", "digest", "needs_review", "requested_amount", "withdrawn_at"]
    readonly_fields = fields
    extra = 0
    fk_name = "application"


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "call", "organization", "status", "created_at", "updated_at", "record"]
    list_filter = ["status", "call"]
    list_select_related = ["call", "organization"]
    search_fields = ["organization__legal_name", "organization__vat_number", "call__code"]
    inlines = [SubmissionInline]

    @admin.display(description=gettext_lazy("Full record"))
    def record(self, obj):
        url = reverse("calls:manage-application", args=[obj.call.code, obj.pk])
        return format_html('<a href="{}">{}</a>', url, pgettext("verb: open a record", "Open"))


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "call", "organization", "received_at", "needs_review", "requested_amount", "withdrawn_at"]
    list_filter = ["call", "needs_review"]
    list_select_related = ["call", "application__organization"]
    search_fields = ["application__organization__legal_name", "application__organization__vat_number", "digest"]
    exclude = ["idempotency_key"]

    @admin.display(description=gettext_lazy("organization"), ordering="application__organization__legal_name")
    def organization(self, obj):
        return obj.application.organization
