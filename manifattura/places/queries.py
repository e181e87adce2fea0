"""Reads of zones, sites and spaces with the joins every list needs (fixed query count)."""

from django.db.models import Count, Prefetch, Q

from manifattura.places.models import Site, Space, Zone


def sites_for_list():
    """Sites with their zones and space counts in one query."""
    return Site.objects.select_related("municipio", "nil").annotate(
        space_count=Count("spaces", distinct=True),
        available_space_count=Count("spaces", filter=Q(spaces__availability="available"), distinct=True),
    )


def site_for_detail(pk: int) -> Site:
    return (
        Site.objects.select_related("municipio", "nil")
        .prefetch_related(
            Prefetch("spaces", queryset=Space.objects.order_by("floor", "name")),
            "attachments",
        )
        .get(pk=pk)
    )


def spaces_for_list():
    return Space.objects.select_related("site", "site__municipio", "site__nil")


def zones_for_map(kind: str | None = None):
    qs = Zone.objects.only("id", "kind", "code", "name", "geometry")
    return qs.filter(kind=kind) if kind else qs
