"""A published ranking as PDF (reportlab): the same rows, seed and digests as the page and the CSV."""

import io

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from manifattura.core import clock
from manifattura.core.money import plain_number


def _text(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(instant) -> str:
    return formats.date_format(timezone.localtime(instant, clock.ROME), "DATETIME_FORMAT") if instant else "—"


def ranking_pdf(*, call, ranking, criteria, rows, csv_sha256: str) -> bytes:
    """``rows`` as built for the ranking page: entry, protocol label, published name, scores, tie-break text."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=_("Ranking %(code)s — %(kind)s") % {"code": call.code, "kind": ranking.get_kind_display()})
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    names = call.publish_names
    header = [_("Position"), _("Protocol")] + ([_("Name")] if names else [])
    header += [f"{c.title} (max {plain_number(c.max_points)}, ×{plain_number(c.weight)})" for c in criteria]
    header += [_("Total"), _("Fit"), _("Tie-break used")]
    data = [[Paragraph(f"<b>{_text(h)}</b>", small) for h in header]]
    for row in rows:
        entry = row["entry"]
        line = [str(entry.position or "—"), row["protocol_label"]] + ([row["name"]] if names else [])
        line += [str(s) for s in row["scores"]]
        line += [plain_number(entry.total), _("yes") if entry.fit else _("no (below the minimum)"), row["tie_break"]]
        data.append([Paragraph(_text(v), small) for v in line])
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    facts = [
        (_("Call"), f"{call.code} — {call.title}"),
        (_("Ranking"), ranking.get_kind_display()),
        (_("Published (Europe/Rome)"), _when(ranking.published_at)),
        (_("Minimum total to be fit"), plain_number(call.min_total_score)),
        (_("Seed of the public draw"), ranking.seed or "—"),
        (_("Seed published (Europe/Rome)"), _when(call.draw_seed_published_at)),
        (_("SHA-256 of the inputs"), ranking.inputs_digest),
        (_("SHA-256 of the published CSV file"), csv_sha256),
    ]
    story = [
        Paragraph(_text(_("Ranking (graduatoria) — %(kind)s") % {"kind": ranking.get_kind_display()}), styles["Title"]),
        Table([[Paragraph(f"<b>{_text(k)}</b>", small), Paragraph(_text(v), small)] for k, v in facts],
              colWidths=[60 * mm, 200 * mm]),
        Spacer(1, 4 * mm),
        table,
    ]
    if ranking.changes:
        story += [Spacer(1, 4 * mm), Paragraph(_text(_("What changed from the provisional ranking, and why")),
                                               styles["Heading3"])]
        for change in ranking.changes:
            story.append(Paragraph(_text(_(
                "Protocol %(protocol)s: position %(from)s → %(to)s, total %(from_total)s → %(to_total)s. %(reason)s") % {
                "protocol": change.get("protocol"), "from": change.get("from_position") or "—",
                "to": change.get("to_position") or "—", "from_total": change.get("from_total") or "—",
                "to_total": change.get("to_total"), "reason": change.get("reason", "")}), small))
    story += [Spacer(1, 4 * mm), Paragraph(_text(_(
        "Anyone can repeat this ranking: download the CSV from the ranking page and run "
        "“manifattura verify-ranking --csv FILE”. Ties resolved by the public draw use the key "
        "SHA-256(“seed:protocol”), lowest first.")), small)]
    doc.build(story)
    return buffer.getvalue()
