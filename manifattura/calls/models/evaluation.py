"""After the close: admissibility, commission and reviews, rankings, appeals, awards, concessions."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from manifattura.calls.enums_evaluation import (
    Admissibility,
    AppealStatus,
    AwardStatus,
    CommissionRole,
    IntegrationStatus,
    RankingKind,
)
from manifattura.calls.models.submissions import MONEY, SCORE, Application, Call, Criterion, private_storage

__all__ = [
    "AdmissibilityDecision", "IntegrationRequest", "IntegrationDocument", "CommissionMember",
    "ConflictDeclaration", "ReviewAssignment", "Score", "FinalScore", "Ranking", "RankingEntry",
    "Appeal", "AppealFile", "SpacePreference", "Award", "Concession",
]


class AdmissibilityDecision(models.Model):
    """A staff decision on a submitted application; the latest one counts, all are kept."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="admissibility_decisions")
    decision = models.CharField(_("decision"), max_length=14, choices=Admissibility.choices)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("admissibility decision")
        verbose_name_plural = _("admissibility decisions")
        ordering = ["application", "decided_at", "id"]

    def __str__(self):
        return f"{self.application_id}: {self.get_decision_display()}"


class IntegrationRequest(models.Model):
    """Soccorso istruttorio: named missing documents the applicant must upload by a deadline."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="integration_requests")
    items = models.JSONField(_("documents requested"), default=list)
    message = models.TextField(_("message"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=10, choices=IntegrationStatus.choices, default=IntegrationStatus.OPEN
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("request for integration")
        verbose_name_plural = _("requests for integration")
        ordering = ["requested_at", "id"]

    def __str__(self):
        return f"{self.application_id}: {', '.join(self.items)}"


def integration_upload_path(instance, filename):
    import uuid

    return f"integrations/{instance.request_id}/{uuid.uuid4().hex}"


class IntegrationDocument(models.Model):
    request = models.ForeignKey(IntegrationRequest, on_delete=models.CASCADE, related_name="documents")
    item = models.CharField(_("document"), max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(storage=private_storage, upload_to=integration_upload_path, max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("integration document")
        verbose_name_plural = _("integration documents")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"{self.item}: {self.original_name}"


class CommissionMember(models.Model):
    """A person appointed to the call's evaluation commission."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="commission")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commissions")
    role = models.CharField(_("role"), max_length=10, choices=CommissionRole.choices, default=CommissionRole.MEMBER)
    appointed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointed_at = models.DateTimeField(_("appointed at"))

    class Meta:
        verbose_name = _("commission member")
        verbose_name_plural = _("commission members")
        ordering = ["call", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "user"], name="calls_commission_unique_member"),
            models.UniqueConstraint(
                fields=["call"], condition=models.Q(role="president"), name="calls_commission_one_president"
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class ConflictDeclaration(models.Model):
    """A member's declaration, per application: no conflict, or a conflict that excludes them."""

    member = models.ForeignKey(CommissionMember, on_delete=models.CASCADE, related_name="declarations")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="conflict_declarations")
    has_conflict = models.BooleanField(_("conflict of interest"))
    note = models.TextField(_("note"), blank=True)
    declared_at = models.DateTimeField(_("declared at"))

    class Meta:
        verbose_name = _("conflict-of-interest declaration")
        verbose_name_plural = _("conflict-of-interest declarations")
        constraints = [
            models.UniqueConstraint(fields=["member", "application"], name="calls_conflict_unique_declaration")
        ]

    def __str__(self):
        return f"{self.member} / {self.application_id}: {'conflict' if self.has_conflict else 'no conflict'}"


