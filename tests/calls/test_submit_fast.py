"""Prepared submissions (every database) and the one-statement click-day submit (PostgreSQL).

The fast path must be indistinguishable from ``domain.application_submit`` except in speed: same rows,
same receipt, same refusals (which it leaves to the full path).
"""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from manifattura.accounts.models import Organization
from manifattura.calls import domain, eligibility
from manifattura.calls.enums import ApplicationStatus, SelectionMode
from manifattura.calls.models import Application, ProtocolCounter, Submission
from manifattura.core import clock
from manifattura.core.models import ActionLog, OutboxEmail
from tests.calls.factories import build_call, complete_answers, ready_application
from tests.concurrency import all_at_once

T_OPEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # 09:00 in Rome
T_CLOSE = dt.datetime(2026, 4, 30, 10, 0, tzinfo=dt.UTC)  # 12:00 in Rome
OPEN = T_OPEN + dt.timedelta(days=1)

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the one-statement submit is a PostgreSQL function"
)


@pytest.fixture
def frozen():
    """Move the frozen clock (tests/conftest.py unfreezes it after each test)."""

    def move(instant):
        clock.unfreeze()
        clock.freeze(instant)

    return move


def _call(frozen, **fields):
    frozen(T_OPEN - dt.timedelta(days=2))
    call = build_call(opens_at=T_OPEN, closes_at=T_CLOSE, **fields)
    return call


def _submit(application, user, **headers):
    token, _created = Token.objects.get_or_create(user=user)
    return Client().post(f"/api/v1/applications/{application.pk}/submit/",
                         HTTP_AUTHORIZATION=f"Token {token.key}", **headers)


# --- prepared submissions (every database) -------------------------------------------------------

def test_a_complete_draft_holds_what_submitting_it_freezes(db, frozen):
    call = _call(frozen, with_file=True)
    application, user = ready_application(call)
    prepared = application.prepared
    assert prepared is not None
    frozen(OPEN)
    submission = domain.application_submit(application=application, by=user).submission
    assert prepared["snapshot"] == submission.snapshot
    assert prepared["digest"] == submission.digest == domain.snapshot_digest(submission.snapshot)
    assert prepared["eligibility"] == submission.eligibility
    assert prepared["needs_review"] == submission.needs_review
    assert prepared["valid_from"] == (T_OPEN - dt.timedelta(days=2)).date().isoformat()


def test_an_incomplete_draft_has_nothing_prepared_and_each_change_prepares_again(db, frozen):
    call = _call(frozen)
    application, user = ready_application(call)
    title = call.sections.get().questions.get(label="Project title")
    domain.application_save_section(application=application, by=user, values={str(title.pk): ""})
    application.refresh_from_db()
    assert application.prepared is None
    domain.application_save_section(application=application, by=user, values={str(title.pk): "Makerspace in Gorla"})
    application.refresh_from_db()
    answers = {a["label"]: a["value"] for a in application.prepared["snapshot"]["answers"]}
    assert answers["Project title"] == "Makerspace in Gorla"
    domain.application_accept_declarations(application=application, by=user, declaration_ids=[])
    application.refresh_from_db()
    assert application.prepared is None


def test_an_ineligible_draft_has_nothing_prepared(db, frozen):
    call = _call(frozen, allowed_organization_kinds=["startup"])
    application, _user = ready_application(call)
    assert application.organization.kind != "startup"
    assert application.prepared is None


def test_prepare_submissions_brings_bulk_drafts_up_to_date(db, frozen):
    call = _call(frozen)
    ready = [ready_application(call)[0] for _ in range(3)]
    Application.objects.filter(pk__in=[a.pk for a in ready]).update(prepared=None)
    progress = []
    assert domain.prepare_submissions(call, progress=lambda done, total: progress.append((done, total)),
                                      batch=2) == 3
    assert progress == [(2, 3), (3, 3)]
    assert Application.objects.filter(call=call, prepared__isnull=False).count() == 3


