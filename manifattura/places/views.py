"""Public pages about abandoned sites: home with the map, the list (also as CSV), the site page and
the map data.

Every list here is ``places.filters.SiteFilter`` applied to ``places.queries.sites_for_list()``, so
the map, the table, the CSV and the API answer the same question with the same query.
"""

import csv
import hashlib
import io
import json

import shapely
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Max, Sum, Value, When
from django.db.models.functions import Length
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from shapely.geometry import shape

from manifattura.core import clock
from manifattura.core.templatetags.core_tags import euro, m2
from manifattura.places import queries
from manifattura.places.display import status_color, status_legend
from manifattura.places.enums import SiteStatus, SurfaceSource, ZoneKind
from manifattura.places.forms import PublicSiteFilter
from manifattura.places.models import Site, Zone

PAGE_SIZE = 25
RESULTS_TARGET = "site-results"  # id of the element htmx swaps with the results partial

# Sortable columns: key in the URL, label, ordering expressions.
SORTABLE_COLUMNS = [
    ("name", gettext_lazy("Name")),
    ("municipio", gettext_lazy("Municipio")),
    ("nil", gettext_lazy("NIL")),
    ("periphery", gettext_lazy("Periphery")),
    ("surface", gettext_lazy("Surface")),
    ("ownership", gettext_lazy("Ownership")),
    ("status", gettext_lazy("Status")),
    ("cost", gettext_lazy("Recovery cost")),
    ("spaces", gettext_lazy("Spaces")),
]
SORT_FIELDS = {
    "name": "name",
    # Municipio codes are numbers written as text: order by length first so "10" follows "9".
    "municipio": "municipio_sort",
    "nil": "nil__name",
    "periphery": "is_periphery",
    "surface": "surface_m2",
    "ownership": "ownership",
    "status": "status_rank",
    "cost": "recovery_cost",
    "spaces": "space_count",
}
DEFAULT_SORT = "name"


# --------------------------------------------------------------------------------------------------
# Shared pieces: filtering, sorting, the results partial
# --------------------------------------------------------------------------------------------------


def filtered_sites(request):
    """The public filter bound to the query string and the sites it selects.

    Fields with invalid input are reported on the form and left out of the filtering (the other
    filters still apply), so a typo never turns into an error page.
    """
    filterset = PublicSiteFilter(
        request.GET or None, queryset=queries.sites_for_list(), request=request
    )
    return filterset, filterset.qs


def sort_sites(queryset, sort: str | None):
    """Order by a whitelisted column (``-`` prefix: descending); returns (queryset, sort used)."""
    sort = sort or DEFAULT_SORT
    key = sort.removeprefix("-")
    if key not in SORT_FIELDS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    if key == "status":
        ranks = [
            When(status=value, then=Value(rank)) for rank, value in enumerate(SiteStatus.values)
        ]
        queryset = queryset.annotate(
            status_rank=Case(*ranks, default=Value(99), output_field=IntegerField())
        )
    if key == "municipio":
        queryset = queryset.annotate(municipio_sort=Length("municipio__code"))
        fields = ["municipio_sort", "municipio__code"]
    else:
        fields = [SORT_FIELDS[key]]
    descending = sort.startswith("-")
    order = [
        F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        for field in fields
    ]
    return queryset.order_by(*order, "name", "id"), sort


def _columns(sort: str) -> list[dict]:
    current = sort.removeprefix("-")
    descending = sort.startswith("-")
    columns = []
    for key, label in SORTABLE_COLUMNS:
        state = None
        if key == current:
            state = "descending" if descending else "ascending"
        columns.append(
            {
                "key": key,
                "label": label,
                "aria_sort": state,
                "next": f"-{key}" if state == "ascending" else key,
            }
        )
    return columns


