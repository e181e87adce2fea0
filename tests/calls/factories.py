"""Calls ready for tests: a published call with a small form, rubric and declaration."""

import datetime as dt
from decimal import Decimal

from manifattura.calls import domain
from manifattura.calls.enums import CallKind, QuestionKind, SelectionMode
from manifattura.calls.models import Call, Criterion, Declaration, FormSection, Question
from manifattura.core import clock
from tests.factories import MembershipFactory, SpaceFactory, UserFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b" " * 200


def build_call(
    *,
    staff=None,
    code="MM-2026-01",
    kind=CallKind.SPACE,
    mode=SelectionMode.MERIT,
    opens_at=None,
    closes_at=None,
    spaces=1,
    with_file=False,
    publish=True,
    **fields,
) -> Call:
    """A call with one section (a short text, a number and optionally a PDF), a 2-criterion rubric
    adding up to 100 and one self-declaration; published unless ``publish=False``."""
    staff = staff or UserFactory(is_staff=True, email=f"staff-{code.lower()}@example.org")
    now = clock.now()
    opens_at = opens_at or now - dt.timedelta(days=1)
    closes_at = closes_at or now + dt.timedelta(days=30)
    values = {
        "code": code, "kind": kind, "selection_mode": mode, "title": f"Call {code}",
        "summary": "Spaces for makers in the periphery.", "opens_at": opens_at, "closes_at": closes_at,
        "rubric_total": Decimal("100"), "min_total_score": Decimal("60"),
    }
    if kind == CallKind.GRANT:
        values.update(grant_budget=Decimal("100000.00"), grant_max_per_application=Decimal("30000.00"))
    values.update(fields)
    # Publishing checks the deadline against now; build with the clock at the creation moment.
    call = domain.call_create(by=staff, **values)
    section = FormSection.objects.create(call=call, title="Project", order=1)
    Question.objects.create(section=section, label="Project title", kind=QuestionKind.SHORT_TEXT, order=1, max_length=100)
    Question.objects.create(
        section=section, label="Jobs created", kind=QuestionKind.NUMBER, order=2, min_value=0, max_value=500,
        is_requested_amount=False,
    )
    if kind == CallKind.GRANT:
        Question.objects.create(
            section=section, label="Requested amount (EUR)", kind=QuestionKind.NUMBER, order=3,
            min_value=0, is_requested_amount=True,
        )
    if with_file:
        Question.objects.create(
            section=section, label="Business plan (PDF)", kind=QuestionKind.FILE, order=4,
            allowed_file_types=["pdf"], max_file_mb=1,
        )
    Criterion.objects.create(call=call, code="quality", title="Project quality", max_points=60, order=1)
    Criterion.objects.create(call=call, code="jobs", title="Jobs", max_points=40, order=2)
    Declaration.objects.create(call=call, text="I declare under DPR 445/2000 that the information is true.")
    for _ in range(spaces):
        call.offered_spaces.add(SpaceFactory())
    if publish:
        if call.closes_at <= now:
            with clock.frozen(call.opens_at - dt.timedelta(hours=1)):
                call = domain.call_publish(call=call, by=staff)
        else:
            call = domain.call_publish(call=call, by=staff)
    return call


def complete_answers(call) -> dict:
    answers = {}
    for question in Question.objects.filter(section__call=call):
        if question.kind == QuestionKind.SHORT_TEXT:
            answers[str(question.pk)] = "Fab lab in Quarto Oggiaro"
        elif question.kind == QuestionKind.NUMBER:
            answers[str(question.pk)] = "20000" if question.is_requested_amount else "5"
    return answers


def ready_application(call, *, user=None, organization=None, with_file_bytes=PDF_BYTES):
    """A member's application with every question answered and the declarations accepted."""
    membership = MembershipFactory(
        **({"user": user} if user else {}), **({"organization": organization} if organization else {})
    )
    application = domain.application_start(call=call, organization=membership.organization, by=membership.user)
    domain.application_save_section(application=application, by=membership.user, values=complete_answers(call))
    for question in Question.objects.filter(section__call=call, kind=QuestionKind.FILE):
        domain.application_upload_file(
            application=application, by=membership.user, question_id=question.pk, name="plan.pdf",
            content=with_file_bytes,
        )
    domain.application_accept_declarations(
        application=application, by=membership.user, declaration_ids=list(call.declarations.values_list("id", flat=True))
    )
    application.refresh_from_db()
    return application, membership.user


def declare_no_conflicts(call) -> None:
    """Every assigned reviewer of the call who has not declared yet declares no conflict of interest (scoring
    needs the declaration)."""
    from manifattura.calls import evaluation
    from manifattura.calls.models import ConflictDeclaration, ReviewAssignment

    declared = set(ConflictDeclaration.objects.filter(application__call=call)
                   .values_list("member_id", "application_id"))
    for assignment in ReviewAssignment.objects.filter(application__call=call).select_related(
            "member__user", "application"):
        if (assignment.member_id, assignment.application_id) not in declared:
            evaluation.conflict_declare(member=assignment.member, application=assignment.application,
                                        has_conflict=False, by=assignment.member.user)
