"""Importing sites from a third party's GeoJSON or CSV file.

The import runs in two phases, so a bad file never leaves half its rows behind:

1. **validate** — every record is read, its values are converted (Italian numbers, enum codes or
   labels, coordinates) and checked exactly as ``places.domain`` will check them; each valid record
   gets a plan (create, update or unchanged) and each invalid one its problems (row, field, message);
2. **write** — only if no record is invalid (or the caller chose to skip invalid ones), the plans are
   carried out in one transaction through ``places.domain`` (``sites_create_many``, the bulk form of
   ``site_create``, then ``site_update`` and ``site_change_status``),
   and one ``sites.import`` audit entry records the counts.

Matching existing sites (so a re-import updates instead of duplicating):

- a row with a ``ref_code`` updates the site with that ``ref_code``; if there is none, it updates a
  site that has *no* ``ref_code`` and exactly the same name and address (which then receives the
  ``ref_code``); otherwise it creates a site;
- a row without a ``ref_code`` updates the site without ``ref_code`` that has exactly the same name
  and address, or creates one; two such sites are ambiguous and the row is refused.

On update, empty cells never erase stored data, and ``defaults`` only fill sites being created. A
``status`` column moves a new site from "mapped" along the shortest allowed path of
``SITE_TRANSITIONS`` (each step audited); an existing site only takes one allowed step.
"""

import copy
import csv
import io
import json
import math
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import shapely.wkt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from shapely.geometry import Point

from manifattura.core import geo
from manifattura.core.audit import audit_record
from manifattura.core.money import to_money
from manifattura.places import zoning
from manifattura.places.domain import (
    allowed_statuses,
    apply_geometry,
    site_change_status,
    site_update,
    sites_create_many,
)
from manifattura.places.enums import (
    SITE_TRANSITIONS,
    Condition,
    Ownership,
    SiteStatus,
    Typology,
)
from manifattura.places.models import Site

# Fields a file may provide (``--map target=source`` renames a source column to one of these).
TEXT_FIELDS = ("ref_code", "name", "address", "description")
AMOUNT_FIELDS = ("surface_m2", "recovery_cost")
ENUMS = {"ownership": Ownership, "condition": Condition, "typology": Typology, "status": SiteStatus}
GEOMETRY_FIELDS = ("lon", "lat", "geometry")
TARGET_FIELDS = (*TEXT_FIELDS, *AMOUNT_FIELDS, *ENUMS, *GEOMETRY_FIELDS)
# Fields ``--default`` may fill on new sites (not identities, not coordinates).
DEFAULTABLE_FIELDS = tuple(f for f in TARGET_FIELDS if f not in ("ref_code", *GEOMETRY_FIELDS))
REQUIRED_ON_CREATE = ("name", "ownership")

# Column names recognised (case-insensitively) when the file has no --map for these fields.
AUTO_COLUMNS = {
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "geometry": ("geometry", "geom", "the_geom", "wkt", "geojson"),
}

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

CHUNK = 500  # rows per IN (...) query when looking up existing sites
Progress = Callable[[str, int, int], None]


class ImportFileError(Exception):
    """The file or the options cannot be used at all (nothing is read or written)."""


@dataclass
class Record:
    """One row of the file: ``number`` is what a person sees (CSV row with header = 1, feature from 1)."""

    number: int
    fields: dict[str, Any]
    geometry: dict | None = None


@dataclass
class Source:
    format: str  # "geojson" or "csv"
    records: list[Record]
    columns: list[str]
    name: str = ""

    @property
    def row_word(self) -> str:
        return _("feature") if self.format == "geojson" else _("row")


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    message: str
    column: str = ""  # the source column, when it differs from the field


@dataclass
class Plan:
    record: Record
    site: Site | None  # the site to update, None to create
    values: dict  # fields to set: all of them on create, only the changed ones on update
    geometry: dict | None  # normalised GeoJSON; on update only when it changed
    status: str | None  # target status, when it differs from the site's
    outside_zones: bool = False


