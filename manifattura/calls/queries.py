"""Reads of calls and applications with fixed query counts; first-come resources and positions."""

from decimal import Decimal

from django.db.models import Count, Q, Sum

from manifattura.calls.enums import ApplicationStatus, CallKind, CallStatus, SelectionMode
from manifattura.calls.models import Application, Call, Submission


def current_submissions(call):
    return Submission.objects.filter(call=call, withdrawn_at__isnull=True, protocol__isnull=False)


def first_come_position(submission: Submission) -> int | None:
    """1-based position among the call's current submissions in protocol order (first-come calls)."""
    if submission.call.selection_mode != SelectionMode.FIRST_COME or submission.protocol is None:
        return None
    if submission.withdrawn_at is not None:
        return None
    return current_submissions(submission.call_id).filter(protocol__lte=submission.protocol).count()


def first_come_resources(call: Call) -> dict:
    """What a first-come call has left, consuming resources in protocol order.

    Space calls: one space per submission. Grant calls: requested amounts until the budget runs out.
    """
    subs = current_submissions(call)
    if call.kind == CallKind.GRANT and call.grant_budget is not None:
        requested = subs.aggregate(total=Sum("requested_amount"))["total"] or Decimal("0")
        left = max(Decimal("0"), call.grant_budget - requested)
        return {"kind": "budget", "total": call.grant_budget, "taken": min(requested, call.grant_budget), "left": left,
                "submissions": subs.count()}
    spaces = call.offered_spaces.count()
    taken = subs.count()
    return {"kind": "spaces", "total": spaces, "taken": min(taken, spaces), "left": max(0, spaces - taken),
            "submissions": taken}


def calls_public():
    return Call.objects.exclude(status=CallStatus.DRAFT).annotate(
        space_count=Count("offered_spaces", distinct=True)
    )


def call_counts(call: Call) -> dict:
    """Live counts for staff: drafts, submitted, withdrawn applications, needing review."""
    counts = Application.objects.filter(call=call).aggregate(
        drafts=Count("id", filter=Q(status=ApplicationStatus.DRAFT)),
        submitted=Count("id", filter=Q(status=ApplicationStatus.SUBMITTED)),
        withdrawn=Count("id", filter=Q(status=ApplicationStatus.WITHDRAWN)),
        total=Count("id"),
    )
    counts["needs_review"] = current_submissions(call).filter(needs_review=True).count()
    counts["versions"] = Submission.objects.filter(call=call).count()
    return counts


def applications_for_staff(call: Call):
    return (
        Application.objects.filter(call=call)
        .select_related("organization", "current_submission", "created_by")
        .annotate(version_count=Count("submissions"))
    )


def applications_of_member(user):
    """The applications of the organizations ``user`` acts for (a person's "my applications")."""
    if not (user and user.is_authenticated):
        return Application.objects.none()
    return (
        Application.objects.filter(organization__memberships__user=user)
        .select_related("call", "organization", "current_submission")
        .annotate(version_count=Count("submissions"))
        .order_by("-updated_at", "-id")
    )


def application_for_page(pk: int) -> Application:
    """One application with its call, organization and current submission (raises DoesNotExist)."""
    return Application.objects.select_related("call", "organization", "current_submission").get(pk=pk)


def application_versions(application: Application):
    """Every submitted version of the application, oldest first."""
    return application.submissions.filter(protocol__isnull=False).select_related("withdrawn_by").order_by("id")