def test_the_age_rule_makes_preparation_hold_until_the_founding_anniversary(db, frozen):
    call = _call(frozen, max_organization_age_years=10)
    application, _user = ready_application(call)
    founded = application.organization.founded_on
    assert application.prepared["valid_until"] == eligibility.next_birthday(
        founded, (T_OPEN - dt.timedelta(days=2)).date()).isoformat()


@given(
    founded=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)),
    on=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
)
def test_age_in_whole_years_is_constant_until_next_birthday_and_changes_on_it(founded, on):
    change = eligibility.next_birthday(founded, on)
    assert on < change <= on + dt.timedelta(days=366)
    age = eligibility.years_between(founded, on)
    assert eligibility.years_between(founded, change - dt.timedelta(days=1)) == age
    assert eligibility.years_between(founded, change) == age + 1


def test_a_29_february_foundation_ages_on_1_march_in_common_years():
    assert eligibility.next_birthday(dt.date(2020, 2, 29), dt.date(2026, 2, 1)) == dt.date(2026, 3, 1)
    assert eligibility.next_birthday(dt.date(2020, 2, 29), dt.date(2027, 12, 1)) == dt.date(2028, 2, 29)


# --- the one-statement submit (PostgreSQL) -----------------------------------------------------------

def _rows(submission):
    """What a submission writes, without the identifiers that differ between two submissions."""
    entry = ActionLog.objects.get(verb="application.submit", data__submission=submission.pk)
    email = OutboxEmail.objects.get(context__contains={"__builder__": {"kwargs": {"submission_id": submission.pk}}})
    return {
        "submission": (submission.snapshot, submission.digest, submission.requested_amount, submission.eligibility,
                       submission.needs_review, submission.submitted_by_id, submission.application_id),
        "audit": (entry.actor_id, entry.object_type, entry.object_id, entry.object_repr,
                  entry.data["digest"]),
        "email": (email.to, email.subject, email.template, email.language, email.status,
                  [a["builder"] for a in email.attachments],
                  [a["kwargs"] == {"submission_id": submission.pk} for a in email.attachments]),
    }


@postgresql_only
@pytest.mark.parametrize("mode", [SelectionMode.MERIT, SelectionMode.FIRST_COME])
def test_the_fast_submit_writes_what_the_domain_submit_writes(db, frozen, settings, mode):
    call = _call(frozen, mode=mode, with_file=True)
    application, user = ready_application(call)
    frozen(OPEN)
    fast = _submit(application, user, HTTP_IDEMPOTENCY_KEY="first")
    assert fast.status_code == 201
    first = Submission.objects.get(pk=fast.json()["submission"])
    assert fast.json() == Client().get(
        f"/api/v1/applications/{application.pk}/receipt/",
        HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=user).key}").json()
    assert first.protocol == 1 and first.received_at == OPEN and first.idempotency_key == "first"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and application.current_submission_id == first.pk

    domain.application_withdraw(application=application, by=user)
    settings.CALLS_FAST_SUBMIT = False
    full = _submit(application, user)
    assert full.status_code == 201
    second = Submission.objects.get(pk=full.json()["submission"])
    assert _rows(first) == _rows(second)
    assert set(fast.json()) == set(full.json())
    assert (full.json()["position"] is None) == (mode == SelectionMode.MERIT)
    if mode == SelectionMode.FIRST_COME:
        assert fast.json()["position"] == 1 and full.json()["position"] == 1  # the first is withdrawn


@postgresql_only
def test_the_fast_submit_is_one_statement_and_a_retry_gives_the_same_receipt(db, frozen):
    from django.test.utils import CaptureQueriesContext

    call = _call(frozen)
    application, user = ready_application(call)
    Token.objects.get_or_create(user=user)
    frozen(OPEN)
    token = Token.objects.get(user=user).key
    with CaptureQueriesContext(connection) as queries:
        first = Client().post(f"/api/v1/applications/{application.pk}/submit/",
                              HTTP_AUTHORIZATION=f"Token {token}", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]] == ["SELECT"]
    retry = _submit(application, user, HTTP_IDEMPOTENCY_KEY="k-1")
    assert retry.status_code == 200 and retry.json() == first.json()
    assert Submission.objects.filter(application=application).count() == 1


