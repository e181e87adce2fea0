"""Pages of a call after its close: staff's evaluation dashboard, the commission's review, the public
rankings and the applicant's outcome.

Views are thin: they read through ``calls.queries_evaluation_web``, ask the ``rules`` permissions (with
``rules.has_perm``, which no superuser bypasses) and call ``calls.evaluation`` for every change. A
refusal of the domain (``NotEditable``, ``ValidationError``, ``PermissionError``, ``FileRejected``) is
shown as a message or next to the field it is about; nothing typed is lost.

Anonymous review: whoever may not see the applicant's identity (``calls.see_identity``) reads a neutral
label ("Application #<protocol>"), neutral file names and answers with identifying words masked.
"""

import csv
import datetime as dt
import hashlib

import rules
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from manifattura.calls import domain, evaluation
from manifattura.calls import forms_evaluation as eval_forms
from manifattura.calls import queries_evaluation_web as queries
from manifattura.calls import rules as calls_rules
from manifattura.calls.enums import CallKind, CallPhase
from manifattura.calls.enums_evaluation import (
    Admissibility,
    AwardStatus,
    CallStage,
    IntegrationStatus,
    RankingKind,
    ScoreAggregation,
)
from manifattura.calls.files import FileRejected, safe_name
from manifattura.calls.models import (
    Appeal,
    AppealFile,
    Application,
    ApplicationFile,
    Award,
    CommissionMember,
    ConflictDeclaration,
    IntegrationDocument,
    IntegrationRequest,
    ReviewAssignment,
)
from manifattura.calls.ranking_pdf import ranking_pdf
from manifattura.calls.views import _deny, _visible_call  # the same refusal and call lookup as the submission pages
from manifattura.core import clock
from manifattura.core.money import plain_number

PAGE_SIZE = 50
STAGE_ORDER = list(CallStage.values)
REFUSALS = (domain.NotEditable, PermissionError, FileRejected)


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------




def _staff_call(request, code):
    call = _visible_call(request, code)
    if not rules.has_perm("calls.manage_evaluation", request.user, call):
        return call, _deny(request)
    return call, None


def _refusal(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _act(request, action, success) -> bool:
    """Run one domain call; report success or its refusal as a message. True when it succeeded."""
    try:
        result = action()
    except (ValidationError, *REFUSALS) as exc:
        messages.error(request, _refusal(exc))
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True


def _stage_steps(call) -> list[dict]:
    current = STAGE_ORDER.index(call.stage)
    return [{"value": value, "label": label, "state": "done" if i < current else "current" if i == current else "next"}
            for i, (value, label) in enumerate(CallStage.choices)]


def _at_or_after(call, stage) -> bool:
    return STAGE_ORDER.index(call.stage) >= STAGE_ORDER.index(stage)


def _windows(call, rankings) -> dict:
    by_kind = {r.kind: r for r in rankings}
    now = clock.now()
    windows = {"now": now}
    provisional, final = by_kind.get(RankingKind.PROVISIONAL), by_kind.get(RankingKind.FINAL)
    if provisional:
        windows["appeal_until"] = provisional.published_at + dt.timedelta(days=call.appeal_days)
        windows["appeal_open"] = call.stage == CallStage.PROVISIONAL and now < windows["appeal_until"]
    if final:
        windows["preferences_until"] = final.published_at + dt.timedelta(days=call.preference_days)
        windows["preferences_open"] = call.stage == CallStage.FINAL and now < windows["preferences_until"]
    return windows


def _label(application, identity: bool) -> str:
    return application.organization.legal_name if identity else queries.application_label(application)


def _with_call(submission, call):
    if submission is not None:
        submission.call = call  # protocol labels without a query per row
    return submission


def _threshold(call, criterion):
    return (criterion.max_points * call.comment_required_below / 100).quantize(evaluation.CENT)


def tie_break_text(label: str, titles: dict) -> str:
    """A tie-break label of the ranking (``criterion:jobs``, ``protocol``, ``draw``…) in words."""
    if not label:
        return ""
    kind, _sep, key = label.partition(":")
    if kind == "criterion":
        return _("Score on “%(criterion)s”") % {"criterion": titles.get(key, key)}
    if kind == "protocol":
        return _("Earlier protocol number")
    if kind == "attribute":
        return _("Declared attribute “%(name)s”") % {"name": key}
    if kind == "draw":
        return _("Public draw")
    return label


# ---------------------------------------------------------------------------------------------------
# Staff: the evaluation dashboard
# ---------------------------------------------------------------------------------------------------


def _dashboard_context(request, call, **forms):
    admissibility = request.GET.get("admissibility", "")
    applications = queries.applications_for_evaluation(call, admissibility=admissibility)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for application in rows:
        _with_call(application.current_submission, call)
        results = application.current_submission.eligibility or []
        application.failed_rules = sum(1 for r in results if r.get("outcome") == "failed")
        application.review_rules = sum(1 for r in results if r.get("outcome") == "review")
        application.open_request = next(
            (r for r in application.integration_requests.all() if r.status == IntegrationStatus.OPEN), None)
    rankings = list(call.rankings.order_by("published_at"))
    phase = domain.call_phase(call)
    draw_needed = any(t.get("kind") == "draw" for t in call.tie_breaks or [])
    context = {
        "call": call,
        "phase": phase,
        "closed": phase == CallPhase.CLOSED,
        "steps": _stage_steps(call),
        "counts": queries.evaluation_counts(call),
        "applications": rows,
        "page_obj": page,
        "admissibility_filter": admissibility,
        "admissibility_choices": [(queries.PENDING, _("No decision yet"))] + list(Admissibility.choices),
        "commission": list(queries.commission_progress(call)),
        "short": queries.short_of_reviewers(call) if call.stage == CallStage.REVIEW else [],
        "rankings": rankings,
        "rankings_by_kind": {r.kind: r for r in rankings},
        "appeals": list(queries.appeals_of_call(call)),
        "awards": list(queries.awards_of_call(call)),
        "windows": _windows(call, rankings),
        "draw_needed": draw_needed,
        "criteria_count": call.criteria.count(),
        "appoint_form": forms.get("appoint_form") or eval_forms.AppointForm(),
        "seed_form": forms.get("seed_form") or eval_forms.DrawSeedForm(),
        "can_decide_admissibility": phase == CallPhase.CLOSED and call.stage in (
            CallStage.SUBMISSIONS, CallStage.ADMISSIBILITY),
        "consensus": call.score_aggregation == ScoreAggregation.CONSENSUS,
        "filter_query": request.GET.urlencode(),
    }
    for award in context["awards"]:
        _with_call(award.application.current_submission, call)
    for appeal in context["appeals"]:
        _with_call(appeal.application.current_submission, call)
    return context


@require_GET
def dashboard(request, code):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    return render(request, "calls/evaluation/dashboard.html", _dashboard_context(request, call))


def _back_to_dashboard(call, anchor=""):
    url = reverse("calls_eval:dashboard", args=[call.code])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _staff_step(step: str, success, anchor: str = ""):
    """A dashboard button: staff run ``evaluation.<step>(call=…, by=…)`` and go back to the dashboard's
    section, with the success message ``success(result)`` or the refusal."""

    @require_POST
    def view(request, code):
        call, denied = _staff_call(request, code)
        if denied:
            return denied
        _act(request, lambda: getattr(evaluation, step)(call=call, by=request.user), success)
        return _back_to_dashboard(call, anchor)

    view.__name__ = view.__qualname__ = step
    return view


integrations_expire = _staff_step(
    "integrations_expire", lambda n: _("%(n)d requests for integration closed as expired.") % {"n": n},
    "admissibility")
review_open = _staff_step(
    "review_open", lambda _result: _("Admissibility is closed and the commission's review is open."), "review")
final_scores_compute = _staff_step(
    "final_scores_compute",
    lambda r: _("%(n)d final scores computed from the reviewers' scores.") % {"n": r["scores"]}, "final-scores")
allocation_run = _staff_step(
    "allocation_run", lambda r: _("Allocation done: %(n)d awards offered, %(reserve)d on the reserve list.") % {
        "n": r["awarded"], "reserve": len(r["reserve"])}, "allocation")
awards_expire = _staff_step(
    "awards_expire", lambda n: _("%(n)d awards expired; their spaces or money went down the reserve list.") % {"n": n},
    "allocation")
conclude = _staff_step("call_conclude", lambda _result: _("The call is concluded."))


@require_POST
def commission_appoint(request, code):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    form = eval_forms.AppointForm(request.POST)
    if form.is_valid():
        try:
            member = evaluation.commission_appoint(call=call, user=form.user, role=form.cleaned_data["role"],
                                                   by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc, aliases={"user": "email"})
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("%(person)s is on the commission as %(role)s.") % {
                "person": member.user, "role": member.get_role_display()})
            return _back_to_dashboard(call, "commission")
    return render(request, "calls/evaluation/dashboard.html", _dashboard_context(request, call, appoint_form=form))


