"""Every write after a call closes: admissibility, commission, reviews, rankings, appeals, allocation.

Same conventions as ``calls.domain``: keyword-only functions named ``<entity>_<verb>``, each one
transaction, each writing its audit entry, emails recorded in the outbox and sent after commit.
"""

import datetime as dt
import hashlib
import json
import statistics
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manifattura.calls import allocation as alloc
from manifattura.calls import ranking as rk
from manifattura.calls.assignment import assign_reviewers
from manifattura.calls.domain import NotEditable, call_phase
from manifattura.calls.enums import ApplicationStatus, CallKind, CallPhase
from manifattura.calls.enums_evaluation import (
    AWARD_TRANSITIONS,
    STAGE_TRANSITIONS,
    Admissibility,
    AppealStatus,
    AwardStatus,
    CallStage,
    CommissionRole,
    IntegrationStatus,
    RankingKind,
    ScoreAggregation,
)
from manifattura.calls.files import check_upload
from manifattura.calls.models import (
    AdmissibilityDecision,
    Appeal,
    AppealFile,
    Application,
    Award,
    Call,
    CommissionMember,
    Concession,
    ConflictDeclaration,
    Criterion,
    FinalScore,
    IntegrationDocument,
    IntegrationRequest,
    Ranking,
    RankingEntry,
    ReviewAssignment,
    Score,
    SpacePreference,
)
from manifattura.core import clock
from manifattura.core.audit import audit_record
from manifattura.core.notify import send_email

CENT = Decimal("0.01")
APPEAL_RESCORE = "appeal"  # the method of a final score changed by an accepted appeal
INTEGRATION_FILE_TYPES = ("pdf", "png", "jpg", "jpeg")


def _members_emails(application: Application) -> list[str]:
    return [m.user.email for m in application.organization.memberships.select_related("user")]


def _notify_applicant(application: Application, *, subject, template: str, context: dict) -> None:
    send_email(
        to=_members_emails(application), subject=subject, template=template,
        context={"call": application.call.code, "title": application.call.title,
                 "organization": str(application.organization), **context},
    )


def _stage(call: Call, to: str) -> None:
    """Move the call's evaluation stage forward (idempotent when already there)."""
    if call.stage == to:
        return
    if to not in STAGE_TRANSITIONS.get(call.stage, set()):
        raise NotEditable(_("The call is at stage “%(stage)s”: this step is not possible now.") % {
            "stage": CallStage(call.stage).label})
    previous = call.stage
    call.stage = to
    call.save(update_fields=["stage", "updated_at"])
    audit_record(verb="call.stage", actor=None, obj=call, data={"from": previous, "to": to})


def _require_closed(call: Call) -> None:
    if call_phase(call) != CallPhase.CLOSED:
        raise NotEditable(_("The call is still taking applications: evaluation starts after the close."))


def _require_stage(call: Call, *stages) -> None:
    if call.stage not in stages:
        raise NotEditable(_("The call is at stage “%(stage)s”: this step is not possible now.") % {
            "stage": CallStage(call.stage).label})


def _require_staff(by) -> None:
    if not (by and by.is_authenticated and by.is_staff):
        raise PermissionError(_("Only programme staff may do this."))


def _require_decider(application: Application, by, refusal) -> None:
    """Staff or the call's commission president, unless they declared a conflict on the application."""
    president = CommissionMember.objects.filter(call_id=application.call_id, user=by,
                                                role=CommissionRole.PRESIDENT).exists()
    if not (by.is_staff or president):
        raise PermissionError(refusal)
    if ConflictDeclaration.objects.filter(member__user=by, application=application, has_conflict=True).exists():
        raise PermissionError(_("You declared a conflict of interest for this application."))


def _require_member_of(application: Application, by) -> None:
    if not (by and by.is_authenticated and application.organization.memberships.filter(user=by).exists()):
        raise PermissionError(_("You do not act for this organization."))


def submitted_applications(call: Call):
    return Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED, current_submission__isnull=False)


def latest_admissibility(application: Application) -> AdmissibilityDecision | None:
    return application.admissibility_decisions.order_by("-decided_at", "-id").first()


def admitted_applications(call: Call):
    """Submitted applications whose latest admissibility decision is "admitted"."""
    from django.db.models import OuterRef, Subquery

    latest = AdmissibilityDecision.objects.filter(application=OuterRef("pk")).order_by("-decided_at", "-id")
    return submitted_applications(call).annotate(
        admissibility=Subquery(latest.values("decision")[:1])
    ).filter(admissibility=Admissibility.ADMITTED)


# --- admissibility and integration (soccorso istruttorio) -----------------------------------------

@transaction.atomic
def admissibility_decide(*, application: Application, decision: str, by, reason: str = "") -> AdmissibilityDecision:
    """Admit or exclude a submitted application; excluding needs a human decision with a reason."""
    _require_staff(by)
    application = Application.objects.select_for_update(of=("self",)).select_related("call", "organization").get(
        pk=application.pk)
    call = Call.objects.select_for_update().get(pk=application.call_id)
    _require_closed(call)
    _require_stage(call, CallStage.SUBMISSIONS, CallStage.ADMISSIBILITY)
    if application.status != ApplicationStatus.SUBMITTED:
        raise NotEditable(_("Only submitted applications get an admissibility decision."))
    if decision not in (Admissibility.ADMITTED, Admissibility.NOT_ADMITTED):
        raise ValidationError({"decision": _("Use a request for integration to ask for missing documents.")})
    if decision == Admissibility.NOT_ADMITTED and not reason.strip():
        raise ValidationError({"reason": _("Write why the application is not admitted: the applicant will read it.")})
    open_request = application.integration_requests.filter(status=IntegrationStatus.OPEN).first()
    if open_request and open_request.deadline > clock.now():
        raise NotEditable(_("A request for integration is still open until its deadline."))
    _stage(call, CallStage.ADMISSIBILITY)
    made = AdmissibilityDecision.objects.create(
        application=application, decision=decision, reason=reason.strip(), decided_by=by, decided_at=clock.now()
    )
    audit_record(verb="application.admissibility", actor=by, obj=application,
                 data={"decision": decision, "reason": reason.strip()})
    _notify_applicant(application, subject=gettext_lazy("Admissibility of your application"),
                      template="calls/email/admissibility.txt",
                      context={"decision": str(Admissibility(decision).label), "reason": reason.strip()})
    return made


