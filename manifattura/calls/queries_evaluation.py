"""Reads of the evaluation API with fixed query counts (rankings, progress, commission, reviews, outcomes).

Lists start from the visibility querysets of ``calls.rules`` (or restrict as strictly) and only add
joins, prefetches and annotations here, so a page costs the same number of queries whatever its length.
Counts are subqueries, never joins that would multiply rows.
"""

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from manifattura.calls import evaluation
from manifattura.calls import rules as calls_rules
from manifattura.calls.enums import ApplicationStatus
from manifattura.calls.enums_evaluation import Admissibility, IntegrationStatus
from manifattura.calls.models import (
    AdmissibilityDecision,
    Appeal,
    AppealFile,
    Application,
    Award,
    Call,
    CommissionMember,
    ConflictDeclaration,
    FinalScore,
    IntegrationRequest,
    Ranking,
    RankingEntry,
    ReviewAssignment,
    Score,
    SpacePreference,
)


def _count(queryset, field: str):
    return Coalesce(
        Subquery(queryset.order_by().values(field).annotate(n=Count("pk")).values("n")[:1],
                 output_field=IntegerField()),
        Value(0),
    )


# --- rankings ------------------------------------------------------------------------------------

def rankings_of(call: Call):
    return Ranking.objects.filter(call=call).select_related("call").order_by("published_at", "id")


def ranking_entries(ranking: Ranking) -> list[RankingEntry]:
    return list(ranking.entries.select_related("application__organization").order_by("order"))


# --- commission and progress ---------------------------------------------------------------------

def commission_of(call: Call):
    return CommissionMember.objects.filter(call=call).select_related("user").annotate(
        assigned=_count(ReviewAssignment.objects.filter(member=OuterRef("pk")), "member"),
        completed=_count(ReviewAssignment.objects.filter(member=OuterRef("pk"), completed_at__isnull=False), "member"),
        conflicts=_count(ConflictDeclaration.objects.filter(member=OuterRef("pk"), has_conflict=True), "member"),
    ).order_by("role", "id")


def progress(call: Call) -> dict:
    latest = AdmissibilityDecision.objects.filter(application=OuterRef("pk")).order_by("-decided_at", "-id")
    applications = evaluation.submitted_applications(call).annotate(
        admissibility=Subquery(latest.values("decision")[:1])).aggregate(
        submitted=Count("id"),
        admitted=Count("id", filter=Q(admissibility=Admissibility.ADMITTED)),
        not_admitted=Count("id", filter=Q(admissibility=Admissibility.NOT_ADMITTED)),
        integration=Count("id", filter=Q(admissibility=Admissibility.INTEGRATION)),
        undecided=Count("id", filter=Q(admissibility__isnull=True)),
    )
    assignments = ReviewAssignment.objects.filter(application__call=call).aggregate(
        total=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False)))
    criteria = call.criteria.count()
    complete = (FinalScore.objects.filter(application__call=call).values("application_id")
                .annotate(n=Count("id")).filter(n__gte=criteria).count()) if criteria else 0
    appeals = dict(Appeal.objects.filter(application__call=call).order_by().values_list("status")
                   .annotate(n=Count("id")))
    awards = dict(Award.objects.filter(call=call).order_by().values_list("status").annotate(n=Count("id")))
    return {
        "code": call.code, "stage": call.stage, "applications": applications, "assignments": assignments,
        "reviewers": list(commission_of(call)), "final_scores_complete": complete,
        "draw_seed_published_at": call.draw_seed_published_at,
        "rankings": list(call.rankings.order_by("published_at").values_list("kind", flat=True)),
        "appeals": appeals, "awards": awards,
    }


# --- staff: applications after the close -----------------------------------------------------------

def applications_for_staff():
    latest = AdmissibilityDecision.objects.filter(application=OuterRef("pk")).order_by("-decided_at", "-id")
    return (
        Application.objects.filter(status=ApplicationStatus.SUBMITTED, current_submission__isnull=False)
        .select_related("call", "organization", "current_submission__call")
        .annotate(
            admissibility=Subquery(latest.values("decision")[:1]),
            admissibility_reason=Subquery(latest.values("reason")[:1]),
            admissibility_at=Subquery(latest.values("decided_at")[:1]),
            integration_open=Exists(IntegrationRequest.objects.filter(application=OuterRef("pk"),
                                                                      status=IntegrationStatus.OPEN)),
            reviewers=_count(ReviewAssignment.objects.filter(application=OuterRef("pk")), "application"),
            final_score_count=_count(FinalScore.objects.filter(application=OuterRef("pk")), "application"),
        )
        .order_by("call_id", "current_submission__protocol", "id")
    )


def _detail_prefetches(queryset):
    return queryset.prefetch_related(
        Prefetch("admissibility_decisions",
                 queryset=AdmissibilityDecision.objects.select_related("decided_by").order_by("decided_at", "id")),
        Prefetch("integration_requests",
                 queryset=IntegrationRequest.objects.prefetch_related("documents").order_by("requested_at", "id")),
        Prefetch("conflict_declarations", queryset=ConflictDeclaration.objects.select_related("member__user")),
        Prefetch("review_assignments", queryset=ReviewAssignment.objects.select_related("member__user")
                 .prefetch_related(Prefetch("scores", queryset=Score.objects.select_related("criterion")))
                 .order_by("id")),
        Prefetch("final_scores", queryset=FinalScore.objects.select_related("criterion")),
        "call__criteria",
    )


