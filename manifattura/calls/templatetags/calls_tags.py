"""Template helpers of the calls pages: phases, Europe/Rome instants, answers as text."""

import datetime as dt

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from manifattura.calls.enums import ApplicationStatus, CallPhase, QuestionKind
from manifattura.core import clock

register = template.Library()

PHASE_CLASSES = {
    CallPhase.OPEN: "phase-open",
    CallPhase.UPCOMING: "phase-upcoming",
    CallPhase.CLOSED: "phase-closed",
    CallPhase.CANCELLED: "phase-cancelled",
    CallPhase.DRAFT: "phase-draft",
}
STATUS_CLASSES = {
    ApplicationStatus.DRAFT: "status-draft",
    ApplicationStatus.SUBMITTED: "status-submitted",
    ApplicationStatus.WITHDRAWN: "status-withdrawn",
}


@register.simple_tag
def phase_badge(phase: str):
    label = CallPhase(phase).label if phase in CallPhase.values else phase
    return format_html('<span class="badge phase-badge {}">{}</span>', PHASE_CLASSES.get(phase, ""), label)


@register.simple_tag
def application_badge(status: str):
    label = ApplicationStatus(status).label if status in ApplicationStatus.values else status
    return format_html('<span class="badge application-badge {}">{}</span>', STATUS_CLASSES.get(status, ""), label)


@register.filter
def rome(value, fmt="DATETIME_FORMAT"):
    """An instant as Europe/Rome wall-clock time, whatever the active time zone."""
    if not value:
        return "—"
    return formats.date_format(timezone.localtime(value, clock.ROME), fmt)


@register.filter
def rome_ms(value):
    """An instant in Europe/Rome with seconds and milliseconds (receipts)."""
    if not value:
        return "—"
    local = timezone.localtime(value, clock.ROME)
    return formats.date_format(local, "j F Y, H:i:s") + f".{local.microsecond // 1000:03d}"


@register.filter
def iso_utc(value):
    """ISO 8601 in UTC with milliseconds, for scripts (countdowns)."""
    if not value:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@register.filter
def answer_text(value, kind=""):
    """A stored answer (or a snapshot value) as plain text."""
    if value is None or value == "" or value == []:
        return "—"
    if kind == QuestionKind.YES_NO or isinstance(value, bool):
        if value is True:
            return _("Yes")
        if value is False:
            return _("No")
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key, mapping.get(str(key)))


@register.simple_tag
def calls_script_messages():
    """The texts calls.js shows, in the active language, as a JSON script element."""
    from django.utils.html import json_script

    return json_script({
        "day": _("day"),
        "days": _("days"),
        "characters": _("%(count)s / %(limit)s characters"),
        "unsaved": _("Unsaved changes: press Save."),
        "network": _("Not saved: the connection failed. What you typed is still here: press Save again."),
        "server": _("Not saved: the server answered with an error. What you typed is still here: try again in a moment."),
        "sending": _("Sending…"),
        "unsavedSubmit": _("Some changes are not saved and would not be part of the submission. Submit anyway?"),
    }, "calls-messages")
