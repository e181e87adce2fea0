from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import get_language

from manifattura.core.money import to_money

register = template.Library()


@register.filter
def euro(value):
    """Format an amount in EUR for the active locale: '€ 1.234,56' in Italian, '€1,234.56' in English."""
    if value is None or value == "":
        return "—"
    try:
        amount = to_money(value if not isinstance(value, float) else str(value))
    except (TypeError, ValueError):
        return value
    text = formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)

    if (get_language() or "it").startswith("it"):
        return f"€ {text}"
    return f"€{text}"


@register.filter
def m2(value):
    """Format a surface in square metres with locale grouping."""
    if value is None or value == "":
        return "—"
    text = formats.number_format(Decimal(value), decimal_pos=0, use_l10n=True, force_grouping=True)
    return f"{text} m²"


@register.simple_tag(takes_context=True)
def querystring_replace(context, **kwargs):
    """The current query string with some parameters replaced (for pagination links)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()