def _results_context(request, filterset, sites) -> dict:
    sites, sort = sort_sites(sites, request.GET.get("sort"))
    page = Paginator(sites, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for key in ("page", "sort", "format"):
        query.pop(key, None)
    return {
        "filter": filterset,
        "form": filterset.form,
        "form_errors": filterset.form.errors if filterset.is_bound else {},
        "page_obj": page,
        "sites": page.object_list,
        "sort": sort,
        "columns": _columns(sort),
        "filter_query": query.urlencode(),
        "results_target": RESULTS_TARGET,
    }


def _wants_results_only(request) -> bool:
    return bool(request.htmx) and request.htmx.target == RESULTS_TARGET


def _map_config(request) -> dict:
    from django.conf import settings

    return {
        "center": settings.MANIFATTURA["MAP_CENTER"],
        "zoom": 12,
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "sitesUrl": reverse("places:site-map-geojson"),
        "zonesUrls": {
            "municipio": reverse("places:zones-geojson", args=[ZoneKind.MUNICIPIO]),
            "nil": reverse("places:zones-geojson", args=[ZoneKind.NIL]),
        },
        "statuses": status_legend(),
        "labels": {
            "municipi": _("Municipi"),
            "nil": _("NIL (local identity units)"),
            "sites": _("Abandoned sites"),
            "surface": _("Surface"),
            "cost": _("Recovery cost"),
            "spacesAvailable": _("Spaces available"),
            "open": _("Open the site page"),
            "demo": _("Demo data"),
            "loading": _("Loading the map…"),
            "loadError": _("The map data could not be loaded. The list shows the same sites."),
            "count": _("Sites on the map: %(count)s"),
            "none": _("No site matches the filters."),
        },
    }


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------


@require_GET
def home(request):
    """The programme, its key figures, the map of sites and the list of the same filtered sites."""
    filterset, sites = filtered_sites(request)
    context = _results_context(request, filterset, sites)
    if _wants_results_only(request):
        return render(request, "places/_site_results.html", context)
    from django.conf import settings

    figures = queries.site_figures()
    context.update(
        {
            "figures": figures,
            "fund_total": settings.MANIFATTURA.get("FUND_TOTAL_EUR"),
            "map_config": _map_config(request),
            "status_legend": status_legend(),
        }
    )
    return render(request, "places/home.html", context)


@require_GET
def site_list(request):
    """The filtered, sortable, paginated table of sites; ``?format=csv`` downloads the same rows."""
    if request.GET.get("format") == "csv":
        return site_export_csv(request)
    filterset, sites = filtered_sites(request)
    context = _results_context(request, filterset, sites)
    if _wants_results_only(request):
        return render(request, "places/_site_results.html", context)
    return render(request, "places/site_list.html", context)


@require_GET
def site_export_csv(request):
    """The filtered sites as CSV for spreadsheets: UTF-8 with BOM, ``;``, local decimals."""
    filterset, sites = filtered_sites(request)
    sites, _sort = sort_sites(sites, request.GET.get("sort"))

    def number(value, places):
        if value is None:
            return ""
        return formats.number_format(value, decimal_pos=places, use_l10n=True, force_grouping=False)

    yes, no = _("yes"), _("no")
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("ID"),
            _("External reference"),
            _("Name"),
            _("Address"),
            _("Municipio"),
            _("NIL"),
            _("Periphery"),
            _("Surface (m²)"),
            _("Surface source"),
            _("Ownership"),
            _("Condition"),
            _("Typology"),
            _("Status"),
            _("Estimated recovery cost (EUR)"),
            _("Spaces"),
            _("Spaces available"),
            _("Longitude"),
            _("Latitude"),
            _("Demo data"),
            _("Page"),
        ]
    )
    for site in sites.iterator(chunk_size=500):
        writer.writerow(
            [
                site.pk,
                site.ref_code or "",
                site.name,
                site.address,
                site.municipio.code if site.municipio else "",
                site.nil.name if site.nil else "",
                yes if site.is_periphery else no,
                number(site.surface_m2, 2),
                site.get_surface_source_display(),
                site.get_ownership_display(),
                site.get_condition_display(),
                site.get_typology_display(),
                site.get_status_display(),
                number(site.recovery_cost, 2),
                site.space_count,
                site.available_space_count,
                number(site.lon, 6),
                number(site.lat, 6),
                yes if site.is_demo else no,
                request.build_absolute_uri(reverse("places:site-detail", args=[site.pk])),
            ]
        )
    response = HttpResponse(
        buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    filename = f"sites-{clock.local_now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _who(user, viewer) -> str:
    """Who made a change, as the public may see it: staff see names, everybody else the office."""
    if user is None:
        return _("System (import or automatic update)")
    if viewer.is_authenticated and viewer.is_staff:
        return str(user)
    return _("Programme staff")


VERB_LABELS = {
    "site.create": gettext_lazy("Site recorded"),
    "site.update": gettext_lazy("Details updated"),
    "site.status_change": gettext_lazy("Status changed"),
    "sites.rezone": gettext_lazy("Zones recomputed"),
}


def _status_changes(records, viewer) -> list[dict]:
    """The status steps in the site's history (first version and each change), newest first."""
    changes = []
    previous = None
    for record in records:
        if previous is None or record.status != previous.status:
            changes.append(
                {
                    "date": record.history_date,
                    "from": SiteStatus(previous.status).label if previous is not None else None,
                    "to": SiteStatus(record.status).label
                    if record.status in SiteStatus.values
                    else record.status,
                    "to_value": record.status,
                    "who": _who(record.history_user, viewer),
                    "reason": record.history_change_reason or "",
                }
            )
        previous = record
    changes.reverse()
    return changes


def _action_rows(entries, viewer) -> list[dict]:
    field_labels = {
        field.name: field.verbose_name
        for field in Site._meta.get_fields()
        if hasattr(field, "verbose_name")
    }
    rows = []
    for entry in entries:
        data = entry.data or {}
        details = ""
        if entry.verb == "site.status_change":
            details = _("From “%(from)s” to “%(to)s”") % {
                "from": _status_label(data.get("from")),
                "to": _status_label(data.get("to")),
            }
            if data.get("reason"):
                details = f"{details} — {data['reason']}"
        elif entry.verb == "site.update" and data.get("changed"):
            details = ", ".join(str(field_labels.get(name, name)) for name in data["changed"])
        rows.append(
            {
                "date": entry.created_at,
                "action": VERB_LABELS.get(entry.verb, entry.verb),
                "who": _who(entry.actor, viewer),
                "details": details,
            }
        )
    return rows


def _status_label(value) -> str:
    return str(SiteStatus(value).label) if value in SiteStatus.values else str(value or "—")


@require_GET
def site_detail(request, pk):
    try:
        site = queries.site_for_detail(pk)
    except Site.DoesNotExist:
        raise Http404(_("No site with this number.")) from None
    spaces = list(site.spaces.all())
    attachments = list(site.attachments.all())
    map_config = _map_config(request)
    map_config.update(
        {
            "site": {
                "geometry": site.geometry,
                "lat": site.lat,
                "lon": site.lon,
                "status": site.status,
                "color": status_color(site.status),
                "name": site.name,
            }
        }
    )
    context = {
        "site": site,
        "spaces": spaces,
        "spaces_available": sum(1 for space in spaces if space.availability == "available"),
        "photos": [a for a in attachments if a.kind == "photo"],
        "documents": [a for a in attachments if a.kind != "photo"],
        "status_changes": _status_changes(queries.site_history(site), request.user),
        "actions": _action_rows(queries.site_actions(site)[:200], request.user),
        "surface_computed": site.surface_source == SurfaceSource.COMPUTED,
        "status_color": status_color(site.status),
        "map_config": map_config,
    }
    return render(request, "places/site_detail.html", context)


# --------------------------------------------------------------------------------------------------
# Map data
# --------------------------------------------------------------------------------------------------


@require_GET
def site_map_geojson(request):
    """The filtered sites as a GeoJSON FeatureCollection for the map (same filters as the list)."""
    filterset, sites = filtered_sites(request)
    features = []
    for site in sites.order_by("name", "id"):
        features.append(
            {
                "type": "Feature",
                "id": site.pk,
                "geometry": site.geometry,
                "properties": {
                    "id": site.pk,
                    "name": site.name,
                    "address": site.address,
                    "url": reverse("places:site-detail", args=[site.pk]),
                    "status": site.status,
                    "status_label": site.get_status_display(),
                    "color": status_color(site.status),
                    "municipio": str(site.municipio) if site.municipio else "",
                    "nil": site.nil.name if site.nil else "",
                    "is_periphery": site.is_periphery,
                    "surface": m2(site.surface_m2),
                    "cost": euro(site.recovery_cost),
                    "spaces_available": site.available_space_count,
                    "is_demo": site.is_demo,
                    "lon": site.lon,
                    "lat": site.lat,
                },
            }
        )
    body = {"type": "FeatureCollection", "features": features}
    if filterset.is_bound and filterset.form.errors:
        body["errors"] = filterset.form.errors
    response = JsonResponse(body, content_type="application/geo+json")
    patch_cache_control(response, private=True, max_age=0, must_revalidate=True)
    return response


ZONES_MAX_AGE = 3600
# ~5 m: outlines stay faithful at city zoom while the Municipi file shrinks from MBs to tens of kB.
ZONE_SIMPLIFY_DEGREES = 0.00005
ZONE_PRECISION_DEGREES = 0.00001


def _zones_feature_collection(kind: str) -> bytes:
    features = []
    for zone in queries.zones_for_map(kind).order_by("code"):
        geom = shape(zone.geometry).simplify(ZONE_SIMPLIFY_DEGREES, preserve_topology=True)
        geom = shapely.set_precision(geom, ZONE_PRECISION_DEGREES)
        features.append(
            {
                "type": "Feature",
                "id": zone.pk,
                "geometry": json.loads(shapely.to_geojson(geom)),
                "properties": {
                    "id": zone.pk,
                    "kind": zone.kind,
                    "code": zone.code,
                    "name": zone.name,
                    "label": str(zone),
                },
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()


@require_GET
def zones_geojson(request, kind):
    """Simplified zone outlines of one kind (GeoJSON), cached: they change only on import."""
    if kind not in ZoneKind.values:
        raise Http404(_("Unknown kind of zone."))
    stats = Zone.objects.filter(kind=kind).aggregate(
        n=Count("id"), last=Max("id"), area=Sum("area_m2")
    )
    fingerprint = f"{kind}:{stats['n']}:{stats['last']}:{stats['area']}:{get_language()}"
    etag = '"' + hashlib.sha256(fingerprint.encode()).hexdigest()[:32] + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        cache_key = f"places:zones-geojson:{etag.strip(chr(34))}"
        body = cache.get(cache_key)
        if body is None:
            body = _zones_feature_collection(kind)
            cache.set(cache_key, body, ZONES_MAX_AGE)
        response = HttpResponse(body, content_type="application/geo+json")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=ZONES_MAX_AGE)
    return response