@require_POST
def reviews_assign(request, code):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    try:
        result = evaluation.reviews_assign(call=call, by=request.user)
    except (ValidationError, *REFUSALS) as exc:
        messages.error(request, _refusal(exc))
        return _back_to_dashboard(call, "review")
    messages.success(request, _("%(n)d review assignments made.") % {"n": result["assigned"]})
    if result["short"]:
        protocols = evaluation.submitted_applications(call).filter(pk__in=result["short"]).order_by(
            "current_submission__protocol").values_list("current_submission__protocol", flat=True)
        messages.warning(request, _(
            "Not enough reviewers without a conflict for protocols %(list)s: assign them by hand or appoint "
            "more members.") % {"list": ", ".join(str(p) for p in protocols)})
    return _back_to_dashboard(call, "review")


@require_POST
def draw_seed(request, code):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    form = eval_forms.DrawSeedForm(request.POST)
    if form.is_valid():
        try:
            evaluation.draw_seed_publish(call=call, seed=form.cleaned_data["seed"], by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("The seed of the public draw is published; it can never change."))
            return _back_to_dashboard(call, "ranking")
    call.refresh_from_db()
    return render(request, "calls/evaluation/dashboard.html", _dashboard_context(request, call, seed_form=form))


@require_POST
def ranking_publish(request, code, kind):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    if kind not in RankingKind.values:
        raise Http404(_("There is no such ranking."))
    if _act(request, lambda: evaluation.ranking_publish(call=call, kind=kind, by=request.user),
            _("The %(kind)s ranking is published.") % {"kind": RankingKind(kind).label.lower()}):
        return redirect(f"{reverse('calls_eval:ranking', args=[call.code])}?kind={kind}")
    return _back_to_dashboard(call, "ranking")


@require_POST
def ranking_verify(request, code):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    try:
        problems = evaluation.verify_ranking(call)
    except REFUSALS as exc:
        problems = [_refusal(exc)]
    if problems:
        messages.error(request, _("Verification failed: %(problems)s") % {"problems": " ".join(problems)})
    else:
        messages.success(request, _(
            "Verified: the published ranking is reproduced from the stored scores and from its CSV alone."))
    return _back_to_dashboard(call, "ranking")


# ---------------------------------------------------------------------------------------------------
# Staff: one application's evaluation record
# ---------------------------------------------------------------------------------------------------


def _call_application(call, pk) -> Application:
    application = (evaluation.submitted_applications(call).select_related("organization", "current_submission")
                   .filter(pk=pk).first())
    if application is None:
        raise Http404(_("There is no submitted application with this number in this call."))
    _with_call(application.current_submission, call)
    return application


