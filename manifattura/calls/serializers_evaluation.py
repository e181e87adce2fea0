"""How evaluation looks in the API: rankings, the commission's reviews, staff decisions, outcomes.

Serializers only shape and check input; writes go through ``calls.evaluation`` (called by
``calls.api_evaluation``). Who sees whose identity is decided once per response by the view
(``calls.see_identity``) and passed in the context: for reviewers of anonymous calls the organization
is a neutral label ("Application #<protocol>"), files get neutral names, and free text has the
organization's name, VAT number and tax code blanked.
"""

import datetime as dt
import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from manifattura.accounts.models import User
from manifattura.calls.enums import CallKind, QuestionKind
from manifattura.calls.enums_evaluation import (
    Admissibility,
    AppealStatus,
    AwardStatus,
    CallStage,
    CommissionRole,
    IntegrationStatus,
    RankingKind,
)
from manifattura.calls.models import (
    Appeal,
    AppealFile,
    Award,
    CommissionMember,
    Concession,
    IntegrationDocument,
    IntegrationRequest,
    Ranking,
    RankingEntry,
)
from manifattura.calls.serializers import (
    OfferedSpaceSerializer,
    OrganizationRefSerializer,
    enum_field,
)
from manifattura.core import clock

REDACTED = "[…]"
SCORE_FIELD = {"max_digits": 7, "decimal_places": 2}


def absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# --- anonymity -----------------------------------------------------------------------------------

def neutral_label(protocol: int | None) -> str:
    return _("Application #%(protocol)s") % {"protocol": protocol if protocol is not None else "—"}


def neutral_file_name(protocol: int | None, question_id, index: int, name: str) -> str:
    extension = name.rsplit(".", 1)[1].lower() if "." in (name or "") else "bin"
    return f"application-{protocol or 0}-q{question_id}-{index}.{extension}"


def commission_file_name(application, file_id: int, *, identity: bool) -> str | None:
    """The name a submitted file is downloaded under, as ``application_content`` lists it: the original one,
    or without ``identity`` a neutral one. None: the file is not part of the submitted application."""
    content = application_content(application, identity=identity, file_url=lambda _id: "")
    return next((f["name"] for f in content["files"] if f["id"] == file_id), None)


def redactor(organization):
    """A function blanking the organization's name, VAT number and tax code in free text."""
    needles = {organization.legal_name, organization.vat_number, organization.tax_code}
    needles |= {f"IT{organization.vat_number}"} if organization.vat_number else set()
    needles = sorted((n for n in needles if n and len(n.strip()) >= 3), key=len, reverse=True)
    if not needles:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(n.strip()) for n in needles), re.IGNORECASE)

    def redact(value):
        if isinstance(value, str):
            return pattern.sub(REDACTED, value)
        if isinstance(value, list):
            return [redact(v) for v in value]
        if isinstance(value, dict):
            return {k: redact(v) for k, v in value.items()}
        return value

    return redact


def application_content(application, *, identity: bool, file_url) -> dict:
    """The submitted version as the commission reads it; without identity when ``identity`` is False.

    ``file_url(file_id)`` gives the download address of a submitted file.
    """
    submission = application.current_submission
    snapshot = submission.snapshot or {}
    protocol = submission.protocol
    redact = (lambda v: v) if identity else redactor(application.organization)
    answers, files = [], []
    for answer in snapshot.get("answers", []):
        value = answer.get("value")
        if answer.get("kind") == QuestionKind.FILE and isinstance(value, list):
            shown = []
            for index, item in enumerate(value, start=1):
                name = item.get("name", "") if identity else neutral_file_name(
                    protocol, answer.get("question"), index, item.get("name", ""))
                entry = {"id": item.get("id"), "question": answer.get("question"), "name": name,
                         "size": item.get("size"), "sha256": item.get("sha256"),
                         "download_url": file_url(item.get("id"))}
                shown.append(entry)
                files.append(entry)
            value = shown
        else:
            value = redact(value)
        answers.append({"question": answer.get("question"), "section": answer.get("section", ""),
                        "label": answer.get("label", ""), "kind": answer.get("kind", ""), "value": value})
    organization = snapshot.get("organization") if identity else None
    return {
        "label": organization["legal_name"] if organization else neutral_label(protocol),
        "protocol": protocol,
        "organization": organization,
        "organization_kind": (snapshot.get("organization") or {}).get("kind", ""),
        "answers": answers,
        "files": files,
    }


class SubmittedOrganizationSerializer(serializers.Serializer):
    """The organization as it was at submission (shown only to who may see the applicant's identity)."""

    id = serializers.IntegerField()
    legal_name = serializers.CharField()
    kind = serializers.CharField()
    vat_number = serializers.CharField(allow_blank=True)
    tax_code = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    operating_address = serializers.CharField(allow_blank=True)
    operating_city = serializers.CharField(allow_blank=True)
    founded_on = serializers.DateField(allow_null=True)
    ateco_code = serializers.CharField(allow_blank=True)


class ReviewFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.IntegerField()
    name = serializers.CharField(help_text=gettext_lazy("Neutral for reviewers of anonymous calls."))
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    download_url = serializers.CharField()


class ReviewAnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    section = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.JSONField(allow_null=True, help_text=gettext_lazy("File questions: a list of files."))


class ApplicationContentSerializer(serializers.Serializer):
    """The submitted application, with or without the applicant's identity."""

    label = serializers.CharField(help_text=gettext_lazy(
        "The organization's name, or “Application #<protocol>” for reviewers of anonymous calls."))
    protocol = serializers.IntegerField()
    organization = SubmittedOrganizationSerializer(allow_null=True, help_text=gettext_lazy(
        "Null when the requesting user may not see who applied (anonymous review)."))
    organization_kind = serializers.CharField()
    answers = ReviewAnswerSerializer(many=True)
    files = ReviewFileSerializer(many=True)


# --- rankings ------------------------------------------------------------------------------------

class RankingChangeSerializer(serializers.Serializer):
    protocol = serializers.IntegerField()
    from_position = serializers.IntegerField(allow_null=True)
    to_position = serializers.IntegerField(allow_null=True)
    from_total = serializers.CharField(allow_null=True)
    to_total = serializers.CharField()
    reason = serializers.CharField()


class RankingSerializer(serializers.ModelSerializer):
    """A published ranking (graduatoria) with what anyone needs to repeat it."""

    kind = enum_field(RankingKind, "RankingKindEnum", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    call = serializers.CharField(source="call.code", read_only=True)
    seed_published_at = serializers.DateTimeField(source="call.draw_seed_published_at", read_only=True)
    changes = RankingChangeSerializer(many=True, read_only=True, help_text=gettext_lazy(
        "Final ranking: what changed from the provisional one, and why."))
    url = serializers.SerializerMethodField()
    csv_url = serializers.SerializerMethodField()

    class Meta:
        model = Ranking
        fields = ["call", "kind", "kind_label", "published_at", "seed", "seed_published_at", "inputs_digest",
                  "changes", "url", "csv_url"]
        read_only_fields = fields

    def get_url(self, ranking) -> str:
        path = reverse("calls-evaluation-api:ranking-detail", kwargs={"code": ranking.call.code, "kind": ranking.kind})
        return absolute(self.context.get("request"), path)

    def get_csv_url(self, ranking) -> str:
        path = reverse("calls-evaluation-api:ranking-csv", kwargs={"code": ranking.call.code, "kind": ranking.kind})
        return absolute(self.context.get("request"), path)


class RankingEntrySerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text=gettext_lazy(
        "The organization's name where the call publishes names; otherwise null (protocol numbers only)."))
    scores = serializers.DictField(child=serializers.DecimalField(**SCORE_FIELD), read_only=True,
                                   help_text=gettext_lazy("Final score per criterion code."))

    class Meta:
        model = RankingEntry
        fields = ["order", "position", "protocol", "name", "total", "fit", "tie_break", "draw_key", "scores"]
        read_only_fields = fields

    def get_name(self, entry) -> str | None:
        return entry.application.organization.legal_name if self.context.get("publish_names") else None


class RankingDetailSerializer(RankingSerializer):
    min_total = serializers.DecimalField(source="call.min_total_score", read_only=True, **SCORE_FIELD)
    entries = serializers.SerializerMethodField()

    class Meta(RankingSerializer.Meta):
        fields = [*RankingSerializer.Meta.fields, "min_total", "entries"]
        read_only_fields = fields

    @extend_schema_field(RankingEntrySerializer(many=True))
    def get_entries(self, ranking):
        return RankingEntrySerializer(self.context["entries"], many=True, context=self.context).data


class RankingPublishSerializer(serializers.Serializer):
    kind = enum_field(RankingKind, "RankingKindEnum")


# --- commission and progress ---------------------------------------------------------------------

class PersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "name", "email"]
        read_only_fields = fields


class CommissionMemberSerializer(serializers.ModelSerializer):
    user = PersonSerializer(read_only=True)
    role = enum_field(CommissionRole, "CommissionRoleEnum", read_only=True)
    role_label = serializers.CharField(source="get_role_display", read_only=True)
    assigned = serializers.IntegerField(read_only=True, default=0)
    completed = serializers.IntegerField(read_only=True, default=0)
    conflicts = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = CommissionMember
        fields = ["id", "user", "role", "role_label", "appointed_at", "assigned", "completed", "conflicts"]
        read_only_fields = fields


class CommissionAppointSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    role = enum_field(CommissionRole, "CommissionRoleEnum", required=False, default=CommissionRole.MEMBER)


class ApplicationCountsSerializer(serializers.Serializer):
    submitted = serializers.IntegerField()
    admitted = serializers.IntegerField()
    not_admitted = serializers.IntegerField()
    integration = serializers.IntegerField(help_text=gettext_lazy("Waiting for requested documents."))
    undecided = serializers.IntegerField()


class AssignmentCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()


class ProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    stage = enum_field(CallStage, "CallStageEnum")
    applications = ApplicationCountsSerializer()
    assignments = AssignmentCountsSerializer()
    reviewers = CommissionMemberSerializer(many=True)
    final_scores_complete = serializers.IntegerField(help_text=gettext_lazy(
        "Applications with a final score for every criterion."))
    draw_seed_published_at = serializers.DateTimeField(allow_null=True)
    rankings = serializers.ListField(child=enum_field(RankingKind, "RankingKindEnum"))
    appeals = serializers.DictField(child=serializers.IntegerField(), help_text=gettext_lazy("Count by status."))
    awards = serializers.DictField(child=serializers.IntegerField(), help_text=gettext_lazy("Count by status."))


class ActionResultSerializer(serializers.Serializer):
    """What a call-level step did (counts, and the applications it could not serve)."""

    stage = enum_field(CallStage, "CallStageEnum")
    result = serializers.DictField(child=serializers.JSONField(), required=False)


class DrawSeedSerializer(serializers.Serializer):
    seed = serializers.CharField(max_length=128, help_text=gettext_lazy(
        "Fixed and published before the draw, e.g. the numbers of a public lottery draw."))


# --- staff: admissibility, integration, assignments, final scores --------------------------------

class AdmissibilityDecisionSerializer(serializers.Serializer):
    decision = enum_field(Admissibility, "AdmissibilityEnum")
    decision_label = serializers.SerializerMethodField()
    reason = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField()

    def get_decision_label(self, decision) -> str:
        return str(Admissibility(decision.decision).label)


class StaffAdmissibilityDecisionSerializer(AdmissibilityDecisionSerializer):
    decided_by = PersonSerializer()


class AdmissibilityDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[(Admissibility.ADMITTED, Admissibility.ADMITTED.label),
                 (Admissibility.NOT_ADMITTED, Admissibility.NOT_ADMITTED.label)],
        help_text=gettext_lazy("To ask for missing documents, create a request for integration instead."),
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                   help_text=gettext_lazy("Required to exclude: the applicant reads it."))


class IntegrationDocumentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = IntegrationDocument
        fields = ["id", "item", "name", "size", "sha256", "content_type", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, document) -> str | None:
        """Staff download it from the staff application; applicants see that it arrived."""
        if not self.context.get("staff_links"):
            return None
        path = reverse("calls-evaluation-api:evaluation-application-document",
                       kwargs={"pk": document.request.application_id, "document_id": document.pk})
        return absolute(self.context.get("request"), path)


class IntegrationRequestSerializer(serializers.ModelSerializer):
    status = enum_field(IntegrationStatus, "IntegrationStatusEnum", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    items = serializers.ListField(child=serializers.CharField(), read_only=True)
    documents = IntegrationDocumentSerializer(many=True, read_only=True)

    class Meta:
        model = IntegrationRequest
        fields = ["id", "items", "message", "deadline", "status", "status_label", "requested_at", "answered_at",
                  "documents"]
        read_only_fields = fields


class IntegrationRequestCreateSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(max_length=200), allow_empty=False,
                                  help_text=gettext_lazy("The missing documents, by name."))
    deadline = serializers.DateTimeField()
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class IntegrationUploadSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=200, help_text=gettext_lazy("One of the requested documents."))
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class AssignmentSetSerializer(serializers.Serializer):
    member = serializers.IntegerField(help_text=gettext_lazy("The commission member's id."))
    assigned = serializers.BooleanField()


class ScoreSerializer(serializers.Serializer):
    points = serializers.DecimalField(**SCORE_FIELD)
    comment = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()


class FinalScoreSerializer(serializers.Serializer):
    points = serializers.DecimalField(**SCORE_FIELD)
    method = serializers.CharField(help_text=gettext_lazy("mean, median, consensus or appeal."))
    minutes = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)
    set_at = serializers.DateTimeField()


class ReviewerScoresSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    member = serializers.IntegerField()
    reviewer = serializers.CharField()
    role = enum_field(CommissionRole, "CommissionRoleEnum")
    completed_at = serializers.DateTimeField(allow_null=True)
    scores = serializers.DictField(child=ScoreSerializer(), help_text=gettext_lazy("By criterion code."))