class ReviewAssignment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="review_assignments")
    member = models.ForeignKey(CommissionMember, on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        ordering = ["application", "member"]
        constraints = [
            models.UniqueConstraint(fields=["application", "member"], name="calls_assignment_unique")
        ]

    def __str__(self):
        return f"{self.member} → {self.application_id}"


class Score(models.Model):
    """A reviewer's score for one criterion of one application (changes kept in history)."""

    assignment = models.ForeignKey(ReviewAssignment, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("points"), validators=[MinValueValidator(0)], **SCORE)
    comment = models.TextField(_("comment"), blank=True)
    updated_at = models.DateTimeField(_("updated"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [models.UniqueConstraint(fields=["assignment", "criterion"], name="calls_score_unique")]

    def __str__(self):
        return f"{self.criterion.code}: {self.points}"


class FinalScore(models.Model):
    """The commission's score per criterion: mean/median of the reviewers', or consensus with minutes."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="final_scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("points"), validators=[MinValueValidator(0)], **SCORE)
    method = models.CharField(_("method"), max_length=10)
    minutes = models.TextField(_("minutes"), blank=True)
    comment = models.TextField(_("commission's comment"), blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(_("set at"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("final score")
        verbose_name_plural = _("final scores")
        constraints = [
            models.UniqueConstraint(fields=["application", "criterion"], name="calls_finalscore_unique")
        ]

    def __str__(self):
        return f"{self.application_id} {self.criterion.code}: {self.points}"


class Ranking(models.Model):
    """A published ranking (graduatoria), provisional or final, with the digest of its inputs."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="rankings")
    kind = models.CharField(_("kind"), max_length=12, choices=RankingKind.choices)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seed = models.CharField(_("draw seed"), max_length=128, blank=True)
    inputs_digest = models.CharField(_("SHA-256 of the inputs"), max_length=64)
    csv = models.TextField(_("published CSV"))
    changes = models.JSONField(_("changes from the provisional ranking"), default=list, blank=True)

    class Meta:
        verbose_name = _("ranking")
        verbose_name_plural = _("rankings")
        ordering = ["call", "published_at"]
        constraints = [models.UniqueConstraint(fields=["call", "kind"], name="calls_ranking_one_per_kind")]

    def __str__(self):
        return f"{self.call.code} — {self.get_kind_display()}"


class RankingEntry(models.Model):
    ranking = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="entries")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="ranking_entries")
    order = models.PositiveIntegerField(_("order"))
    position = models.PositiveIntegerField(_("position"), null=True, blank=True)
    protocol = models.PositiveIntegerField(_("protocol number"))
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=4)
    fit = models.BooleanField(_("fit"))
    tie_break = models.CharField(_("tie-break used"), max_length=80, blank=True)
    draw_key = models.CharField(_("draw key"), max_length=64)
    scores = models.JSONField(_("scores per criterion"), default=dict)

    class Meta:
        verbose_name = _("ranking entry")
        verbose_name_plural = _("ranking entries")
        ordering = ["ranking", "order"]
        constraints = [
            models.UniqueConstraint(fields=["ranking", "order"], name="calls_rankingentry_unique_order"),
            models.UniqueConstraint(fields=["ranking", "application"], name="calls_rankingentry_unique_application"),
        ]

    def __str__(self):
        return f"{self.position or '—'}: {self.protocol}"


class Appeal(models.Model):
    """A request to re-examine, filed in the appeal window after the provisional ranking."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="appeals")
    ranking = models.ForeignKey(Ranking, on_delete=models.PROTECT, related_name="appeals")
    text = models.TextField(_("grounds of the appeal"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(_("filed at"))
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.FILED)
    decision = models.TextField(_("decision and reasons"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["filed_at", "id"]

    def __str__(self):
        return f"{self.application_id}: {self.get_status_display()}"


def appeal_upload_path(instance, filename):
    import uuid

    return f"appeals/{instance.appeal_id}/{uuid.uuid4().hex}"


class AppealFile(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="files")
    original_name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(storage=private_storage, upload_to=appeal_upload_path, max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("appeal file")
        verbose_name_plural = _("appeal files")

    def __str__(self):
        return self.original_name


class SpacePreference(models.Model):
    """A winner's ranked preference among the spaces a call offers (1 = most preferred)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="space_preferences")
    space = models.ForeignKey("places.Space", on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField(_("preference"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("space preference")
        verbose_name_plural = _("space preferences")
        ordering = ["application", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["application", "space"], name="calls_preference_unique_space"),
            models.UniqueConstraint(fields=["application", "rank"], name="calls_preference_unique_rank"),
        ]

    def __str__(self):
        return f"{self.application_id}: {self.rank}. {self.space_id}"


class Award(models.Model):
    """What allocation gives an applicant (a space or a grant), to accept by a deadline."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="awards")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="awards")
    space = models.ForeignKey("places.Space", null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    amount = models.DecimalField(_("grant amount (EUR)"), null=True, blank=True, **MONEY)
    partial = models.BooleanField(_("partly funded"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=AwardStatus.choices, default=AwardStatus.OFFERED)
    by_advance = models.BooleanField(_("by scorrimento"), default=False)
    offered_at = models.DateTimeField(_("offered at"))
    respond_by = models.DateTimeField(_("accept by"))
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        ordering = ["call", "offered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["space"], condition=models.Q(status__in=["offered", "accepted"]),
                name="calls_award_space_once",
            ),
            models.UniqueConstraint(
                fields=["application"], condition=models.Q(status__in=["offered", "accepted"]),
                name="calls_award_one_live_per_application",
            ),
        ]

    def __str__(self):
        return f"{self.call.code}: {self.application_id} ({self.get_status_display()})"


class Concession(models.Model):
    """The right of an organization to occupy a space for a term (from an accepted award)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="concessions")
    space = models.ForeignKey("places.Space", on_delete=models.PROTECT, related_name="concessions")
    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="concession")
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    monthly_fee = models.DecimalField(_("monthly fee (EUR)"), **MONEY)
    created_at = models.DateTimeField(_("created"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("concession")
        verbose_name_plural = _("concessions")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gt=models.F("starts_on")), name="calls_concession_term"),
        ]

    def __str__(self):
        return f"{self.organization} — {self.space}"
