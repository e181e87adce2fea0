"""The audit log: entries written in their transaction, linked into a hash chain later, verified."""

import io
import os
import signal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import translation

from manifattura.core import clock
from manifattura.core.audit import (
    GENESIS,
    audit_link,
    audit_record,
    audit_record_many,
    audit_verify,
    entry_digest,
)
from manifattura.core.models import ActionLog, ChainHead


@pytest.fixture(autouse=True)
def _link_after_every_commit(settings):
    settings.AUDIT_LINK_INTERVAL = 0


@pytest.fixture(autouse=True)
def _english():
    # Command output is asserted in English; the project's default language is Italian.
    with translation.override("en"):
        yield


def record(n: int) -> list[ActionLog]:
    return [audit_record(verb="test.event", data={"n": i}) for i in range(n)]


def verify_command() -> str:
    out = io.StringIO()
    call_command("audit-verify", stdout=out)
    return out.getvalue()


def test_entries_are_linked_in_id_order_each_pointing_to_the_previous_hash(db):
    entries = record(3)

    assert audit_link() == 3

    linked = list(ActionLog.objects.order_by("chain_seq"))
    assert [e.pk for e in linked] == [e.pk for e in entries]
    assert [e.chain_seq for e in linked] == [1, 2, 3]
    assert linked[0].prev_hash == GENESIS
    assert [e.prev_hash for e in linked[1:]] == [e.hash for e in linked[:-1]]
    assert all(e.hash == entry_digest(e, e.prev_hash) for e in linked)
    assert audit_verify() == (3, [])
    assert ChainHead.objects.get(pk=1).last_hash == linked[-1].hash


def test_linking_twice_links_nothing_new_and_later_entries_continue_the_chain(db):
    record(2)
    audit_link()
    assert audit_link() == 0

    record(1)
    assert audit_link() == 1
    assert audit_verify() == (3, [])


def test_changing_an_entry_data_is_detected(db):
    entries = record(3)
    audit_link()

    ActionLog.objects.filter(pk=entries[1].pk).update(data={"n": 99})

    checked, problems = audit_verify()
    assert checked == 3
    assert problems == [f"entry {entries[1].pk}: content does not match its hash (altered)"]


def test_changing_an_entry_and_its_hash_breaks_the_next_link(db):
    entries = record(3)
    audit_link()
    forged = ActionLog.objects.get(pk=entries[1].pk)
    forged.verb = "test.forged"
    forged.hash = entry_digest(forged, forged.prev_hash)
    forged.save()

    _checked, problems = audit_verify()

    assert problems == [f"entry {entries[2].pk}: previous hash does not match entry before it"]


def test_deleting_the_last_entry_is_detected(db):
    entries = record(3)
    audit_link()

    ActionLog.objects.filter(pk=entries[-1].pk).delete()

    checked, problems = audit_verify()
    assert checked == 2
    assert problems == ["chain head does not match the last entry (entries removed at the end?)"]


def test_deleting_an_entry_in_the_middle_is_detected(db):
    entries = record(3)
    audit_link()

    ActionLog.objects.filter(pk=entries[1].pk).delete()

    _checked, problems = audit_verify()
    assert "gap: expected position 2, found 3" in problems


def test_entries_of_a_rolled_back_transaction_do_not_exist(db):
    record(1)

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(verb="test.rolled_back")
        raise RuntimeError("the action failed")

    assert not ActionLog.objects.filter(verb="test.rolled_back").exists()
    assert audit_link() == 1
    assert audit_verify() == (1, [])


def test_an_entry_committed_after_a_higher_id_is_linked_after_it(db):
    # Two writers: the one with the higher id commits (and is linked) first; the lower id arrives later.
    now = clock.now()
    ActionLog.objects.create(pk=50, created_at=now, verb="test.fast_writer")
    audit_link()
    ActionLog.objects.create(pk=10, created_at=now, verb="test.slow_writer")

    assert audit_link() == 1

    assert ActionLog.objects.get(pk=50).chain_seq == 1
    assert ActionLog.objects.get(pk=10).chain_seq == 2
    assert audit_verify() == (2, [])


