"""Notifications: emails sent after the transaction that caused them commits."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)


def send_email(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: dict,
    attachments: list[tuple[str, bytes, str]] | None = None,
    language: str | None = None,
) -> None:
    """Queue an email for after commit; rendering happens in the recipient's language."""

    def _send():
        with translation.override(language or settings.LANGUAGE_CODE):
            body = render_to_string(template, context)
            message = EmailMessage(str(subject), body, settings.DEFAULT_FROM_EMAIL, to)
            for name, content, mimetype in attachments or []:
                message.attach(name, content, mimetype)
            try:
                message.send()
            except Exception:  # a mail outage must not undo a committed action
                logger.exception("email %r to %s failed", subject, to)

    recipients = [address for address in to if address]
    if recipients:
        to = recipients
        transaction.on_commit(_send)
