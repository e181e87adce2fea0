from django.db import models
from django.utils.translation import gettext_lazy as _


class CallStage(models.TextChoices):
    """Where a closed call's evaluation stands (set by domain functions, in this order)."""

    SUBMISSIONS = "submissions", _("Taking applications")
    ADMISSIBILITY = "admissibility", _("Admissibility check")
    REVIEW = "review", _("Commission review")
    PROVISIONAL = "provisional", _("Provisional ranking published")
    FINAL = "final", _("Final ranking published")
    ALLOCATION = "allocation", _("Allocation")
    CONCLUDED = "concluded", _("Concluded")


STAGE_TRANSITIONS: dict[str, set[str]] = {
    CallStage.SUBMISSIONS: {CallStage.ADMISSIBILITY},
    CallStage.ADMISSIBILITY: {CallStage.REVIEW},
    CallStage.REVIEW: {CallStage.PROVISIONAL},
    CallStage.PROVISIONAL: {CallStage.FINAL},
    CallStage.FINAL: {CallStage.ALLOCATION},
    CallStage.ALLOCATION: {CallStage.CONCLUDED},
    CallStage.CONCLUDED: set(),
}


class Admissibility(models.TextChoices):
    ADMITTED = "admitted", _("Admitted")
    NOT_ADMITTED = "not_admitted", _("Not admitted")
    INTEGRATION = "integration", _("Request for integration (soccorso istruttorio)")


class IntegrationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the applicant")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired without answer")


class CommissionRole(models.TextChoices):
    PRESIDENT = "president", _("President")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")


class ScoreAggregation(models.TextChoices):
    MEAN = "mean", _("Mean of the reviewers' scores")
    MEDIAN = "median", _("Median of the reviewers' scores")
    CONSENSUS = "consensus", _("Consensus value entered with minutes")


class RankingKind(models.TextChoices):
    PROVISIONAL = "provisional", _("Provisional")
    FINAL = "final", _("Final")


class AppealStatus(models.TextChoices):
    FILED = "filed", _("Filed")
    REJECTED = "rejected", _("Rejected")
    ACCEPTED = "accepted", _("Accepted (re-scored)")


class AwardStatus(models.TextChoices):
    OFFERED = "offered", _("Offered, waiting for acceptance")
    ACCEPTED = "accepted", _("Accepted")
    RENOUNCED = "renounced", _("Renounced")
    EXPIRED = "expired", _("Acceptance deadline missed")


AWARD_TRANSITIONS: dict[str, set[str]] = {
    AwardStatus.OFFERED: {AwardStatus.ACCEPTED, AwardStatus.RENOUNCED, AwardStatus.EXPIRED},
    AwardStatus.ACCEPTED: set(),
    AwardStatus.RENOUNCED: set(),
    AwardStatus.EXPIRED: set(),
}


class GrantLastRule(models.TextChoices):
    PARTIAL = "partial", _("The last one is partly funded")
    SKIP = "skip", _("Requests that do not fit whole are skipped")