def application_for_staff(pk: int, user) -> Application | None:
    """One application for the staff views; the commission's president finds it too (to set consensus
    scores, then refused elsewhere by the rules); anybody else does not."""
    applications = applications_for_staff()
    if not calls_rules.is_staff(user):
        presided = CommissionMember.objects.filter(user=user, role="president").values("call_id")
        applications = applications.filter(call_id__in=presided)
    return _detail_prefetches(applications).filter(pk=pk).first()


# --- the commission ------------------------------------------------------------------------------

def _with_my_declaration(applications, user):
    mine = ConflictDeclaration.objects.filter(application=OuterRef("pk"), member__user=user)
    return applications.annotate(
        my_conflict=Subquery(mine.values("has_conflict")[:1]),
        my_note=Subquery(mine.values("note")[:1]),
        my_declared_at=Subquery(mine.values("declared_at")[:1]),
        assigned_to_me=Exists(ReviewAssignment.objects.filter(application=OuterRef("pk"), member__user=user)),
    )


def applications_for_commission(user, visible):
    return (_with_my_declaration(visible, user)
            .select_related("call", "organization", "current_submission__call")
            .order_by("current_submission__protocol", "id"))


def commission_application(pk: int, user) -> Application | None:
    """An application of a call the user sits on the commission of (staff: any submitted one).

    Conflicted members find it, so they are told 403 by the rules rather than 404; others do not.
    """
    applications = Application.objects.filter(status=ApplicationStatus.SUBMITTED, current_submission__isnull=False)
    if not calls_rules.is_staff(user):
        applications = applications.filter(call_id__in=CommissionMember.objects.filter(user=user).values("call_id"))
    return _detail_prefetches(applications_for_commission(user, applications)).filter(pk=pk).first()


def assignments_of(user):
    if not (user and user.is_authenticated):
        return ReviewAssignment.objects.none()
    conflicted = ConflictDeclaration.objects.filter(member=OuterRef("member"), application=OuterRef("application"),
                                                    has_conflict=True)
    return (
        ReviewAssignment.objects.filter(member__user=user)
        .exclude(Exists(conflicted))
        .select_related("member__user", "application__call", "application__organization",
                        "application__current_submission__call")
        .annotate(scored=_count(Score.objects.filter(assignment=OuterRef("pk")), "assignment"))
        .prefetch_related("application__call__criteria")
        .order_by("application__call_id", "application__current_submission__protocol", "id")
    )


def assignment_for_review(pk: int, user) -> ReviewAssignment | None:
    return assignments_of(user).prefetch_related(
        Prefetch("scores", queryset=Score.objects.select_related("criterion"))).filter(pk=pk).first()


# --- appeals -------------------------------------------------------------------------------------

def appeals_visible(user):
    """Staff: every appeal. The commission's president: their calls' appeals, except where conflicted."""
    appeals = Appeal.objects.select_related(
        "application__call", "application__organization", "application__current_submission__call", "decided_by",
    ).prefetch_related(Prefetch("files", queryset=AppealFile.objects.order_by("id"))).order_by("filed_at", "id")
    if calls_rules.is_staff(user):
        return appeals
    if not (user and user.is_authenticated):
        return appeals.none()
    presided = CommissionMember.objects.filter(user=user, role="president").values("call_id")
    conflicted = ConflictDeclaration.objects.filter(member__user=user, has_conflict=True).values("application_id")
    return appeals.filter(application__call_id__in=presided).exclude(application_id__in=conflicted)


# --- applicants ----------------------------------------------------------------------------------

def outcome_application(pk: int, visible) -> Application | None:
    return (
        visible.filter(pk=pk)
        .select_related("call", "organization", "current_submission__call")
        .prefetch_related(
            Prefetch("admissibility_decisions", queryset=AdmissibilityDecision.objects.order_by("decided_at", "id")),
            Prefetch("integration_requests",
                     queryset=IntegrationRequest.objects.prefetch_related("documents").order_by("requested_at", "id")),
            Prefetch("call__rankings", queryset=Ranking.objects.order_by("published_at", "id")),
            "ranking_entries",
            Prefetch("awards", queryset=Award.objects.select_related("space__site", "concession").order_by(
                "offered_at", "id")),
            Prefetch("space_preferences", queryset=SpacePreference.objects.order_by("rank")),
            "final_scores",
            Prefetch("review_assignments", queryset=ReviewAssignment.objects.prefetch_related("scores").order_by("id")),
            "call__criteria",
            Prefetch("appeals", queryset=Appeal.objects.prefetch_related("files").order_by("filed_at", "id")),
        )
        .first()
    )


def awards_visible(applications):
    return (Award.objects.filter(application__in=applications)
            .select_related("call", "application__organization", "application__current_submission__call",
                            "space__site", "concession")
            .order_by("offered_at", "id"))