@dataclass
class ImportResult:
    format: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    skipped: int = 0
    written: bool = False
    dry_run: bool = False
    row_word: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {
            "rows": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "invalid": self.invalid,
        }


# Reading -----------------------------------------------------------------------------------------


def read_source(path: Path | str) -> Source:
    """Read a GeoJSON or CSV file into records; raises ``ImportFileError`` if it cannot be read."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "%(file)s is not UTF-8 text: save it as UTF-8 (“CSV UTF-8” in spreadsheets) and try again."
            )
            % {"file": path.name}
        ) from None
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"} or (
        suffix not in {".csv", ".tsv", ".txt"} and text.lstrip()[:1] == "{"
    ):
        source = read_geojson(text)
    else:
        source = read_csv(text)
    source.name = path.name
    return source


def read_geojson(text: str) -> Source:
    """Records from a FeatureCollection (or a single Feature): properties are fields."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid JSON (line %(line)d, column %(column)d): %(error)s")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    elif isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    else:
        raise ImportFileError(_("A GeoJSON FeatureCollection (or a single Feature) is required."))
    records, columns = [], {}
    for number, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = dict(feature.get("properties") or {})
        # The feature's own id is a field too (third-party exports often keep the key there).
        if "id" in feature and "id" not in props:
            props["id"] = feature["id"]
        columns.update(dict.fromkeys(props))
        geometry = feature.get("geometry")
        records.append(Record(number=number, fields=props, geometry=geometry if geometry else None))
    return Source(format="geojson", records=records, columns=list(columns))


