"""The click-day submit on PostgreSQL: prepared drafts are submitted in one database call.

Everything a submission freezes is computed when the draft changes (``domain._prepare``), so at the
opening instant the request only has to prove who is asking and that nothing changed since, and to
take the next protocol number. ``calls_submit_prepared_batch`` (migration ``calls.0007``) does that
for a batch of requests, set-based, and the writes of ``domain._submit`` in one statement that commits
on its own: the protocol counter is taken last and released by the database itself, never held across
a round trip to Python.

Submits arriving together in one server process share that call (``_Batcher``: one commit and one
turn on the counter for the lot); inside a transaction a submit is a batch of one. ``run`` is tried
first by ``domain.application_submit`` (pages, API, commands) and, without DRF, by the API's submit
URL (``view``), which is what intermediaries and click-day clients call. Anything out of the ordinary
gives ``None`` and the full path answers, computing everything afresh and explaining refusals: an
unknown token, a retry of a submitted application, a reused idempotency key, a draft whose
organization profile or day changed, a call not open at the receipt instant."""

import collections
import contextlib
import functools
import json
import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.renderers import JSONRenderer

from manifattura.calls.receipts import (
    RECEIPT_SUBJECT,
    RECEIPT_TEMPLATE,
    receipt_email_attachments,
    receipt_email_context,
)
from manifattura.calls.serializers import receipt_fields
from manifattura.core import clock
from manifattura.core.audit import audit_link_quietly
from manifattura.core.notify import deliver

logger = logging.getLogger(__name__)

SUBMISSION_ID = "__submission_id__"  # where the function puts the new submission's id in the email
MAX_IDEMPOTENCY_KEY = 100

_STATEMENT = "SELECT * FROM calls_submit_prepared_batch(%s, %s, %s, %s, %s, %s, %s, %s)"
_EMAIL_CONTEXT = json.dumps(receipt_email_context(SUBMISSION_ID))
_EMAIL_ATTACHMENTS = json.dumps(receipt_email_attachments(SUBMISSION_ID))
_renderer = JSONRenderer()


@dataclass(frozen=True)
class Receipt:
    """What the function returns for a new submission."""

    submission_id: int
    application_id: int
    protocol: int
    received_at: object
    digest: str
    needs_review: bool
    position: int | None
    call_code: str


def enabled() -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "CALLS_FAST_SUBMIT", True)


@functools.cache
def _subjects() -> str:
    """The receipt email's subject in every language, for the recipient's own."""
    subjects = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            subjects[code] = str(RECEIPT_SUBJECT)
    return json.dumps(subjects)


@functools.cache
def _repr_format(language: str) -> str:
    """``str(application)`` in ``language`` as a PostgreSQL format() string (%1$s organization, %2$s call)."""
    with translation.override(language):
        text = gettext("Application of %(org)s to %(call)s") % {"org": "\x00org\x00", "call": "\x00call\x00"}
    return text.replace("%", "%%").replace("\x00org\x00", "%1$s").replace("\x00call\x00", "%2$s")


def run(*, application_id: int, idempotency_key: str | None = None, user_id: int | None = None,
        token: str | None = None) -> Receipt | None:
    """Submit the prepared draft for the user (``user_id``, or the owner of the API ``token``).

    Returns the new submission's receipt, or ``None`` when nothing was written and the full path
    must answer. Emails and audit linking follow the commit, as in ``domain.application_submit``.
    Outside a transaction the request joins the process's batch (``_Batcher``); inside one (a
    caller's, or a test's) it runs on the caller's connection, under a savepoint.
    """
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        return None
    request = {
        "token": token, "user": user_id, "application": application_id, "key": idempotency_key,
        "repr": _repr_format(translation.get_language() or settings.LANGUAGE_CODE),
    }
    batch_size = int(getattr(settings, "CALLS_SUBMIT_BATCH", 0))
    if batch_size > 1 and not connection.in_atomic_block:
        row = _batcher(batch_size).submit(request)
    else:
        row = _run_one(request)
    if row is None:
        return None
    outcome, submission_id, protocol, received_at, digest, needs_review, position, call_code, email_id = row
    if outcome != "created":  # nothing was written: the full path answers, with its reasons
        return None
    if email_id is not None and getattr(settings, "NOTIFY_DELIVERY", "on_commit") == "on_commit":
        transaction.on_commit(functools.partial(deliver, email_id))
    transaction.on_commit(audit_link_quietly)
    return Receipt(submission_id, application_id, protocol, received_at, digest, needs_review, position, call_code)


def _execute(cursor, requests: list[dict]) -> dict[int, tuple]:
    """One call of ``calls_submit_prepared_batch``; each request's row by its position in ``requests``."""
    cursor.execute(_STATEMENT, [
        json.dumps([{**request, "i": index} for index, request in enumerate(requests)]),
        clock.frozen_instant(), settings.TIME_ZONE, _subjects(), settings.LANGUAGE_CODE, RECEIPT_TEMPLATE,
        _EMAIL_CONTEXT, _EMAIL_ATTACHMENTS,
    ])
    return {row[0]: row[1:] for row in cursor.fetchall()}


