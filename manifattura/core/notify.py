"""Notifications: emails recorded in the causing transaction (outbox) and delivered after commit.

``send_email`` writes an ``OutboxEmail`` row inside the caller's transaction, so a committed action
never loses its email and a rolled-back one never sends it. With ``settings.NOTIFY_DELIVERY ==
"on_commit"`` (the default) the row is delivered right after commit; with ``"worker"`` (busy
production days) ``manifattura send-notifications`` delivers pending rows in batches.
Attachments are built at delivery time by dotted-path builders, so heavy work (PDFs) stays off
the request that caused the email.
"""

import logging
from importlib import import_module

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from manifattura.core import clock
from manifattura.core.models import OutboxEmail, OutboxStatus

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def send_email(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: dict,
    attachments: list[dict] | None = None,
    language: str | None = None,
) -> OutboxEmail | None:
    """Record an email for delivery after commit. ``context`` must be JSON-serializable.

    ``subject`` may be a lazy translation: it is rendered in the recipient's ``language``.
    ``attachments``: ``[{"builder": "pkg.module.function", "kwargs": {...}}]``; each builder returns
    ``(filename, bytes, mimetype)``. A ``context["__builder__"]`` of the same form returns a dict merged
    into the context at delivery, so details settled at commit (a protocol number) reach the body.
    """
    recipients = [address for address in to if address]
    if not recipients:
        return None
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        subject_text = str(subject)
    email = OutboxEmail.objects.create(
        to=recipients, subject=subject_text[:250], template=template, context=context,
        language=language, attachments=attachments or [],
    )
    if getattr(settings, "NOTIFY_DELIVERY", "on_commit") == "on_commit":
        transaction.on_commit(lambda: deliver(email.pk))
    return email


def _build_attachment(spec: dict):
    module, _sep, name = spec["builder"].rpartition(".")
    return getattr(import_module(module), name)(**spec.get("kwargs", {}))


def deliver(email_id: int) -> bool:
    """Send one pending email; on failure keep it pending (or failed after MAX_ATTEMPTS)."""
    with transaction.atomic():
        email = OutboxEmail.objects.select_for_update().filter(pk=email_id, status=OutboxStatus.PENDING).first()
        if email is None:
            return False
        try:
            with translation.override(email.language):
                context = dict(email.context)
                builder = context.pop("__builder__", None)
                if builder:  # context read from the database at delivery (e.g. a receipt's details)
                    context.update(_build_attachment(builder))
                body = render_to_string(email.template, context)
                message = EmailMessage(email.subject, body, settings.DEFAULT_FROM_EMAIL, email.to)
                for spec in email.attachments:
                    message.attach(*_build_attachment(spec))
            message.send()
        except Exception as exc:  # a mail outage must not undo the committed action
            logger.exception("email %s (%r) failed", email.pk, email.subject)
            email.attempts += 1
            email.last_error = str(exc)[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboxStatus.FAILED
            email.save(update_fields=["attempts", "last_error", "status"])
            return False
        email.status = OutboxStatus.SENT
        email.sent_at = clock.now()
        email.attempts += 1
        email.save(update_fields=["status", "sent_at", "attempts"])
        return True


def deliver_pending(*, limit: int | None = None, progress=None) -> tuple[int, int]:
    """Deliver pending emails oldest first; returns (sent, failed)."""
    ids = list(
        OutboxEmail.objects.filter(status=OutboxStatus.PENDING).order_by("id").values_list("id", flat=True)[:limit]
    )
    sent = failed = 0
    for number, email_id in enumerate(ids, start=1):
        if deliver(email_id):
            sent += 1
        else:
            failed += 1
        if progress:
            progress(number, len(ids))
    return sent, failed