def sniff_delimiter(header: str) -> str:
    """The separator the header line uses most (``;`` for Italian spreadsheets, else ``,`` or tab)."""
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def read_csv(text: str) -> Source:
    """Records from CSV text with a header row; empty rows are skipped but keep their row number."""
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise ImportFileError(_("The file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header_line))
    rows = iter(reader)
    header: list[str] = []
    for header in rows:
        if any(cell.strip() for cell in header):
            break
    header = [name.strip() for name in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ImportFileError(
            _("The header repeats these columns: %(columns)s. Rename them so each appears once.")
            % {"columns": ", ".join(duplicated)}
        )
    records = []
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        records.append(Record(number=number, fields=dict(zip(header, cells, strict=False))))
    return Source(format="csv", records=records, columns=header)


# Options -----------------------------------------------------------------------------------------


def parse_pairs(items: Iterable[str], *, option: str, allowed: Iterable[str]) -> dict[str, str]:
    """``["a=b", ...]`` into a dict, refusing targets outside ``allowed`` with the list of valid ones."""
    allowed = tuple(allowed)
    pairs = {}
    for item in items or ():
        target, sep, value = item.partition("=")
        target = target.strip()
        if not sep or not target:
            raise ImportFileError(
                _("%(option)s needs FIELD=VALUE, got “%(item)s”.")
                % {"option": option, "item": item}
            )
        if target not in allowed:
            raise ImportFileError(
                _(
                    "%(option)s: “%(field)s” is not a field you can set here; use one of: %(allowed)s."
                )
                % {"option": option, "field": target, "allowed": ", ".join(allowed)}
            )
        pairs[target] = value.strip()
    return pairs


PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class Columns:
    """Resolves each target field to the source column(s) of this file, case-insensitively."""

    def __init__(self, source: Source, mapping: dict[str, str]):
        self.by_folded: dict[str, str] = {}
        for name in source.columns:
            self.by_folded.setdefault(name.casefold(), name)
        exact = set(source.columns)
        self.sources: dict[str, str | None] = {}
        self.templates: dict[str, str] = {}
        for target in TARGET_FIELDS:
            wanted = mapping.get(target)
            if wanted and PLACEHOLDER.search(wanted):
                for column in PLACEHOLDER.findall(wanted):
                    if self._find(column, exact) is None:
                        raise self._missing(column, target, source)
                self.templates[target] = PLACEHOLDER.sub(
                    lambda m: "{" + self._find(m.group(1), exact) + "}", wanted
                )
                continue
            if wanted:
                column = self._find(wanted, exact)
                if column is None:
                    raise self._missing(wanted, target, source)
                self.sources[target] = column
                continue
            candidates = AUTO_COLUMNS.get(target, (target,))
            self.sources[target] = next(
                (c for c in (self._find(name, exact) for name in candidates) if c is not None), None
            )

    def _find(self, name: str, exact: set[str]) -> str | None:
        return name if name in exact else self.by_folded.get(name.casefold())

    @staticmethod
    def _missing(column: str, target: str, source: Source) -> ImportFileError:
        return ImportFileError(
            _("Column “%(column)s” (for %(field)s) is not in the file. Columns found: %(columns)s.")
            % {"column": column, "field": target, "columns": ", ".join(source.columns) or "—"}
        )

    def label(self, target: str) -> str:
        """The source of a field as the user knows it (empty when it is the field's own name)."""
        column = self.templates.get(target) or self.sources.get(target) or ""
        return "" if column == target else column

    def raw(self, record: Record, target: str) -> Any:
        if target in self.templates:
            text = PLACEHOLDER.sub(
                lambda m: _text(record.fields.get(m.group(1))), self.templates[target]
            )
            return " ".join(text.split())
        column = self.sources.get(target)
        return record.fields.get(column) if column else None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Conversions (each raises ValueError with a translated message) -----------------------------------

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
    key = " ".join(_text(value).casefold().split())
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


def lifecycle_path(start: str, target: str) -> list[str]:
    """Statuses after ``start`` up to ``target`` along the shortest path of ``SITE_TRANSITIONS``."""
    if start == target:
        return []
    previous: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for nxt in sorted(SITE_TRANSITIONS.get(current, ()), key=list(SiteStatus.values).index):
            if nxt not in previous:
                previous[nxt] = current
                if nxt == target:
                    path = [nxt]
                    while previous[path[-1]] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                queue.append(nxt)
    raise ValueError(f"no path from {start} to {target}")


# Validation ----------------------------------------------------------------------------------------


class Validator:
    """Checks records against one zone index and the sites already stored, producing plans."""

    def __init__(self, *, source: Source, mapping: dict, defaults: dict, index: zoning.ZoneIndex):
        self.source = source
        self.columns = Columns(source, mapping)
        self.index = index
        self.tables = {name: enum_lookup(name) for name in ENUMS}
        if not any(
            self.columns.sources.get(f) or self.columns.templates.get(f) for f in GEOMETRY_FIELDS
        ) and (source.format == "csv"):
            raise ImportFileError(
                _(
                    "The file has no coordinates: it needs lon and lat columns (or lng/longitude/x and "
                    "latitude/y, or a geometry column), or --map lon=COLUMN --map lat=COLUMN."
                )
            )
        self.defaults = self._convert_defaults(defaults)

    def _convert_defaults(self, defaults: dict) -> dict:
        converted = {}
        for name, value in defaults.items():
            try:
                converted[name] = self._convert(name, value)
            except ValueError as exc:
                raise ImportFileError(
                    _("--default %(field)s: %(problem)s") % {"field": name, "problem": exc}
                ) from None
        return converted

    def _convert(self, name: str, value):
        if name in ENUMS:
            return parse_enum(value, name=name, table=self.tables[name])
        if name in AMOUNT_FIELDS:
            return parse_amount(value)
        return _text(value)

    def values_of(self, record: Record) -> tuple[dict, dict | None, list[Problem]]:
        """Converted field values (only those present), normalised geometry, and problems."""
        values, problems = {}, []

        def problem(name: str, message) -> None:
            problems.append(Problem(record.number, name, str(message), self.columns.label(name)))

        for name in (*TEXT_FIELDS, *AMOUNT_FIELDS, *ENUMS):
            raw = self.columns.raw(record, name)
            if _empty(raw):
                continue
            try:
                values[name] = self._convert(name, raw)
            except ValueError as exc:
                problem(name, exc)
        geometry = self._geometry(record, problem)
        return values, geometry, problems

    def _geometry(self, record: Record, problem) -> dict | None:
        value = record.geometry
        if value is None:
            text = self.columns.raw(record, "geometry")
            if not _empty(text):
                try:
                    value = geometry_from_text(_text(text))
                except ValueError as exc:
                    problem("geometry", exc)
                    return None
        if value is None:
            value = self._point(record, problem)
            if value is None:
                return None
        try:
            geom = geo.parse_geometry(value)
        except geo.GeometryError as exc:
            problem("geometry", _("invalid geometry: %(problem)s") % {"problem": exc})
            return None
        return geo.to_geojson(geom)

    def _point(self, record: Record, problem) -> dict | None:
        coords = {}
        for name, limit in (("lon", 180), ("lat", 90)):
            raw = self.columns.raw(record, name)
            if _empty(raw):
                problem(
                    name, _("required: the row has no geometry and no %(field)s") % {"field": name}
                )
                continue
            try:
                number = parse_coordinate(raw)
            except ValueError as exc:
                problem(name, exc)
                continue
            if not -limit <= number <= limit:
                problem(
                    name,
                    _(
                        "%(value)s is out of range (-%(limit)d..%(limit)d): "
                        "are longitude and latitude swapped?"
                    )
                    % {"value": raw, "limit": limit},
                )
                continue
            coords[name] = number
        if len(coords) < 2:
            return None
        return {"type": "Point", "coordinates": [coords["lon"], coords["lat"]]}

    def check_site(
        self, site: Site, geometry: dict, record: Record, reported: set[str]
    ) -> list[Problem]:
        """Run the model's own validation on the site as it would be saved."""
        try:
            apply_geometry(site, geometry, index=self.index)
            # Zones come from the index just read from the database, uniqueness from the matching above.
            site.full_clean(
                exclude=["geometry", "municipio", "nil"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            return [
                Problem(
                    record.number,
                    name,
                    " ".join(str(m) for m in messages),
                    self.columns.label(name),
                )
                for name, messages in exc.message_dict.items()
                if name not in reported
            ]
        return []


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _differs(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is None or new is None or Decimal(old) != Decimal(new)
    return (old or "") != (new or "")


def validate_source(
    source: Source,
    *,
    mapping: dict,
    defaults: dict,
    index: zoning.ZoneIndex,
    progress: Progress | None = None,
) -> tuple[list[Plan], list[Problem], set[int]]:
    """Plans for the valid records, problems of the others, and the numbers of the invalid records."""
    validator = Validator(source=source, mapping=mapping, defaults=defaults, index=index)
    converted = []
    total = len(source.records)
    step = max(100, total // 10)
    for done, record in enumerate(source.records, start=1):
        converted.append((record, *validator.values_of(record)))
        if progress and (done % step == 0 or done == total):
            progress("validate", done, total)

    refs = sorted({v["ref_code"] for _r, v, _g, _p in converted if v.get("ref_code")})
    names = sorted({v["name"] for _r, v, _g, _p in converted if v.get("name")})
    by_ref = {
        s.ref_code: s for chunk in _chunks(refs) for s in Site.objects.filter(ref_code__in=chunk)
    }
    by_name_address: dict[tuple[str, str], list[Site]] = {}
    for chunk in _chunks(names):
        for site in Site.objects.filter(ref_code__isnull=True, name__in=chunk):
            by_name_address.setdefault((site.name, site.address), []).append(site)

    plans: list[Plan] = []
    problems: list[Problem] = []
    invalid: set[int] = set()
    seen_ref: dict[str, int] = {}
    seen_key: dict[tuple[str, str], int] = {}
    claimed: dict[int, int] = {}  # site id -> row that updates it
    for record, values, geometry, row_problems in converted:
        reported = {p.field for p in row_problems}

        def problem(
            name: str, message, record=record, reported=reported, row_problems=row_problems
        ) -> None:
            row_problems.append(
                Problem(record.number, name, str(message), validator.columns.label(name))
            )
            reported.add(name)

        ref, key = values.get("ref_code"), (values.get("name", ""), values.get("address", ""))
        site = None
        if ref:
            if ref in seen_ref:
                problem(
                    "ref_code", _("the same reference is in row %(row)d") % {"row": seen_ref[ref]}
                )
            seen_ref.setdefault(ref, record.number)
            site = by_ref.get(ref)
        elif key[0]:
            if key in seen_key:
                problem(
                    "name",
                    _("same name and address as row %(row)d: add a ref_code to tell them apart")
                    % {"row": seen_key[key]},
                )
            seen_key.setdefault(key, record.number)
        if site is None and key[0]:
            candidates = by_name_address.get(key, [])
            if len(candidates) > 1:
                problem(
                    "name",
                    _(
                        "%(count)d stored sites have this name and address: add a ref_code to choose one"
                    )
                    % {"count": len(candidates)},
                )
            elif candidates:
                site = candidates[0]
        if site is not None and site.pk in claimed:
            problem(
                "ref_code", _("row %(row)d already updates this site") % {"row": claimed[site.pk]}
            )
        status = values.pop("status", None)
        if site is None:
            for name, value in validator.defaults.items():
                if name != "status":
                    values.setdefault(name, value)
            status = status or validator.defaults.get("status")
            for name in REQUIRED_ON_CREATE:
                if not values.get(name) and name not in reported:
                    problem(
                        name,
                        _(
                            "required for a new site: map a column (--map %(field)s=COLUMN) "
                            "or give a default "
                            "(--default %(field)s=VALUE)"
                        )
                        % {"field": name},
                    )
        elif (
            status and status != site.status and status not in SITE_TRANSITIONS.get(site.status, ())
        ):
            allowed = ", ".join(str(SiteStatus(s).label) for s in allowed_statuses(site)) or "—"
            problem(
                "status",
                _(
                    "the site is “%(current)s” and cannot go to “%(target)s”; "
                    "allowed next statuses: %(allowed)s"
                )
                % {
                    "current": SiteStatus(site.status).label,
                    "target": SiteStatus(status).label,
                    "allowed": allowed,
                },
            )
        if geometry is not None and not row_problems:
            candidate = copy.copy(site) if site is not None else Site()
            for name, value in values.items():
                setattr(candidate, name, value)
            row_problems.extend(validator.check_site(candidate, geometry, record, reported))
            outside = candidate.outside_zones
        else:
            outside = False
        if row_problems or geometry is None:
            problems.extend(row_problems)
            invalid.add(record.number)
            continue
        if site is not None:
            claimed[site.pk] = record.number
            values = {n: v for n, v in values.items() if _differs(getattr(site, n), v)}
            if geometry == site.geometry:
                geometry = None
            if status == site.status:
                status = None
        elif status == SiteStatus.MAPPED:
            status = None
        plans.append(
            Plan(
                record=record,
                site=site,
                values=values,
                geometry=geometry,
                status=status,
                outside_zones=outside,
            )
        )
    return plans, problems, invalid


# The whole import -----------------------------------------------------------------------------------


def import_sites(
    path: Path | str | Source,
    *,
    by=None,
    mapping: dict | None = None,
    defaults: dict | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate every record of the file, then (unless refused) write them all in one transaction.

    Nothing is written when ``dry_run`` is set, or when some record is invalid and ``skip_invalid`` is
    not. Otherwise valid records are created or updated through ``places.domain`` and one
    ``sites.import`` audit entry records the counts. Raises ``ImportFileError`` for unusable files or
    options; row-level problems are returned in the result.
    """
    source = path if isinstance(path, Source) else read_source(path)
    mapping = mapping or {}
    defaults = defaults or {}
    parse_pairs([f"{k}={v}" for k, v in mapping.items()], option="--map", allowed=TARGET_FIELDS)
    parse_pairs(
        [f"{k}={v}" for k, v in defaults.items()], option="--default", allowed=DEFAULTABLE_FIELDS
    )
    index = zoning.zone_index()
    result = ImportResult(
        format=source.format, total=len(source.records), dry_run=dry_run, row_word=source.row_word
    )
    if not index.zones:
        result.warnings.append(
            _(
                "No zones are loaded (run import-zones first): "
                "every site will be flagged outside every zone."
            )
        )
    plans, result.problems, invalid = validate_source(
        source, mapping=mapping, defaults=defaults, index=index, progress=progress
    )
    result.invalid = len(invalid)
    for plan in plans:
        if plan.outside_zones and index.zones:
            result.warnings.append(outside_warning(plan, source=source, index=index))
    for plan in plans:
        if plan.site is None:
            result.created += 1
        elif plan.values or plan.geometry is not None or plan.status:
            result.updated += 1
        else:
            result.unchanged += 1
    if result.invalid and not skip_invalid:
        result.created = result.updated = result.unchanged = 0
        return result
    result.skipped = result.invalid
    if dry_run or not plans:
        return result
    _write(plans, source=source, result=result, by=by, index=index, progress=progress)
    result.written = True
    return result


def outside_warning(plan: Plan, *, source: Source, index: zoning.ZoneIndex) -> str:
    """Why a row landed in no zone, with a hint when swapping longitude and latitude would fix it."""
    where = {"row_word": source.row_word, "row": plan.record.number}
    geometry = plan.geometry or (plan.site.geometry if plan.site else None) or {}
    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        if -90 <= lon <= 90 and index.locate(Point(lat, lon)).municipio_id is not None:
            return (
                _(
                    "%(row_word)s %(row)d falls outside every zone; with longitude and latitude swapped it "
                    "would be inside: check the columns"
                )
                % where
            )
    return _("%(row_word)s %(row)d falls outside every zone: check its coordinates") % where


WRITE_BATCH = 1000  # new sites per bulk creation (and per progress line)


@transaction.atomic
def _write(plans: list[Plan], *, source: Source, result: ImportResult, by, index, progress) -> None:
    """Carry out the plans: new sites in bulk, then lifecycle steps and updates one by one."""
    reason = _("Imported from %(file)s") % {"file": source.name or source.format}
    total, done = len(plans), 0
    step = max(100, total // 10)
    creates = [plan for plan in plans if plan.site is None]
    for start in range(0, len(creates), WRITE_BATCH):
        batch = creates[start : start + WRITE_BATCH]
        sites = sites_create_many(by=by, items=[(p.geometry, p.values) for p in batch], index=index)
        for plan, site in zip(batch, sites, strict=True):
            for status in lifecycle_path(site.status, plan.status) if plan.status else []:
                site = site_change_status(site=site, to=status, by=by, reason=reason)
        done += len(batch)
        if progress:
            progress("write", done, total)
    for plan in (plan for plan in plans if plan.site is not None):
        site = plan.site
        if plan.values or plan.geometry is not None:
            site = site_update(site=site, by=by, geometry=plan.geometry, index=index, **plan.values)
        if plan.status:
            site_change_status(site=site, to=plan.status, by=by, reason=reason)
        done += 1
        if progress and (done % step == 0 or done == total):
            progress("write", done, total)
    audit_record(
        verb="sites.import",
        actor=by,
        data={"file": source.name, "format": source.format, **result.counts()},
    )


def problem_lines(result: ImportResult) -> list[str]:
    """One translated line per problem: "row 4, lat (column “Y”): … out of range …"."""
    lines = []
    for p in result.problems:
        where = (
            p.field
            if not p.column
            else _("%(field)s (column “%(column)s”)") % {"field": p.field, "column": p.column}
        )
        lines.append(
            _("%(row_word)s %(row)d, %(field)s: %(message)s")
            % {"row_word": result.row_word, "row": p.row, "field": where, "message": p.message}
        )
    return lines
