"""GeoJSON from the places API: RFC 7946 FeatureCollections that honour the list's filters."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient
from shapely.geometry import shape

from manifattura.places import api as places_api
from manifattura.places.enums import SiteStatus, ZoneKind
from manifattura.places.models import Zone
from tests.factories import SiteFactory, SpaceFactory, square

DUOMO = {"type": "Point", "coordinates": [9.1916, 45.4642]}


@pytest.fixture
def client():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def feature_collection(response) -> dict:
    """The parsed body, checked against RFC 7946's shape; every geometry a valid shapely shape."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection"
    assert isinstance(body["features"], list)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) == {"type", "id", "geometry", "properties"}
        assert feature["id"] == feature["properties"]["id"]
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and not geometry.is_empty
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        assert -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90
    assert body["numberReturned"] == len(body["features"])
    return body


def test_site_list_as_geojson_has_the_documented_properties(client, milan_zones_copy):
    site = SiteFactory(
        name="Ex Macello",
        geometry=DUOMO,
        recovery_cost=Decimal("1500000.00"),
        surface_m2=Decimal("800.50"),
    )
    body = feature_collection(client.get("/api/v1/sites/?format=geojson"))
    assert (body["numberMatched"], body["truncated"]) == (1, False)
    feature = body["features"][0]
    assert feature["geometry"] == DUOMO
    assert feature["properties"] == {
        "id": site.pk,
        "name": "Ex Macello",
        "status": "mapped",
        "status_label": "Mapped",
        "municipio": "1",
        "municipio_name": "Municipio 1",
        "nil": Zone.objects.get(kind=ZoneKind.NIL, name="DUOMO").code,
        "nil_name": "DUOMO",
        "is_periphery": False,
        "surface_m2": "800.50",
        "ownership": "municipal",
        "recovery_cost": "1500000.00",
        "url": f"http://testserver/sites/{site.pk}/",
    }
    assert client.get(feature["properties"]["url"]).status_code == 200


def test_polygons_keep_their_shape_and_lon_lat_order(client, db):
    polygon = square(9.19, 45.46, 0.002)
    SiteFactory(geometry=polygon)
    feature = feature_collection(client.get("/api/v1/sites/?format=geojson"))["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert shape(feature["geometry"]).equals(shape(polygon))
    assert shape(feature["geometry"]).centroid.x == pytest.approx(
        9.191
    )  # longitude first (RFC 7946)


def test_the_geojson_action_and_the_format_parameter_and_the_accept_header_agree(client, db):
    SiteFactory.create_batch(3)
    by_format = client.get("/api/v1/sites/?format=geojson&ordering=-name")
    by_action = client.get("/api/v1/sites/geojson/?ordering=-name")
    by_header = client.get("/api/v1/sites/?ordering=-name", HTTP_ACCEPT="application/geo+json")
    assert (
        feature_collection(by_format)
        == feature_collection(by_action)
        == feature_collection(by_header)
    )
    names = [f["properties"]["name"] for f in json.loads(by_format.content)["features"]]
    assert names == sorted(names, reverse=True)


def test_geojson_honours_the_filters(client, milan_zones_copy):
    SiteFactory(name="Central", geometry=DUOMO, ownership="private")
    SiteFactory(name="Outer", geometry={"type": "Point", "coordinates": [9.2036, 45.5145]})
    SiteFactory(name="Surveyed", geometry=DUOMO, status=SiteStatus.SURVEYED)

    def names(query):
        body = feature_collection(client.get(f"/api/v1/sites/geojson/?{query}"))
        return sorted(f["properties"]["name"] for f in body["features"])

    assert names("") == ["Central", "Outer", "Surveyed"]
    assert names("is_periphery=true") == ["Outer"]
    assert names("ownership=private") == ["Central"]
    assert names("status=surveyed") == ["Surveyed"]
    assert names("bbox=9.18,45.46,9.20,45.47") == ["Central", "Surveyed"]
    assert names("bbox=0,0,1,1") == []


def test_geojson_is_unpaginated_but_capped_and_says_so(client, db, monkeypatch):
    SiteFactory.create_batch(4)
    SiteFactory(status=SiteStatus.SURVEYED)
    assert (
        feature_collection(client.get("/api/v1/sites/?format=geojson&page_size=2"))[
            "numberReturned"
        ]
        == 5
    )
    monkeypatch.setattr(places_api.SiteViewSet, "geojson_max_features", 3)
    body = feature_collection(client.get("/api/v1/sites/?format=geojson"))
    assert (body["numberMatched"], body["numberReturned"], body["truncated"]) == (5, 3, True)
    narrowed = feature_collection(client.get("/api/v1/sites/geojson/?status=surveyed"))
    assert (narrowed["numberMatched"], narrowed["numberReturned"], narrowed["truncated"]) == (
        1,
        1,
        False,
    )


def test_one_site_as_a_geojson_feature(client, db):
    site = SiteFactory(geometry=DUOMO)
    response = client.get(f"/api/v1/sites/{site.pk}/?format=geojson")
    assert response["Content-Type"] == "application/geo+json"
    feature = json.loads(response.content)
    assert (feature["type"], feature["id"], feature["geometry"]) == ("Feature", site.pk, DUOMO)


def test_zones_as_geojson_by_kind(client, milan_zones_copy):
    body = feature_collection(client.get("/api/v1/zones/geojson/?kind=municipio"))
    assert sorted(int(f["properties"]["code"]) for f in body["features"]) == list(range(1, 10))
    assert {f["properties"]["kind"] for f in body["features"]} == {"municipio"}
    assert {f["geometry"]["type"] for f in body["features"]} <= {"Polygon", "MultiPolygon"}
    duomo = shape(DUOMO)
    containing = [
        f["properties"]["code"] for f in body["features"] if shape(f["geometry"]).contains(duomo)
    ]
    assert containing == ["1"]
    nil = feature_collection(client.get("/api/v1/zones/?kind=nil&format=geojson"))
    assert nil["numberReturned"] == 88


def test_spaces_as_geojson_sit_at_their_site(client, db):
    space = SpaceFactory(site__geometry=square(9.19, 45.46, 0.002), monthly_fee=Decimal("320.00"))
    SpaceFactory(availability="assigned")
    body = feature_collection(client.get("/api/v1/spaces/?format=geojson&availability=available"))
    assert body["numberReturned"] == 1
    feature = body["features"][0]
    assert feature["id"] == space.pk
    assert feature["geometry"] == {"type": "Point", "coordinates": [space.site.lon, space.site.lat]}
    assert shape(space.site.geometry).contains(shape(feature["geometry"]))
    assert feature["properties"]["monthly_fee"] == "320.00"
    assert feature["properties"]["site"] == space.site_id


def test_bad_filter_on_geojson_is_a_400(client, db):
    response = client.get("/api/v1/sites/?format=geojson&bbox=1,2")
    assert response.status_code == 400
    assert "bbox" in json.loads(response.content)
