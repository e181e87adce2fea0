"""The submission receipt: its details, and the PDF (reportlab) shown on the page and emailed."""

import io

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from manifattura.calls.models import Submission
from manifattura.calls.queries import first_come_position

RECEIPT_SUBJECT = gettext_lazy("Receipt of your application")
RECEIPT_TEMPLATE = "calls/email/receipt.txt"


def receipt_email_context(submission_id) -> dict:
    """The receipt email's context: built at delivery, once the protocol number is committed."""
    return {"__builder__": {"builder": "manifattura.calls.receipts.receipt_context",
                            "kwargs": {"submission_id": submission_id}}}


def receipt_email_attachments(submission_id) -> list[dict]:
    return [{"builder": "manifattura.calls.receipts.receipt_pdf_attachment", "kwargs": {"submission_id": submission_id}}]



def receipt_facts(submission: Submission) -> list[tuple[str, str]]:
    call = submission.call
    received = timezone.localtime(submission.received_at)
    facts = [
        (_("Call"), f"{call.code} — {call.title}"),
        (_("Organization"), submission.snapshot["organization"]["legal_name"]),
        (_("VAT number"), submission.snapshot["organization"].get("vat_number") or "—"),
        (_("Protocol number"), submission.protocol_label),
        (_("Received at (Europe/Rome)"), formats.date_format(received, "j F Y, H:i:s") + f".{received.microsecond // 1000:03d}"),
        (_("SHA-256 digest of the submitted content"), submission.digest),
    ]
    position = first_come_position(submission)
    if position is not None:
        facts.append((_("Position in receipt order"), str(position)))
    if submission.needs_review:
        facts.append((_("Note"), _("Some requirements will be checked by staff.")))
    return facts


def receipt_context(*, submission_id: int) -> dict:
    submission = Submission.objects.select_related("call").get(pk=submission_id)
    return {
        "facts": receipt_facts(submission),
        "protocol": submission.protocol_label,
        "call_title": submission.call.title,
    }


def receipt_pdf(submission: Submission) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            title=_("Receipt %(protocol)s") % {"protocol": submission.protocol_label})
    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    rows = [[Paragraph(f"<b>{label}</b>", cell), Paragraph(value.replace("&", "&amp;").replace("<", "&lt;"), cell)]
            for label, value in receipt_facts(submission)]
    table = Table(rows, colWidths=[60 * mm, 110 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef3f8")),
    ]))
    story = [
        Paragraph(_("Application receipt"), styles["Title"]),
        Paragraph(_("This receipt proves that the application below was received. Keep it."), cell),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph(_(
            "The digest identifies exactly the content submitted (answers, files and self-declarations): "
            "anyone holding a copy of the submitted content can recompute it."
        ), styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()


def receipt_pdf_attachment(*, submission_id: int) -> tuple[str, bytes, str]:
    submission = Submission.objects.select_related("call").get(pk=submission_id)
    name = f"receipt-{submission.call.code}-{submission.protocol:06d}.pdf"
    return name, receipt_pdf(submission), "application/pdf"