def test_one_link_is_queued_per_transaction_and_it_links_all_entries(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        record(5)

    assert len(callbacks) == 1
    assert ActionLog.objects.filter(chain_seq__isnull=True).count() == 0
    assert audit_verify() == (5, [])


def test_a_link_queued_in_a_rolled_back_savepoint_is_queued_again(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(verb="test.rolled_back")
            raise RuntimeError
        audit_record(verb="test.kept")

    assert len(callbacks) == 1
    assert ActionLog.objects.get(verb="test.kept").chain_seq == 1


def test_audit_verify_command_links_pending_entries_and_reports_an_intact_chain(db):
    record(4)

    out = verify_command()

    assert "4 entries linked now, 4 entries checked" in out
    assert "intact" in out


def test_audit_verify_command_exits_1_on_tampering_and_lists_the_problem(db):
    entries = record(2)
    audit_link()
    ActionLog.objects.filter(pk=entries[0].pk).update(verb="test.tampered")
    out = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("audit-verify", stdout=out)

    assert caught.value.returncode == 1
    assert f"entry {entries[0].pk}: content does not match its hash" in out.getvalue()


def test_audit_record_many_appends_entries_in_order_and_they_are_linked(
    registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        entries = audit_record_many(
            verb="test.bulk", entries=[(registered, {"n": i}) for i in range(3)]
        )

    assert len(callbacks) == 1
    stored = list(ActionLog.objects.filter(verb="test.bulk").order_by("chain_seq"))
    assert [e.pk for e in stored] == [e.pk for e in entries]
    assert [e.data for e in stored] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {(e.object_type, e.object_id) for e in stored} == {("accounts.user", str(registered.pk))}
    assert audit_verify() == (3, [])


def test_linking_more_entries_than_one_update_writes_links_them_all_in_order(registered):
    # _save_links writes 500 links per statement: 1,203 entries take three.
    entries = audit_record_many(verb="test.many", entries=[(registered, {"n": i}) for i in range(1203)])

    assert audit_link() >= 1203
    linked = list(ActionLog.objects.filter(verb="test.many").order_by("chain_seq").values_list("pk", "chain_seq"))
    assert [pk for pk, _seq in linked] == [e.pk for e in entries]
    assert [seq for _pk, seq in linked] == list(range(linked[0][1], linked[0][1] + 1203))
    checked, problems = audit_verify()
    assert problems == [] and checked >= 1203


def test_with_a_linker_process_requests_leave_their_entries_to_it(
    db, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_LINKING = "worker"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record(3)

    assert ActionLog.objects.filter(chain_seq__isnull=True).count() == 3
    out = io.StringIO()
    call_command("audit-link", stdout=out)

    assert "3 entries linked" in out.getvalue()
    assert ActionLog.objects.filter(chain_seq__isnull=True).count() == 0
    assert audit_verify() == (3, [])


def test_audit_link_every_links_in_rounds_until_stopped(db, monkeypatch):
    record(2)
    rounds = []

    def sleep(seconds):  # the second pause is the service manager's stop
        rounds.append(seconds)
        if len(rounds) == 1:
            record(1)
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    out = io.StringIO()
    call_command("audit-link", "--every", "0.5", "--batch", "2", stdout=out)

    assert rounds == [0.5, 0.5]
    assert "Linked 2 entries (2 in all)" in out.getvalue()
    assert "Linked 1 entry (3 in all)" in out.getvalue()
    assert "3 entries linked" in out.getvalue()
    assert audit_verify() == (3, [])


def test_audit_link_every_stops_on_a_real_sigterm_and_gives_the_handler_back(db, monkeypatch):
    """What a service manager does: SIGTERM while the linker waits for its next round."""
    record(1)
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr("time.sleep", lambda seconds: os.kill(os.getpid(), signal.SIGTERM))
    out = io.StringIO()
    call_command("audit-link", "--every", "1", stdout=out)  # without its handler the signal ends the process

    assert "Audit log: 1 entry linked." in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is before
    assert audit_verify() == (1, [])


@pytest.mark.parametrize("arguments", [["--every", "0"], ["--batch", "0"]])
def test_audit_link_refuses_a_pause_or_batch_that_is_not_positive(db, arguments):
    with pytest.raises(CommandError):
        call_command("audit-link", *arguments, stdout=io.StringIO())