def reviewer_scores(application) -> list[dict]:
    return [
        {"assignment": a.pk, "member": a.member_id, "reviewer": str(a.member.user), "role": a.member.role,
         "completed_at": a.completed_at,
         "scores": {s.criterion.code: {"points": s.points, "comment": s.comment, "updated_at": s.updated_at}
                    for s in a.scores.all()}}
        for a in application.review_assignments.all()
    ]


def final_scores(application) -> dict:
    return {f.criterion.code: {"points": f.points, "method": f.method, "minutes": f.minutes, "comment": f.comment,
                               "set_at": f.set_at} for f in application.final_scores.all()}


class EligibilityResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    outcome = serializers.CharField()
    message = serializers.CharField()


class LatestAdmissibilitySerializer(serializers.Serializer):
    decision = enum_field(Admissibility, "AdmissibilityEnum", allow_null=True, source="admissibility")
    reason = serializers.CharField(source="admissibility_reason", allow_null=True)
    decided_at = serializers.DateTimeField(source="admissibility_at", allow_null=True)


class StaffApplicationSerializer(serializers.Serializer):
    """A submitted application in the staff evaluation list (with the organization's identity)."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    call = serializers.CharField(source="call.code")
    protocol = serializers.IntegerField(source="current_submission.protocol")
    protocol_label = serializers.CharField(source="current_submission.protocol_label")
    organization = OrganizationRefSerializer()
    received_at = serializers.DateTimeField(source="current_submission.received_at")
    needs_review = serializers.BooleanField(source="current_submission.needs_review")
    eligibility = EligibilityResultSerializer(source="current_submission.eligibility", many=True)
    admissibility = LatestAdmissibilitySerializer(source="*")
    integration_open = serializers.BooleanField()
    reviewers = serializers.IntegerField()
    final_score_count = serializers.IntegerField()

    def get_url(self, application) -> str:
        path = reverse("calls-evaluation-api:evaluation-application-detail", kwargs={"pk": application.pk})
        return absolute(self.context.get("request"), path)


class ConflictSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    reviewer = serializers.CharField(source="member.user")
    has_conflict = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)
    declared_at = serializers.DateTimeField()


class StaffApplicationDetailSerializer(StaffApplicationSerializer):
    """Everything staff need to decide on an application after the close."""

    admissibility_history = StaffAdmissibilityDecisionSerializer(source="admissibility_decisions", many=True)
    integration_requests = IntegrationRequestSerializer(many=True)
    conflicts = ConflictSerializer(source="conflict_declarations", many=True)
    reviews = serializers.SerializerMethodField()
    final_scores = serializers.SerializerMethodField()

    @extend_schema_field(ReviewerScoresSerializer(many=True))
    def get_reviews(self, application):
        return ReviewerScoresSerializer(reviewer_scores(application), many=True).data

    @extend_schema_field(serializers.DictField(child=FinalScoreSerializer()))
    def get_final_scores(self, application):
        return {code: FinalScoreSerializer(value).data for code, value in final_scores(application).items()}


class FinalScoreInputSerializer(serializers.Serializer):
    points = serializers.DecimalField(**SCORE_FIELD)
    minutes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000,
                                    help_text=gettext_lazy("The commission's minutes (required for consensus)."))
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                    help_text=gettext_lazy("The commission's comment: the applicant reads it."))


class ScoreInputSerializer(serializers.Serializer):
    points = serializers.DecimalField(**SCORE_FIELD)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


def _score_body_schema(properties: dict, required: list[str], example: dict) -> dict:
    return {
        "type": "object",
        "description": "By criterion code.",
        "additionalProperties": {"type": "object", "properties": properties, "required": required},
        "example": example,
    }


SCORES_BODY = _score_body_schema(
    {"points": {"type": "number"}, "comment": {"type": "string"}}, ["points"],
    {"quality": {"points": 45, "comment": "Clear plan, thin market analysis."}, "jobs": {"points": 30}},
)
FINAL_SCORES_BODY = _score_body_schema(
    {"points": {"type": "number"}, "minutes": {"type": "string"}, "comment": {"type": "string"}}, ["points"],
    {"quality": {"points": 48, "minutes": "Minutes no. 3 of 12 May 2026", "comment": "Agreed by the commission."}},
)


# --- reviews (commission members) ----------------------------------------------------------------

class ReviewCriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    max_points = serializers.DecimalField(**SCORE_FIELD)
    weight = serializers.DecimalField(**SCORE_FIELD)
    comment_required_below = serializers.DecimalField(max_digits=9, decimal_places=2, help_text=gettext_lazy(
        "A score below this needs a comment."))


def review_criteria(call) -> list[dict]:
    return [{"code": c.code, "title": c.title, "description": c.description, "max_points": c.max_points,
             "weight": c.weight,
             "comment_required_below": (c.max_points * call.comment_required_below / 100).quantize(Decimal("0.01"))}
            for c in call.criteria.all()]


class ReviewSerializer(serializers.Serializer):
    """One of my review assignments (never one I declared a conflict for)."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    call = serializers.CharField(source="application.call.code")
    application = serializers.IntegerField(source="application_id")
    label = serializers.SerializerMethodField(help_text=gettext_lazy(
        "The organization's name, or “Application #<protocol>” when the call's review is anonymous."))
    protocol = serializers.IntegerField(source="application.current_submission.protocol")
    assigned_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    scored = serializers.IntegerField(help_text=gettext_lazy("Criteria scored so far."))
    criteria = serializers.SerializerMethodField(help_text=gettext_lazy("Criteria of the rubric."))
    can_score = serializers.SerializerMethodField(help_text=gettext_lazy("The call is in its review stage."))

    def get_url(self, assignment) -> str:
        return absolute(self.context.get("request"),
                        reverse("calls-evaluation-api:review-detail", kwargs={"pk": assignment.pk}))

    def get_label(self, assignment) -> str:
        application = assignment.application
        if self.context["identity"](application):
            return application.organization.legal_name
        return neutral_label(application.current_submission.protocol)

    def get_criteria(self, assignment) -> int:
        return len(assignment.application.call.criteria.all())

    def get_can_score(self, assignment) -> bool:
        return assignment.application.call.stage == CallStage.REVIEW


