"""Every write to zones, sites and spaces: one transaction each, audited."""

from collections import Counter, deque
from decimal import Decimal
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from manifattura.core import geo
from manifattura.core.audit import audit_record, audit_record_many
from manifattura.places import zoning
from manifattura.places.enums import SITE_TRANSITIONS, SiteStatus, SpaceAvailability, SurfaceSource, ZoneKind
from manifattura.places.models import Site, Space, Zone

SITE_FIELDS = {
    "name", "address", "description", "surface_m2", "ownership", "condition", "typology",
    "recovery_cost", "ref_code", "is_demo",
}


def is_periphery(site: Site, municipio_code: str | None) -> bool:
    """The city's periphery rule: a dotted-path callable if configured, else 'not a central Municipio'."""
    config = settings.MANIFATTURA
    if config.get("PERIPHERY_RULE"):
        module, _sep, name = config["PERIPHERY_RULE"].rpartition(".")
        return bool(getattr(import_module(module), name)(site))
    if municipio_code is None:
        return False
    return municipio_code not in set(config["CENTRAL_MUNICIPI"])


def apply_geometry(site: Site, geometry, *, index: zoning.ZoneIndex | None = None) -> None:
    """Validate the geometry and derive bbox, centre point, zones, periphery and (if needed) surface.

    Raises ``ValidationError`` on the ``geometry`` field with a message that says what to fix.
    """
    try:
        geom = geo.parse_geometry(geometry)
    except geo.GeometryError as exc:
        raise ValidationError({"geometry": _("Invalid geometry: %(problem)s") % {"problem": exc}}) from exc
    site.geometry = geo.to_geojson(geom)
    box = geo.bbox(geom)
    site.min_lon, site.min_lat, site.max_lon, site.max_lat = box.min_lon, box.min_lat, box.max_lon, box.max_lat
    point = geo.representative_point(geom)
    site.lon, site.lat = point.x, point.y
    match = (index or zoning.zone_index()).locate(point)
    site.municipio_id = match.municipio_id
    site.nil_id = match.nil_id
    site.outside_zones = match.municipio_id is None
    site.is_periphery = is_periphery(site, match.municipio_code)
    if geom.geom_type != "Point" and (site.surface_m2 is None or site.surface_source == SurfaceSource.COMPUTED):
        site.surface_m2 = geo.area_m2(geom)
        site.surface_source = SurfaceSource.COMPUTED


def _validated(site: Site) -> Site:
    """Field validation of a site about to be saved (the geometry was validated by ``apply_geometry``)."""
    # Zones were just read by the zone index and the database enforces the CheckConstraints, whose
    # conditions the field validators already report: re-querying them made bulk imports 2x slower.
    site.full_clean(exclude=["geometry", "municipio", "nil"], validate_constraints=False)
    return site


@transaction.atomic
def site_create(*, by, geometry, index: zoning.ZoneIndex | None = None, **fields) -> Site:
    """Create a site from a geometry and descriptive fields; ``index`` lets bulk callers share one."""
    site = _new_site(geometry, fields, index=index)
    _validated(site).save()
    audit_record(verb="site.create", actor=by, obj=site, data={"status": site.status})
    return site


def _new_site(geometry, fields: dict, *, index: zoning.ZoneIndex | None) -> Site:
    unknown = set(fields) - SITE_FIELDS
    if unknown:
        raise TypeError(f"unknown site fields: {sorted(unknown)}")
    site = Site(**fields)
    if site.surface_m2 is not None:
        site.surface_source = SurfaceSource.DECLARED
    apply_geometry(site, geometry, index=index)
    return site


