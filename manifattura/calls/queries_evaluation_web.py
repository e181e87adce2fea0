"""Reads of the evaluation web pages with fixed query counts, and what a reviewer may read of an application.

Lists filter with the same visibility querysets the permissions use (``rules.visible_*``); every
annotation is a subquery, so a list costs the same number of queries whatever its length.
"""

import re

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from manifattura.calls import evaluation
from manifattura.calls import rules as calls_rules
from manifattura.calls.enums_evaluation import Admissibility, AppealStatus, IntegrationStatus
from manifattura.calls.models import (
    AdmissibilityDecision,
    Appeal,
    Application,
    ApplicationFile,
    Award,
    Call,
    CommissionMember,
    ConflictDeclaration,
    FinalScore,
    IntegrationRequest,
    ReviewAssignment,
    Score,
)

PENDING = "pending"  # no admissibility decision yet (a filter value, not a stored state)


def _count(queryset, field: str = "pk"):
    """A correlated ``COUNT`` subquery (several counts on one row without multiplying joins)."""
    return Coalesce(
        Subquery(queryset.order_by().values(field).annotate(n=Count("pk")).values("n")[:1],
                 output_field=IntegerField()),
        Value(0),
    )


def _latest_decision():
    return AdmissibilityDecision.objects.filter(application=OuterRef("pk")).order_by("-decided_at", "-id")


def with_admissibility(applications):
    """Annotate the latest admissibility decision and its reason (None: not decided yet)."""
    latest = _latest_decision()
    return applications.annotate(
        admissibility=Subquery(latest.values("decision")[:1]),
        admissibility_reason=Subquery(latest.values("reason")[:1]),
    )


def evaluation_counts(call: Call) -> dict:
    """The dashboard's figures: admissibility, integration, reviews, final scores, appeals, awards."""
    applications = with_admissibility(evaluation.submitted_applications(call))
    counts = applications.aggregate(
        submitted=Count("id"),
        admitted=Count("id", filter=Q(admissibility=Admissibility.ADMITTED)),
        not_admitted=Count("id", filter=Q(admissibility=Admissibility.NOT_ADMITTED)),
        integration=Count("id", filter=Q(admissibility=Admissibility.INTEGRATION)),
        pending=Count("id", filter=Q(admissibility__isnull=True)),
        needs_review=Count("id", filter=Q(current_submission__needs_review=True)),
    )
    counts["integration_open"] = IntegrationRequest.objects.filter(
        application__call=call, status=IntegrationStatus.OPEN).count()
    counts.update(ReviewAssignment.objects.filter(application__call=call).aggregate(
        assignments=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False))))
    counts["reviews_percent"] = round(100 * counts["completed"] / counts["assignments"]) if counts["assignments"] else 0
    counts["final_scored"] = (FinalScore.objects.filter(application__call=call)
                              .values("application_id").distinct().count())
    counts.update(Appeal.objects.filter(application__call=call).aggregate(
        appeals=Count("id"), appeals_open=Count("id", filter=Q(status=AppealStatus.FILED))))
    counts.update(Award.objects.filter(call=call).aggregate(
        awards=Count("id"), awards_offered=Count("id", filter=Q(status="offered")),
        awards_accepted=Count("id", filter=Q(status="accepted"))))
    return counts


def applications_for_evaluation(call: Call, *, admissibility: str = ""):
    """Submitted applications for staff, protocol order, with admissibility, integration and review state."""
    applications = with_admissibility(evaluation.submitted_applications(call)).select_related(
        "organization", "current_submission",
    ).annotate(
        assignment_count=_count(ReviewAssignment.objects.filter(application=OuterRef("pk")), "application"),
        completed_count=_count(ReviewAssignment.objects.filter(application=OuterRef("pk"), completed_at__isnull=False),
                               "application"),
        final_score_count=_count(FinalScore.objects.filter(application=OuterRef("pk")), "application"),
        open_appeals=_count(Appeal.objects.filter(application=OuterRef("pk"), status=AppealStatus.FILED),
                            "application"),
    ).prefetch_related(
        Prefetch("integration_requests", queryset=IntegrationRequest.objects.prefetch_related("documents")
                 .order_by("requested_at", "id")),
    ).order_by("current_submission__protocol", "id")
    if admissibility == PENDING:
        applications = applications.filter(admissibility__isnull=True)
    elif admissibility in Admissibility.values:
        applications = applications.filter(admissibility=admissibility)
    return applications


def commission_progress(call: Call):
    """The commission with each member's load: assigned, completed, conflicts declared."""
    return CommissionMember.objects.filter(call=call).select_related("user").annotate(
        assigned=_count(ReviewAssignment.objects.filter(member=OuterRef("pk")), "member"),
        completed=_count(ReviewAssignment.objects.filter(member=OuterRef("pk"), completed_at__isnull=False), "member"),
        conflicts=_count(ConflictDeclaration.objects.filter(member=OuterRef("pk"), has_conflict=True), "member"),
    ).order_by("role", "user__last_name", "user__email")


def short_of_reviewers(call: Call) -> list[int]:
    """Protocols of admitted applications with fewer reviewers than the call asks for."""
    return list(
        evaluation.admitted_applications(call)
        .annotate(n=_count(ReviewAssignment.objects.filter(application=OuterRef("pk")), "application"))
        .filter(n__lt=call.reviewers_per_application)
        .order_by("current_submission__protocol")
        .values_list("current_submission__protocol", flat=True)
    )