@postgresql_only
def test_a_changed_organization_profile_is_submitted_as_it_is_now(db, frozen):
    call = _call(frozen)
    application, user = ready_application(call)
    Organization.objects.filter(pk=application.organization_id).update(legal_name="Nuovo Nome S.r.l.")
    frozen(OPEN)
    response = _submit(application, user)
    assert response.status_code == 201
    snapshot = Submission.objects.get(pk=response.json()["submission"]).snapshot
    assert snapshot["organization"]["legal_name"] == "Nuovo Nome S.r.l."


@postgresql_only
def test_a_draft_changed_behind_the_domains_back_is_submitted_as_it_is_now(db, frozen):
    call = _call(frozen)
    application, user = ready_application(call)
    title = str(call.sections.get().questions.get(label="Project title").pk)
    Application.objects.filter(pk=application.pk).update(answers={**application.answers, title: "Changed in admin"})
    frozen(OPEN)
    response = _submit(application, user)
    assert response.status_code == 201
    answers = Submission.objects.get(pk=response.json()["submission"]).snapshot["answers"]
    assert "Changed in admin" in [a["value"] for a in answers]


@postgresql_only
def test_an_age_that_changed_since_preparation_is_evaluated_again(db, frozen):
    call = _call(frozen, max_organization_age_years=3)
    application, user = ready_application(call)
    org = application.organization
    # Three years old when prepared, four at the opening: the full path refuses with the reason.
    Organization.objects.filter(pk=org.pk).update(founded_on=dt.date(2022, 3, 1))
    frozen(T_OPEN - dt.timedelta(days=2))
    domain.prepare_submissions(call)
    application.refresh_from_db()
    assert application.prepared["valid_until"] == "2026-03-01"
    frozen(OPEN)
    response = _submit(application, user)
    assert response.status_code == 422
    assert "3 years" in " ".join(response.json()["problems"])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT and application.prepared is not None


@postgresql_only
@pytest.mark.parametrize("instant, phase", [
    (T_CLOSE, "closed"), (T_CLOSE + dt.timedelta(seconds=1), "closed"), (T_OPEN - dt.timedelta(seconds=1), "upcoming"),
])
def test_outside_the_window_the_fast_submit_frees_the_number_and_the_full_path_refuses(db, frozen, instant, phase):
    call = _call(frozen)
    application, user = ready_application(call)
    frozen(instant)
    response = _submit(application, user)
    assert response.status_code == 409
    assert response.json()["code"] == phase
    assert ProtocolCounter.objects.get(call=call).last_number == 0
    assert not Submission.objects.filter(application=application).exists()
    assert not ActionLog.objects.filter(verb="application.submit").exists()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


@postgresql_only
def test_the_last_instant_before_closing_is_accepted(db, frozen):
    call = _call(frozen)
    application, user = ready_application(call)
    frozen(T_CLOSE - dt.timedelta(microseconds=1))
    response = _submit(application, user)
    assert response.status_code == 201
    assert response.json()["received_at"] == "2026-04-30T11:59:59.999+02:00"