def _run_one(request: dict):
    """One request, one statement (and its own transaction, or a savepoint in the caller's)."""
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with scope, connection.cursor() as cursor:
            return _execute(cursor, [request]).get(0)
    except DatabaseError as exc:
        # A race the statement could not judge beforehand (the same idempotency key committed by another
        # process meanwhile): it undid everything; the full path gives the answer with its reasons.
        logger.info("fast submit of application %s fell back: %s", request["application"], exc)
        return None


class _Batcher:
    """Submits of one server process that arrive together share a transaction (group commit).

    A click day is thousands of tiny transactions that all update one row, the call's protocol
    counter, which stays locked until each commit reaches the disk: alone, each waits for the one
    before. Here request threads queue their submits and a batch thread sends whatever is waiting (up
    to ``size``) as one ``calls_submit_prepared_batch`` call: one commit and one turn on the counter
    for the lot, the submits numbered in arrival order. While a batch is in the database the next
    one queues. A lone submit goes at once: nothing waits for a batch to fill. If the batch fails as a
    whole, its requests go the full way, which finds them submitted if the batch did commit (the same
    receipt, never a second application).
    """

    WAIT_SECONDS = 30.0
    IDLE_SECONDS = 5.0  # then the thread closes its database connection and ends

    def __init__(self, size: int, threads: int = 1):
        self.size = size
        # Batches in flight at once. One per process measured best: the submits that arrive while a
        # batch is in the database make the next one, so batches grow with the load by themselves
        # (two threads, or a pause to gather more, gave smaller batches and more CPU per submit).
        self.threads = threads
        self._waiting: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._running: set[threading.Thread] = set()
        self._stopping = False

    def stop(self) -> None:
        """Serve what is waiting, then end the threads (and close their connections)."""
        with self._cond:
            running, self._stopping = set(self._running), True
            self._cond.notify_all()
        for thread in running:
            thread.join()
        self._stopping = False

    def submit(self, request: dict):
        done = threading.Lock()  # released by the batch thread when the row is in
        done.acquire()
        slot = [request, None, done]
        with self._cond:
            self._waiting.append(slot)
            if len(self._running) < self.threads:
                thread = threading.Thread(target=self._loop, name="submit-batcher", daemon=True)
                self._running.add(thread)
                thread.start()
            if len(self._waiting) == 1:  # wake an idle batch thread; a busy one looks at the queue when back
                self._cond.notify()
        if not done.acquire(timeout=self.WAIT_SECONDS):
            logger.warning("fast submit of application %s: no answer from the batch", request["application"])
        return slot[1]

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._waiting or self._stopping, self.IDLE_SECONDS)
                    if not self._waiting:  # idle for a while, or asked to stop with nothing left to send
                        self._running.discard(threading.current_thread())
                        return
                    batch = [self._waiting.popleft() for _ in range(min(self.size, len(self._waiting)))]
                rows = self._send([slot[0] for slot in batch])
                for index, slot in enumerate(batch):
                    slot[1] = rows.get(index)
                    slot[2].release()
        finally:
            connection.close()

    def _send(self, requests: list[dict]) -> dict[int, tuple]:
        try:
            with connection.cursor() as cursor:
                return _execute(cursor, requests)
        except Exception:  # the thread must go on serving; these requests take the full path
            logger.exception("a batch of %d fast submits failed; they go the full way", len(requests))
            connection.close()  # a broken connection is opened again for the next batch
            return {}


_batchers: dict[int, _Batcher] = {}
_batchers_lock = threading.Lock()


def stop_batchers() -> None:
    """End the batch threads (tests, before their database goes away)."""
    with _batchers_lock:
        batchers = list(_batchers.values())
    for batcher in batchers:
        batcher.stop()


def _batcher(size: int) -> _Batcher:
    with _batchers_lock:
        if size not in _batchers:
            _batchers[size] = _Batcher(size)
        return _batchers[size]


def _token(request) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, as DRF's TokenAuthentication reads it."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "token":
        return None
    return parts[1]


def submit(request, application_id: int) -> HttpResponse | None:
    """Submit a prepared draft and answer with its receipt (201), or ``None`` to go the full way."""
    token = _token(request)
    if token is None:  # session authentication: DRF checks the CSRF token
        return None
    request.fast_submit_tried = True
    receipt = run(application_id=application_id, token=token,
                  idempotency_key=request.headers.get("Idempotency-Key") or None)
    if receipt is None:
        return None
    body = _renderer.render(receipt_fields(
        submission_id=receipt.submission_id, application_id=application_id, call_code=receipt.call_code,
        protocol=receipt.protocol, received_at=receipt.received_at, digest=receipt.digest,
        position=receipt.position, needs_review=receipt.needs_review, withdrawn_at=None, request=request,
    ))
    return HttpResponse(body, status=201, content_type="application/json")


def view(drf_view):
    """The submit URL's view: the fast path first, ``drf_view`` for everything else.

    It keeps ``drf_view``'s attributes (``cls``, ``actions``, ``csrf_exempt``), so the OpenAPI schema
    documents the endpoint as before: the answers are the same.
    """

    @functools.wraps(drf_view)
    def submit_view(request, *args, **kwargs):
        if request.method == "POST" and "format" not in kwargs and enabled():
            response = submit(request, int(kwargs["pk"]))
            if response is not None:
                return response
        return drf_view(request, *args, **kwargs)

    return submit_view