class ReviewDetailSerializer(ReviewSerializer):
    anonymous_review = serializers.BooleanField(source="application.call.anonymous_review")
    rubric = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    content = serializers.SerializerMethodField()

    @extend_schema_field(ReviewCriterionSerializer(many=True))
    def get_rubric(self, assignment):
        return ReviewCriterionSerializer(review_criteria(assignment.application.call), many=True).data

    @extend_schema_field(serializers.DictField(child=ScoreSerializer()))
    def get_scores(self, assignment):
        return {s.criterion.code: ScoreSerializer(s).data for s in assignment.scores.all()}

    @extend_schema_field(ApplicationContentSerializer)
    def get_content(self, assignment):
        return ApplicationContentSerializer(self.context["content"]).data


class MyConflictSerializer(serializers.Serializer):
    has_conflict = serializers.BooleanField(source="my_conflict")
    note = serializers.CharField(source="my_note", allow_blank=True)
    declared_at = serializers.DateTimeField(source="my_declared_at")


class CommissionApplicationSerializer(serializers.Serializer):
    """An application of the call as its commission sees it (anonymous calls: no identity)."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    call = serializers.CharField(source="call.code")
    label = serializers.SerializerMethodField()
    protocol = serializers.IntegerField(source="current_submission.protocol")
    my_declaration = serializers.SerializerMethodField(help_text=gettext_lazy(
        "My conflict-of-interest declaration for this application, or null."))
    assigned_to_me = serializers.BooleanField()

    def get_url(self, application) -> str:
        return absolute(self.context.get("request"),
                        reverse("calls-evaluation-api:commission-application-detail", kwargs={"pk": application.pk}))

    def get_label(self, application) -> str:
        if self.context["identity"](application):
            return application.organization.legal_name
        return neutral_label(application.current_submission.protocol)

    @extend_schema_field(MyConflictSerializer(allow_null=True))
    def get_my_declaration(self, application):
        if application.my_conflict is None:
            return None
        return MyConflictSerializer(application).data


class CommissionApplicationDetailSerializer(CommissionApplicationSerializer):
    anonymous_review = serializers.BooleanField(source="call.anonymous_review")
    rubric = serializers.SerializerMethodField()
    content = serializers.SerializerMethodField()
    reviews = serializers.SerializerMethodField(help_text=gettext_lazy("The reviewers' scores so far."))
    final_scores = serializers.SerializerMethodField()

    @extend_schema_field(ReviewCriterionSerializer(many=True))
    def get_rubric(self, application):
        return ReviewCriterionSerializer(review_criteria(application.call), many=True).data

    @extend_schema_field(ApplicationContentSerializer)
    def get_content(self, application):
        return ApplicationContentSerializer(self.context["content"]).data

    @extend_schema_field(ReviewerScoresSerializer(many=True))
    def get_reviews(self, application):
        if not self.context.get("show_scores"):
            return []
        return ReviewerScoresSerializer(reviewer_scores(application), many=True).data

    @extend_schema_field(serializers.DictField(child=FinalScoreSerializer()))
    def get_final_scores(self, application):
        if not self.context.get("show_scores"):
            return {}
        return {code: FinalScoreSerializer(value).data for code, value in final_scores(application).items()}


class ConflictInputSerializer(serializers.Serializer):
    has_conflict = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ConflictDeclarationSerializer(serializers.Serializer):
    application = serializers.IntegerField(source="application_id")
    has_conflict = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)
    declared_at = serializers.DateTimeField()


# --- appeals -------------------------------------------------------------------------------------

class AppealFileSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AppealFile
        fields = ["id", "name", "size", "sha256", "content_type", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_name(self, file) -> str:
        if self.context.get("identity", lambda a: True)(file.appeal.application):
            return file.original_name
        return neutral_appeal_file_name(file)

    def get_download_url(self, file) -> str | None:
        if not self.context.get("appeal_links"):
            return None
        path = reverse("calls-evaluation-api:appeal-file", kwargs={"pk": file.appeal_id, "file_id": file.pk})
        return absolute(self.context.get("request"), path)


def neutral_appeal_file_name(file: AppealFile) -> str:
    extension = file.original_name.rsplit(".", 1)[1].lower() if "." in file.original_name else "bin"
    return f"appeal-{file.appeal_id}-file-{file.pk}.{extension}"


class AppealSerializer(serializers.ModelSerializer):
    """An appeal as the applicant sees it (the decider's identity is not shown)."""

    status = enum_field(AppealStatus, "AppealStatusEnum", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    files = AppealFileSerializer(many=True, read_only=True)

    class Meta:
        model = Appeal
        fields = ["id", "text", "status", "status_label", "decision", "filed_at", "decided_at", "files"]
        read_only_fields = fields


class StaffAppealSerializer(AppealSerializer):
    """An appeal for staff and the commission's president (identity per ``calls.see_identity``)."""

    url = serializers.SerializerMethodField()
    call = serializers.CharField(source="application.call.code", read_only=True)
    application = serializers.IntegerField(source="application_id", read_only=True)
    protocol = serializers.IntegerField(source="application.current_submission.protocol", read_only=True)
    label = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    class Meta(AppealSerializer.Meta):
        fields = ["id", "url", "call", "application", "protocol", "label", *AppealSerializer.Meta.fields[1:],
                  "decided_by"]
        read_only_fields = fields

    def _identity(self, appeal) -> bool:
        return self.context["identity"](appeal.application)

    def get_url(self, appeal) -> str:
        return absolute(self.context.get("request"), reverse("calls-evaluation-api:appeal-detail",
                                                             kwargs={"pk": appeal.pk}))

    def get_label(self, appeal) -> str:
        if self._identity(appeal):
            return appeal.application.organization.legal_name
        return neutral_label(appeal.application.current_submission.protocol)

    def get_text(self, appeal) -> str:
        return appeal.text if self._identity(appeal) else redactor(appeal.application.organization)(appeal.text)

    def get_decided_by(self, appeal) -> str | None:
        return str(appeal.decided_by) if appeal.decided_by_id else None


class AppealFileInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, help_text=gettext_lazy("The grounds of the appeal."))
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True, use_url=False), required=False,
                                  default=list, help_text=gettext_lazy("PDF or images, repeated field."))


class AppealDecideSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    decision = serializers.CharField(max_length=20000, help_text=gettext_lazy(
        "The decision's reasons: the applicant reads them."))
    rescores = serializers.DictField(
        child=serializers.DecimalField(**SCORE_FIELD), required=False, default=dict,
        help_text=gettext_lazy("Accepted appeals: new final points by criterion code."),
    )


# --- awards and outcomes -------------------------------------------------------------------------

class ConcessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Concession
        fields = ["id", "starts_on", "ends_on", "monthly_fee", "created_at"]
        read_only_fields = fields


class AwardSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    call = serializers.CharField(source="call.code", read_only=True)
    application = serializers.IntegerField(source="application_id", read_only=True)
    protocol = serializers.IntegerField(source="application.current_submission.protocol", read_only=True)
    organization = OrganizationRefSerializer(source="application.organization", read_only=True)
    space = OfferedSpaceSerializer(read_only=True, allow_null=True)
    status = enum_field(AwardStatus, "AwardStatusEnum", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    concession = serializers.SerializerMethodField()

    class Meta:
        model = Award
        fields = ["id", "url", "call", "application", "protocol", "organization", "space", "amount", "partial",
                  "status", "status_label", "by_advance", "offered_at", "respond_by", "responded_at", "concession"]
        read_only_fields = fields

    def get_url(self, award) -> str:
        return absolute(self.context.get("request"), reverse("calls-evaluation-api:award-detail",
                                                             kwargs={"pk": award.pk}))

    @extend_schema_field(ConcessionSerializer(allow_null=True))
    def get_concession(self, award):
        concession = getattr(award, "concession", None) if award.status == AwardStatus.ACCEPTED else None
        return ConcessionSerializer(concession).data if concession else None


class OutcomeAwardSerializer(AwardSerializer):
    class Meta(AwardSerializer.Meta):
        fields = [f for f in AwardSerializer.Meta.fields
                  if f not in {"organization", "protocol", "call", "application"}]
        read_only_fields = fields


class AwardRenounceSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class PreferencesInputSerializer(serializers.Serializer):
    space_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=True, help_text=gettext_lazy(
        "The offered spaces you want, most preferred first (the list replaces the previous one)."))


class OutcomeCriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    max_points = serializers.DecimalField(**SCORE_FIELD)
    weight = serializers.DecimalField(**SCORE_FIELD)
    points = serializers.DecimalField(allow_null=True, **SCORE_FIELD)
    commission_comment = serializers.CharField(allow_blank=True)
    comments = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy(
        "The reviewers' comments on this criterion (without who wrote them)."))


class OutcomeScoresSerializer(serializers.Serializer):
    total = serializers.DecimalField(max_digits=12, decimal_places=4)
    min_total = serializers.DecimalField(**SCORE_FIELD)
    criteria = OutcomeCriterionSerializer(many=True)


class OutcomePositionSerializer(serializers.Serializer):
    kind = enum_field(RankingKind, "RankingKindEnum")
    published_at = serializers.DateTimeField()
    position = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Among the fit; null if not fit."))
    total = serializers.DecimalField(max_digits=12, decimal_places=4)
    fit = serializers.BooleanField()
    tie_break = serializers.CharField(allow_blank=True)
    of = serializers.IntegerField(help_text=gettext_lazy("How many were ranked fit."))


class ServedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[
        "pending", "not_admitted", "not_fit", "ranked", "offered", "accepted", "renounced", "expired", "reserve",
    ])
    reason = serializers.CharField()


class WindowSerializer(serializers.Serializer):
    closes_at = serializers.DateTimeField()
    open = serializers.BooleanField()


class PreferencesSerializer(serializers.Serializer):
    window = WindowSerializer(allow_null=True)
    offered_spaces = OfferedSpaceSerializer(many=True)
    space_ids = serializers.ListField(child=serializers.IntegerField(), help_text=gettext_lazy(
        "Your preferences, most preferred first."))


class OutcomeSerializer(serializers.Serializer):
    """What an applicant learns about their application after the close, with the reasons."""

    application = serializers.IntegerField()
    call = serializers.CharField()
    call_title = serializers.CharField()
    stage = enum_field(CallStage, "CallStageEnum")
    protocol = serializers.IntegerField()
    protocol_label = serializers.CharField()
    admissibility = AdmissibilityDecisionSerializer(allow_null=True)
    integration_requests = IntegrationRequestSerializer(many=True)
    scores = OutcomeScoresSerializer(allow_null=True, help_text=gettext_lazy(
        "Once a ranking is published: the commission's final score per criterion with its comments."))
    ranking = OutcomePositionSerializer(allow_null=True)
    served = ServedSerializer()
    appeal_window = WindowSerializer(allow_null=True)
    appeals = AppealSerializer(many=True)
    preferences = PreferencesSerializer(allow_null=True, help_text=gettext_lazy("Space calls, once ranked fit."))
    awards = OutcomeAwardSerializer(many=True)


# --- the applicant's outcome ---------------------------------------------------------------------

def _when(instant) -> str:
    return timezone.localtime(instant, clock.ROME).strftime("%d/%m/%Y %H:%M")


def _award_what(award) -> str:
    if award.space_id:
        return _("the space “%(space)s” (%(site)s)") % {"space": award.space.name, "site": award.space.site.name}
    return _("a grant of EUR %(amount)s") % {"amount": award.amount}


