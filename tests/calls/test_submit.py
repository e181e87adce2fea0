"""Submission: deadlines in Europe/Rome, idempotency, refusals that keep the draft, concurrency."""

import datetime as dt

import pytest
from django.db import connection

from manifattura.calls import domain
from manifattura.calls.enums import ApplicationStatus, CallKind, SelectionMode
from manifattura.calls.models import Application, ProtocolCounter, Submission
from manifattura.calls.queries import first_come_position, first_come_resources
from manifattura.core import clock
from manifattura.core.models import ActionLog, OutboxEmail
from tests.calls.factories import build_call, ready_application
from tests.concurrency import all_at_once

ROME_OPEN = clock.rome(2026, 3, 2, 9, 0, 0)
ROME_CLOSE = clock.rome(2026, 3, 29, 12, 0, 0)  # 29 March 2026: the day Italy moves to summer time


@pytest.fixture
def timed_call(db):
    with clock.frozen(clock.rome(2026, 3, 1, 10, 0)):
        return build_call(opens_at=ROME_OPEN, closes_at=ROME_CLOSE)


def _draft(call):
    with clock.frozen(clock.rome(2026, 3, 1, 12, 0)):
        return ready_application(call)


def test_submit_in_the_last_second_before_closing_is_accepted(timed_call):
    application, user = _draft(timed_call)
    with clock.frozen(ROME_CLOSE - dt.timedelta(seconds=1)):
        result = domain.application_submit(application=application, by=user)
    assert result.created and result.submission.protocol == 1
    assert result.submission.received_at == ROME_CLOSE - dt.timedelta(seconds=1)


def test_submit_at_the_closing_instant_is_refused_and_draft_kept(timed_call):
    application, user = _draft(timed_call)
    answers_before = dict(application.answers)
    with clock.frozen(ROME_CLOSE), pytest.raises(domain.SubmissionRefused) as refused:
        domain.application_submit(application=application, by=user)
    assert refused.value.code == "closed"
    assert "closed" in refused.value.problems[0]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.answers == answers_before
    assert not Submission.objects.exists()
    assert ProtocolCounter.objects.get(call=timed_call).last_number == 0


def test_deadline_on_dst_change_day_is_rome_wall_clock_time(timed_call):
    # 12:00 in Rome on 29 March 2026 is 10:00 UTC (CEST, UTC+2), not 11:00 UTC.
    assert ROME_CLOSE.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 10, 0, tzinfo=dt.UTC)
    application, user = _draft(timed_call)
    with clock.frozen(dt.datetime(2026, 3, 29, 10, 30, tzinfo=dt.UTC)), pytest.raises(domain.SubmissionRefused):
        domain.application_submit(application=application, by=user)
    with clock.frozen(dt.datetime(2026, 3, 29, 9, 59, 59, tzinfo=dt.UTC)):
        assert domain.application_submit(application=application, by=user).created


def test_submit_before_opening_is_refused_and_says_when_it_opens(timed_call):
    application, user = _draft(timed_call)
    with clock.frozen(ROME_OPEN - dt.timedelta(seconds=1)), pytest.raises(domain.SubmissionRefused) as refused:
        domain.application_submit(application=application, by=user)
    assert refused.value.code == "upcoming"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    with clock.frozen(ROME_OPEN):
        assert domain.application_submit(application=application, by=user).submission.protocol == 1


def test_submit_twice_returns_the_same_receipt(db):
    call = build_call()
    application, user = ready_application(call)
    first = domain.application_submit(application=application, by=user, idempotency_key="k-1")
    again_same_key = domain.application_submit(application=application, by=user, idempotency_key="k-1")
    again_no_key = domain.application_submit(application=application, by=user)
    assert first.created and not again_same_key.created and not again_no_key.created
    assert first.submission.pk == again_same_key.submission.pk == again_no_key.submission.pk
    assert Submission.objects.count() == 1


def test_receipt_email_is_queued_with_pdf_and_protocol(db, mailoutbox):
    call = build_call()
    application, user = ready_application(call)
    domain.application_submit(application=application, by=user)
    assert OutboxEmail.objects.filter(to=[user.email]).exists()
    # Delivered after commit (the test's transaction never commits): deliver explicitly.
    from manifattura.core.notify import deliver_pending

    deliver_pending()
    message = mailoutbox[-1]
    assert f"{call.code}/000001" in message.body
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")


