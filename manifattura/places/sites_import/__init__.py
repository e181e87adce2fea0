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

Modules: ``files`` reads the file into records, ``values`` converts cells, ``validation`` checks
records and plans the writes, and this module runs the import and writes.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import Point

from manifattura.core.audit import audit_record
from manifattura.places import zoning
from manifattura.places.domain import (
    lifecycle_path,
    site_change_status,
    site_update,
    sites_create_many,
)
from manifattura.places.sites_import.files import (
    ImportFileError,
    Record,
    Source,
    read_csv,
    read_geojson,
    read_source,
    sniff_delimiter,
)
from manifattura.places.sites_import.validation import (
    DEFAULTABLE_FIELDS,
    TARGET_FIELDS,
    Plan,
    Problem,
    Progress,
    parse_pairs,
    validate_source,
)
from manifattura.places.sites_import.values import (
    enum_lookup,
    parse_amount,
    parse_coordinate,
    parse_enum,
)

__all__ = [
    "DEFAULTABLE_FIELDS",
    "TARGET_FIELDS",
    "ImportFileError",
    "ImportResult",
    "Problem",
    "Record",
    "Source",
    "enum_lookup",
    "import_sites",
    "parse_amount",
    "parse_coordinate",
    "parse_enum",
    "parse_pairs",
    "problem_lines",
    "read_csv",
    "read_geojson",
    "read_source",
    "sniff_delimiter",
]


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
