"""Who may do what with calls and applications; lists filter with the same logic (``visible_*``)."""

import rules

from manifattura.accounts.rules import is_registered, is_staff
from manifattura.calls.enums import EDITABLE_APPLICATION_STATUSES, ApplicationStatus, CallPhase, CallStatus


def _phase(call):
    from manifattura.calls.domain import call_phase

    return call_phase(call)


@rules.predicate
def call_is_public(user, call):
    return call is not None and call.status != CallStatus.DRAFT


@rules.predicate
def call_is_draft(user, call):
    return call is not None and call.status == CallStatus.DRAFT


@rules.predicate
def call_is_published(user, call):
    return call is not None and call.status == CallStatus.PUBLISHED


@rules.predicate
def call_accepts_drafts(user, call):
    return call is not None and _phase(call) in (CallPhase.UPCOMING, CallPhase.OPEN)


@rules.predicate
def is_application_member(user, application):
    if not (user and user.is_authenticated) or application is None:
        return False
    return application.organization.memberships.filter(user=user).exists()


@rules.predicate
def application_is_editable(user, application):
    return (
        application is not None
        and application.status in EDITABLE_APPLICATION_STATUSES
        and _phase(application.call) in (CallPhase.UPCOMING, CallPhase.OPEN)
    )


@rules.predicate
def application_can_be_submitted(user, application):
    return (
        application is not None
        and application.status in EDITABLE_APPLICATION_STATUSES
        and _phase(application.call) == CallPhase.OPEN
    )


@rules.predicate
def application_can_be_withdrawn(user, application):
    return (
        application is not None
        and application.status == ApplicationStatus.SUBMITTED
        and _phase(application.call) == CallPhase.OPEN
    )


@rules.predicate
def is_file_owner_member(user, application_file):
    return application_file is not None and is_application_member(user, application_file.application)


rules.add_perm("calls.view_call", is_staff | call_is_public)
rules.add_perm("calls.change_call", is_staff & call_is_draft)
rules.add_perm("calls.publish_call", is_staff & call_is_draft)
rules.add_perm("calls.extend_call", is_staff & call_is_published)
rules.add_perm("calls.manage_call", is_staff)
rules.add_perm("calls.apply_to_call", is_registered & call_accepts_drafts)
rules.add_perm("calls.view_application", is_staff | is_application_member)
rules.add_perm("calls.change_application", is_application_member & application_is_editable)
rules.add_perm("calls.submit_application", is_application_member & application_can_be_submitted)
rules.add_perm("calls.withdraw_application", is_application_member & application_can_be_withdrawn)
rules.add_perm("calls.download_applicationfile", is_staff | is_file_owner_member)


def visible_calls(user):
    """Calls the user may see: staff see drafts too."""
    from manifattura.calls.models import Call

    qs = Call.objects.all()
    return qs if is_staff(user) else qs.exclude(status=CallStatus.DRAFT)


def visible_applications(user):
    """Applications the user may see: staff all, others those of organizations they act for."""
    from manifattura.calls.models import Application

    qs = Application.objects.all()
    if is_staff(user):
        return qs
    if not (user and user.is_authenticated):
        return qs.none()
    return qs.filter(organization__memberships__user=user)


# --- evaluation: the commission, reviewers, conflicts, anonymity ----------------------------------

@rules.predicate
def is_commission_member(user, call):
    if not (user and user.is_authenticated) or call is None:
        return False
    return call.commission.filter(user=user).exists()


@rules.predicate
def is_commission_president(user, call):
    if not (user and user.is_authenticated) or call is None:
        return False
    return call.commission.filter(user=user, role="president").exists()


@rules.predicate
def is_assigned_reviewer(user, application):
    """Assigned to the application and not conflicted (a conflict removes the assignment)."""
    if not (user and user.is_authenticated) or application is None:
        return False
    return application.review_assignments.filter(member__user=user).exists() and not (
        application.conflict_declarations.filter(member__user=user, has_conflict=True).exists()
    )


@rules.predicate
def is_conflicted(user, application):
    if not (user and user.is_authenticated) or application is None:
        return False
    return application.conflict_declarations.filter(member__user=user, has_conflict=True).exists()


@rules.predicate
def sees_identity(user, application):
    """Whether the user may see who applied: everyone allowed, except reviewers of anonymous calls."""
    if application is None:
        return False
    if is_staff(user) or is_application_member(user, application):
        return True
    return not application.call.anonymous_review


@rules.predicate
def is_commission_member_for_application(user, application):
    return application is not None and is_commission_member(user, application.call)


@rules.predicate
def is_president_for_application(user, application):
    return application is not None and is_commission_president(user, application.call)


rules.add_perm("calls.evaluate_call", is_staff | is_commission_member)
rules.add_perm("calls.manage_evaluation", is_staff)
rules.add_perm("calls.review_application", is_assigned_reviewer)
rules.add_perm(
    "calls.view_application_for_review",
    is_staff | (is_commission_member_for_application & ~is_conflicted),
)
# Scores of an application: staff, the applicant (their own), commission members without a conflict.
rules.add_perm(
    "calls.view_scores",
    is_staff | is_application_member | (is_commission_member_for_application & ~is_conflicted),
)
# Deciding appeals and setting final scores: staff or the president, never who declared a conflict on it.
rules.add_perm("calls.decide_appeal", (is_staff | is_president_for_application) & ~is_conflicted)
rules.add_perm("calls.set_final_score", (is_staff | is_president_for_application) & ~is_conflicted)
rules.add_perm("calls.see_identity", sees_identity)
# Private files: the applicant, staff, and the commission members who may review the application.
@rules.predicate
def may_review_file(user, application_file):
    if application_file is None:
        return False
    application = application_file.application
    return bool(is_commission_member_for_application(user, application) and not is_conflicted(user, application))


rules.add_perm("calls.download_applicationfile_for_review", is_staff | may_review_file)


def visible_applications_for_review(user, call):
    """Applications of a call the user may see as evaluator: staff all; members those not conflicted."""
    from manifattura.calls.models import Application

    qs = Application.objects.filter(call=call, status="submitted")
    if is_staff(user):
        return qs
    if not is_commission_member(user, call):
        return qs.none()
    from manifattura.calls.models import ConflictDeclaration

    # A subquery, not exclude(a=…, b=…): on a multi-valued relation those could match different rows.
    conflicted_ids = ConflictDeclaration.objects.filter(member__user=user, has_conflict=True).values("application_id")
    return qs.exclude(pk__in=conflicted_ids)
# The commission (members without a conflict) may download applicants' files too.
rules.set_perm("calls.download_applicationfile", is_staff | is_file_owner_member | may_review_file)
