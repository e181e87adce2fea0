"""The action log: record domain events inside their transaction; link them into a hash chain later."""

import hashlib
import json
import logging
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, transaction

from manifattura.core import clock
from manifattura.core.models import ActionLog, ChainHead

logger = logging.getLogger(__name__)
GENESIS = "0" * 64


def audit_record(*, verb: str, actor=None, obj=None, data: dict | None = None) -> ActionLog:
    """Append an entry; call it inside the domain function's transaction.

    Linking into the chain happens after commit, in its own short transaction, so no writer waits
    for another writer's chain position.
    """
    entry = _new_entry(verb=verb, actor=actor, obj=obj, data=data, at=clock.now())
    entry.save(force_insert=True)
    _link_after_commit()
    return entry


def audit_record_many(
    *, verb: str, actor=None, entries: Iterable[tuple[object, dict | None]]
) -> list[ActionLog]:
    """Append one entry per (object, data) pair, in order, with one INSERT per 1000 entries.

    The same entries ``audit_record`` would write one by one (for bulk domain functions).
    """
    now = clock.now()
    rows = [_new_entry(verb=verb, actor=actor, obj=obj, data=data, at=now) for obj, data in entries]
    ActionLog.objects.bulk_create(rows, batch_size=1000)
    if rows:
        _link_after_commit()
    return rows


def _new_entry(*, verb: str, actor, obj, data: dict | None, at) -> ActionLog:
    return ActionLog(
        created_at=at,
        actor=actor if getattr(actor, "pk", None) else None,
        verb=verb,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        data=json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder)),
    )


def _link_after_commit() -> None:
    """Schedule one linking per transaction, however many entries it writes (imports write thousands)."""
    queued = transaction.get_connection().run_on_commit
    # A callback queued in this transaction (or in a savepoint enclosing this entry) will link it.
    if any(func is audit_link_quietly for _sids, func, _robust in queued):
        return
    transaction.on_commit(audit_link_quietly)


# What an entry's hash covers, besides its chain position and the previous hash.
_HASHED = ("id", "created_at", "actor_id", "verb", "object_type", "object_id", "object_repr", "data")


def entry_digest(entry: ActionLog, prev_hash: str) -> str:
    return _digest(entry.chain_seq, prev_hash, *(getattr(entry, field) for field in _HASHED))


def _digest(seq, prev_hash, pk, created_at, actor_id, verb, object_type, object_id, object_repr, data) -> str:
    payload = {
        "seq": seq,
        "prev": prev_hash,
        "id": pk,
        "time": created_at.isoformat(),
        "actor": actor_id,
        "verb": verb,
        "type": object_type,
        "object": object_id,
        "repr": object_repr,
        "data": data,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def audit_link(*, batch: int = 5000, wait: bool = True) -> int:
    """Link committed, unlinked entries into the chain in id order; returns how many were linked.

    With ``wait=False`` a linker already at work makes this call return at once (it will pick the
    entries up, or the next call will).
    """
    linked = 0
    ChainHead.objects.get_or_create(pk=1)
    while True:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    head = ChainHead.objects.select_for_update(nowait=not wait).get(pk=1)
            except OperationalError:
                return linked
            # Plain rows, not model instances: on a click day this runs for thousands of entries a second.
            pending = list(ActionLog.objects.filter(chain_seq__isnull=True).order_by("id").values_list(*_HASHED)[:batch])
            if not pending:
                return linked
            seq, prev = head.last_seq, head.last_hash or GENESIS
            links = []
            for row in pending:
                seq += 1
                digest = _digest(seq, prev, *row)
                links.append((row[0], seq, prev, digest))
                prev = digest
            _save_links(links)
            head.last_seq, head.last_hash = seq, prev
            head.save(update_fields=["last_seq", "last_hash"])
            linked += len(pending)


def _save_links(links: list[tuple[int, int, str, str]], chunk: int = 500) -> None:
    """Write (id, position, previous hash, hash) of each entry with few statements.

    PostgreSQL: one UPDATE … FROM unnest(four arrays) per ``chunk`` entries (four parameters, however
    many entries); SQLite: one UPDATE … FROM (VALUES …).
    """
    table = connection.ops.quote_name(ActionLog._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(links), chunk):
            part = links[start:start + chunk]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"UPDATE {table} SET chain_seq = v.seq, prev_hash = v.prev, hash = v.hash "
                    f"FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, seq, prev, hash) "
                    f"WHERE {table}.id = v.id",
                    [list(column) for column in zip(*part)],
                )
                continue
            rows = ", ".join(["(%s, %s, %s, %s)"] * len(part))
            cursor.execute(
                # VALUES columns are column1…column4 in SQLite.
                f"UPDATE {table} SET chain_seq = v.column2, prev_hash = v.column3, hash = v.column4 "
                f"FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1",
                [value for link in part for value in link],
            )


_last_link = [0.0]


def audit_link_quietly() -> None:
    """After-commit linking; at most once per ``AUDIT_LINK_INTERVAL`` seconds per process.

    On busy days (a click day) linking every commit would add a transaction to each request; a
    short interval batches the work while ``audit-verify`` links whatever is still pending. With
    ``AUDIT_LINKING = "worker"`` requests never link: a separate ``audit-link`` process does.
    """
    import time

    from django.conf import settings

    if getattr(settings, "AUDIT_LINKING", "on_commit") == "worker":
        return  # ``manifattura audit-link --every N`` links, outside the requests
    interval = getattr(settings, "AUDIT_LINK_INTERVAL", 0.0)
    now = time.monotonic()
    if interval and now - _last_link[0] < interval:
        return
    _last_link[0] = now
    try:
        audit_link(wait=False)
    except Exception:  # the entries stay unlinked and are linked by the next call
        logger.exception("audit chain linking failed; entries will be linked later")


def audit_verify() -> tuple[int, list[str]]:
    """Walk the linked chain; return (entries checked, problems)."""
    problems: list[str] = []
    prev = GENESIS
    expected = 1
    checked = 0
    for entry in ActionLog.objects.filter(chain_seq__isnull=False).order_by("chain_seq").iterator():
        if entry.chain_seq != expected:
            problems.append(f"gap: expected position {expected}, found {entry.chain_seq}")
            expected = entry.chain_seq
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.pk}: previous hash does not match entry before it")
        if entry_digest(entry, entry.prev_hash) != entry.hash:
            problems.append(f"entry {entry.pk}: content does not match its hash (altered)")
        prev = entry.hash
        expected += 1
        checked += 1
    head = ChainHead.objects.filter(pk=1).first()
    if head and checked and (head.last_seq != expected - 1 or head.last_hash != prev):
        problems.append("chain head does not match the last entry (entries removed at the end?)")
    return checked, problems
