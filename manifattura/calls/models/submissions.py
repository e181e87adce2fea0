import os
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from manifattura.calls.enums_evaluation import CallStage, GrantLastRule, ScoreAggregation
from manifattura.calls.enums import (
    ApplicationStatus,
    CallKind,
    CallStatus,
    QuestionKind,
    SeatRequirement,
    SelectionMode,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
SCORE = {"max_digits": 7, "decimal_places": 2}


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files only the applicant, staff and the commission may download: outside MEDIA_ROOT, never
    served by URL (views stream them after a permission check). The folder follows the setting."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)


private_storage = PrivateStorage()


RESERVED_CALL_CODES = {"mine", "applications", "files", "new"}


def validate_call_code(value: str) -> None:
    """Codes appear in URLs next to fixed paths (/calls/mine/ …): those words are taken."""
    if value.lower() in RESERVED_CALL_CODES:
        raise ValidationError(_("“%(code)s” is a reserved word: choose another code.") % {"code": value})


class Call(models.Model):
    """A public call (bando): what it offers, its window, eligibility rules, form and rubric."""

    code = models.SlugField(
        _("code"), max_length=40, unique=True, validators=[validate_call_code],
        help_text=_("Short public code used in protocol numbers, e.g. MM-2026-01."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CallKind.choices)
    selection_mode = models.CharField(
        _("selection mode"), max_length=12, choices=SelectionMode.choices, default=SelectionMode.MERIT
    )
    title = models.CharField(_("title"), max_length=250)
    summary = models.TextField(_("summary"), max_length=1000)
    body = models.TextField(_("full text"), blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CallStatus.choices, default=CallStatus.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    offered_spaces = models.ManyToManyField(
        "places.Space", verbose_name=_("offered spaces"), blank=True, related_name="calls"
    )
    grant_budget = models.DecimalField(
        _("grant budget (EUR)"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    grant_max_per_application = models.DecimalField(
        _("maximum grant per application (EUR)"), null=True, blank=True,
        validators=[MinValueValidator(0)], **MONEY,
    )
    cofinancing_share = models.DecimalField(
        _("co-financing share (%)"), null=True, blank=True, max_digits=5, decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of the project cost the grant covers at most."),
    )
    # Eligibility rules: declarative, shown to applicants, evaluated at submission.
    allowed_organization_kinds = models.JSONField(
        _("allowed organization kinds"), default=list, blank=True,
        help_text=_("Empty: every kind may apply."),
    )
    max_organization_age_years = models.PositiveSmallIntegerField(
        _("maximum age of the organization (years)"), null=True, blank=True
    )
    require_valid_vat = models.BooleanField(_("a valid VAT number is required"), default=True)
    seat_requirement = models.CharField(
        _("seat requirement"), max_length=12, choices=SeatRequirement.choices, default=SeatRequirement.NONE
    )
    seat_needs_human_check = models.BooleanField(
        _("seat requirement checked by staff"), default=False,
        help_text=_("Accept applications and mark them for review instead of refusing automatically."),
    )
    one_per_organization = models.BooleanField(_("one application per organization"), default=True)
    # Rubric: published with the call, because the criteria must be known in advance.
    rubric_total = models.DecimalField(
        _("rubric total points"), default=100, validators=[MinValueValidator(0)], **SCORE
    )
    min_total_score = models.DecimalField(
        _("minimum total to be fit"), default=0, validators=[MinValueValidator(0)], **SCORE
    )
    # Evaluation (published with the call): reviewers, anonymity, aggregation, tie-breaks, windows.
    stage = models.CharField(
        _("evaluation stage"), max_length=14, choices=CallStage.choices, default=CallStage.SUBMISSIONS, db_index=True
    )
    reviewers_per_application = models.PositiveSmallIntegerField(
        _("reviewers per application"), default=2, validators=[MinValueValidator(1)]
    )
    anonymous_review = models.BooleanField(
        _("anonymous review"), default=False,
        help_text=_("Reviewers never see the organization's identity."),
    )
    score_aggregation = models.CharField(
        _("final score per criterion"), max_length=10, choices=ScoreAggregation.choices, default=ScoreAggregation.MEAN
    )
    comment_required_below = models.DecimalField(
        _("comment required below (% of the criterion's maximum)"), default=60, max_digits=5, decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    tie_breaks = models.JSONField(
        _("tie-break order"), default=list, blank=True,
        help_text=_('Ordered list, e.g. [{"kind": "criterion", "key": "quality"}, {"kind": "protocol"}, '
                    '{"kind": "attribute", "key": "female_led"}, {"kind": "draw"}].'),
    )
    ranking_attributes = models.JSONField(
        _("declared attributes used in tie-breaks"), default=dict, blank=True,
        help_text=_('Attribute name → question id whose answer gives it, e.g. {"female_led": 12}.'),
    )
    space_needs = models.JSONField(
        _("questions giving the applicant's space needs"), default=dict, blank=True,
        help_text=_('Keys min_surface_m2, max_surface_m2, uses → question id, e.g. {"min_surface_m2": 7}.'),
    )
    draw_seed = models.CharField(_("public draw seed"), max_length=128, blank=True)
    draw_seed_published_at = models.DateTimeField(_("draw seed published at"), null=True, blank=True)
    publish_names = models.BooleanField(
        _("publish organization names in the ranking"), default=True,
        help_text=_("Otherwise the public ranking shows protocol numbers only."),
    )
    appeal_days = models.PositiveSmallIntegerField(_("appeal window (days)"), default=10)
    preference_days = models.PositiveSmallIntegerField(_("window to state space preferences (days)"), default=7)
    acceptance_days = models.PositiveSmallIntegerField(_("days to accept an award"), default=10)
    grant_last_rule = models.CharField(
        _("the last grant"), max_length=8, choices=GrantLastRule.choices, default=GrantLastRule.PARTIAL
    )
    concession_years = models.PositiveSmallIntegerField(_("concession term (years)"), default=6)
    copied_from = models.ForeignKey(
        "self", verbose_name=_("copied from"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__isnull=True)
                | models.Q(closes_at__isnull=True)
                | models.Q(closes_at__gt=models.F("opens_at")),
                name="calls_call_closes_after_opening",
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.title}"


class CallDocument(models.Model):
    """An official document of the call (PDF), public."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to="calls/documents/")
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("call document")
        verbose_name_plural = _("call documents")
        ordering = ["order", "id"]

    def __str__(self):
        return self.title


class Declaration(models.Model):
    """A self-declaration (DPR 445/2000) the applicant must accept to submit."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="declarations")
    text = models.TextField(_("text"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("self-declaration")
        verbose_name_plural = _("self-declarations")
        ordering = ["order", "id"]

    def __str__(self):
        return self.text[:80]


class FormSection(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(_("title"), max_length=200)
    help_text = models.TextField(_("help text"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("form section")
        verbose_name_plural = _("form sections")
        ordering = ["order", "id"]

    def __str__(self):
        return self.title


class Question(models.Model):
    section = models.ForeignKey(FormSection, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(_("question"), max_length=300)
    help_text = models.TextField(_("help text"), blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=QuestionKind.choices)
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    min_length = models.PositiveIntegerField(_("minimum length"), null=True, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    min_value = models.DecimalField(_("minimum value"), null=True, blank=True, max_digits=16, decimal_places=4)
    max_value = models.DecimalField(_("maximum value"), null=True, blank=True, max_digits=16, decimal_places=4)
    choices = models.JSONField(_("choices"), default=list, blank=True, help_text=_("List of options."))
    allowed_file_types = models.JSONField(
        _("allowed file types"), default=list, blank=True, help_text=_('For example ["pdf", "png", "jpg"].')
    )
    max_file_mb = models.PositiveSmallIntegerField(_("maximum file size (MB)"), default=10)
    is_requested_amount = models.BooleanField(
        _("is the requested grant amount"), default=False,
        help_text=_("The answer is the amount requested (grant calls)."),
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["section__order", "order", "id"]

    def __str__(self):
        return self.label


class Criterion(models.Model):
    """A rubric criterion, published with the call."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="criteria")
    code = models.SlugField(_("code"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    max_points = models.DecimalField(_("maximum points"), validators=[MinValueValidator(0)], **SCORE)
    weight = models.DecimalField(_("weight"), default=1, validators=[MinValueValidator(0)], **SCORE)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["call", "code"], name="calls_criterion_unique_code")]

    def __str__(self):
        return f"{self.code} — {self.title}"


class DeadlineExtension(models.Model):
    """The only change allowed to a published call: a later deadline, with its reason."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="extensions")
    previous_closes_at = models.DateTimeField(_("previous deadline"))
    new_closes_at = models.DateTimeField(_("new deadline"))
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        ordering = ["decided_at"]

    def __str__(self):
        return f"{self.call.code}: {self.previous_closes_at:%Y-%m-%d %H:%M} → {self.new_closes_at:%Y-%m-%d %H:%M}"


class ProtocolCounter(models.Model):
    """The call's last protocol number: the hot row, locked last and briefly at submission."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, primary_key=True, related_name="protocol_counter")
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("protocol counter")

    def __str__(self):
        return f"{self.call_id}: {self.last_number}"


class Application(models.Model):
    """What an organization prepares for a call; each submission freezes a version of it."""

    # Indexed by the unique (call, organization, slot) and (call, status) below: no index of its own.
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="applications", db_index=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="applications"
    )
    # 1 for calls with one application per organization, so the database enforces that rule.
    slot = models.PositiveSmallIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("last saved"))
    status = models.CharField(
        _("status"), max_length=12, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    accepted_declarations = models.JSONField(_("accepted self-declarations"), default=list, blank=True)
    current_submission = models.OneToOneField(
        "Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What submitting now would freeze (snapshot, digest, eligibility…), or null while the draft is
    # incomplete or ineligible: rewritten with every change to the draft (calls.domain._prepare) so
    # the click-day endpoint does no work that could be done before (calls.submit_fast).
    prepared = models.JSONField(_("prepared submission"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["call", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "organization", "slot"], name="calls_application_unique_slot")
        ]
        # Every index is one more write per submission on a click day: only those the queries use.
        indexes = [models.Index(fields=["call", "status"], name="calls_application_call_status")]

    def __str__(self):
        return _("Application of %(org)s to %(call)s") % {"org": self.organization, "call": self.call.code}


def private_upload_path(instance, filename):
    # The stored name never comes from the user: no path tricks, no collisions.
    return f"applications/{instance.application_id}/{uuid.uuid4().hex}"


class ApplicationFile(models.Model):
    """A file uploaded for a file question; immutable once stored (a replacement is a new row)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    original_name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(storage=private_storage, upload_to=private_upload_path, max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("application file")
        verbose_name_plural = _("application files")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class Submission(models.Model):
    """A frozen version of an application with its protocol number, receipt instant and digest."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="submissions")
    # Indexed by the unique (call, protocol) below.
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="submissions", db_index=False)
    protocol = models.PositiveIntegerField(_("protocol number"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    snapshot = models.JSONField(_("snapshot"))
    digest = models.CharField(_("SHA-256 digest"), max_length=64)
    requested_amount = models.DecimalField(_("requested amount (EUR)"), null=True, blank=True, **MONEY)
    eligibility = models.JSONField(_("eligibility results"), default=list)
    needs_review = models.BooleanField(_("to be checked by staff"), default=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["call", "protocol"]
        constraints = [
            models.UniqueConstraint(fields=["call", "protocol"], name="calls_submission_unique_protocol"),
            models.UniqueConstraint(
                fields=["application"], condition=models.Q(withdrawn_at__isnull=True),
                name="calls_submission_one_current_per_application",
            ),
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                name="calls_submission_unique_idempotency_key",
            ),
        ]
        indexes = [
            # First-come positions subtract the (few) withdrawn submissions numbered before a receipt.
            models.Index(fields=["call", "protocol"], condition=models.Q(withdrawn_at__isnull=False),
                         name="calls_submission_withdrawn_idx"),
        ]

    def __str__(self):
        return self.protocol_label

    @property
    def protocol_label(self) -> str:
        return self.format_protocol(self.call.code, self.protocol)

    @staticmethod
    def format_protocol(call_code: str, protocol: int | None) -> str:
        """The protocol as printed on receipts: call code / six-digit number."""
        return f"{call_code}/{protocol:06d}" if protocol else "—"