@transaction.atomic
def integration_request(*, application: Application, items: list[str], deadline, by, message: str = "") -> IntegrationRequest:
    """Ask the applicant for named missing documents by a deadline (soccorso istruttorio)."""
    _require_staff(by)
    application = Application.objects.select_for_update(of=("self",)).select_related("call", "organization").get(
        pk=application.pk)
    call = Call.objects.select_for_update().get(pk=application.call_id)
    _require_closed(call)
    _require_stage(call, CallStage.SUBMISSIONS, CallStage.ADMISSIBILITY)
    items = [item.strip() for item in items if item and item.strip()]
    if not items:
        raise ValidationError({"items": _("Name at least one missing document.")})
    if deadline <= clock.now():
        raise ValidationError({"deadline": _("The deadline must be in the future.")})
    if application.integration_requests.filter(status=IntegrationStatus.OPEN).exists():
        raise NotEditable(_("A request for integration is already open for this application."))
    _stage(call, CallStage.ADMISSIBILITY)
    request = IntegrationRequest.objects.create(
        application=application, items=items, message=message.strip(), deadline=deadline,
        requested_by=by, requested_at=clock.now(),
    )
    AdmissibilityDecision.objects.create(
        application=application, decision=Admissibility.INTEGRATION, reason=", ".join(items),
        decided_by=by, decided_at=clock.now(),
    )
    audit_record(verb="application.integration_request", actor=by, obj=application,
                 data={"items": items, "deadline": deadline})
    _notify_applicant(application, subject=gettext_lazy("Documents requested for your application"),
                      template="calls/email/integration.txt",
                      context={"items": items, "message": message.strip(), "deadline": clock.rome_text(deadline)})
    return request


@transaction.atomic
def integration_upload(*, request: IntegrationRequest, item: str, name: str, content: bytes, by) -> IntegrationDocument:
    """The applicant uploads one of the requested documents (only those, only before the deadline)."""
    request = IntegrationRequest.objects.select_for_update().select_related("application__organization").get(pk=request.pk)
    _require_member_of(request.application, by)
    if request.status != IntegrationStatus.OPEN:
        raise NotEditable(_("This request for integration is closed."))
    if clock.now() >= request.deadline:
        raise NotEditable(_("The deadline for the requested documents has passed."))
    if item not in request.items:
        raise ValidationError({"item": _("Upload only the documents requested: %(items)s.") % {
            "items": ", ".join(request.items)}})
    checked = check_upload(name=name, content=content, allowed_types=INTEGRATION_FILE_TYPES, max_mb=20)
    document = IntegrationDocument(
        request=request, item=item, original_name=checked.name, size=checked.size, sha256=checked.sha256,
        content_type=checked.content_type, uploaded_by=by, uploaded_at=clock.now(),
    )
    document.file.save("upload", ContentFile(content), save=False)
    document.save()
    audit_record(verb="application.integration_upload", actor=by, obj=request.application,
                 data={"request": request.pk, "item": item, "sha256": checked.sha256})
    return document


@transaction.atomic
def integration_answer(*, request: IntegrationRequest, by) -> IntegrationRequest:
    """The applicant sends the answer: every requested document must be there."""
    request = IntegrationRequest.objects.select_for_update().select_related("application__organization").get(pk=request.pk)
    _require_member_of(request.application, by)
    if request.status != IntegrationStatus.OPEN:
        raise NotEditable(_("This request for integration is closed."))
    if clock.now() >= request.deadline:
        raise NotEditable(_("The deadline for the requested documents has passed."))
    uploaded = set(request.documents.values_list("item", flat=True))
    missing = [item for item in request.items if item not in uploaded]
    if missing:
        raise ValidationError({"items": _("Still missing: %(items)s.") % {"items": ", ".join(missing)}})
    request.status = IntegrationStatus.ANSWERED
    request.answered_at = clock.now()
    request.save(update_fields=["status", "answered_at"])
    audit_record(verb="application.integration_answer", actor=by, obj=request.application, data={"request": request.pk})
    return request


@transaction.atomic
def integrations_expire(*, call: Call, by=None) -> int:
    """Close open requests whose deadline has passed (staff then decide admissibility)."""
    expired = list(IntegrationRequest.objects.select_for_update().filter(
        application__call=call, status=IntegrationStatus.OPEN, deadline__lte=clock.now()))
    for request in expired:
        request.status = IntegrationStatus.EXPIRED
        request.save(update_fields=["status"])
        audit_record(verb="application.integration_expired", actor=by, obj=request.application,
                     data={"request": request.pk})
    return len(expired)


# --- commission, conflicts, assignments -----------------------------------------------------------

@transaction.atomic
def commission_appoint(*, call: Call, user, role: str, by) -> CommissionMember:
    _require_staff(by)
    if role not in CommissionRole.values:
        raise ValidationError({"role": _("Unknown commission role.")})
    if role == CommissionRole.PRESIDENT and CommissionMember.objects.filter(call=call, role=role).exists():
        raise ValidationError({"role": _("The commission already has a president.")})
    if CommissionMember.objects.filter(call=call, user=user).exists():
        raise ValidationError({"user": _("This person is already on the commission.")})
    member = CommissionMember.objects.create(call=call, user=user, role=role, appointed_by=by, appointed_at=clock.now())
    audit_record(verb="commission.appoint", actor=by, obj=call, data={"user": user.pk, "role": role})
    send_email(to=[user.email], subject=gettext_lazy("You are on an evaluation commission"),
               template="calls/email/commission.txt",
               context={"call": call.code, "title": call.title, "role": str(CommissionRole(role).label)})
    return member