def review_list(user, call: Call):
    """The applications ``user`` may see as evaluator, with their own assignment, declaration and scores.

    Same queryset as the permission (``visible_applications_for_review``): a conflicted member's
    applications are not in it.
    """
    mine = ReviewAssignment.objects.filter(application=OuterRef("pk"), member__user=user)
    declaration = ConflictDeclaration.objects.filter(application=OuterRef("pk"), member__user=user)
    return (
        calls_rules.visible_applications_for_review(user, call)
        .select_related("current_submission")
        .annotate(
            assigned_to_me=Exists(mine),
            declared=Exists(declaration),
            my_scores=_count(Score.objects.filter(assignment__application=OuterRef("pk"), assignment__member__user=user),
                             "assignment__application"),
            my_completed=Exists(mine.filter(completed_at__isnull=False)),
        )
        .order_by("-assigned_to_me", "current_submission__protocol", "id")
    )


def assignments_progress(user, call: Call):
    """Who scored what: every assignment of the applications ``user`` may see, with its score count."""
    visible = calls_rules.visible_applications_for_review(user, call)
    return (
        ReviewAssignment.objects.filter(application__in=visible)
        .select_related("member__user", "application__current_submission")
        .annotate(scored=_count(Score.objects.filter(assignment=OuterRef("pk")), "assignment"))
        .order_by("application__current_submission__protocol", "member__user__last_name", "member_id")
    )


def appeals_of_call(call: Call):
    return (Appeal.objects.filter(application__call=call)
            .select_related("application__organization", "application__current_submission", "decided_by")
            .prefetch_related("files").order_by("status", "filed_at", "id"))


def awards_of_call(call: Call):
    return (Award.objects.filter(call=call)
            .select_related("application__organization", "application__current_submission", "space__site")
            .order_by("offered_at", "id"))


# --- what a reviewer may read ------------------------------------------------------------------------

def application_label(application: Application) -> str:
    """A neutral name for an application (anonymous review): its protocol number only."""
    submission = application.current_submission
    if submission and submission.protocol:
        return _("Application #%(protocol)s") % {"protocol": submission.protocol}
    return _("Application #%(id)s") % {"id": application.pk}


def neutral_file_name(number: int, name: str) -> str:
    """``document-<n>.<ext>``: the original name may identify the applicant."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""
    extension = extension if re.fullmatch(r"[a-z0-9]{1,5}", extension) else "bin"
    return f"document-{number}.{extension}"


def snapshot_files(snapshot: dict) -> list[dict]:
    """The files of a submission in the order of the form, numbered from 1."""
    files = []
    for answer in snapshot.get("answers", []):
        if answer.get("kind") == "file" and isinstance(answer.get("value"), list):
            for item in answer["value"]:
                if isinstance(item, dict) and "id" in item:
                    files.append({**item, "number": len(files) + 1})
    return files


def review_file_name(user, stored: ApplicationFile) -> str | None:
    """The name under which ``user`` (staff or a commission member) downloads a file of an application.

    The original name to whoever may see who applied (``calls.see_identity``); otherwise the neutral
    ``document-<n>.<ext>``, n being the file's place among the submitted files, as the review pages number
    them. None for a file that is not part of the submitted application (an earlier or replaced upload):
    only staff may download those. ``stored`` comes with its application's call and current submission.
    """
    application = stored.application
    submission = application.current_submission
    number = next((f["number"] for f in snapshot_files(submission.snapshot) if f["id"] == stored.pk),
                  None) if submission else None
    if number is None and not calls_rules.is_staff(user):
        return None
    if user.has_perm("calls.see_identity", application):
        return stored.original_name
    return neutral_file_name(number or 0, stored.original_name)


def identity_terms(application: Application, snapshot: dict) -> list[str]:
    """Strings that would identify the applicant in free text: name, VAT, tax code, addresses, people."""
    org = snapshot.get("organization") or {}
    terms = [org.get(key) for key in ("legal_name", "vat_number", "tax_code", "address", "operating_address")]
    organization = application.organization
    terms += [organization.legal_name, organization.vat_number, organization.tax_code,
              organization.email, organization.pec, organization.website]
    for membership in organization.memberships.select_related("user"):
        person = membership.user
        terms += [person.email, person.get_full_name()]
    words = {str(t).strip() for t in terms if t and len(str(t).strip()) >= 4}
    return sorted(words, key=len, reverse=True)


def redact(text, terms: list[str]):
    if not terms or not isinstance(text, str):
        return text
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    return pattern.sub("[…]", text)


def review_snapshot(application: Application, *, anonymous: bool) -> dict:
    """The submitted answers as a reviewer reads them.

    Anonymous review: no organization block, files named ``document-<n>.<ext>``, and the applicant's
    name, VAT number, tax code, addresses and people masked wherever they were typed in the answers.
    """
    snapshot = application.current_submission.snapshot if application.current_submission else {}
    terms = identity_terms(application, snapshot) if anonymous else []
    numbers = {f["id"]: f["number"] for f in snapshot_files(snapshot)}
    answers = []
    for answer in snapshot.get("answers", []):
        item = {"section": answer.get("section", ""), "label": answer.get("label", ""), "kind": answer.get("kind"),
                "value": answer.get("value"), "files": []}
        if item["kind"] == "file":
            for stored in item["value"] or []:
                if not isinstance(stored, dict):
                    continue
                number = numbers.get(stored.get("id"), 0)
                item["files"].append({
                    "id": stored.get("id"), "size": stored.get("size"), "number": number,
                    "name": neutral_file_name(number, stored.get("name", "")) if anonymous else stored.get("name", ""),
                })
            item["value"] = None
        elif anonymous:
            value = item["value"]
            item["value"] = [redact(v, terms) for v in value] if isinstance(value, list) else redact(value, terms)
        answers.append(item)
    return {"organization": None if anonymous else snapshot.get("organization"), "answers": answers}
