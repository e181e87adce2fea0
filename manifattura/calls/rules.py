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
