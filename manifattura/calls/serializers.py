"""How calls and applications look in the API.

Serializers only shape and check input; every write goes through ``calls.domain`` (called by
``calls.api``), reads come from ``calls.queries``. The submission receipt is a small hand-built dict
(``receipt_data``): it answers the click-day endpoint, where serializer overhead counts.
"""

import functools

from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from manifattura.accounts.enums import OrganizationKind
from manifattura.accounts.models import Organization
from manifattura.calls import domain, eligibility, rules
from manifattura.calls.enums import (
    ApplicationStatus,
    CallKind,
    CallPhase,
    CallStatus,
    QuestionKind,
    SeatRequirement,
    SelectionMode,
)
from manifattura.calls.models import (
    Application,
    ApplicationFile,
    Call,
    CallDocument,
    Criterion,
    DeadlineExtension,
    Declaration,
    FormSection,
    Question,
    Submission,
)
from manifattura.calls.queries import first_come_position_fast, first_come_resources_by_call
from manifattura.core import clock
from manifattura.places.models import Site, Space

_ENUM_FIELD_CLASSES: dict[str, type] = {}


def enum_field(choices, component: str, **kwargs) -> serializers.ChoiceField:
    """A choice field documented as the named schema component ``component`` (e.g. ``CallKindEnum``).

    Several models have a ``kind`` or ``status``; naming each choice set keeps the schema unambiguous.
    """
    field_class = _ENUM_FIELD_CLASSES.get(component)
    if field_class is None:
        field_class = type(f"{component}Field", (serializers.ChoiceField,), {})
        schema = {"type": "string", "enum": [str(value) for value in choices.values]}
        extend_schema_field(schema, component_name=component)(field_class)
        _ENUM_FIELD_CLASSES[component] = field_class
    return field_class(choices=choices.choices, **kwargs)


def iso_ms(instant) -> str | None:
    """An instant as ISO 8601 in Europe/Rome with milliseconds (the precision receipts show)."""
    if instant is None:
        return None
    return timezone.localtime(instant, clock.ROME).isoformat(timespec="milliseconds")


@extend_schema_field(OpenApiTypes.DATETIME)
class MillisecondDateTimeField(serializers.ReadOnlyField):
    """Read-only instant in Europe/Rome, ISO 8601 with milliseconds."""

    def to_representation(self, value):
        return iso_ms(value)


_PDF_SENTINEL = 987654321


@functools.cache
def _receipt_pdf_path_template(script_prefix: str) -> str:
    return reverse("calls-api:application-receipt", kwargs={"pk": _PDF_SENTINEL, "format": "pdf"})


def _receipt_pdf_url(application_id: int, submission_id: int | None, request) -> str:
    # reverse() once per script prefix: the click-day answer builds thousands of these a second.
    path = _receipt_pdf_path_template(get_script_prefix()).replace(str(_PDF_SENTINEL), str(application_id))
    if submission_id is not None:  # an earlier version: the plain URL serves the current one
        path += f"?submission={submission_id}"
    return request.build_absolute_uri(path) if request is not None else path


def receipt_pdf_url(submission: Submission, request) -> str:
    return _receipt_pdf_url(
        submission.application_id, submission.pk if submission.withdrawn_at is not None else None, request)


def receipt_data(submission: Submission, *, request) -> dict:
    """The receipt of a submission as the API returns it (shape documented by ``ReceiptSerializer``).

    ``submission.call`` must be loaded. The first-come position costs one indexed count query.
    """
    return receipt_fields(
        submission_id=submission.pk, application_id=submission.application_id, call_code=submission.call.code,
        protocol=submission.protocol, received_at=submission.received_at, digest=submission.digest,
        position=first_come_position_fast(submission), needs_review=submission.needs_review,
        withdrawn_at=submission.withdrawn_at, request=request,
    )


def receipt_fields(*, submission_id, application_id, call_code, protocol, received_at, digest, position,
                   needs_review, withdrawn_at, request) -> dict:
    """``receipt_data`` from plain values (the click-day answer has no model instances to build)."""
    return {
        "submission": submission_id,
        "application": application_id,
        "call": call_code,
        "protocol": protocol,
        "protocol_label": Submission.format_protocol(call_code, protocol),
        "received_at": iso_ms(received_at),
        "digest": digest,
        "position": position,
        "needs_review": needs_review,
        "withdrawn_at": iso_ms(withdrawn_at),
        "receipt_pdf": _receipt_pdf_url(application_id, submission_id if withdrawn_at is not None else None, request),
    }