def _scores_by_reviewer(application, criteria) -> list[dict]:
    assignments = list(application.review_assignments.select_related("member__user").prefetch_related("scores")
                       .order_by("id"))
    rows = []
    for assignment in assignments:
        by_criterion = {s.criterion_id: s for s in assignment.scores.all()}
        rows.append({"assignment": assignment, "member": assignment.member,
                     "scores": [by_criterion.get(c.pk) for c in criteria]})
    return rows


def _staff_application_context(request, call, application, **forms):
    criteria = list(call.criteria.all())
    members = list(CommissionMember.objects.filter(call=call).select_related("user").order_by("role", "id"))
    declarations = {d.member_id: d for d in application.conflict_declarations.all()}
    reviews = _scores_by_reviewer(application, criteria)
    assigned = {r["member"].pk for r in reviews}
    for member in members:
        member.declaration = declarations.get(member.pk)
        member.is_assigned = member.pk in assigned
    finals = {f.criterion_id: f for f in application.final_scores.select_related("set_by")}
    requests = list(application.integration_requests.prefetch_related("documents").order_by("requested_at", "id"))
    consensus_form = forms.get("consensus_form") or eval_forms.ConsensusForm(criteria=criteria, initial_scores=finals)
    return {
        "call": call,
        "application": application,
        "submission": application.current_submission,
        "eligibility": application.current_submission.eligibility or [],
        "decisions": list(application.admissibility_decisions.select_related("decided_by").order_by("decided_at", "id")),
        "latest": evaluation.latest_admissibility(application),
        "requests": requests,
        "members": members,
        "reviews": reviews,
        "criteria": criteria,
        "finals": [(c, finals.get(c.pk)) for c in criteria],
        "appeals": list(application.appeals.prefetch_related("files").select_related("ranking")),
        "entries": list(application.ranking_entries.select_related("ranking").order_by("ranking__published_at")),
        "awards": list(application.awards.select_related("space__site").order_by("offered_at")),
        "admissibility_form": forms.get("admissibility_form") or eval_forms.AdmissibilityForm(),
        "integration_form": forms.get("integration_form") or eval_forms.IntegrationRequestForm(initial={
            "deadline": clock.local_now().replace(second=0, microsecond=0) + dt.timedelta(days=10)}),
        "consensus_form": consensus_form,
        "consensus": call.score_aggregation == ScoreAggregation.CONSENSUS,
        "can_decide_admissibility": domain.call_phase(call) == CallPhase.CLOSED and call.stage in (
            CallStage.SUBMISSIONS, CallStage.ADMISSIBILITY),
        "snapshot": queries.review_snapshot(application, anonymous=False),
        "from_page": "staff",
    }


@require_GET
def staff_application(request, code, pk):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    application = _call_application(call, pk)
    return render(request, "calls/evaluation/staff_application.html",
                  _staff_application_context(request, call, application))