def member_of(call: Call, user) -> CommissionMember | None:
    if not (user and user.is_authenticated):
        return None
    return CommissionMember.objects.filter(call=call, user=user).first()


@transaction.atomic
def conflict_declare(*, member: CommissionMember, application: Application, has_conflict: bool, by, note: str = "") -> ConflictDeclaration:
    """A member declares, per application, no conflict or a conflict of interest.

    A conflict removes the member's assignment (and any score they entered) for that application;
    the removal is recorded in the audit log.
    """
    if member.user_id != getattr(by, "pk", None):
        raise PermissionError(_("Only the member may declare their own conflicts."))
    if application.call_id != member.call_id:
        raise ValidationError({"application": _("The application belongs to another call.")})
    declaration, created = ConflictDeclaration.objects.select_for_update().get_or_create(
        member=member, application=application,
        defaults={"has_conflict": has_conflict, "note": note, "declared_at": clock.now()},
    )
    if not created:
        if declaration.has_conflict and not has_conflict:
            raise ValidationError({"has_conflict": _("A declared conflict cannot be withdrawn: ask staff.")})
        declaration.has_conflict = has_conflict
        declaration.note = note
        declaration.declared_at = clock.now()
        declaration.save(update_fields=["has_conflict", "note", "declared_at"])
    removed_scores = 0
    if has_conflict:
        assignment = ReviewAssignment.objects.filter(member=member, application=application).first()
        if assignment:
            removed_scores = assignment.scores.count()
            assignment.scores.all().delete()
            assignment.delete()
    audit_record(verb="review.conflict_declared", actor=by, obj=application,
                 data={"member": member.pk, "conflict": has_conflict, "note": note, "scores_removed": removed_scores})
    return declaration


def conflicted(member: CommissionMember, application: Application) -> bool:
    return ConflictDeclaration.objects.filter(member=member, application=application, has_conflict=True).exists()


def declared_no_conflict(member: CommissionMember, application: Application) -> bool:
    """Whether the member declared, for this application, that they have no conflict of interest."""
    return ConflictDeclaration.objects.filter(member=member, application=application, has_conflict=False).exists()


@transaction.atomic
def review_open(*, call: Call, by) -> Call:
    """End admissibility: every submitted application must have a final admit/exclude decision."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_closed(call)
    pending = [
        application for application in submitted_applications(call).prefetch_related("admissibility_decisions")
        if (lambda d: d is None or d.decision == Admissibility.INTEGRATION)(latest_admissibility(application))
    ]
    if pending:
        raise NotEditable(_("%(n)d submitted applications still need an admissibility decision.") % {"n": len(pending)})
    if not CommissionMember.objects.filter(call=call).exclude(role=CommissionRole.SECRETARY).exists():
        raise NotEditable(_("Appoint the commission first."))
    if call.stage == CallStage.SUBMISSIONS:
        _stage(call, CallStage.ADMISSIBILITY)
    _stage(call, CallStage.REVIEW)
    return call


@transaction.atomic
def reviews_assign(*, call: Call, by) -> dict:
    """Give every admitted application k reviewers, balancing load and respecting conflicts."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_stage(call, CallStage.REVIEW)
    members = list(CommissionMember.objects.filter(call=call).exclude(role=CommissionRole.SECRETARY))
    application_ids = list(admitted_applications(call).values_list("id", flat=True))
    conflicts = set(ConflictDeclaration.objects.filter(member__call=call, has_conflict=True)
                    .values_list("member_id", "application_id"))
    existing: dict[int, set[int]] = {}
    for application_id, member_id in ReviewAssignment.objects.filter(application__call=call).values_list(
            "application_id", "member_id"):
        existing.setdefault(application_id, set()).add(member_id)
    pairs, short = assign_reviewers(applications=application_ids, members=[m.pk for m in members],
                                    per_application=call.reviewers_per_application, conflicts=conflicts,
                                    existing=existing)
    now = clock.now()
    ReviewAssignment.objects.bulk_create([
        ReviewAssignment(application_id=a, member_id=m, assigned_by=by, assigned_at=now) for a, m in pairs
    ])
    audit_record(verb="review.assign", actor=by, obj=call, data={"assigned": len(pairs), "short": short})
    return {"assigned": len(pairs), "short": short}


@transaction.atomic
def review_assignment_set(*, application: Application, member: CommissionMember, assigned: bool, by) -> None:
    """Staff adjust assignments by hand; a conflicted member can never be assigned."""
    _require_staff(by)
    _require_stage(Call.objects.get(pk=application.call_id), CallStage.REVIEW)
    if assigned:
        if conflicted(member, application):
            raise ValidationError({"member": _("This member declared a conflict of interest for the application.")})
        ReviewAssignment.objects.get_or_create(
            application=application, member=member, defaults={"assigned_by": by, "assigned_at": clock.now()})
    else:
        ReviewAssignment.objects.filter(application=application, member=member).delete()
    audit_record(verb="review.assignment_set", actor=by, obj=application, data={"member": member.pk, "assigned": assigned})