class ReceiptSerializer(serializers.Serializer):
    """Documents ``receipt_data``: what the applicant keeps as proof of submission."""

    submission = serializers.IntegerField(help_text=_("Identifier of this submitted version."))
    application = serializers.IntegerField()
    call = serializers.CharField(help_text=_("The call's code."))
    protocol = serializers.IntegerField(help_text=_("Protocol number, unique and gap-free within the call."))
    protocol_label = serializers.CharField(help_text=_("The protocol as printed: call code / number."))
    received_at = serializers.DateTimeField(
        help_text=_("Receipt instant, Europe/Rome, ISO 8601 with milliseconds.")
    )
    digest = serializers.CharField(help_text=_("SHA-256 of the submitted content (answers, files, declarations)."))
    position = serializers.IntegerField(
        allow_null=True, help_text=_("First-come calls: position in receipt order among current submissions.")
    )
    needs_review = serializers.BooleanField(help_text=_("Some requirements will be checked by staff."))
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    receipt_pdf = serializers.URLField(help_text=_("The receipt as PDF."))


class SubmissionRefusedSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_("Why: upcoming or closed (409: not now), incomplete or ineligible (422: fix the application).")
    )
    problems = serializers.ListField(child=serializers.CharField(), help_text=_("Every problem, explained."))


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ProblemsSerializer(serializers.Serializer):
    problems = serializers.ListField(child=serializers.CharField(), help_text=_("What stops the action."))


# --- calls ---------------------------------------------------------------------------------------

class DeclarationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Declaration
        fields = ["id", "text"]
        read_only_fields = fields


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = ["code", "title", "description", "max_points", "weight"]
        read_only_fields = fields


class RubricSerializer(serializers.Serializer):
    total = serializers.DecimalField(source="rubric_total", max_digits=7, decimal_places=2, read_only=True)
    min_total_score = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)


class QuestionSerializer(serializers.ModelSerializer):
    kind = enum_field(QuestionKind, "QuestionKindEnum", read_only=True)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)
    allowed_file_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Question
        fields = [
            "id", "label", "help_text", "kind", "required", "min_length", "max_length", "min_value", "max_value",
            "choices", "allowed_file_types", "max_file_mb", "is_requested_amount",
        ]
        read_only_fields = fields


class FormSectionSerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = FormSection
        fields = ["id", "title", "help_text", "questions"]
        read_only_fields = fields


class FormSerializer(serializers.Serializer):
    sections = FormSectionSerializer(many=True, read_only=True)


class SiteRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "address", "is_periphery"]
        read_only_fields = fields


class OfferedSpaceSerializer(serializers.ModelSerializer):
    site = SiteRefSerializer(read_only=True)

    class Meta:
        model = Space
        fields = ["id", "name", "site", "surface_m2", "use", "floor", "monthly_fee", "availability"]
        read_only_fields = fields


class DeadlineExtensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadlineExtension
        fields = ["previous_closes_at", "new_closes_at", "reason", "decided_at"]
        read_only_fields = fields


class CallDocumentSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="file", read_only=True)

    class Meta:
        model = CallDocument
        fields = ["title", "url"]
        read_only_fields = fields


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "format": "decimal"}]})
class QuantityField(serializers.ReadOnlyField):
    """A count of spaces (integer) or an amount in EUR (decimal string)."""

    def to_representation(self, value):
        return value if isinstance(value, int) else f"{value:.2f}"


class ResourcesSerializer(serializers.Serializer):
    """What a first-come call has left, consumed in protocol order."""

    kind = serializers.ChoiceField(
        choices=["spaces", "budget"], read_only=True, help_text=_("spaces: counts of spaces; budget: EUR.")
    )
    total = QuantityField(help_text=_("Spaces offered, or the budget in EUR."))
    taken = QuantityField()
    left = QuantityField()
    submissions = serializers.IntegerField(read_only=True, help_text=_("Current submissions."))


