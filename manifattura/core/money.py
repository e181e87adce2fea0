"""Money is Decimal EUR with two places, never float."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def to_money(value) -> Decimal:
    """Coerce an int, str or Decimal to EUR with 2 places; refuse floats and garbage."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a str or Decimal")
    if isinstance(value, str):
        value = value.strip().replace("€", "").replace(" ", "")
        if "," in value and "." in value:
            # Italian "1.234,56" or English "1,234.56": the last separator is the decimal one.
            if value.rfind(",") > value.rfind("."):
                value = value.replace(".", "").replace(",", ".")
            else:
                value = value.replace(",", "")
        elif "," in value:
            value = value.replace(",", ".")
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def plain_number(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros, for messages: 500, 12.5 (never 5E+2)."""
    text = format(Decimal(value).normalize(), "f")
    return text
