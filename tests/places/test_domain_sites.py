"""places.domain for sites: the lifecycle table, zones and periphery derived from geometry, surfaces."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from shapely.geometry import Point, shape

from manifattura.core.models import ActionLog
from manifattura.places.domain import (
    site_change_status,
    site_create,
    site_update,
    sites_create_many,
)
from manifattura.places.enums import SITE_TRANSITIONS, SiteStatus, SurfaceSource
from manifattura.places.importers import MILAN_MUNICIPI, MILAN_NIL
from manifattura.places.models import Site
from tests.factories import SiteFactory

ALL_PAIRS = [(a, b) for a in SiteStatus.values for b in SiteStatus.values]
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in SITE_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in SITE_TRANSITIONS[a]]

DUOMO = (9.1916, 45.4642)
CENTRALE = (9.2047, 45.4858)
HANGAR_BICOCCA = (9.2161, 45.5208)
MONZA = (9.2736, 45.5845)
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[9.20, 45.48], [9.21, 45.49], [9.21, 45.48], [9.20, 45.49], [9.20, 45.48]]],
}


def point(lon_lat) -> dict:
    return {"type": "Point", "coordinates": list(lon_lat)}


def create(geometry, **fields) -> Site:
    fields.setdefault("name", "Ex fabbrica")
    fields.setdefault("ownership", "municipal")
    return site_create(by=None, geometry=geometry, **fields)


def features(path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def always_periphery(site) -> bool:
    return True


# --- Lifecycle ------------------------------------------------------------------------------------


def test_the_table_covers_every_status_and_names_only_known_statuses():
    assert set(SITE_TRANSITIONS) == set(SiteStatus.values)
    assert all(targets <= set(SiteStatus.values) for targets in SITE_TRANSITIONS.values())


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_transition_moves_the_site_and_is_audited(db, staff, current, target):
    site = SiteFactory(status=current)

    moved = site_change_status(site=site, to=target, by=staff, reason="test")

    assert moved.status == target
    assert Site.objects.get(pk=site.pk).status == target
    entry = ActionLog.objects.get(verb="site.status_change", object_id=str(site.pk))
    assert (entry.actor, entry.data) == (staff, {"from": current, "to": target, "reason": "test"})


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_other_transition_is_refused_with_the_allowed_list_and_writes_nothing(
    db, staff, current, target
):
    site = SiteFactory(status=current)
    entries, history = ActionLog.objects.count(), site.history.count()

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        site_change_status(site=site, to=target, by=staff)

    with translation.override("en"):
        message = caught.value.message_dict["status"][0]
        allowed = [str(SiteStatus(s).label) for s in SITE_TRANSITIONS[current]]
    assert "cannot go from" in message
    assert all(label in message.split("Allowed next statuses:")[1] for label in allowed)
    assert Site.objects.get(pk=site.pk).status == current
    assert (ActionLog.objects.count(), site.history.count()) == (entries, history)


def test_unknown_status_is_refused(db):
    site = SiteFactory()

    with pytest.raises(ValidationError) as caught:
        site_change_status(site=site, to="demolished", by=None)

    assert "status" in caught.value.message_dict


# --- Zones and periphery ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", range(9))
def test_a_point_inside_each_municipio_derives_that_municipio_and_its_nil(milan_zones_copy, number):
    municipio = features(MILAN_MUNICIPI)[number]
    inside = shape(municipio["geometry"]).representative_point()

    site = create(point((inside.x, inside.y)))

    assert site.municipio.code == str(municipio["properties"]["MUNICIPIO"])
    nil = next(f for f in features(MILAN_NIL) if shape(f["geometry"]).intersects(inside))
    assert site.nil.code == str(nil["properties"]["ID_NIL"])
    assert site.outside_zones is False


def test_the_duomo_is_in_municipio_1_nil_duomo_and_not_periphery(milan_zones_copy):
    site = create(point(DUOMO))

    assert (site.municipio.code, site.nil.name) == ("1", "DUOMO")
    assert site.is_periphery is False
    assert (site.lon, site.lat) == DUOMO


def test_outside_the_central_municipi_is_periphery_by_default(milan_zones_copy):
    assert create(point(HANGAR_BICOCCA)).is_periphery is True
    assert create(point(CENTRALE), name="Centrale").is_periphery is True


def test_the_configured_central_municipi_decide_the_periphery(milan_zones_copy, settings):
    settings.MANIFATTURA = {**settings.MANIFATTURA, "CENTRAL_MUNICIPI": ["1", "2"]}

    assert create(point(CENTRALE)).is_periphery is False
    assert create(point(HANGAR_BICOCCA), name="Bicocca").is_periphery is True


def test_a_configured_periphery_rule_replaces_the_default(milan_zones_copy, settings):
    settings.MANIFATTURA = {
        **settings.MANIFATTURA,
        "PERIPHERY_RULE": f"{__name__}.always_periphery",
    }

    assert create(point(DUOMO)).is_periphery is True


def test_a_point_outside_the_city_is_flagged_and_has_no_zones(milan_zones_copy):
    site = create(point(MONZA))

    assert site.outside_zones is True
    assert (site.municipio, site.nil, site.is_periphery) == (None, None, False)


def test_moving_a_site_rederives_its_zones(milan_zones_copy):
    site = create(point(DUOMO))

    site = site_update(site=site, by=None, geometry=point(HANGAR_BICOCCA))

    assert (site.municipio.code, site.nil.name, site.is_periphery) == ("9", "BICOCCA", True)


# --- Geometry and surface ---------------------------------------------------------------------------


def test_an_invalid_polygon_is_refused_on_the_geometry_field_and_nothing_is_written(db):
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        create(BOW_TIE)

    assert "Self-intersection" in caught.value.message_dict["geometry"][0]
    assert not Site.objects.exists()
    assert not ActionLog.objects.exists()


def test_surface_is_computed_from_the_polygon_when_not_declared(milan_zones_copy):
    lon, lat = 9.16, 45.50
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon, lat],
                [lon + 0.002, lat],
                [lon + 0.002, lat + 0.001],
                [lon, lat + 0.001],
                [lon, lat],
            ]
        ],
    }

    computed = create(polygon)
    declared = create(polygon, name="Declared", surface_m2=Decimal("900"))

    # 0.002° of longitude x 0.001° of latitude at 45.5°N: about 156 m x 111 m.
    assert computed.surface_source == SurfaceSource.COMPUTED
    assert Decimal(17_000) < computed.surface_m2 < Decimal(17_700)
    assert (declared.surface_m2, declared.surface_source) == (
        Decimal("900"),
        SurfaceSource.DECLARED,
    )
    assert shape(computed.geometry).contains(Point(computed.lon, computed.lat))


def test_clearing_a_declared_surface_computes_it_from_the_polygon(milan_zones_copy):
    lon, lat = 9.16, 45.50
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon, lat],
                [lon + 0.001, lat],
                [lon + 0.001, lat + 0.001],
                [lon, lat + 0.001],
                [lon, lat],
            ]
        ],
    }
    site = create(polygon, surface_m2=Decimal("500"))

    site = site_update(site=site, by=None, surface_m2=None)

    assert site.surface_source == SurfaceSource.COMPUTED
    assert Decimal(8_500) < site.surface_m2 < Decimal(8_900)


def test_site_create_is_audited(db, staff):
    site = site_create(by=staff, geometry=point(DUOMO), name="Audited", ownership="private")

    entry = ActionLog.objects.get(verb="site.create")
    assert (entry.actor, entry.object_id, entry.data) == (staff, str(site.pk), {"status": "mapped"})


# --- Bulk creation ---------------------------------------------------------------------------------


def test_sites_create_many_creates_what_site_create_would_with_history_and_audit(
    milan_zones_copy, staff
):
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[9.16, 45.50], [9.161, 45.50], [9.161, 45.501], [9.16, 45.501], [9.16, 45.50]]
        ],
    }

    sites = sites_create_many(
        by=staff,
        items=[
            (point(DUOMO), {"name": "Duomo", "ownership": "municipal", "ref_code": "R-1"}),
            (polygon, {"name": "Bovisa", "ownership": "private"}),
        ],
    )

    duomo, bovisa = (Site.objects.get(pk=site.pk) for site in sites)
    assert (duomo.municipio.code, duomo.nil.name, duomo.is_periphery, duomo.ref_code) == (
        "1",
        "DUOMO",
        False,
        "R-1",
    )
    assert bovisa.surface_source == SurfaceSource.COMPUTED and bovisa.surface_m2 > 8000
    assert [h.history_user for h in duomo.history.all()] == [staff]
    entries = ActionLog.objects.filter(verb="site.create").order_by("id")
    assert [(e.object_id, e.actor, e.data) for e in entries] == [
        (str(duomo.pk), staff, {"status": "mapped"}),
        (str(bovisa.pk), staff, {"status": "mapped"}),
    ]


@pytest.mark.parametrize("stored", [True, False])
def test_sites_create_many_refuses_a_used_ref_code_and_writes_nothing(db, stored):
    if stored:
        create(point(DUOMO), ref_code="R-1")
    items = [(point(DUOMO), {"name": "A", "ownership": "municipal", "ref_code": "R-1"})]
    items += (
        []
        if stored
        else [(point(CENTRALE), {"name": "B", "ownership": "municipal", "ref_code": "R-1"})]
    )
    before = (Site.objects.count(), ActionLog.objects.count())

    with pytest.raises(ValidationError) as caught:
        sites_create_many(by=None, items=items)

    assert "R-1" in caught.value.message_dict["ref_code"][0]
    assert (Site.objects.count(), ActionLog.objects.count()) == before


def test_sites_create_many_validates_every_field(db):
    with pytest.raises(ValidationError) as caught:
        sites_create_many(by=None, items=[(point(DUOMO), {"name": "A", "ownership": "castle"})])

    assert "ownership" in caught.value.message_dict
    assert not Site.objects.exists()