def _back_to_application(call, application, anchor=""):
    url = reverse("calls_eval:application", args=[call.code, application.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_POST
def admissibility_decide(request, code, pk):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    application = _call_application(call, pk)
    form = eval_forms.AdmissibilityForm(request.POST)
    if form.is_valid():
        try:
            evaluation.admissibility_decide(application=application, decision=form.cleaned_data["decision"],
                                            reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("%(protocol)s: %(decision)s.") % {
                "protocol": application.current_submission.protocol_label,
                "decision": Admissibility(form.cleaned_data["decision"]).label})
            if request.POST.get("next") == "dashboard":
                return _back_to_dashboard(call, "admissibility")
            return _back_to_application(call, application, "admissibility")
    if request.POST.get("next") == "dashboard":
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_dashboard(call, "admissibility")
    return render(request, "calls/evaluation/staff_application.html",
                  _staff_application_context(request, call, application, admissibility_form=form))


@require_POST
def integration_request(request, code, pk):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    application = _call_application(call, pk)
    form = eval_forms.IntegrationRequestForm(request.POST)
    if form.is_valid():
        try:
            evaluation.integration_request(application=application, items=form.cleaned_data["items"],
                                           deadline=form.cleaned_data["deadline"],
                                           message=form.cleaned_data["message"], by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("The request for integration was sent to the applicant."))
            return _back_to_application(call, application, "integration")
    return render(request, "calls/evaluation/staff_application.html",
                  _staff_application_context(request, call, application, integration_form=form))


@require_POST
def assignment_set(request, code, pk):
    call, denied = _staff_call(request, code)
    if denied:
        return denied
    application = _call_application(call, pk)
    members = list(CommissionMember.objects.filter(call=call).select_related("user"))
    form = eval_forms.AssignmentForm(request.POST, members=members)
    if not form.is_valid():
        messages.error(request, _("Choose a member of this call's commission."))
        return _back_to_application(call, application, "assignments")
    member, assigned = form.cleaned_data["member"], form.cleaned_data["assigned"]
    _act(request, lambda: evaluation.review_assignment_set(application=application, member=member,
                                                           assigned=assigned, by=request.user),
         (_("%(person)s now reviews this application.") if assigned
          else _("%(person)s no longer reviews this application.")) % {"person": member.user})
    return _back_to_application(call, application, "assignments")


# ---------------------------------------------------------------------------------------------------
# Final scores by consensus (staff or the commission's president)
# ---------------------------------------------------------------------------------------------------


@require_POST
def final_scores_set(request, code, pk):
    call = _visible_call(request, code)
    application = _call_application(call, pk)
    if not rules.has_perm("calls.set_final_score", request.user, application):  # never who declared a conflict
        return _deny(request)
    criteria = list(call.criteria.all())
    form = eval_forms.ConsensusForm(request.POST, criteria=criteria)

    def back():
        if request.POST.get("from") == "staff":
            return _back_to_application(call, application, "final-scores")
        return redirect(f"{reverse('calls_eval:review-application', args=[call.code, application.pk])}#final-scores")

    if form.is_valid():
        try:
            with transaction.atomic():  # every criterion is saved, or none (as through the API)
                for criterion, points, comment in form.values():
                    try:
                        evaluation.final_score_set(application=application, criterion=criterion, points=points,
                                                   comment=comment, minutes=form.cleaned_data["minutes"],
                                                   by=request.user)
                    except ValidationError as exc:
                        form.add_criterion_errors(criterion, exc)
                if form.errors:
                    transaction.set_rollback(True)
        except REFUSALS as exc:
            # Not at this stage (the pages show the form only during the review): nothing to correct in it.
            messages.error(request, _refusal(exc))
            return back()
        if not form.errors:
            messages.success(request, _("The commission's final scores are saved."))
            return back()
    if request.POST.get("from") == "staff" and rules.has_perm("calls.manage_evaluation", request.user, call):
        return render(request, "calls/evaluation/staff_application.html",
                      _staff_application_context(request, call, application, consensus_form=form))
    return render(request, "calls/evaluation/review_application.html",
                  _review_context(request, call, application, consensus_form=form))


# ---------------------------------------------------------------------------------------------------
# Appeals (staff or the commission's president)
# ---------------------------------------------------------------------------------------------------


def _may_decide(user, application) -> bool:
    return rules.has_perm("calls.decide_appeal", user, application)  # never who declared a conflict


def _appeal_context(request, call, appeal, form=None):
    application = appeal.application
    identity = rules.has_perm("calls.see_identity", request.user, application)
    criteria = list(call.criteria.all())
    finals = {f.criterion_id: f for f in application.final_scores.all()}
    terms = [] if identity else queries.identity_terms(application, application.current_submission.snapshot)
    return {
        "call": call,
        "appeal": appeal,
        "application": application,
        "label": _label(application, identity),
        "identity": identity,
        "text": queries.redact(appeal.text, terms),
        "files": [{"file": f, "name": f.original_name if identity else queries.neutral_file_name(i, f.original_name)}
                  for i, f in enumerate(appeal.files.order_by("id"), start=1)],
        "criteria_rows": [(c, finals.get(c.pk)) for c in criteria],
        "entry": appeal.ranking.entries.filter(application=application).first(),
        "form": form or eval_forms.AppealDecisionForm(criteria=criteria),
        "is_staff": rules.has_perm("calls.manage_evaluation", request.user, call),
    }


@require_http_methods(["GET", "POST"])
def appeal_decide(request, code, pk):
    call = _visible_call(request, code)
    appeal = (Appeal.objects.filter(pk=pk, application__call=call)
              .select_related("application__organization", "application__current_submission", "ranking", "decided_by")
              .first())
    if appeal is None:
        raise Http404(_("There is no appeal with this number in this call."))
    _with_call(appeal.application.current_submission, call)
    if not _may_decide(request.user, appeal.application):
        return _deny(request)
    form = None
    if request.method == "POST":
        form = eval_forms.AppealDecisionForm(request.POST, criteria=list(call.criteria.all()))
        if form.is_valid():
            accepted = form.cleaned_data["accepted"]
            try:
                evaluation.appeal_decide(appeal=appeal, accepted=accepted, decision=form.cleaned_data["decision"],
                                         rescores=form.rescores() if accepted else None, by=request.user)
            except ValidationError as exc:
                eval_forms.add_errors(form, exc)
            except REFUSALS as exc:
                form.add_error(None, _refusal(exc))
            else:
                messages.success(request, _("The appeal is decided; the applicant is notified."))
                return redirect("calls_eval:appeal-decide", code=call.code, pk=appeal.pk)
    return render(request, "calls/evaluation/appeal.html", _appeal_context(request, call, appeal, form))


# ---------------------------------------------------------------------------------------------------
# The commission: my reviews, conflicts, scores, progress
# ---------------------------------------------------------------------------------------------------


def _review_call(request, code):
    call = _visible_call(request, code)
    if not rules.has_perm("calls.evaluate_call", request.user, call):
        return call, _deny(request)
    return call, None


@require_GET
def review_home(request, code):
    call, denied = _review_call(request, code)
    if denied:
        return denied
    member = evaluation.member_of(call, request.user)
    applications = queries.review_list(request.user, call)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    identity = not call.anonymous_review or rules.has_perm("calls.manage_evaluation", request.user, call)
    if identity:
        names = dict(Application.objects.filter(pk__in=[a.pk for a in rows]).values_list("pk", "organization__legal_name"))
    for application in rows:
        _with_call(application.current_submission, call)
        application.label = names[application.pk] if identity else queries.application_label(application)
    criteria_count = call.criteria.count()
    assigned = [a for a in rows if a.assigned_to_me]
    return render(request, "calls/evaluation/review_home.html", {
        "call": call,
        "member": member,
        "assigned": assigned,
        "others": [a for a in rows if not a.assigned_to_me],
        "page_obj": page,
        "criteria_count": criteria_count,
        "done": sum(1 for a in assigned if a.my_completed),
        "may_follow": _may_follow(request.user, call),
        "is_staff": rules.has_perm("calls.manage_evaluation", request.user, call),
    })


def _may_follow(user, call) -> bool:
    """Staff and the commission's president follow who scored what."""
    return bool(rules.has_perm("calls.manage_evaluation", user, call)
                or calls_rules.is_commission_president(user, call))


@require_GET
def review_progress(request, code):
    call, denied = _review_call(request, code)
    if denied:
        return denied
    if not _may_follow(request.user, call):
        return _deny(request)
    assignments = queries.assignments_progress(request.user, call)
    page = Paginator(assignments, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    identity = not call.anonymous_review or rules.has_perm("calls.manage_evaluation", request.user, call)
    names = {}
    if identity:
        names = dict(Application.objects.filter(pk__in={a.application_id for a in rows})
                     .values_list("pk", "organization__legal_name"))
    for assignment in rows:
        application = assignment.application
        _with_call(application.current_submission, call)
        assignment.label = names.get(application.pk) or queries.application_label(application)
    return render(request, "calls/evaluation/review_progress.html", {
        "call": call, "assignments": rows, "page_obj": page, "criteria_count": call.criteria.count(),
        "commission": list(queries.commission_progress(call)),
    })


def _reviewable(request, call, pk):
    """The application if the user may read it as evaluator (a conflicted member: 403)."""
    application = _call_application(call, pk)
    if not rules.has_perm("calls.view_application_for_review", request.user, application):
        return application, _deny(request)
    return application, None


def _review_context(request, call, application, **forms):
    user = request.user
    identity = rules.has_perm("calls.see_identity", user, application)
    member = evaluation.member_of(call, user)
    declaration = ConflictDeclaration.objects.filter(member=member, application=application).first() if member else None
    assignment = ReviewAssignment.objects.filter(member=member, application=application).first() if member else None
    criteria = list(call.criteria.all())
    mine = {s.criterion_id: s for s in assignment.scores.all()} if assignment else {}
    declared_free = declaration is not None and not declaration.has_conflict
    sees_scores = _may_follow(user, call) and rules.has_perm("calls.view_scores", user, application)
    may_set_final = (call.score_aggregation == ScoreAggregation.CONSENSUS
                     and rules.has_perm("calls.set_final_score", user, application))
    finals = {f.criterion_id: f for f in application.final_scores.all()} if (sees_scores or may_set_final) else {}
    return {
        "call": call,
        "application": application,
        "label": _label(application, identity),
        "identity": identity,
        "snapshot": queries.review_snapshot(application, anonymous=not identity),
        "member": member,
        "declaration": declaration,
        "assignment": assignment,
        "criteria": [{"criterion": c, "threshold": _threshold(call, c)} for c in criteria],
        "conflict_form": forms.get("conflict_form") or eval_forms.ConflictForm(),
        "score_form": forms.get("score_form") or eval_forms.ScoreForm(criteria=criteria, initial_scores=mine),
        "thresholds": {c.pk: _threshold(call, c) for c in criteria},
        "can_score": bool(assignment and declared_free and call.stage == CallStage.REVIEW),
        "reviews": _scores_by_reviewer(application, criteria) if sees_scores else [],
        "finals": [(c, finals.get(c.pk)) for c in criteria] if finals or may_set_final else [],
        "may_set_final": may_set_final,
        "consensus_form": forms.get("consensus_form") or eval_forms.ConsensusForm(criteria=criteria,
                                                                                  initial_scores=finals),
        "from_page": "review",
    }


@require_GET
def review_application(request, code, pk):
    call, denied = _review_call(request, code)
    if denied:
        return denied
    application, denied = _reviewable(request, call, pk)
    if denied:
        return denied
    return render(request, "calls/evaluation/review_application.html", _review_context(request, call, application))


@require_POST
def review_conflict(request, code, pk):
    call, denied = _review_call(request, code)
    if denied:
        return denied
    application, denied = _reviewable(request, call, pk)
    if denied:
        return denied
    member = evaluation.member_of(call, request.user)
    if member is None:
        raise PermissionDenied(_("Only members of the call's commission declare conflicts of interest."))
    form = eval_forms.ConflictForm(request.POST)
    if form.is_valid():
        has_conflict = form.cleaned_data["has_conflict"]
        try:
            evaluation.conflict_declare(member=member, application=application, has_conflict=has_conflict,
                                        note=form.cleaned_data["note"], by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            if has_conflict:
                messages.success(request, _(
                    "Your conflict of interest is recorded: you are excluded from this application, and it is no "
                    "longer in your list."))
                return redirect("calls_eval:review", code=call.code)
            messages.success(request, _("Declaration recorded: no conflict of interest. You can score now."))
            return redirect(f"{reverse('calls_eval:review-application', args=[call.code, application.pk])}#scores")
    return render(request, "calls/evaluation/review_application.html",
                  _review_context(request, call, application, conflict_form=form))


@require_POST
def review_scores(request, code, pk):
    call, denied = _review_call(request, code)
    if denied:
        return denied
    application, denied = _reviewable(request, call, pk)
    if denied:
        return denied
    if not rules.has_perm("calls.review_application", request.user, application):
        raise PermissionDenied(_("You are not assigned to review this application."))
    member = evaluation.member_of(call, request.user)
    assignment = ReviewAssignment.objects.get(member=member, application=application)
    criteria = list(call.criteria.all())
    form = eval_forms.ScoreForm(request.POST, criteria=criteria)
    if not evaluation.declared_no_conflict(member, application):  # checked first: told before any typing error
        form.is_valid()
        form.add_error(None, _("Declare first that you have no conflict of interest with this applicant."))
    elif form.is_valid():
        for criterion, points, comment in form.values():
            try:
                evaluation.score_set(assignment=assignment, criterion=criterion, points=points, comment=comment,
                                     by=request.user)
            except ValidationError as exc:
                form.add_criterion_errors(criterion, exc)
            except REFUSALS as exc:
                form.add_error(None, _refusal(exc))
                break
        if not form.errors and not form.values():
            form.add_error(None, _("Write the points for at least one criterion."))
    context = _review_context(request, call, application, score_form=form if form.errors else None)
    if not form.errors:
        context["saved"] = True
        if not request.htmx:
            messages.success(request, _("Scores saved."))
            return redirect(f"{reverse('calls_eval:review-application', args=[call.code, application.pk])}#scores")
    if request.htmx:
        return render(request, "calls/evaluation/_score_form.html", context)
    return render(request, "calls/evaluation/review_application.html", context)


# ---------------------------------------------------------------------------------------------------
# Private files: the commission's copies, integration documents, appeal files
# ---------------------------------------------------------------------------------------------------


def _stream(stored_file, *, name: str, content_type: str):
    try:
        handle = stored_file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from the storage: tell the programme staff.")) from None
    response = FileResponse(handle, as_attachment=True, filename=safe_name(name) or "file",
                            content_type=content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def review_file(request, pk):
    """A submitted file for the commission: anonymous calls give it a neutral name (``document-<n>.<ext>``)."""
    stored = ApplicationFile.objects.select_related(
        "application__call", "application__organization", "application__current_submission").filter(pk=pk).first()
    if stored is None:
        raise Http404(_("There is no file with this number."))
    if not rules.has_perm("calls.download_applicationfile_for_review", request.user, stored):
        return _deny(request)
    name = queries.review_file_name(request.user, stored)
    if name is None:
        raise Http404(_("This file is not part of the submitted application."))
    return _stream(stored.file, name=name, content_type=stored.content_type)


@require_GET
def integration_document(request, pk):
    """A document sent for a request for integration: staff and the applicant."""
    document = IntegrationDocument.objects.select_related("request__application__call").filter(pk=pk).first()
    if document is None:
        raise Http404(_("There is no document with this number."))
    application = document.request.application
    if not (rules.has_perm("calls.manage_evaluation", request.user, application.call)
            or calls_rules.is_application_member(request.user, application)):
        return _deny(request)
    return _stream(document.file, name=document.original_name, content_type=document.content_type)


@require_GET
def appeal_file(request, pk):
    """A file of an appeal: the applicant, staff, and the president who decides it."""
    stored = AppealFile.objects.select_related("appeal__application__call", "appeal__application__organization",
                                               "appeal__application__current_submission").filter(pk=pk).first()
    if stored is None:
        raise Http404(_("There is no file with this number."))
    application = stored.appeal.application
    if not (calls_rules.is_application_member(request.user, application) or _may_decide(request.user, application)):
        return _deny(request)
    name = stored.original_name
    if not rules.has_perm("calls.see_identity", request.user, application):
        ids = list(stored.appeal.files.order_by("id").values_list("id", flat=True))
        name = queries.neutral_file_name(ids.index(stored.pk) + 1, stored.original_name)
    return _stream(stored.file, name=name, content_type=stored.content_type)


# ---------------------------------------------------------------------------------------------------
# Public rankings: page, CSV as published, PDF
# ---------------------------------------------------------------------------------------------------


def _published_names(ranking) -> dict[int, str]:
    """Protocol → name as written in the published CSV (only calls that publish names have them)."""
    lines = [line for line in ranking.csv.lstrip("\ufeff").splitlines() if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter=";")
    if not reader.fieldnames or "name" not in reader.fieldnames:
        return {}
    return {int(row["protocol"]): row["name"] for row in reader}


def csv_bytes(ranking) -> bytes:
    """The ranking's CSV exactly as published, with a UTF-8 BOM so spreadsheets read the accents."""
    return ("\ufeff" + ranking.csv).encode("utf-8")


def _ranking(request, code, kind=None):
    call = _visible_call(request, code)
    rankings = list(call.rankings.order_by("published_at"))
    by_kind = {r.kind: r for r in rankings}
    kind = kind or request.GET.get("kind")
    ranking = by_kind.get(kind) if kind else (rankings[-1] if rankings else None)
    for item in rankings:
        item.call = call
    return call, rankings, ranking


def _ranking_rows(call, ranking, criteria):
    names = _published_names(ranking) if call.publish_names else {}
    titles = {c.code: c.title for c in criteria}
    rows = []
    for entry in ranking.entries.order_by("order"):
        rows.append({
            "entry": entry,
            "protocol_label": f"{call.code}/{entry.protocol:06d}",
            "name": names.get(entry.protocol, ""),
            "scores": [entry.scores.get(c.code, "") for c in criteria],
            "tie_break": tie_break_text(entry.tie_break, titles),
        })
    return rows


@require_GET
def ranking_page(request, code):
    call, rankings, ranking = _ranking(request, code)
    if request.GET.get("kind") and ranking is None:
        raise Http404(_("This ranking is not published."))
    context = {"call": call, "rankings": rankings, "ranking": ranking}
    if ranking is not None:
        criteria = list(call.criteria.all())
        titles = {c.code: c.title for c in criteria}
        context.update({
            "criteria": criteria,
            "rows": _ranking_rows(call, ranking, criteria),
            "csv_sha256": hashlib.sha256(csv_bytes(ranking)).hexdigest(),
            "tie_breaks": [tie_break_text(f"{t.get('kind')}:{t.get('key', '')}".rstrip(":"), titles)
                           for t in call.tie_breaks or []],
            "uses_draw": any(t.get("kind") == "draw" for t in call.tie_breaks or []),
            "csv_name": f"ranking-{call.code}-{ranking.kind}.csv",
        })
        context["fit_count"] = sum(1 for row in context["rows"] if row["entry"].fit)
    return render(request, "calls/evaluation/ranking.html", context)


@require_GET
def ranking_csv(request, code, kind):
    call, _rankings, ranking = _ranking(request, code, kind)
    if ranking is None or kind not in RankingKind.values:
        raise Http404(_("This ranking is not published."))
    response = HttpResponse(csv_bytes(ranking), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ranking-{call.code}-{ranking.kind}.csv"'
    return response


@require_GET
def ranking_pdf_download(request, code, kind):
    call, _rankings, ranking = _ranking(request, code, kind)
    if ranking is None or kind not in RankingKind.values:
        raise Http404(_("This ranking is not published."))
    criteria = list(call.criteria.all())
    pdf = ranking_pdf(call=call, ranking=ranking, criteria=criteria, rows=_ranking_rows(call, ranking, criteria),
                      csv_sha256=hashlib.sha256(csv_bytes(ranking)).hexdigest())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="ranking-{call.code}-{ranking.kind}.pdf"'
    return response


# ---------------------------------------------------------------------------------------------------
# The applicant: outcome, documents requested, appeal, preferences, award
# ---------------------------------------------------------------------------------------------------


def _outcome_application(request, pk):
    application = (Application.objects.select_related("call", "organization", "current_submission")
                   .filter(pk=pk).first())
    if application is None:
        raise Http404(_("There is no application with this number."))
    if not rules.has_perm("calls.view_application", request.user, application):
        return application, _deny(request)
    _with_call(application.current_submission, application.call)
    return application, None


def _acting(request, application):
    if not calls_rules.is_application_member(request.user, application):
        raise PermissionDenied(_("You do not act for this organization."))


def _served(*, call, latest, entry, final_entry, awards, preferences, windows) -> list[str]:
    """Why the application was or was not served, in plain sentences."""
    if latest is None:
        return [_("The admissibility check is in progress.")]
    if latest.decision == Admissibility.INTEGRATION:
        return [_("Documents were requested: admissibility is decided after your answer or the deadline.")]
    if latest.decision == Admissibility.NOT_ADMITTED:
        return [_("Not admitted: %(reason)s") % {"reason": latest.reason}]
    if entry is None:
        return [_("Admitted. The commission is evaluating the applications; the ranking is not published yet.")]
    if not entry.fit:
        return [_("Your total, %(total)s, is below the minimum of %(min)s needed to be ranked fit (idoneo).") % {
            "total": plain_number(entry.total), "min": plain_number(call.min_total_score)}]
    lines = [_("You are ranked fit, at position %(position)d.") % {"position": entry.position}]
    if awards:
        award = awards[-1]
        what = (_("the space “%(space)s” (%(site)s)") % {"space": award.space.name, "site": award.space.site.name}
                if award.space_id else _("a grant of EUR %(amount)s") % {"amount": award.amount})
        lines.append({
            AwardStatus.OFFERED: _("You are offered %(what)s: accept it or renounce it by the deadline."),
            AwardStatus.ACCEPTED: _("You accepted %(what)s."),
            AwardStatus.RENOUNCED: _("You renounced %(what)s; it went to the next on the reserve list."),
            AwardStatus.EXPIRED: _("The deadline to accept %(what)s passed; it went to the next on the reserve list."),
        }[award.status] % {"what": what})
        if award.partial:
            lines.append(_("The grant covers part of your request: the budget left when your turn came."))
        if award.by_advance:
            lines.append(_("It was offered to you by scorrimento, after someone ranked higher gave it up."))
        return lines
    if call.stage in (CallStage.ALLOCATION, CallStage.CONCLUDED):
        if call.kind != CallKind.SPACE:
            lines.append(_("You are on the reserve list: the budget ran out before your position. Money freed by a "
                           "renunciation is offered down the list (scorrimento)."))
        elif not preferences:
            lines.append(_("You are on the reserve list: you stated no preferences among the offered spaces."))
        else:
            lines.append(_("You are on the reserve list: when your turn came, no space among your preferences that "
                           "fits your needs was left. A space freed by a renunciation is offered down the list "
                           "(scorrimento)."))
        return lines
    if final_entry is None:
        lines.append(_("This is the provisional ranking: the final ranking follows the appeal window."))
    elif call.kind == CallKind.SPACE:
        lines.append(_("Allocation serves the final ranking in order: each applicant gets their most preferred "
                       "space still available that fits their needs. State your preferences in the window."))
    else:
        lines.append(_("Allocation funds the final ranking in order until the budget runs out."))
    return lines


def _outcome_context(request, application, **forms):
    call = application.call
    decisions = list(application.admissibility_decisions.order_by("decided_at", "id"))
    latest = decisions[-1] if decisions else None
    rankings = list(call.rankings.order_by("published_at"))
    by_kind = {r.kind: r for r in rankings}
    entries = {e.ranking_id: e for e in application.ranking_entries.all()}
    ranking = rankings[-1] if rankings else None
    entry = entries.get(ranking.pk) if ranking else None
    final = by_kind.get(RankingKind.FINAL)
    final_entry = entries.get(final.pk) if final else None
    windows = _windows(call, rankings)
    awards = list(application.awards.select_related("space__site").order_by("offered_at", "id"))
    concessions = {c.award_id: c for c in application.organization.concessions.filter(award__in=awards)}
    for award in awards:
        award.concession_row = concessions.get(award.pk)
        award.renounce_form = forms.get(f"renounce_{award.pk}") or eval_forms.RenounceForm()
    preferences = [p.space_id for p in application.space_preferences.order_by("rank")]
    is_member = calls_rules.is_application_member(request.user, application)

    requests = list(application.integration_requests.prefetch_related("documents").order_by("requested_at", "id"))
    for item in requests:
        uploaded = {d.item for d in item.documents.all()}
        item.missing = [i for i in item.items if i not in uploaded]
        item.is_open = item.status == IntegrationStatus.OPEN and clock.now() < item.deadline
        item.upload_form = forms.get(f"upload_{item.pk}") or eval_forms.IntegrationUploadForm(items=item.items)

    scores = []
    if entry is not None and rules.has_perm("calls.view_scores", request.user, application):
        finals = {f.criterion_id: f for f in application.final_scores.all()}
        comments: dict[int, list] = {}
        for number, assignment in enumerate(application.review_assignments.prefetch_related("scores").order_by("id"),
                                            start=1):
            for score in assignment.scores.all():
                comments.setdefault(score.criterion_id, []).append({"reviewer": number, "points": score.points,
                                                                     "comment": score.comment})
        for criterion in call.criteria.all():
            final_score = finals.get(criterion.pk)
            scores.append({"criterion": criterion, "points": entry.scores.get(criterion.code),
                           "current": final_score.points if final_score else None,
                           "comment": final_score.comment if final_score else "",
                           "reviewers": comments.get(criterion.pk, [])})

    offered = list(call.offered_spaces.select_related("site").order_by("site__name", "name", "id"))
    space_names = {s.pk: s for s in offered}
    preference_form = None
    if call.kind == CallKind.SPACE and final_entry is not None and final_entry.fit:
        preference_form = forms.get("preference_form") or eval_forms.PreferencesForm(spaces=offered,
                                                                                    current=preferences)
    appeal_form = None
    if windows.get("appeal_open") and latest is not None:
        appeal_form = forms.get("appeal_form") or eval_forms.AppealForm()
    return {
        "call": call,
        "application": application,
        "submission": application.current_submission,
        "is_member": is_member,
        "decisions": decisions,
        "latest": latest,
        "requests": requests,
        "rankings": rankings,
        "ranking": ranking,
        "entry": entry,
        "fit_count": ranking.entries.filter(fit=True).count() if ranking else 0,
        "tie_break": tie_break_text(entry.tie_break, {c.code: c.title for c in call.criteria.all()}) if entry else "",
        "scores": scores,
        "served": _served(call=call, latest=latest, entry=entry, final_entry=final_entry, awards=awards,
                          preferences=preferences, windows=windows),
        "windows": windows,
        "appeals": list(application.appeals.prefetch_related("files").order_by("filed_at", "id")),
        "appeal_form": appeal_form,
        "preference_form": preference_form,
        "preferences": [space_names[s] for s in preferences if s in space_names],
        "awards": awards,
        "now": clock.now(),
    }


@require_GET
def outcome(request, pk):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    return render(request, "calls/evaluation/outcome.html", _outcome_context(request, application))


def _outcome_url(application, anchor=""):
    url = reverse("calls_eval:outcome", args=[application.pk])
    return f"{url}#{anchor}" if anchor else url


def _integration_of(application, request_id) -> IntegrationRequest:
    found = application.integration_requests.filter(pk=request_id).first()
    if found is None:
        raise Http404(_("There is no such request for integration."))
    return found


@require_POST
def outcome_integration_upload(request, pk, request_id):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    integration = _integration_of(application, request_id)
    form = eval_forms.IntegrationUploadForm(request.POST, request.FILES, items=integration.items)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            evaluation.integration_upload(request=integration, item=form.cleaned_data["item"], name=upload.name,
                                          content=upload.read(), by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except REFUSALS as exc:
            form.add_error("file", _refusal(exc))
        else:
            messages.success(request, _("“%(item)s” received. When every document is there, send the answer.") % {
                "item": form.cleaned_data["item"]})
            return redirect(_outcome_url(application, "integration"))
    return render(request, "calls/evaluation/outcome.html",
                  _outcome_context(request, application, **{f"upload_{integration.pk}": form}))


@require_POST
def outcome_integration_answer(request, pk, request_id):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    integration = _integration_of(application, request_id)
    _act(request, lambda: evaluation.integration_answer(request=integration, by=request.user),
         _("Your answer was sent to the programme staff."))
    return redirect(_outcome_url(application, "integration"))


@require_POST
def outcome_appeal(request, pk):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    form = eval_forms.AppealForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            evaluation.appeal_file(application=application, text=form.cleaned_data["text"], by=request.user,
                                   files=[(f.name, f.read()) for f in form.cleaned_data["files"]])
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("Your appeal was filed; you will be told the decision."))
            return redirect(_outcome_url(application, "appeal"))
    context = _outcome_context(request, application, appeal_form=form)
    if context["appeal_form"] is None:  # the window closed meanwhile: say so
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_outcome_url(application, "appeal"))
    return render(request, "calls/evaluation/outcome.html", context)


@require_POST
def outcome_preferences(request, pk):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    offered = list(application.call.offered_spaces.select_related("site").order_by("site__name", "name", "id"))
    form = eval_forms.PreferencesForm(request.POST, spaces=offered)
    if form.is_valid():
        try:
            evaluation.preferences_set(application=application, space_ids=form.cleaned_data["space_ids"],
                                       by=request.user)
        except ValidationError as exc:
            eval_forms.add_errors(form, exc)
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("Your preferences are saved."))
            return redirect(_outcome_url(application, "preferences"))
    context = _outcome_context(request, application, preference_form=form)
    if context["preference_form"] is None:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_outcome_url(application))
    return render(request, "calls/evaluation/outcome.html", context)


def _award_of(application, award_id) -> Award:
    award = application.awards.filter(pk=award_id).first()
    if award is None:
        raise Http404(_("There is no such award."))
    return award


@require_POST
def outcome_award_accept(request, pk, award_id):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    award = _award_of(application, award_id)
    _act(request, lambda: evaluation.award_accept(award=award, by=request.user),
         _("You accepted the award.") + (" " + _("The concession is created.") if award.space_id else ""))
    return redirect(_outcome_url(application, "award"))


@require_POST
def outcome_award_renounce(request, pk, award_id):
    application, denied = _outcome_application(request, pk)
    if denied:
        return denied
    _acting(request, application)
    award = _award_of(application, award_id)
    form = eval_forms.RenounceForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    _act(request, lambda: evaluation.award_renounce(award=award, reason=reason, by=request.user),
         _("You renounced the award; it goes to the next on the reserve list."))
    return redirect(_outcome_url(application, "award"))

