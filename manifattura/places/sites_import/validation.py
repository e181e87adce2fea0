"""Checking every record against the model and the stored sites, and planning what to write.

``validate_source`` returns a plan (create, update or unchanged) for each valid record and the
problems (row, field, message) of the others; it reads the database but never writes.
"""

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from manifattura.core import geo
from manifattura.places import zoning
from manifattura.places.domain import allowed_statuses, apply_geometry
from manifattura.places.enums import SITE_TRANSITIONS, SiteStatus
from manifattura.places.models import Site
from manifattura.places.sites_import.files import ImportFileError, Record, Source
from manifattura.places.sites_import.values import (
    ENUMS,
    as_text,
    enum_lookup,
    geometry_from_text,
    is_empty,
    parse_amount,
    parse_coordinate,
    parse_enum,
)

# Fields a file may provide (``--map target=source`` renames a source column to one of these).
TEXT_FIELDS = ("ref_code", "name", "address", "description")
AMOUNT_FIELDS = ("surface_m2", "recovery_cost")
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


CHUNK = 500  # rows per IN (...) query when looking up existing sites
Progress = Callable[[str, int, int], None]


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
                lambda m: as_text(record.fields.get(m.group(1))), self.templates[target]
            )
            return " ".join(text.split())
        column = self.sources.get(target)
        return record.fields.get(column) if column else None


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
        return as_text(value)

    def values_of(self, record: Record) -> tuple[dict, dict | None, list[Problem]]:
        """Converted field values (only those present), normalised geometry, and problems."""
        values, problems = {}, []

        def problem(name: str, message) -> None:
            problems.append(Problem(record.number, name, str(message), self.columns.label(name)))

        for name in (*TEXT_FIELDS, *AMOUNT_FIELDS, *ENUMS):
            raw = self.columns.raw(record, name)
            if is_empty(raw):
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
            if not is_empty(text):
                try:
                    value = geometry_from_text(as_text(text))
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
            if is_empty(raw):
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