@transaction.atomic
def score_set(*, assignment: ReviewAssignment, criterion: Criterion, points, by, comment: str = "") -> Score:
    """A reviewer scores one criterion within its maximum; a low score needs a comment.

    Only after declaring, for this application, no conflict of interest (every entry point: pages, API).
    """
    assignment = ReviewAssignment.objects.select_related("member", "application__call").get(pk=assignment.pk)
    call = assignment.application.call
    if assignment.member.user_id != getattr(by, "pk", None):
        raise PermissionError(_("Only the assigned reviewer may score."))
    _require_stage(call, CallStage.REVIEW)
    if conflicted(assignment.member, assignment.application):
        raise PermissionError(_("You declared a conflict of interest for this application."))
    if not declared_no_conflict(assignment.member, assignment.application):
        raise NotEditable(_("Declare first that you have no conflict of interest with this applicant."))
    if criterion.call_id != call.pk:
        raise ValidationError({"criterion": _("The criterion belongs to another call.")})
    try:
        points = Decimal(str(points)).quantize(CENT)
    except Exception:
        raise ValidationError({"points": _("Write the points as a number.")}) from None
    if points < 0 or points > criterion.max_points:
        raise ValidationError({"points": _("Score between 0 and %(max)s for “%(criterion)s”.") % {
            "max": criterion.max_points, "criterion": criterion.title}})
    threshold = criterion.max_points * call.comment_required_below / 100
    if points < threshold and not comment.strip():
        raise ValidationError({"comment": _(
            "A score below %(threshold)s needs a comment explaining it.") % {"threshold": threshold.quantize(CENT)}})
    now = clock.now()
    score, created = Score.objects.update_or_create(
        assignment=assignment, criterion=criterion,
        defaults={"points": points, "comment": comment.strip(), "updated_at": now},
    )
    if assignment.scores.count() == call.criteria.count() and not assignment.completed_at:
        ReviewAssignment.objects.filter(pk=assignment.pk).update(completed_at=now)
    audit_record(verb="review.score", actor=by, obj=assignment.application,
                 data={"criterion": criterion.code, "points": points, "created": created})
    return score


