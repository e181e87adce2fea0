"""Italian tax codes and VAT numbers, checked with python-stdnum."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.it import codicefiscale, iva
from stdnum.exceptions import ValidationError as StdnumError


def normalize_vat(value: str) -> str:
    value = (value or "").strip().upper()
    return value[2:] if value.startswith("IT") else value


def validate_vat_number(value: str) -> None:
    try:
        iva.validate(normalize_vat(value))
    except StdnumError:
        raise ValidationError(
            _("“%(value)s” is not a valid Italian VAT number (11 digits with a correct check digit)."),
            code="invalid_vat",
            params={"value": value},
        ) from None


def validate_tax_code(value: str) -> None:
    """An organization's codice fiscale is either 11 digits (like a VAT number) or 16 characters."""
    value = (value or "").strip().upper()
    try:
        if len(value) == 11:
            iva.validate(value)
        else:
            codicefiscale.validate(value)
    except StdnumError:
        raise ValidationError(
            _(
                "“%(value)s” is not a valid Italian tax code: use 16 characters for a person "
                "or 11 digits for an organization."
            ),
            code="invalid_tax_code",
            params={"value": value},
        ) from None


def validate_ateco(value: str) -> None:
    import re

    if value and not re.fullmatch(r"\d{2}(\.\d{1,2}(\.\d{1,2})?)?", value.strip()):
        raise ValidationError(
            _("“%(value)s” is not an ATECO code: write it like 25.62 or 32.99.90."),
            code="invalid_ateco",
            params={"value": value},
        )