@transaction.atomic
def sites_create_many(
    *, by, items: list[tuple[dict, dict]], index: zoning.ZoneIndex | None = None
) -> list[Site]:
    """Create sites from (geometry, fields) pairs exactly as ``site_create`` creates one (same checks,
    derived zones and surface, a history row and a ``site.create`` audit entry each) in bulk.

    A ``ref_code`` repeated in the batch or already stored raises ``ValidationError`` and nothing is
    written. Returns the sites, saved, in the order of ``items``.
    """
    index = index or zoning.zone_index()
    sites = [_new_site(geometry, fields, index=index) for geometry, fields in items]
    for site in sites:
        # Uniqueness is checked below for the whole batch with one query per 500 references.
        site.full_clean(
            exclude=["geometry", "municipio", "nil"], validate_unique=False, validate_constraints=False
        )
    refs = [site.ref_code for site in sites if site.ref_code]
    clashes = {ref for ref, count in Counter(refs).items() if count > 1}
    for start in range(0, len(refs), 500):
        stored = Site.objects.filter(ref_code__in=refs[start : start + 500])
        clashes.update(stored.values_list("ref_code", flat=True))
    if clashes:
        raise ValidationError({"ref_code": _("These references are used already: %(refs)s.")
                               % {"refs": ", ".join(sorted(clashes))}})
    Site.objects.bulk_create(sites, batch_size=500)
    user = by if getattr(by, "pk", None) else None
    Site.history.bulk_history_create(sites, batch_size=500, default_user=user)
    audit_record_many(
        verb="site.create", actor=by, entries=[(site, {"status": site.status}) for site in sites]
    )
    return sites


@transaction.atomic
def site_update(
    *, site: Site, by, geometry=None, index: zoning.ZoneIndex | None = None, **fields
) -> Site:
    """Change descriptive fields and/or geometry (status changes go through ``site_change_status``)."""
    unknown = set(fields) - SITE_FIELDS
    if unknown:
        raise TypeError(f"unknown site fields: {sorted(unknown)}")
    site = Site.objects.select_for_update().get(pk=site.pk)
    changed = {}
    for name, value in fields.items():
        if getattr(site, name) != value:
            changed[name] = [getattr(site, name), value]
            setattr(site, name, value)
    if "surface_m2" in fields:
        site.surface_source = SurfaceSource.DECLARED if fields["surface_m2"] is not None else SurfaceSource.COMPUTED
    if geometry is not None and geometry != site.geometry:
        changed["geometry"] = True
        apply_geometry(site, geometry, index=index)
    elif "surface_m2" in fields and fields["surface_m2"] is None:
        apply_geometry(site, site.geometry, index=index)
    _validated(site).save()
    if changed:
        audit_record(verb="site.update", actor=by, obj=site, data={"changed": sorted(changed)})
    return site


def allowed_statuses(site: Site) -> list[str]:
    return sorted(SITE_TRANSITIONS.get(site.status, set()), key=list(SiteStatus.values).index)


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