class CallSerializer(serializers.ModelSerializer):
    """A call as applicants see it: window, phase, rules, rubric, form and what it offers.

    The view puts ``now`` (one instant for the whole response) and ``resources`` (first-come calls,
    computed for the whole page at once) in the context.
    """

    url = serializers.HyperlinkedIdentityField(view_name="calls-api:call-detail", lookup_field="code")
    kind = enum_field(CallKind, "CallKindEnum", read_only=True)
    selection_mode = enum_field(SelectionMode, "SelectionModeEnum", read_only=True)
    status = enum_field(CallStatus, "CallStatusEnum", read_only=True)
    seat_requirement = enum_field(SeatRequirement, "SeatRequirementEnum", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    phase = serializers.SerializerMethodField()
    phase_label = serializers.SerializerMethodField()
    allowed_organization_kinds = serializers.ListField(
        child=enum_field(OrganizationKind, "OrganizationKindEnum"), read_only=True
    )
    rules = serializers.SerializerMethodField(help_text=_("The eligibility rules in plain words."))
    rubric = RubricSerializer(source="*", read_only=True)
    declarations = DeclarationSerializer(many=True, read_only=True)
    form = FormSerializer(source="*", read_only=True)
    offered_spaces = OfferedSpaceSerializer(many=True, read_only=True)
    extensions = DeadlineExtensionSerializer(many=True, read_only=True)
    documents = CallDocumentSerializer(many=True, read_only=True)
    resources = serializers.SerializerMethodField(
        help_text=_("First-come calls: what is left, live. Null for merit calls.")
    )

    class Meta:
        model = Call
        fields = [
            "code", "url", "kind", "kind_label", "selection_mode", "status", "phase", "phase_label", "title",
            "summary", "body", "contact_email", "contact_phone", "opens_at", "closes_at", "published_at",
            "grant_budget", "grant_max_per_application", "cofinancing_share", "allowed_organization_kinds",
            "max_organization_age_years", "require_valid_vat", "seat_requirement", "seat_needs_human_check",
            "one_per_organization", "rules", "rubric", "declarations", "form", "offered_spaces", "extensions",
            "documents", "resources",
        ]
        read_only_fields = fields

    def _phase(self, call) -> str:
        return domain.call_phase(call, at=self.context.get("now"))

    @extend_schema_field(enum_field(CallPhase, "CallPhaseEnum"))
    def get_phase(self, call) -> str:
        return str(self._phase(call))

    def get_phase_label(self, call) -> str:
        return str(CallPhase(self._phase(call)).label)

    def get_rules(self, call) -> list[str]:
        return [str(line) for line in eligibility.describe_rules(call)]

    @extend_schema_field(ResourcesSerializer(allow_null=True))
    def get_resources(self, call):
        resources = self.context.get("resources")
        if resources is None:
            resources = first_come_resources_by_call([call])
        found = resources.get(call.pk)
        return ResourcesSerializer(found).data if found is not None else None


class CallWriteSerializer(serializers.ModelSerializer):
    """A draft call's own fields (staff). Form, rubric, declarations and spaces are set in the staff area."""

    kind = enum_field(CallKind, "CallKindEnum")
    selection_mode = enum_field(SelectionMode, "SelectionModeEnum", required=False)
    seat_requirement = enum_field(SeatRequirement, "SeatRequirementEnum", required=False)
    allowed_organization_kinds = serializers.ListField(
        child=enum_field(OrganizationKind, "OrganizationKindEnum"), required=False,
        help_text=_("Empty: every kind may apply."),
    )

    class Meta:
        model = Call
        fields = sorted(domain.CALL_FIELDS - {"is_demo"})


class ExtendDeadlineSerializer(serializers.Serializer):
    closes_at = serializers.DateTimeField(help_text=_("The new deadline, later than the current one."))
    reason = serializers.CharField(max_length=2000, help_text=_("Why: it is published with the call."))


# --- applications --------------------------------------------------------------------------------

class OrganizationRefSerializer(serializers.ModelSerializer):
    kind = enum_field(OrganizationKind, "OrganizationKindEnum", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "legal_name", "kind", "vat_number"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    """A submitted version of an application (the current one has no ``withdrawn_at``)."""

    protocol_label = serializers.CharField(read_only=True)
    received_at = MillisecondDateTimeField()
    withdrawn_at = MillisecondDateTimeField(allow_null=True)
    receipt_pdf = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id", "protocol", "protocol_label", "received_at", "digest", "needs_review", "withdrawn_at",
            "receipt_pdf",
        ]
        read_only_fields = fields

    def get_receipt_pdf(self, submission) -> str:
        return receipt_pdf_url(submission, self.context.get("request"))


class ApplicationFileSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    question = serializers.IntegerField(source="question_id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ApplicationFile
        fields = ["id", "question", "name", "size", "sha256", "content_type", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, file) -> str:
        path = reverse("calls-api:application-file-download", kwargs={"pk": file.application_id, "file_id": file.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class MissingSerializer(serializers.Serializer):
    """One item of the checklist: what still stops the submission."""

    question = serializers.IntegerField(allow_null=True, help_text=_("The question, or null for a declaration."))
    section = serializers.CharField()
    label = serializers.CharField()
    problem = serializers.CharField()


class ApplicationSerializer(serializers.ModelSerializer):
    """An application in lists: its call, organization, status and current submission."""

    url = serializers.HyperlinkedIdentityField(view_name="calls-api:application-detail")
    call = serializers.CharField(source="call.code", read_only=True)
    call_title = serializers.CharField(source="call.title", read_only=True)
    organization = OrganizationRefSerializer(read_only=True)
    status = enum_field(ApplicationStatus, "ApplicationStatusEnum", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    current_submission = VersionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Application
        fields = [
            "id", "url", "call", "call_title", "organization", "status", "status_label", "created_at",
            "updated_at", "current_submission",
        ]
        read_only_fields = fields


class ActionsSerializer(serializers.Serializer):
    change = serializers.BooleanField(help_text=_("The requesting user may change answers, declarations and files now."))
    submit = serializers.BooleanField()
    withdraw = serializers.BooleanField()


class ApplicationDetailSerializer(ApplicationSerializer):
    """The whole application: answers, declarations, files, checklist, receipt and every version."""

    phase = serializers.SerializerMethodField(help_text=_("The call's phase now."))
    answers = serializers.DictField(
        read_only=True, child=serializers.JSONField(),
        help_text=_("Answers by question id, as saved (a value with a problem is kept and listed in the checklist)."),
    )
    accepted_declarations = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    files = ApplicationFileSerializer(many=True, read_only=True)
    checklist = serializers.SerializerMethodField(help_text=_("What still stops the submission; empty when complete."))
    receipt = serializers.SerializerMethodField(help_text=_("The current submission's receipt, or null."))
    versions = VersionSerializer(many=True, read_only=True, help_text=_("Every submitted version, oldest first."))
    actions = serializers.SerializerMethodField(help_text=_("What the requesting user may do now."))

    class Meta(ApplicationSerializer.Meta):
        fields = [
            *ApplicationSerializer.Meta.fields, "phase", "answers", "accepted_declarations", "files", "checklist",
            "receipt", "versions", "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(enum_field(CallPhase, "CallPhaseEnum"))
    def get_phase(self, application) -> str:
        return str(domain.call_phase(application.call))

    @extend_schema_field(MissingSerializer(many=True))
    def get_checklist(self, application):
        return [missing.as_dict() for missing in domain.application_checklist(application)]

    @extend_schema_field(ReceiptSerializer(allow_null=True))
    def get_receipt(self, application):
        submission = application.current_submission
        if submission is None:
            return None
        return receipt_data(submission, request=self.context.get("request"))

    @extend_schema_field(ActionsSerializer)
    def get_actions(self, application) -> dict:
        user = self.context["request"].user
        member = rules.is_application_member(user, application)
        return {
            "change": bool(member and rules.application_is_editable(user, application)),
            "submit": bool(member and rules.application_can_be_submitted(user, application)),
            "withdraw": bool(member and rules.application_can_be_withdrawn(user, application)),
        }


class ApplicationCreateSerializer(serializers.Serializer):
    call = serializers.SlugRelatedField(
        slug_field="code", queryset=Call.objects.none(), help_text=_("The call's code.")
    )
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), help_text=_("The organization the application is for; you must act for it.")
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        fields["call"].queryset = rules.visible_calls(getattr(request, "user", None))
        return fields


class AnswersResultSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("Problems by question id. The values were saved anyway: fix them before submitting."),
    )
    answers = serializers.DictField(child=serializers.JSONField(), help_text=_("Every answer as now saved."))
    checklist = MissingSerializer(many=True)


class DeclarationsSerializer(serializers.Serializer):
    declaration_ids = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=True,
        help_text=_("Every self-declaration accepted (the list replaces the previous one)."),
    )


class FileUploadSerializer(serializers.Serializer):
    question = serializers.IntegerField(help_text=_("A file question of the call's form."))
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
