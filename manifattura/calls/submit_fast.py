"""The click-day submit on PostgreSQL: a prepared draft is submitted in one database call.

Everything a submission freezes is computed when the draft changes (``domain._prepare``), so at the
opening instant the request only has to prove who is asking and that nothing changed since, and to
take the next protocol number. ``calls_submit_prepared`` (migration ``calls.0005``) does that and the
writes of ``domain._submit`` in one statement that commits on its own: the protocol counter is
taken last and released by the database itself, never held across a round trip to Python.

``run`` is tried first by ``domain.application_submit`` (pages, API, commands) and, without DRF, by
the API's submit URL (``view``), which is what intermediaries and click-day clients call. Anything
out of the ordinary gives ``None`` and the full path answers, computing everything afresh and
explaining refusals: an unknown token, a retry of a submitted application, a reused idempotency key,
a draft whose organization profile or day changed, a call not open at the instant of the counter.
"""

import contextlib
import functools
import json
import logging
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
NOT_OPEN = "MFS01"  # SQLSTATE the function raises when the counter is granted outside the window
MAX_IDEMPOTENCY_KEY = 100

_STATEMENT = "SELECT * FROM calls_submit_prepared(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
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
    """
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        return None
    # In production the statement is its own transaction; inside an atomic block (a caller's
    # transaction, tests) a savepoint keeps a refusal from aborting the enclosing transaction.
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with scope, connection.cursor() as cursor:
            cursor.execute(_STATEMENT, [
                token, user_id, application_id, idempotency_key, clock.frozen_instant(), settings.TIME_ZONE,
                _repr_format(translation.get_language() or settings.LANGUAGE_CODE), _subjects(),
                settings.LANGUAGE_CODE, RECEIPT_TEMPLATE, _EMAIL_CONTEXT, _EMAIL_ATTACHMENTS,
            ])
            row = cursor.fetchone()
    except DatabaseError as exc:
        # Not open at the counter's instant, or a reused idempotency key: the statement undid
        # everything; the full path gives the answer with its reasons.
        if getattr(exc.__cause__, "sqlstate", None) != NOT_OPEN:
            logger.info("fast submit of application %s fell back: %s", application_id, exc)
        return None
    outcome, submission_id, protocol, received_at, digest, needs_review, position, call_code, email_id = row
    if outcome != "created":
        return None
    if email_id is not None and getattr(settings, "NOTIFY_DELIVERY", "on_commit") == "on_commit":
        transaction.on_commit(functools.partial(deliver, email_id))
    transaction.on_commit(audit_link_quietly)
    return Receipt(submission_id, application_id, protocol, received_at, digest, needs_review, position, call_code)


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