@transaction.atomic
def site_change_status(*, site: Site, to: str, by, reason: str = "") -> Site:
    """Move a site along its lifecycle; anything outside ``SITE_TRANSITIONS`` is refused."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    if to not in SiteStatus.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": to}})
    if to not in SITE_TRANSITIONS.get(site.status, set()):
        allowed = ", ".join(str(SiteStatus(s).label) for s in allowed_statuses(site)) or "—"
        raise ValidationError(
            {
                "status": _(
                    "A site cannot go from “%(current)s” to “%(target)s”. Allowed next statuses: %(allowed)s."
                )
                % {"current": SiteStatus(site.status).label, "target": SiteStatus(to).label, "allowed": allowed}
            }
        )
    previous = site.status
    site.status = to
    site._change_reason = reason
    site.save(update_fields=["status", "updated_at"])
    audit_record(
        verb="site.status_change", actor=by, obj=site,
        data={"from": previous, "to": to, "reason": reason},
    )
    return site


# Staff move a space between these; "offered" and "assigned" are set by calls (publication, awards).
STAFF_AVAILABILITIES = (SpaceAvailability.AVAILABLE, SpaceAvailability.UNAVAILABLE)


def availability_problem(current: str, wanted: str) -> str | None:
    """Why staff may not move a space from ``current`` to ``wanted``, or None."""
    if wanted == current:
        return None
    if current not in STAFF_AVAILABILITIES:
        return _("The space is %(state)s: its call decides its availability (withdraw it from the call first).") % {
            "state": SpaceAvailability(current).label.lower()}
    if wanted not in STAFF_AVAILABILITIES:
        return _("A space becomes offered when a call offering it is published, and assigned when it is awarded: "
                 "choose available or not available.")
    return None


def _check_availability(current: str, wanted: str) -> None:
    problem = availability_problem(current, wanted)
    if problem:
        raise ValidationError({"availability": [problem]})


@transaction.atomic
def space_create(*, site: Site, by, **fields) -> Space:
    """A new space, in whatever state it is in (spaces assigned before the platform are recorded as such)."""
    space = Space(site=site, **fields)
    space.full_clean()
    space.save()
    audit_record(verb="space.create", actor=by, obj=space, data={"site": site.pk})
    return space


@transaction.atomic
def zones_replace(*, kind: str, zones: list[dict], by=None) -> dict:
    """Create or update zones of one kind from dicts with code, name and geometry; audited."""
    if kind not in ZoneKind.values:
        raise ValueError(f"unknown zone kind {kind!r}")
    created = updated = 0
    for item in zones:
        geom = geo.parse_geometry(item["geometry"])
        box = geo.bbox(geom)
        values = {
            "name": item["name"],
            "geometry": geo.to_geojson(geom),
            "min_lon": box.min_lon, "min_lat": box.min_lat, "max_lon": box.max_lon, "max_lat": box.max_lat,
            "area_m2": geo.area_m2(geom),
        }
        _zone, was_created = Zone.objects.update_or_create(kind=kind, code=str(item["code"]), defaults=values)
        created += was_created
        updated += not was_created
    zoning.invalidate()
    audit_record(verb="zones.import", actor=by, data={"kind": kind, "created": created, "updated": updated})
    return {"created": created, "updated": updated}


@transaction.atomic
def sites_rezone(*, by=None) -> int:
    """Re-derive zones and periphery of every site (after the zones changed)."""
    index = zoning.zone_index()
    count = 0
    for site in Site.objects.select_for_update().iterator():
        apply_geometry(site, site.geometry, index=index)
        site.save(update_fields=[
            "geometry", "min_lon", "min_lat", "max_lon", "max_lat", "lon", "lat", "municipio", "nil",
            "outside_zones", "is_periphery", "surface_m2", "surface_source",
        ])
        count += 1
    if count:
        audit_record(verb="sites.rezone", actor=by, data={"sites": count})
    return count


def decimal_or_none(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


SPACE_FIELDS = {
    "name", "surface_m2", "use", "floor", "accessibility", "monthly_fee", "availability", "description",
    "is_demo",
}


@transaction.atomic
def space_update(*, space: Space, by, **fields) -> Space:
    """Change a space's descriptive fields (its site stays: create a new space in the other site)."""
    unknown = set(fields) - SPACE_FIELDS
    if unknown:
        raise TypeError(f"unknown space fields: {sorted(unknown)}")
    space = Space.objects.select_for_update().select_related("site").get(pk=space.pk)
    if "availability" in fields:
        _check_availability(space.availability, fields["availability"])
    changed = []
    for name, value in fields.items():
        if getattr(space, name) != value:
            changed.append(name)
            setattr(space, name, value)
    space.full_clean()
    space.save()
    if changed:
        audit_record(verb="space.update", actor=by, obj=space, data={"changed": sorted(changed)})
    return space


@transaction.atomic
def space_delete(*, space: Space, by) -> None:
    """Remove a space; the audit entry keeps its site, name and surface. Offered or assigned: refused."""
    space = Space.objects.select_for_update().select_related("site").get(pk=space.pk)
    if space.availability not in STAFF_AVAILABILITIES:
        raise ValidationError(_("The space is %(state)s: it cannot be removed while its call needs it.") % {
            "state": SpaceAvailability(space.availability).label.lower()})
    audit_record(
        verb="space.delete", actor=by, obj=space,
        data={"site": space.site_id, "name": space.name, "surface_m2": space.surface_m2},
    )
    space.delete()
