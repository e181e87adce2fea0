"""Converting cell values: Italian and English numbers, coordinates, enum codes or labels, geometry text.

Each converter returns the value for the model field or raises ``ValueError`` with a translated
message saying what is wrong and how to write it.
"""

import json
import math
import re
from decimal import Decimal

import shapely.wkt
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from manifattura.core import geo
from manifattura.core.money import to_money
from manifattura.places.enums import Condition, Ownership, SiteStatus, Typology

ENUMS = {"ownership": Ownership, "condition": Condition, "typology": Typology, "status": SiteStatus}

# Words Italian inventories commonly use, in addition to every configured language's labels.
ENUM_SYNONYMS: dict[str, dict[str, str]] = {
    "ownership": {
        "comunale": "municipal",
        "comune": "municipal",
        "altro ente pubblico": "other_public",
        "ente pubblico": "other_public",
        "demaniale": "other_public",
        "statale": "other_public",
        "regionale": "other_public",
        "pubblica": "other_public",
        "privata": "private",
        "privato": "private",
    },
    "condition": {
        "buono": "good",
        "buone": "good",
        "discreto": "fair",
        "discrete": "fair",
        "sufficiente": "fair",
        "scarso": "poor",
        "scarse": "poor",
        "cattivo": "poor",
        "pessimo": "poor",
        "degradato": "poor",
        "rudere": "ruin",
        "crollato": "ruin",
        "sconosciuto": "unknown",
        "non noto": "unknown",
        "n.d.": "unknown",
        "nd": "unknown",
    },
    "typology": {
        "produttivo": "productive",
        "industriale": "productive",
        "artigianale": "productive",
        "residenziale": "residential",
        "terziario": "tertiary",
        "uffici": "tertiary",
        "commerciale": "commercial",
        "rurale": "rural",
        "agricolo": "rural",
        "cascina": "rural",
        "servizio pubblico": "public_service",
        "servizi pubblici": "public_service",
        "area libera": "open_area",
        "area aperta": "open_area",
        "altro": "other",
    },
    "status": {
        "mappato": "mapped",
        "censito": "mapped",
        "sopralluogo effettuato": "surveyed",
        "verificato": "surveyed",
        "a bando": "offered",
        "assegnato": "assigned",
        "in recupero": "under_recovery",
        "attivo": "active",
        "ritirato": "withdrawn",
    },
}


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


AMOUNT_UNITS = re.compile(r"(€|eur(o)?|m²|m2|mq|sqm)$", re.IGNORECASE)
DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")


def parse_amount(value) -> Decimal:
    """A surface or an amount, 2 decimals: Italian "1.234,56", English "1,234.56", "12.500" = 12500.

    Uses ``core.money.to_money`` after removing units; a dot followed by groups of exactly three digits
    and no comma is read as thousands (no surface or amount has three decimal places).
    """
    if isinstance(value, bool):
        raise ValueError(_("not a number"))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_("not a number"))
        value = repr(value)
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    text = text.removeprefix("€")
    text = AMOUNT_UNITS.sub("", text)
    if DOT_THOUSANDS.fullmatch(text):
        text = text.replace(".", "")
    try:
        amount = to_money(text)
    except (TypeError, ValueError):
        raise ValueError(
            _("“%(value)s” is not a number: write it like 1234,56 or 1.234,56") % {"value": value}
        ) from None
    if not amount.is_finite():
        raise ValueError(_("not a number"))
    return amount


def parse_coordinate(value) -> float:
    """A longitude or latitude in decimal degrees; a decimal comma ("9,1916") is accepted."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not a coordinate: write decimal degrees like 9.1916")
                % {"value": value}
            ) from None
    if not math.isfinite(number):
        raise ValueError(_("not a number"))
    return number


def enum_lookup(name: str) -> dict[str, str]:
    """Folded code, label in every configured language (and each part of "A / B" labels) → code."""
    enum = ENUMS[name]
    table = {code.casefold(): code for code in enum.values}
    for language, _language_name in settings.LANGUAGES:
        with translation.override(language):
            for code, label in enum.choices:
                label = str(label).casefold().strip()
                table.setdefault(label, code)
                for part in label.split("/"):
                    table.setdefault(part.strip(), code)
    for word, code in ENUM_SYNONYMS.get(name, {}).items():
        table.setdefault(word, code)
    return table


def parse_enum(value, *, name: str, table: dict[str, str]) -> str:
    key = " ".join(as_text(value).casefold().split())
    if key in table:
        return table[key]
    choices = ", ".join(f"{code} ({label})" for code, label in ENUMS[name].choices)
    raise ValueError(
        _("unknown value “%(value)s”; use one of: %(choices)s")
        % {"value": value, "choices": choices}
    )


def geometry_from_text(text: str) -> dict:
    """A geometry cell: GeoJSON text or WKT."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(_("not valid GeoJSON: %(error)s") % {"error": exc.msg}) from None
    try:
        return geo.to_geojson(shapely.wkt.loads(text))
    except Exception:  # shapely raises several types for malformed WKT
        raise ValueError(_("not GeoJSON nor WKT geometry text")) from None
