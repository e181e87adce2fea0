"""Commands of the calls area: remind-drafts, and the calls step of load-demo."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command

from manifattura.calls import demo, domain
from manifattura.calls.enums import ApplicationStatus, CallPhase, QuestionKind
from manifattura.calls.models import Call, Question
from manifattura.core import clock
from manifattura.core.models import ActionLog, OutboxEmail
from manifattura.core.notify import deliver
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.factories import MembershipFactory


def _run(*args):
    out = io.StringIO()
    call_command("remind-drafts", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def closing_soon(db):
    """A call closing in 30 hours with one draft, one submitted and one withdrawn application."""
    now = clock.now()
    call = build_call(opens_at=now - dt.timedelta(days=10), closes_at=now + dt.timedelta(hours=30))
    draft, draft_user = ready_application(call)
    colleague = MembershipFactory(organization=draft.organization).user
    submitted, submitted_user = ready_application(call)
    domain.application_submit(application=submitted, by=submitted_user)
    withdrawn, withdrawn_user = ready_application(call)
    domain.application_submit(application=withdrawn, by=withdrawn_user)
    domain.application_withdraw(application=withdrawn, by=withdrawn_user)
    return {"call": call, "draft": (draft, draft_user, colleague), "submitted": submitted_user,
            "withdrawn": withdrawn_user}


def _reminders():
    return OutboxEmail.objects.filter(template="calls/email/reminder.txt").order_by("id")


def _recipients():
    return sorted(address for email in _reminders() for address in email.to)


def test_remind_drafts_writes_only_to_organizations_that_have_not_submitted(closing_soon):
    output = _run("--hours", "48")
    _draft, draft_user, colleague = closing_soon["draft"]
    assert _recipients() == sorted([draft_user.email, colleague.email, closing_soon["withdrawn"].email])
    assert closing_soon["submitted"].email not in _recipients()
    assert "Reminded 2 applications (3 people)" in output
    first = _reminders().first()
    # Emails speak the recipient's language (Italian by default for these users).
    assert first.language == "it" and first.subject == "La domanda non è ancora stata inviata"
    assert "/calls/applications/" in first.context["url"]
    assert deliver(first.pk)  # what the outbox sends after commit
    assert "non è ancora stata inviata" in mail.outbox[-1].body and closing_soon["call"].title in mail.outbox[-1].body
    assert ActionLog.objects.filter(verb="application.reminded").count() == 2


def test_remind_drafts_does_not_write_twice_for_the_same_deadline(closing_soon):
    _run()
    output = _run()
    assert _reminders().count() == 2
    assert "Reminded 0 applications (0 people); 2 skipped" in output


def test_an_extended_deadline_may_be_reminded_again(closing_soon, staff):
    _run()
    _reminders().delete()
    call = closing_soon["call"]
    domain.call_extend_deadline(call=call, by=staff, new_closes_at=call.closes_at + dt.timedelta(hours=6), reason="Outage")
    _run()
    assert len(_recipients()) == 3


def test_dry_run_sends_nothing_and_calls_outside_the_window_are_left_alone(closing_soon):
    output = _run("--dry-run")
    assert not _reminders().exists() and "would remind" in output and "Dry run: nothing was sent." in output
    assert not ActionLog.objects.filter(verb="application.reminded").exists()
    _run("--hours", "12")
    assert not _reminders().exists()


def test_remind_drafts_for_one_call(closing_soon):
    now = clock.now()
    other = build_call(code="OTHER-1", opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(hours=5))
    ready_application(other)
    _run("--call", "OTHER-1")
    assert _reminders().count() == 1
    with pytest.raises(Exception, match="no call with the code"):
        _run("--call", "NOPE")


def _fill_demo_application(call, user, organization):
    application = domain.application_start(call=call, organization=organization, by=user)
    values = {}
    for question in Question.objects.filter(section__call=call):
        if question.kind == QuestionKind.SHORT_TEXT:
            values[str(question.pk)] = "Fab lab di quartiere"
        elif question.kind == QuestionKind.LONG_TEXT:
            values[str(question.pk)] = "A neighbourhood fab lab for schools and small firms. " * 4
        elif question.kind == QuestionKind.SINGLE_CHOICE:
            values[str(question.pk)] = question.choices[0]
        elif question.kind == QuestionKind.MULTIPLE_CHOICE:
            values[str(question.pk)] = question.choices[:2]
        elif question.kind == QuestionKind.NUMBER:
            values[str(question.pk)] = "4"
        elif question.kind == QuestionKind.YES_NO:
            values[str(question.pk)] = "yes"
        elif question.kind == QuestionKind.DATE:
            values[str(question.pk)] = "2027-01-15"
    assert domain.application_save_section(application=application, by=user, values=values) == {}
    for question in Question.objects.filter(section__call=call, kind=QuestionKind.FILE):
        domain.application_upload_file(application=application, by=user, question_id=question.pk,
                                       name="plan.pdf", content=PDF_BYTES)
    domain.application_accept_declarations(application=application, by=user,
                                           declaration_ids=list(call.declarations.values_list("id", flat=True)))
    application.refresh_from_db()
    return application


def test_demo_calls_load_once_and_the_demo_applicant_can_apply_end_to_end(db):
    out = io.StringIO()
    demo.load(stdout=out)
    demo.load(stdout=out)
    assert Call.objects.filter(is_demo=True).count() == 3  # open, upcoming, and the concluded one
    assert "exists already" in out.getvalue()
    space_call = Call.objects.get(code=demo.SPACE_CALL_CODE)
    grant_call = Call.objects.get(code=demo.GRANT_CALL_CODE)
    assert domain.call_phase(space_call) == CallPhase.OPEN
    assert domain.call_phase(grant_call) == CallPhase.UPCOMING
    assert 3 <= space_call.offered_spaces.count() <= 4
    assert sum(c.max_points * c.weight for c in space_call.criteria.all()) == 100
    assert space_call.min_total_score == 60 and space_call.declarations.count() == 2
    assert grant_call.grant_budget == 200000 and grant_call.grant_max_per_application == 20000
    people = demo.ensure_people()
    applicant, organization = people[1], people[2]
    application = _fill_demo_application(space_call, applicant, organization)
    assert domain.application_checklist(application) == []
    result = domain.application_submit(application=application, by=applicant)
    assert result.created and result.submission.protocol == 1
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_prepare_submissions_reports_how_many_drafts_are_ready(db):
    from manifattura.calls.models import Application

    call = build_call(code="MM-PREP-01")
    ready = [ready_application(call)[0] for _ in range(2)]
    member = MembershipFactory()
    incomplete = domain.application_start(call=call, organization=member.organization, by=member.user)
    Application.objects.filter(pk__in=[a.pk for a in ready]).update(prepared=None)
    out, err = io.StringIO(), io.StringIO()
    call_command("prepare-submissions", "MM-PREP-01", stdout=out, stderr=err)
    assert "2 of 3 drafts are ready" in out.getvalue()
    assert "3/3" in err.getvalue()
    assert Application.objects.filter(call=call, prepared__isnull=False).count() == 2
    assert Application.objects.get(pk=incomplete.pk).prepared is None


def test_prepare_submissions_refuses_an_unknown_or_unpublished_call(db):
    from django.core.management.base import CommandError

    build_call(code="MM-PREP-02", publish=False)
    with pytest.raises(CommandError, match="No call"):
        call_command("prepare-submissions", "MM-NOPE", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="not published"):
        call_command("prepare-submissions", "MM-PREP-02", stdout=io.StringIO(), stderr=io.StringIO())
