"""Reads of zones, sites and spaces with the joins every list needs (fixed query count)."""

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce

from manifattura.places.enums import SpaceAvailability
from manifattura.places.models import Site, Space, Zone


def sites_for_list():
    """Sites with their zones and space counts in one query (the same rows the API lists)."""
    return sites_for_api()


def site_for_detail(pk: int) -> Site:
    return (
        Site.objects.select_related("municipio", "nil")
        .defer(*ZONE_BOUNDARIES)
        .prefetch_related(
            Prefetch("spaces", queryset=Space.objects.order_by("floor", "name")),
            "attachments",
        )
        .get(pk=pk)
    )


def spaces_for_list():
    return spaces_for_api()


def zones_for_map(kind: str | None = None):
    qs = Zone.objects.only("id", "kind", "code", "name", "geometry")
    return qs.filter(kind=kind) if kind else qs


def site_figures() -> dict:
    """Programme-wide key figures for the home page (two aggregate queries, whatever the size)."""
    from django.db.models import Sum

    from manifattura.places.enums import SpaceAvailability

    sites = Site.objects.aggregate(
        count=Count("id"),
        surface=Sum("surface_m2"),
        cost=Sum("recovery_cost"),
        periphery=Count("id", filter=Q(is_periphery=True)),
        demo=Count("id", filter=Q(is_demo=True)),
    )
    available = Q(availability=SpaceAvailability.AVAILABLE)
    spaces = Space.objects.aggregate(
        count=Count("id"),
        available=Count("id", filter=available),
        available_surface=Sum("surface_m2", filter=available),
    )
    return {"sites": sites, "spaces": spaces}


def site_history(site: Site):
    """The site's recorded versions, oldest first, with who made each change."""
    return site.history.select_related("history_user").order_by("history_date", "history_id")


def site_actions(site: Site):
    """The action-log entries about the site, newest first."""
    from manifattura.core.models import ActionLog

    return (
        ActionLog.objects.filter(object_type=Site._meta.label_lower, object_id=str(site.pk))
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


# Zone boundaries are large (a NIL polygon has thousands of points): lists that show a site's zone
# by code and name must not load them once per row.
ZONE_BOUNDARIES = ("municipio__geometry", "nil__geometry")


def sites_for_map():
    """Sites with their zones' codes and names, no aggregates: for map layers and GeoJSON (one query)."""
    return Site.objects.select_related("municipio", "nil").defer(*ZONE_BOUNDARIES)


def sites_for_api():
    """Sites with zone codes and names and space counts, for API lists (one query, no GROUP BY).

    The counts are correlated subqueries so that paginating (which counts rows) and sorting do not
    group by every column, geometry included, as a join with ``Count`` would.
    """
    spaces = Space.objects.filter(site=OuterRef("pk")).order_by().values("site")

    def count(qs):
        return Coalesce(Subquery(qs.annotate(n=Count("pk")).values("n")), 0)

    return (
        Site.objects.select_related("municipio", "nil")
        .defer(*ZONE_BOUNDARIES)
        .annotate(
            space_count=count(spaces),
            available_space_count=count(spaces.filter(availability=SpaceAvailability.AVAILABLE)),
        )
    )


def spaces_for_api():
    """Spaces with their site's name, centre point and zones, without site or zone geometries."""
    return Space.objects.select_related("site", "site__municipio", "site__nil").defer(
        "site__geometry", *(f"site__{boundary}" for boundary in ZONE_BOUNDARIES)
    )


def zones_for_list(kind: str | None = None):
    """Zones with every field (area included), optionally of one kind."""
    qs = Zone.objects.all()
    return qs.filter(kind=kind) if kind else qs