def _aggregate(values: list[Decimal], method: str) -> Decimal:
    if method == ScoreAggregation.MEDIAN:
        return Decimal(statistics.median(values)).quantize(CENT, rounding=ROUND_HALF_UP)
    return (sum(values, Decimal("0")) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def final_scores_compute(*, call: Call, by) -> dict:
    """Mean or median of the reviewers' scores per criterion (consensus calls use ``final_score_set``)."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_stage(call, CallStage.REVIEW)
    if call.score_aggregation == ScoreAggregation.CONSENSUS:
        raise NotEditable(_("This call's final scores are consensus values entered with minutes."))
    criteria = list(call.criteria.all())
    incomplete, written = [], 0
    now = clock.now()
    for application in admitted_applications(call).prefetch_related("review_assignments__scores"):
        assignments = list(application.review_assignments.all())
        per_criterion = {c.pk: [] for c in criteria}
        for assignment in assignments:
            for score in assignment.scores.all():
                per_criterion[score.criterion_id].append(score.points)
        if not assignments or any(len(v) < len(assignments) for v in per_criterion.values()):
            incomplete.append(application.pk)
            continue
        for criterion in criteria:
            FinalScore.objects.update_or_create(
                application=application, criterion=criterion,
                defaults={"points": _aggregate(per_criterion[criterion.pk], call.score_aggregation),
                          "method": call.score_aggregation, "set_by": by, "set_at": now},
            )
            written += 1
    if incomplete:
        transaction.set_rollback(True)
        raise NotEditable(_("%(n)d applications still miss reviewers' scores.") % {"n": len(incomplete)})
    audit_record(verb="review.final_scores", actor=by, obj=call, data={"scores": written})
    return {"scores": written}


@transaction.atomic
def final_score_set(*, application: Application, criterion: Criterion, points, by, minutes: str = "",
                    comment: str = "", method: str = ScoreAggregation.CONSENSUS) -> FinalScore:
    """The commission's value for a criterion (consensus, or a re-score after an accepted appeal).

    Consensus values are entered during the review, before the provisional ranking is computed from them;
    after it, scores change only through an appeal (``method="appeal"``), decided before the final ranking.
    """
    _require_decider(application, by, _("Only staff or the commission's president may set final scores."))
    call = Call.objects.select_for_update().get(pk=application.call_id)  # against a ranking being published
    if method == APPEAL_RESCORE:
        _require_stage(call, CallStage.PROVISIONAL)
    elif call.stage != CallStage.REVIEW:
        raise NotEditable(_(
            "Final scores are set during the commission's review (the call is at stage “%(stage)s”); after the "
            "provisional ranking they change only by accepting an appeal.") % {"stage": CallStage(call.stage).label})
    if method == ScoreAggregation.CONSENSUS and call.score_aggregation != ScoreAggregation.CONSENSUS:
        # The call published how its final scores are formed; the commission may not override it.
        raise NotEditable(_(
            "This call published how its final scores are formed (“%(method)s”): they are computed from the "
            "reviews, not entered by consensus.") % {"method": ScoreAggregation(call.score_aggregation).label})
    if criterion.call_id != call.pk:
        raise ValidationError({"criterion": _("“%(criterion)s” is not a criterion of this call.") % {
            "criterion": criterion.title}})
    if method == ScoreAggregation.CONSENSUS and not minutes.strip():
        raise ValidationError({"minutes": _("Record the minutes of the commission's decision.")})
    points = Decimal(str(points)).quantize(CENT)
    if points < 0 or points > criterion.max_points:
        raise ValidationError({"points": _("Score between 0 and %(max)s for “%(criterion)s”.") % {
            "max": criterion.max_points, "criterion": criterion.title}})
    previous = FinalScore.objects.filter(application=application, criterion=criterion).first()
    score, _created = FinalScore.objects.update_or_create(
        application=application, criterion=criterion,
        defaults={"points": points, "method": method, "minutes": minutes.strip(), "comment": comment.strip(),
                  "set_by": by, "set_at": clock.now()},
    )
    audit_record(verb="review.final_score_set", actor=by, obj=application, data={
        "criterion": criterion.code, "points": points, "previous": previous.points if previous else None,
        "method": method})
    return score


# --- ranking ----------------------------------------------------------------------------------------

@transaction.atomic
def draw_seed_publish(*, call: Call, seed: str, by) -> Call:
    """Fix and publish the seed of the public draw before any ranking uses it; it never changes."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.draw_seed_published_at:
        raise NotEditable(_("The draw seed was published on %(when)s and cannot change.") % {
            "when": clock.rome_text(call.draw_seed_published_at)})
    if len(seed.strip()) < 8:
        raise ValidationError({"seed": _("Use a seed of at least 8 characters (e.g. the lottery numbers of a public draw).")})
    call.draw_seed = seed.strip()
    call.draw_seed_published_at = clock.now()
    call.save(update_fields=["draw_seed", "draw_seed_published_at", "updated_at"])
    audit_record(verb="ranking.seed_published", actor=by, obj=call, data={"seed": call.draw_seed})
    return call


def tie_breaks_of(call: Call) -> list[rk.TieBreak]:
    result = []
    for item in call.tie_breaks or []:
        result.append(rk.TieBreak(item["kind"], item.get("key", ""), item.get("descending", True)))
    return result


def ranking_inputs(call: Call) -> dict:
    """Everything the ranking needs, read from the stored final scores of admitted applications."""
    criteria_rows = list(call.criteria.all())
    criteria = [rk.Criterion(c.code, c.weight, c.max_points) for c in criteria_rows]
    code_of = {c.pk: c.code for c in criteria_rows}
    applications = list(admitted_applications(call).select_related("current_submission", "organization")
                        .prefetch_related("final_scores"))
    candidates = []
    for application in applications:
        scores = {code_of[s.criterion_id]: s.points for s in application.final_scores.all()}
        attributes = {}
        for name, question_id in (call.ranking_attributes or {}).items():
            value = application.current_submission.snapshot and next(
                (a["value"] for a in application.current_submission.snapshot.get("answers", [])
                 if a["question"] == int(question_id)), None)
            attributes[name] = value
        candidates.append(rk.Candidate(id=application.pk, protocol=application.current_submission.protocol,
                                       scores=scores, attributes=attributes))
    return {"criteria": criteria, "candidates": candidates, "min_total": call.min_total_score,
            "tie_breaks": tie_breaks_of(call), "seed": call.draw_seed, "applications": applications}


def inputs_digest(inputs: dict) -> str:
    payload = {
        "criteria": [(c.code, c.weight, c.max_points) for c in inputs["criteria"]],
        "candidates": sorted((c.protocol, sorted(c.scores.items()), sorted(c.attributes.items())) for c in inputs["candidates"]),
        "min_total": inputs["min_total"], "tie_breaks": [(t.kind, t.key, t.descending) for t in inputs["tie_breaks"]],
        "seed": inputs["seed"],
    }
    text = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def compute_ranking(call: Call) -> tuple[list[rk.Entry], dict]:
    inputs = ranking_inputs(call)
    missing = [c.protocol for c in inputs["candidates"] if len(c.scores) != len(inputs["criteria"])]
    if missing:
        raise NotEditable(_("Final scores are missing for protocols %(list)s.") % {"list": ", ".join(map(str, missing[:20]))})
    if any(t.kind == rk.TIE_DRAW for t in inputs["tie_breaks"]) and not call.draw_seed_published_at:
        raise NotEditable(_("Publish the draw seed before computing the ranking."))
    entries = rk.rank(criteria=inputs["criteria"], candidates=inputs["candidates"], min_total=inputs["min_total"],
                      tie_breaks=inputs["tie_breaks"], seed=inputs["seed"])
    return entries, inputs


@transaction.atomic
def ranking_publish(*, call: Call, kind: str, by) -> Ranking:
    """Compute and publish the provisional or final ranking, with its CSV and the digest of its inputs."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    if kind == RankingKind.PROVISIONAL:
        _require_stage(call, CallStage.REVIEW)
    else:
        _require_stage(call, CallStage.PROVISIONAL)
        provisional = call.rankings.get(kind=RankingKind.PROVISIONAL)
        window_end = provisional.published_at + dt.timedelta(days=call.appeal_days)
        if clock.now() < window_end:
            raise NotEditable(_("The appeal window is open until %(when)s.") % {"when": clock.rome_text(window_end)})
        if provisional.appeals.filter(status=AppealStatus.FILED).exists():
            raise NotEditable(_("Decide every appeal before publishing the final ranking."))
    entries, inputs = compute_ranking(call)
    names = {a.pk: a.organization.legal_name for a in inputs["applications"]} if call.publish_names else None
    csv_text = rk.to_csv(entries=entries, candidates=inputs["candidates"], criteria=inputs["criteria"],
                         min_total=inputs["min_total"], tie_breaks=inputs["tie_breaks"], seed=inputs["seed"],
                         names=names)
    ranking = Ranking.objects.create(call=call, kind=kind, published_at=clock.now(), published_by=by,
                                     seed=inputs["seed"], inputs_digest=inputs_digest(inputs), csv=csv_text)
    by_id = {c.id: c for c in inputs["candidates"]}
    RankingEntry.objects.bulk_create([
        RankingEntry(ranking=ranking, application_id=e.candidate_id, order=i, position=e.position, protocol=e.protocol,
                     total=e.total, fit=e.fit, tie_break=e.tie_break or "", draw_key=e.draw_key,
                     scores={k: str(v) for k, v in by_id[e.candidate_id].scores.items()})
        for i, e in enumerate(entries, start=1)
    ])
    if kind == RankingKind.FINAL:
        ranking.changes = _changes(call.rankings.get(kind=RankingKind.PROVISIONAL), ranking)
        ranking.save(update_fields=["changes"])
    _stage(call, CallStage.PROVISIONAL if kind == RankingKind.PROVISIONAL else CallStage.FINAL)
    audit_record(verb=f"ranking.publish_{kind}", actor=by, obj=call,
                 data={"ranking": ranking.pk, "digest": ranking.inputs_digest, "entries": len(entries)})
    for application in inputs["applications"]:
        _notify_applicant(application, subject=gettext_lazy("The ranking has been published"),
                          template="calls/email/ranking.txt", context={"kind": str(RankingKind(kind).label)})
    return ranking


def _changes(provisional: Ranking, final: Ranking) -> list[dict]:
    """What changed from the provisional to the final ranking, and why (accepted appeals)."""
    before = {e.application_id: e for e in provisional.entries.all()}
    accepted = {a.application_id: a for a in provisional.appeals.filter(status=AppealStatus.ACCEPTED)}
    changes = []
    for entry in final.entries.all():
        old = before.get(entry.application_id)
        if old and (old.position, old.total, old.fit) == (entry.position, entry.total, entry.fit):
            continue
        appeal = accepted.get(entry.application_id)
        changes.append({
            "protocol": entry.protocol,
            "from_position": old.position if old else None, "to_position": entry.position,
            "from_total": str(old.total) if old else None, "to_total": str(entry.total),
            "reason": (_("Appeal accepted: %(decision)s") % {"decision": appeal.decision}) if appeal
            else _("Moved by other applicants' changes"),
        })
    return changes


def verify_ranking(call: Call, kind: str | None = None) -> list[str]:
    """Recompute the latest published ranking and compare it with what was published.

    Always: the published CSV alone must reproduce itself. And, unless accepted appeals have since
    changed scores on purpose (between provisional and final), the stored final scores must
    reproduce the published order and the digest of the inputs.
    """
    call = Call.objects.get(pk=call.pk)
    ranking = call.rankings.filter(**({"kind": kind} if kind else {})).order_by("-published_at").first()
    if ranking is None:
        return [_("No ranking has been published for this call.")]
    problems = rk.verify_csv(ranking.csv)
    rescored_since = ranking.kind == RankingKind.PROVISIONAL and ranking.appeals.filter(
        status=AppealStatus.ACCEPTED).exists()
    if not rescored_since:
        entries, inputs = compute_ranking(call)
        stored = [(e.position, e.protocol, e.total, e.fit) for e in ranking.entries.order_by("order")]
        recomputed = [(e.position, e.protocol, e.total, e.fit) for e in entries]
        if stored != recomputed:
            problems.append(_("The published ranking differs from the one recomputed from stored scores."))
        if inputs_digest(inputs) != ranking.inputs_digest:
            problems.append(_("The stored inputs changed after publication (digest differs)."))
    return problems


# --- appeals ----------------------------------------------------------------------------------------

@transaction.atomic
def appeal_file(*, application: Application, text: str, by, files: list[tuple[str, bytes]] = ()) -> Appeal:
    _require_member_of(application, by)
    call = Call.objects.get(pk=application.call_id)
    provisional = call.rankings.filter(kind=RankingKind.PROVISIONAL).first()
    if provisional is None or call.stage != CallStage.PROVISIONAL:
        raise NotEditable(_("Appeals can be filed only after the provisional ranking is published."))
    window_end = provisional.published_at + dt.timedelta(days=call.appeal_days)
    if clock.now() >= window_end:
        raise NotEditable(_("The appeal window closed on %(when)s.") % {"when": clock.rome_text(window_end)})
    if not text.strip():
        raise ValidationError({"text": _("Write the grounds of the appeal.")})
    if not (provisional.entries.filter(application=application).exists()
            or application.admissibility_decisions.exists()):
        raise NotEditable(_("Only applicants of this call may appeal."))
    appeal = Appeal.objects.create(application=application, ranking=provisional, text=text.strip(), filed_by=by,
                                   filed_at=clock.now())
    for name, content in files:
        checked = check_upload(name=name, content=content, allowed_types=INTEGRATION_FILE_TYPES, max_mb=20)
        stored = AppealFile(appeal=appeal, original_name=checked.name, size=checked.size, sha256=checked.sha256,
                            content_type=checked.content_type, uploaded_at=clock.now())
        stored.file.save("upload", ContentFile(content), save=False)
        stored.save()
    audit_record(verb="appeal.file", actor=by, obj=application, data={"appeal": appeal.pk})
    _notify_applicant(application, subject=gettext_lazy("Your appeal was received"), template="calls/email/appeal.txt",
                      context={"status": str(AppealStatus.FILED.label), "decision": ""})
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: Appeal, accepted: bool, decision: str, by, rescores: dict | None = None) -> Appeal:
    """Reject, or accept with re-scoring (criterion code → points) through the same final scores."""
    appeal = Appeal.objects.select_for_update().select_related("application__call").get(pk=appeal.pk)
    application = appeal.application
    _require_decider(application, by, _("Only staff or the commission's president may decide appeals."))
    if appeal.status != AppealStatus.FILED:
        raise NotEditable(_("This appeal has already been decided."))
    if not decision.strip():
        raise ValidationError({"decision": _("Write the decision's reasons: the applicant will read them.")})
    if accepted:
        criteria = {c.code: c for c in application.call.criteria.all()}
        for code, points in (rescores or {}).items():
            if code not in criteria:
                raise ValidationError({"rescores": _("Unknown criterion “%(code)s”.") % {"code": code}})
            final_score_set(application=application, criterion=criteria[code], points=points, by=by,
                            minutes=decision, method=APPEAL_RESCORE)
    appeal.status = AppealStatus.ACCEPTED if accepted else AppealStatus.REJECTED
    appeal.decision = decision.strip()
    appeal.decided_by = by
    appeal.decided_at = clock.now()
    appeal.save(update_fields=["status", "decision", "decided_by", "decided_at"])
    audit_record(verb="appeal.decide", actor=by, obj=application,
                 data={"appeal": appeal.pk, "accepted": accepted, "rescores": rescores or {}})
    _notify_applicant(application, subject=gettext_lazy("Decision on your appeal"), template="calls/email/appeal.txt",
                      context={"status": str(appeal.get_status_display()), "decision": appeal.decision})
    return appeal


# --- allocation, awards, scorrimento, concessions ----------------------------------------------------

def final_ranking(call: Call) -> Ranking:
    ranking = call.rankings.filter(kind=RankingKind.FINAL).first()
    if ranking is None:
        raise NotEditable(_("The final ranking is not published yet."))
    return ranking


def winners(call: Call) -> list[RankingEntry]:
    return list(final_ranking(call).entries.filter(fit=True).order_by("order").select_related("application"))


@transaction.atomic
def preferences_set(*, application: Application, space_ids: list[int], by) -> list[SpacePreference]:
    """A fit applicant ranks the offered spaces they want (most preferred first) in the window."""
    _require_member_of(application, by)
    call = Call.objects.get(pk=application.call_id)
    if call.kind != CallKind.SPACE:
        raise NotEditable(_("Only space calls take preferences."))
    ranking = final_ranking(call)
    if call.stage != CallStage.FINAL:
        raise NotEditable(_("Preferences are closed."))
    window_end = ranking.published_at + dt.timedelta(days=call.preference_days)
    if clock.now() >= window_end:
        raise NotEditable(_("The window for preferences closed on %(when)s.") % {"when": clock.rome_text(window_end)})
    if not ranking.entries.filter(application=application, fit=True).exists():
        raise NotEditable(_("Only applicants ranked as fit state preferences."))
    offered = set(call.offered_spaces.values_list("id", flat=True))
    space_ids = [int(s) for s in space_ids]
    if len(set(space_ids)) != len(space_ids):
        raise ValidationError({"spaces": _("List each space once.")})
    unknown = [s for s in space_ids if s not in offered]
    if unknown:
        raise ValidationError({"spaces": _("Choose only among the spaces the call offers.")})
    SpacePreference.objects.filter(application=application).delete()
    made = SpacePreference.objects.bulk_create([
        SpacePreference(application=application, space_id=s, rank=i) for i, s in enumerate(space_ids, start=1)])
    audit_record(verb="allocation.preferences", actor=by, obj=application, data={"spaces": space_ids})
    return made


def _needs(call: Call, application: Application) -> dict:
    answers = {a["question"]: a["value"] for a in application.current_submission.snapshot.get("answers", [])}
    needs = {}
    for key, question_id in (call.space_needs or {}).items():
        value = answers.get(int(question_id))
        if value in (None, "", []):
            continue
        needs[key] = tuple(value) if key == "uses" else Decimal(str(value))
    return needs


def _applicant(call: Call, application: Application, preferences: dict[int, list[int]]) -> alloc.Applicant:
    needs = _needs(call, application)
    return alloc.Applicant(
        id=application.pk, preferences=tuple(preferences.get(application.pk, [])),
        min_surface_m2=needs.get("min_surface_m2", Decimal("0")), max_surface_m2=needs.get("max_surface_m2"),
        uses=needs.get("uses", ()),
    )


def _space(space) -> alloc.Space:
    return alloc.Space(id=space.pk, surface_m2=space.surface_m2, use=space.use)


def _offer(*, call: Call, application: Application, space=None, amount=None, partial=False, by_advance=False) -> Award:
    now = clock.now()
    award = Award.objects.create(call=call, application=application, space=space, amount=amount, partial=partial,
                                 by_advance=by_advance, offered_at=now,
                                 respond_by=now + dt.timedelta(days=call.acceptance_days))
    _notify_applicant(application, subject=gettext_lazy("You have been awarded"), template="calls/email/award.txt",
                      context={"space": str(space) if space else "", "amount": str(amount or ""),
                               "respond_by": clock.rome_text(award.respond_by), "advance": by_advance})
    return award


@transaction.atomic
def allocation_run(*, call: Call, by) -> dict:
    """Serve the final ranking: spaces by preferences in ranking order, or grants until the budget ends."""
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_stage(call, CallStage.FINAL)
    ranking = final_ranking(call)
    entries = winners(call)
    if call.kind == CallKind.SPACE:
        window_end = ranking.published_at + dt.timedelta(days=call.preference_days)
        if clock.now() < window_end:
            raise NotEditable(_("The window for preferences is open until %(when)s.") % {"when": clock.rome_text(window_end)})
        preferences: dict[int, list[int]] = {}
        for pref in SpacePreference.objects.filter(application__call=call).order_by("application_id", "rank"):
            preferences.setdefault(pref.application_id, []).append(pref.space_id)
        spaces = {s.pk: s for s in call.offered_spaces.select_for_update()}
        applicants = [_applicant(call, e.application, preferences) for e in entries]
        result = alloc.allocate_spaces(applicants, [_space(s) for s in spaces.values()])
        by_id = {e.application_id: e.application for e in entries}
        for application_id, space_id in result.assigned.items():
            _offer(call=call, application=by_id[application_id], space=spaces[space_id])
        summary = {"awarded": len(result.assigned), "reserve": result.reserve, "free_spaces": result.free_spaces}
    else:
        requests = [alloc.GrantRequest(e.application_id, e.application.current_submission.requested_amount or Decimal("0"))
                    for e in entries]
        result = alloc.allocate_grants(requests, call.grant_budget or Decimal("0"), last=call.grant_last_rule)
        by_id = {e.application_id: e.application for e in entries}
        for application_id, amount in result.granted.items():
            _offer(call=call, application=by_id[application_id], amount=amount, partial=application_id == result.partial)
        summary = {"awarded": len(result.granted), "reserve": result.reserve, "left": str(result.left)}
    _stage(call, CallStage.ALLOCATION)
    audit_record(verb="allocation.run", actor=by, obj=call, data=summary)
    return summary


def _advance(call: Call, freed: Award) -> Award | None:
    """Scorrimento: offer what ``freed`` gave up to the next on the reserve list; None if nobody."""
    served = set(Award.objects.filter(call=call).values_list("application_id", flat=True))
    reserve_entries = [e for e in winners(call) if e.application_id not in served]
    if freed.space_id:
        preferences: dict[int, list[int]] = {}
        for pref in SpacePreference.objects.filter(application__call=call).order_by("application_id", "rank"):
            preferences.setdefault(pref.application_id, []).append(pref.space_id)
        reserve = [_applicant(call, e.application, preferences) for e in reserve_entries]
        taker = alloc.advance_space(freed_space=_space(freed.space), reserve=reserve)
        if taker is None:
            return None
        application = next(e.application for e in reserve_entries if e.application_id == taker)
        return _offer(call=call, application=application, space=freed.space, by_advance=True)
    money = freed.amount or Decimal("0")
    live_partial = Award.objects.filter(call=call, partial=True, status__in=[AwardStatus.OFFERED, AwardStatus.ACCEPTED]).first()
    reserve = [alloc.GrantRequest(e.application_id, e.application.current_submission.requested_amount or Decimal("0"))
               for e in reserve_entries]
    partial_request = None
    if live_partial and live_partial.pk != freed.pk:
        partial_request = alloc.GrantRequest(live_partial.application_id,
                                             live_partial.application.current_submission.requested_amount)
    granted = alloc.advance_grant(freed=money, left=Decimal("0"), reserve=reserve, partial=partial_request,
                                  partial_granted=live_partial.amount if partial_request else Decimal("0"))
    first = None
    by_id = {e.application_id: e.application for e in reserve_entries}
    for application_id, amount in granted.items():
        if partial_request and application_id == partial_request.id:
            Award.objects.filter(pk=live_partial.pk).update(amount=amount, partial=amount < partial_request.amount)
            audit_record(verb="allocation.top_up", actor=None, obj=live_partial.application, data={"amount": amount})
            continue
        request_amount = next(r.amount for r in reserve if r.id == application_id)
        award = _offer(call=call, application=by_id[application_id], amount=amount,
                       partial=amount < request_amount, by_advance=True)
        first = first or award
    return first


def _award_transition(award: Award, to: str) -> None:
    if to not in AWARD_TRANSITIONS.get(award.status, set()):
        raise NotEditable(_("The award is “%(status)s”: this is not possible now.") % {"status": award.get_status_display()})


@transaction.atomic
def award_accept(*, award: Award, by) -> Concession | None:
    """Accept an award; a space award creates the concession and moves space and site forward."""
    from manifattura.places.domain import site_change_status
    from manifattura.places.enums import SITE_TRANSITIONS, SiteStatus, SpaceAvailability
    from manifattura.places.models import Space

    award = Award.objects.select_for_update(of=("self",)).select_related("application__organization", "call", "space__site").get(pk=award.pk)
    _require_member_of(award.application, by)
    _award_transition(award, AwardStatus.ACCEPTED)
    if clock.now() >= award.respond_by:
        raise NotEditable(_("The acceptance deadline has passed."))
    award.status = AwardStatus.ACCEPTED
    award.responded_at = clock.now()
    award.save(update_fields=["status", "responded_at"])
    concession = None
    if award.space_id:
        start = clock.local_now().date()
        try:
            end = start.replace(year=start.year + award.call.concession_years)
        except ValueError:  # 29 February
            end = start.replace(year=start.year + award.call.concession_years, day=28)
        concession = Concession.objects.create(
            organization=award.application.organization, space=award.space, award=award, starts_on=start,
            ends_on=end, monthly_fee=award.space.monthly_fee, created_at=clock.now())
        Space.objects.filter(pk=award.space_id).update(availability=SpaceAvailability.ASSIGNED)
        site = award.space.site
        if SiteStatus.ASSIGNED in SITE_TRANSITIONS.get(site.status, set()):
            site_change_status(site=site, to=SiteStatus.ASSIGNED, by=by,
                               reason=_("Concession to %(org)s") % {"org": award.application.organization})
    audit_record(verb="award.accept", actor=by, obj=award.application,
                 data={"award": award.pk, "concession": concession.pk if concession else None})
    return concession


@transaction.atomic
def award_renounce(*, award: Award, by, reason: str = "") -> Award | None:
    """Renounce an offered award; the freed space or money goes to the next on the reserve list."""
    award = Award.objects.select_for_update(of=("self",)).select_related("application__organization", "call", "space").get(pk=award.pk)
    _require_member_of(award.application, by)
    _award_transition(award, AwardStatus.RENOUNCED)
    award.status = AwardStatus.RENOUNCED
    award.responded_at = clock.now()
    award.save(update_fields=["status", "responded_at"])
    audit_record(verb="award.renounce", actor=by, obj=award.application, data={"award": award.pk, "reason": reason})
    advanced = _advance(award.call, award)
    audit_record(verb="allocation.advance", actor=by, obj=award.call,
                 data={"freed": award.pk, "to": advanced.application_id if advanced else None})
    return advanced


@transaction.atomic
def awards_expire(*, call: Call, by=None) -> int:
    """Offered awards past their acceptance deadline expire; each triggers scorrimento."""
    expired = list(Award.objects.select_for_update().filter(call=call, status=AwardStatus.OFFERED,
                                                            respond_by__lte=clock.now()))
    for award in expired:
        award.status = AwardStatus.EXPIRED
        award.save(update_fields=["status"])
        audit_record(verb="award.expire", actor=by, obj=award.application, data={"award": award.pk})
        advanced = _advance(call, award)
        audit_record(verb="allocation.advance", actor=by, obj=call,
                     data={"freed": award.pk, "to": advanced.application_id if advanced else None})
    return len(expired)


@transaction.atomic
def call_conclude(*, call: Call, by) -> Call:
    _require_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    if Award.objects.filter(call=call, status=AwardStatus.OFFERED).exists():
        raise NotEditable(_("Some awards are still waiting for an answer."))
    _stage(call, CallStage.CONCLUDED)
    return call