def application_actions(application: Application):
    """The action-log entries about the application, oldest first."""
    from manifattura.core.models import ActionLog

    return (
        ActionLog.objects.filter(object_type=Application._meta.label_lower, object_id=str(application.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def applications_to_remind(call: Call):
    """Applications of the call not submitted now (draft or withdrawn), with their members' addresses."""
    from django.db.models import Prefetch

    from manifattura.accounts.models import Membership

    return (
        Application.objects.filter(call=call)
        .exclude(status=ApplicationStatus.SUBMITTED)
        .select_related("organization")
        .prefetch_related(
            Prefetch("organization__memberships", queryset=Membership.objects.select_related("user"))
        )
        .order_by("id")
    )


# --- API reads -----------------------------------------------------------------------------------

def first_come_resources_by_call(calls) -> dict[int, dict]:
    """``first_come_resources`` of every first-come call in ``calls``, keyed by call id (two queries).

    Lists of calls use it so that showing what is left does not cost queries per call.
    """
    calls = [call for call in calls if call.selection_mode == SelectionMode.FIRST_COME]
    if not calls:
        return {}
    ids = [call.pk for call in calls]
    taken = {
        row["call_id"]: row
        for row in Submission.objects.filter(call_id__in=ids, withdrawn_at__isnull=True, protocol__isnull=False)
        .order_by().values("call_id").annotate(count=Count("id"), requested=Sum("requested_amount"))
    }
    spaces = dict(
        Call.offered_spaces.through.objects.filter(call_id__in=ids)
        .order_by().values("call_id").annotate(count=Count("space_id")).values_list("call_id", "count")
    )
    resources = {}
    for call in calls:
        row = taken.get(call.pk, {})
        submissions = row.get("count", 0)
        if call.kind == CallKind.GRANT and call.grant_budget is not None:
            requested = row.get("requested") or Decimal("0")
            resources[call.pk] = {
                "kind": "budget", "total": call.grant_budget, "taken": min(requested, call.grant_budget),
                "left": max(Decimal("0"), call.grant_budget - requested), "submissions": submissions,
            }
        else:
            total = spaces.get(call.pk, 0)
            resources[call.pk] = {
                "kind": "spaces", "total": total, "taken": min(submissions, total),
                "left": max(0, total - submissions), "submissions": submissions,
            }
    return resources


def calls_for_api(calls):
    """``calls`` (a visibility queryset) with everything a call's API representation shows, in fixed queries."""
    from django.db.models import Prefetch

    from manifattura.calls.models import FormSection, Question
    from manifattura.places.models import Space

    return calls.prefetch_related(
        "declarations", "criteria", "extensions", "documents",
        Prefetch("offered_spaces", queryset=Space.objects.select_related("site").order_by("site__name", "name", "id")),
        Prefetch(
            "sections",
            queryset=FormSection.objects.prefetch_related(
                Prefetch("questions", queryset=Question.objects.order_by("order", "id"))
            ),
        ),
    )


def applications_for_api_list(applications):
    """``applications`` (a visibility queryset) with call, organization and current receipt joined."""
    return applications.select_related("call", "organization", "current_submission__call")


def applications_for_api_detail(applications):
    """As ``applications_for_api_list``, plus files and every submitted version."""
    from django.db.models import Prefetch

    from manifattura.calls.models import ApplicationFile

    return applications_for_api_list(applications).prefetch_related(
        Prefetch("files", queryset=ApplicationFile.objects.order_by("uploaded_at", "id")),
        Prefetch(
            "submissions",
            queryset=Submission.objects.filter(protocol__isnull=False).select_related("call").order_by("id"),
            to_attr="versions",
        ),
    )


def first_come_position_fast(submission: Submission) -> int | None:
    """``first_come_position`` without reading every receipt before this one (click-day receipts).

    Protocol numbers are gap-free, so a current submission's position is its protocol minus the
    withdrawn submissions numbered before it, counted on the partial index of withdrawn submissions
    (the submit function of migration ``calls/0005`` counts the same way).
    """
    if submission.call.selection_mode != SelectionMode.FIRST_COME or submission.protocol is None:
        return None
    if submission.withdrawn_at is not None:
        return None
    withdrawn_before = Submission.objects.filter(
        call_id=submission.call_id, withdrawn_at__isnull=False, protocol__lt=submission.protocol
    ).count()
    return submission.protocol - withdrawn_before
