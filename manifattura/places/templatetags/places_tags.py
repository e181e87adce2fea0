from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from manifattura.places.display import status_color
from manifattura.places.enums import SiteStatus

register = template.Library()


@register.simple_tag
def status_badge(status: str):
    """A coloured badge with the status label (the colour matches the map markers)."""
    label = SiteStatus(status).label if status in SiteStatus.values else status
    return format_html(
        '<span class="badge status-badge" style="background-color: {}">{}</span>',
        status_color(status),
        label,
    )


@register.simple_tag
def demo_badge():
    return format_html(
        '<span class="badge demo-badge" title="{}">{}</span>',
        _("Demonstration data: not a real site"),
        _("Demo"),
    )


@register.filter
def floor_label(value):
    """0 → ground floor, -1 → basement, n → n-th floor."""
    if value is None:
        return "—"
    if value == 0:
        return _("ground floor")
    if value < 0:
        return _("basement %(level)s") % {"level": -value}
    return _("floor %(level)s") % {"level": value}