@postgresql_only
def test_who_may_not_submit_is_answered_by_the_full_path(db, frozen):
    call = _call(frozen)
    application, user = ready_application(call)
    other_application, other = ready_application(call)
    frozen(OPEN)
    assert _submit(application, other).status_code == 404
    bad = Client().post(f"/api/v1/applications/{application.pk}/submit/", HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401
    assert Client().post(f"/api/v1/applications/{application.pk}/submit/").status_code in (401, 403)
    user.is_active = False
    user.save()
    assert _submit(application, user).status_code == 401
    assert _submit(other_application, other, HTTP_IDEMPOTENCY_KEY="x" * 101).status_code == 400
    assert not Submission.objects.exists()


@postgresql_only
def test_an_idempotency_key_reused_for_another_application_is_refused(db, frozen):
    call = _call(frozen, one_per_organization=False)
    first, user = ready_application(call)
    second = domain.application_start(call=call, organization=first.organization, by=user)
    domain.application_save_section(application=second, by=user, values=complete_answers(call))
    domain.application_accept_declarations(
        application=second, by=user, declaration_ids=list(call.declarations.values_list("id", flat=True)))
    frozen(OPEN)
    assert _submit(first, user, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    reused = _submit(second, user, HTTP_IDEMPOTENCY_KEY="same")
    assert reused.status_code == 409
    assert Submission.objects.count() == 1 and ProtocolCounter.objects.get(call=call).last_number == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_fast_submits_are_gap_free_in_receipt_order():
    call = build_call(spaces=1, mode=SelectionMode.FIRST_COME)
    prepared = [ready_application(call) for _ in range(20)]
    tokens = {user.pk: Token.objects.create(user=user).key for _app, user in prepared}

    def submit(application, user, key):
        response = Client().post(f"/api/v1/applications/{application.pk}/submit/",
                                 HTTP_AUTHORIZATION=f"Token {tokens[user.pk]}", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.json()

    # Five more requests repeat the first applications' keys, at the same instant.
    answers, errors = all_at_once([(submit, (a, u, f"key-{a.pk}")) for a, u in prepared + prepared[:5]])
    assert not errors
    assert sorted(status for status, _body in answers) == [200] * 5 + [201] * 20
    protocols = list(Submission.objects.filter(call=call).order_by("protocol").values_list("protocol", "received_at"))
    assert [p for p, _at in protocols] == list(range(1, 21))
    assert [at for _p, at in protocols] == sorted(at for _p, at in protocols)
    assert {body["submission"] for _status, body in answers} == set(
        Submission.objects.filter(call=call).values_list("pk", flat=True))
    assert ProtocolCounter.objects.get(call=call).last_number == 20
    assert all(body["position"] == body["protocol"] for _status, body in answers)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_numbers_in_arrival_order_and_undoes_a_failing_request_alone():
    from manifattura.calls import submit_fast
    from tests.factories import MembershipFactory

    call = build_call(mode=SelectionMode.FIRST_COME)
    (first, user), (second, _other), (third, third_user) = [ready_application(call) for _ in range(3)]
    MembershipFactory(user=user, organization=second.organization)  # the user files for two firms

    def request(application, by, key=None):
        return {"token": None, "user": by.pk, "application": application.pk, "key": key, "repr": "%1$s / %2$s"}

    rows = submit_fast._Batcher(8)._send([
        request(first, user, "same-key"),
        request(second, user, "same-key"),   # the key is taken by the first: undone alone
        request(third, third_user),
        request(first, third_user),          # not a member: nothing written
    ])
    assert [rows[i][0] for i in range(4)] == ["created", "key", "created", "refused"]
    assert [rows[0][2], rows[2][2]] == [1, 2]
    assert list(Submission.objects.order_by("protocol").values_list("application_id", "protocol")) == [
        (first.pk, 1), (third.pk, 2)]
    assert ProtocolCounter.objects.get(call=call).last_number == 2
    assert Application.objects.get(pk=second.pk).status == ApplicationStatus.DRAFT
    assert ActionLog.objects.filter(verb="application.submit").count() == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_batched_and_single_submits_write_the_same(settings, monkeypatch):
    from manifattura.calls import submit_fast

    sent = []
    send = submit_fast._Batcher._send
    monkeypatch.setattr(submit_fast._Batcher, "_send",
                        lambda self, requests: sent.append(requests) or send(self, requests))
    call = build_call(mode=SelectionMode.FIRST_COME, with_file=True)
    application, user = ready_application(call)
    batched = _submit(application, user)  # outside a transaction: through the batch thread
    assert batched.status_code == 201 and len(sent) == 1
    domain.application_withdraw(application=application, by=user)
    settings.CALLS_SUBMIT_BATCH = 1
    single = _submit(application, user)
    assert single.status_code == 201 and len(sent) == 1  # one statement of its own
    first, second = (Submission.objects.get(pk=r.json()["submission"]) for r in (batched, single))
    assert (first.protocol, second.protocol) == (1, 2)
    assert _rows(first) == _rows(second)
    assert set(batched.json()) == set(single.json())


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_sends_its_requests_the_full_way(monkeypatch):
    from manifattura.calls import submit_fast

    call = build_call()
    application, user = ready_application(call)
    broken = "SELECT * FROM no_such_function(%s, %s, %s, %s, %s, %s, %s, %s)"
    monkeypatch.setattr(submit_fast, "_STATEMENT", broken)
    response = _submit(application, user)
    assert response.status_code == 201  # answered by the full path
    submission = Submission.objects.get(pk=response.json()["submission"])
    prepared = Application.objects.get(pk=application.pk).prepared
    assert submission.protocol == 1 and submission.snapshot == prepared["snapshot"]
    assert ProtocolCounter.objects.get(call=call).last_number == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_that_does_not_answer_in_time_leaves_the_request_to_the_full_path(monkeypatch):
    import time

    from manifattura.calls import submit_fast

    call = build_call()
    application, user = ready_application(call)
    monkeypatch.setattr(submit_fast._Batcher, "WAIT_SECONDS", 0.2)
    monkeypatch.setattr(submit_fast._Batcher, "_send", lambda self, requests: time.sleep(1) or {})
    response = _submit(application, user)
    assert response.status_code == 201
    assert Submission.objects.get(application=application).protocol == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_submits_an_application_asked_for_twice_once():
    from manifattura.calls import submit_fast

    call = build_call()
    application, user = ready_application(call)
    request = {"token": None, "user": user.pk, "application": application.pk, "key": None, "repr": "%1$s"}
    rows = submit_fast._Batcher(8)._send([request, dict(request, key="double-click")])
    assert [rows[0][0], rows[1][0]] == ["created", "state"]  # the second is answered by the full path
    assert Submission.objects.filter(application=application).count() == 1
    assert ProtocolCounter.objects.get(call=call).last_number == 1


@postgresql_only
def test_a_fast_submit_that_fails_inside_a_transaction_leaves_it_usable_for_the_full_path(db, frozen, monkeypatch):
    from manifattura.calls import submit_fast

    call = _call(frozen)
    application, user = ready_application(call)
    frozen(OPEN)
    monkeypatch.setattr(submit_fast, "_STATEMENT", "SELECT * FROM no_such_function(%s, %s, %s, %s, %s, %s, %s, %s)")
    result = domain.application_submit(application=application, by=user)  # in the test's transaction
    assert result.submission.protocol == 1
    assert Submission.objects.get(application=application).snapshot == application.prepared["snapshot"]


# --- the migration's way back ----------------------------------------------------------------------

def _submit_functions() -> tuple[list[str], bool]:
    """The click-day functions in the database, and whether 0007's request type is there."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname IN ('calls_submit_prepared', "
                       "'calls_submit_prepared_batch') ORDER BY proname")
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM pg_type WHERE typname = 'calls_submit_request'")
        return names, cursor.fetchone()[0] == 1


@postgresql_only
def test_migration_0007_goes_back_to_0005s_functions_and_forward_again(db, frozen):
    """A rollback of a release restores the per-request function of 0005; migrating again brings back the
    set-based batch, which then submits. (Inside the test's transaction: PostgreSQL's DDL rolls back.)"""
    from django.db.migrations.executor import MigrationExecutor
    from django.test.utils import CaptureQueriesContext

    assert _submit_functions() == (["calls_submit_prepared_batch"], True)
    MigrationExecutor(connection).migrate([("calls", "0006_click_day_indexes")])
    assert _submit_functions() == (["calls_submit_prepared", "calls_submit_prepared_batch"], False)
    MigrationExecutor(connection).migrate([("calls", "0007_set_based_submit")])
    assert _submit_functions() == (["calls_submit_prepared_batch"], True)

    call = _call(frozen)
    application, user = ready_application(call)
    frozen(OPEN)
    with CaptureQueriesContext(connection) as queries:
        response = _submit(application, user)
    assert response.status_code == 201, response.content
    assert any("calls_submit_prepared_batch" in q["sql"] for q in queries.captured_queries)
    assert Submission.objects.get(application=application).protocol == 1