def _served(*, application, latest, entry, ranking, awards, preferences) -> dict:
    """Whether the application was served, and why (or why not), in plain words."""
    call = application.call
    if latest is None:
        return {"status": "pending", "reason": _("The admissibility check is in progress.")}
    if latest.decision == Admissibility.INTEGRATION:
        return {"status": "pending", "reason": _(
            "Documents were requested (request for integration): admissibility is decided after your answer "
            "or the deadline.")}
    if latest.decision == Admissibility.NOT_ADMITTED:
        return {"status": "not_admitted", "reason": _("Not admitted: %(reason)s") % {"reason": latest.reason}}
    if entry is None:
        return {"status": "pending", "reason": _(
            "Admitted. The commission is evaluating the applications; the ranking is not published yet.")}
    if not entry.fit:
        return {"status": "not_fit", "reason": _(
            "Your total, %(total)s, is below the minimum of %(min)s needed to be ranked fit (idoneo).") % {
            "total": entry.total.normalize(), "min": call.min_total_score}}
    if awards:
        award = awards[-1]
        what = _award_what(award)
        reasons = {
            AwardStatus.OFFERED: _("You are offered %(what)s: accept by %(when)s.") % {
                "what": what, "when": _when(award.respond_by)},
            AwardStatus.ACCEPTED: _("You accepted %(what)s.") % {"what": what},
            AwardStatus.RENOUNCED: _("You renounced %(what)s; it went to the next on the reserve list.") % {
                "what": what},
            AwardStatus.EXPIRED: _("The deadline to accept %(what)s passed on %(when)s; it went to the next on the "
                                   "reserve list.") % {"what": what, "when": _when(award.respond_by)},
        }
        return {"status": award.status, "reason": reasons[award.status]}
    if call.stage in (CallStage.ALLOCATION, CallStage.CONCLUDED):
        if call.kind != CallKind.SPACE:
            reason = _("You are on the reserve list: the budget ran out before position %(position)d. Money freed "
                       "by a renunciation may be offered to you (scorrimento).")
        elif not preferences:
            reason = _("You are on the reserve list: you stated no preferences among the offered spaces "
                       "(position %(position)d).")
        else:
            reason = _("You are on the reserve list: when your turn came (position %(position)d) no space among "
                       "your preferences that fits your needs was left. A space freed by a renunciation may be "
                       "offered to you (scorrimento).")
        return {"status": "reserve", "reason": reason % {"position": entry.position}}
    if ranking.kind == RankingKind.PROVISIONAL:
        reason = _("Ranked fit at position %(position)d of the provisional ranking; the final ranking follows "
                   "the appeal window.")
    else:
        reason = _("Ranked fit at position %(position)d of the final ranking; allocation follows in ranking order.")
    return {"status": "ranked", "reason": reason % {"position": entry.position}}


def outcome_data(application, *, now) -> dict:
    """Everything ``OutcomeSerializer`` shows, from an application loaded by ``queries_evaluation.outcome_application``.

    Scores appear once a ranking is published; reviewers' comments never say who wrote them.
    """
    call = application.call
    submission = application.current_submission
    decisions = list(application.admissibility_decisions.all())
    latest = decisions[-1] if decisions else None
    rankings = list(call.rankings.all())
    by_kind = {r.kind: r for r in rankings}
    entries = {e.ranking_id: e for e in application.ranking_entries.all()}
    ranking = rankings[-1] if rankings else None
    entry = entries.get(ranking.pk) if ranking else None
    awards = list(application.awards.all())
    preferences = [p.space_id for p in application.space_preferences.all()]

    scores = position = None
    if entry is not None:
        criteria = list(call.criteria.all())
        finals = {f.criterion_id: f for f in application.final_scores.all()}
        comments: dict[int, list[str]] = {}
        for assignment in application.review_assignments.all():
            for score in assignment.scores.all():
                if score.comment:
                    comments.setdefault(score.criterion_id, []).append(score.comment)
        rows = [{"code": c.code, "title": c.title, "max_points": c.max_points, "weight": c.weight,
                 "points": finals[c.pk].points if c.pk in finals else None,
                 "commission_comment": finals[c.pk].comment if c.pk in finals else "",
                 "comments": comments.get(c.pk, [])} for c in criteria]
        total = sum(((r["points"] or Decimal(0)) * r["weight"] for r in rows), Decimal(0))
        scores = {"total": total, "min_total": call.min_total_score, "criteria": rows}
        position = {"kind": ranking.kind, "published_at": ranking.published_at, "position": entry.position,
                    "total": entry.total, "fit": entry.fit, "tie_break": entry.tie_break,
                    "of": ranking.entries.filter(fit=True).count()}

    appeal_window = None
    provisional = by_kind.get(RankingKind.PROVISIONAL)
    if provisional is not None and latest is not None:
        closes = provisional.published_at + dt.timedelta(days=call.appeal_days)
        appeal_window = {"closes_at": closes, "open": call.stage == CallStage.PROVISIONAL and now < closes}

    preference_block = None
    final = by_kind.get(RankingKind.FINAL)
    if call.kind == CallKind.SPACE and final is not None and entries.get(final.pk) and entries[final.pk].fit:
        closes = final.published_at + dt.timedelta(days=call.preference_days)
        preference_block = {
            "window": {"closes_at": closes, "open": call.stage == CallStage.FINAL and now < closes},
            "offered_spaces": list(call.offered_spaces.select_related("site").order_by("id")),
            "space_ids": preferences,
        }

    return {
        "application": application.pk,
        "call": call.code,
        "call_title": call.title,
        "stage": call.stage,
        "protocol": submission.protocol,
        "protocol_label": submission.protocol_label,
        "admissibility": latest,
        "integration_requests": list(application.integration_requests.all()),
        "scores": scores,
        "ranking": position,
        "served": _served(application=application, latest=latest, entry=entry, ranking=ranking, awards=awards,
                          preferences=preferences),
        "appeal_window": appeal_window,
        "appeals": list(application.appeals.all()),
        "preferences": preference_block,
        "awards": awards,
    }