def test_incomplete_application_is_refused_with_every_missing_item(db):
    call = build_call(with_file=True)
    application, user = ready_application(call)
    application.answers = {}
    application.accepted_declarations = []
    application.save()
    with pytest.raises(domain.SubmissionRefused) as refused:
        domain.application_submit(application=application, by=user)
    assert refused.value.code == "incomplete"
    text = " ".join(refused.value.problems)
    assert "Project title" in text and "Business plan" in text and "self-declaration" in text
    assert not Submission.objects.exists()


def test_withdraw_then_resubmit_keeps_every_version_and_last_counts(db):
    call = build_call()
    application, user = ready_application(call)
    first = domain.application_submit(application=application, by=user).submission
    domain.application_withdraw(application=application, by=user, reason="fix the title")
    question_id = next(iter(application.answers))
    errors = domain.application_save_section(application=application, by=user, values={question_id: "New title"})
    assert errors == {}
    second = domain.application_submit(application=application, by=user).submission
    application.refresh_from_db()
    assert application.current_submission == second
    assert second.protocol == 2 and second.digest != first.digest
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert list(application.submissions.order_by("protocol").values_list("protocol", flat=True)) == [1, 2]
    verbs = list(ActionLog.objects.filter(object_id=str(application.pk)).values_list("verb", flat=True))
    assert verbs.count("application.submit") == 2 and "application.withdraw" in verbs


def test_after_deadline_everything_is_read_only(timed_call):
    application, user = _draft(timed_call)
    with clock.frozen(ROME_CLOSE + dt.timedelta(minutes=1)):
        with pytest.raises(domain.NotEditable):
            domain.application_save_section(application=application, by=user, values={})
        with pytest.raises(domain.NotEditable):
            domain.application_start(call=timed_call, organization=application.organization, by=user)


def test_a_stranger_cannot_submit_someone_elses_application(db):
    from tests.factories import UserFactory

    call = build_call()
    application, _user = ready_application(call)
    with pytest.raises(PermissionError):
        domain.application_submit(application=application, by=UserFactory())
    assert not Submission.objects.exists()


def test_first_come_grant_consumes_budget_in_protocol_order(db):
    call = build_call(kind=CallKind.GRANT, mode=SelectionMode.FIRST_COME, spaces=0)
    receipts = []
    for _ in range(3):
        application, user = ready_application(call)  # each requests 20,000 of a 100,000 budget
        receipts.append(domain.application_submit(application=application, by=user).submission)
    assert [first_come_position(s) for s in receipts] == [1, 2, 3]
    resources = first_come_resources(call)
    assert resources["left"] == 40000 and resources["submissions"] == 3


def test_application_over_the_grant_maximum_is_refused(db):
    call = build_call(kind=CallKind.GRANT, spaces=0)
    application, user = ready_application(call)
    amount_question = call.sections.get().questions.get(is_requested_amount=True)
    domain.application_save_section(application=application, by=user, values={str(amount_question.pk): "30000.01"})
    with pytest.raises(domain.SubmissionRefused) as refused:
        domain.application_submit(application=application, by=user)
    assert "30000" in refused.value.problems[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [True, False], ids=["prepared", "full-path"])
def test_concurrent_submissions_get_gap_free_unique_protocols(settings, fast):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serializes writers)")
    settings.CALLS_FAST_SUBMIT = fast
    call = build_call(spaces=1)
    prepared = [ready_application(call) for _ in range(24)]

    def submit(application, user, key):
        return domain.application_submit(application=application, by=user, idempotency_key=key)

    # The same idempotency key sent concurrently by six more threads for the first applications.
    results, errors = all_at_once([(submit, (a, u, f"key-{a.pk}")) for a, u in prepared + prepared[:6]])
    assert not errors
    protocols = sorted(Submission.objects.filter(call=call).values_list("protocol", flat=True))
    assert protocols == list(range(1, 25))
    assert len({r.submission.pk for r in results}) == 24
    by_protocol = list(Submission.objects.filter(call=call).order_by("protocol").values_list("received_at", flat=True))
    assert by_protocol == sorted(by_protocol)
    assert ProtocolCounter.objects.get(call=call).last_number == 24
    assert Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED).count() == 24
