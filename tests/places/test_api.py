"""The places API: who may do what, filters, validation via the domain, audit, money, queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from manifattura.core.models import ActionLog
from manifattura.places import api as places_api
from manifattura.places.enums import SiteStatus, ZoneKind
from manifattura.places.models import Site, Space, Zone
from tests.factories import SiteFactory, SpaceFactory, ZoneFactory, square

DUOMO = {"type": "Point", "coordinates": [9.1916, 45.4642]}
BICOCCA = {"type": "Point", "coordinates": [9.2036, 45.5145]}  # Municipio 9: periphery
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[9.0, 45.0], [9.1, 45.1], [9.1, 45.0], [9.0, 45.1], [9.0, 45.0]]],
}


def client_for(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anonymous():
    return client_for()


@pytest.fixture
def as_registered(registered):
    return client_for(registered)


@pytest.fixture
def as_staff(staff):
    return client_for(staff)


def site_payload(**overrides) -> dict:
    return {
        "name": "Ex Manifattura Tabacchi",
        "address": "Viale Fulvio Testi 121",
        "geometry": DUOMO,
        "ownership": "municipal",
        "surface_m2": "2500.00",
        "recovery_cost": "1200000.00",
        **overrides,
    }


# --- Roles ---------------------------------------------------------------------------------------

READ_URLS = [
    "/api/v1/",
    "/api/v1/zones/",
    "/api/v1/zones/{zone}/",
    "/api/v1/zones/geojson/",
    "/api/v1/sites/",
    "/api/v1/sites/{site}/",
    "/api/v1/sites/geojson/",
    "/api/v1/sites/?format=geojson",
    "/api/v1/spaces/",
    "/api/v1/spaces/{space}/",
    "/api/v1/spaces/geojson/",
]


@pytest.fixture
def objects(db):
    space = SpaceFactory()
    return {"zone": ZoneFactory().pk, "site": space.site.pk, "space": space.pk}


@pytest.mark.parametrize("role", ["anonymous", "registered", "staff"])
@pytest.mark.parametrize("url", READ_URLS)
def test_every_role_reads_every_endpoint(role, url, objects, registered, staff):
    user = {"anonymous": None, "registered": registered, "staff": staff}[role]
    response = client_for(user).get(url.format(**objects))
    assert response.status_code == 200, response.content


def write_requests(objects):
    """(method, url, body, status for staff) for every write the API offers or refuses."""
    site, space = objects["site"], objects["space"]
    return [
        ("post", "/api/v1/sites/", site_payload(), 201),
        ("put", f"/api/v1/sites/{site}/", site_payload(name="Renamed"), 200),
        ("patch", f"/api/v1/sites/{site}/", {"name": "Renamed"}, 200),
        ("post", f"/api/v1/sites/{site}/status/", {"status": "surveyed"}, 200),
        ("delete", f"/api/v1/sites/{site}/", None, 405),  # sites are withdrawn, never deleted
        ("post", "/api/v1/spaces/", {"site": site, "name": "New lab", "surface_m2": "80.00"}, 201),
        (
            "put",
            f"/api/v1/spaces/{space}/",
            {"site": site, "name": "Lab A", "surface_m2": "81.00"},
            200,
        ),
        ("patch", f"/api/v1/spaces/{space}/", {"monthly_fee": "300.00"}, 200),
        ("delete", f"/api/v1/spaces/{space}/", None, 204),
        (
            "post",
            "/api/v1/zones/",
            {"kind": "nil", "code": "999", "name": "X"},
            405,
        ),  # zones: import only
        ("patch", f"/api/v1/zones/{objects['zone']}/", {"name": "X"}, 405),
        ("delete", f"/api/v1/zones/{objects['zone']}/", None, 405),
    ]


def snapshot():
    return (
        list(Site.objects.values_list("id", "name", "status").order_by("id")),
        list(Space.objects.values_list("id", "name", "monthly_fee").order_by("id")),
        list(Zone.objects.values_list("id", "name").order_by("id")),
        ActionLog.objects.count(),
    )


@pytest.mark.parametrize("index", range(12))
def test_anonymous_and_registered_people_cannot_write_and_nothing_changes(
    index, objects, registered
):
    method, url, body, staff_status = write_requests(objects)[index]
    before = snapshot()
    anonymous_response = getattr(client_for(), method)(url, body, format="json")
    registered_response = getattr(client_for(registered), method)(url, body, format="json")
    if staff_status == 405:  # what nobody may do is "not allowed" for everyone alike
        assert anonymous_response.status_code == registered_response.status_code == 405
    else:
        assert anonymous_response.status_code in (401, 403)
        assert registered_response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("index", range(12))
def test_staff_writes_what_the_api_offers(index, objects, staff):
    method, url, body, staff_status = write_requests(objects)[index]
    before = snapshot()
    response = getattr(client_for(staff), method)(url, body, format="json")
    assert response.status_code == staff_status, response.content
    assert (snapshot() == before) == (staff_status == 405)


def test_staff_token_authenticates_writes(staff, db):
    token = Token.objects.create(user=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post("/api/v1/sites/", site_payload(), format="json")
    assert response.status_code == 201, response.content
    assert ActionLog.objects.get(verb="site.create").actor == staff


def test_registered_token_may_read_but_not_write(registered, db):
    token = Token.objects.create(user=registered)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/sites/").status_code == 200
    assert client.post("/api/v1/sites/", site_payload(), format="json").status_code == 403
    assert not Site.objects.exists()


def test_wrong_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/sites/").status_code in (401, 403)


def test_token_endpoint_exchanges_email_and_password_for_a_token_that_writes(staff):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "staff@example.org", "password": "secret-pass-2026"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["token"] == Token.objects.get(user=staff).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.post("/api/v1/sites/", site_payload(), format="json").status_code == 201


def test_token_endpoint_refuses_a_wrong_password(staff):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "staff@example.org", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert not Token.objects.exists()


# --- Representation ----------------------------------------------------------------------


def test_site_representation_has_geojson_derived_fields_and_money_as_strings(
    anonymous, milan_zones_copy
):
    site = SiteFactory(
        geometry=DUOMO, recovery_cost=Decimal("850000.50"), surface_m2=Decimal("1200.00")
    )
    SpaceFactory.create_batch(2, site=site)
    data = anonymous.get(f"/api/v1/sites/{site.pk}/").json()
    assert data["geometry"] == DUOMO
    assert (data["lon"], data["lat"]) == (9.1916, 45.4642)
    assert data["municipio"]["code"] == "1"
    assert data["nil"]["name"] == "DUOMO"
    assert data["is_periphery"] is False and data["outside_zones"] is False
    assert data["recovery_cost"] == "850000.50"
    assert data["surface_m2"] == "1200.00"
    assert data["status"] == "mapped" and data["status_label"] == "Mapped"
    assert data["allowed_next_statuses"] == ["surveyed", "withdrawn"]
    assert data["space_count"] == 2 and data["available_space_count"] == 2
    assert data["url"] == f"http://testserver/api/v1/sites/{site.pk}/"
    assert data["page_url"] == f"http://testserver/sites/{site.pk}/"


def test_money_is_never_a_float_in_any_representation(anonymous, db):
    space = SpaceFactory(monthly_fee=Decimal("450.10"), site__recovery_cost=Decimal("0.10"))
    site_json = anonymous.get("/api/v1/sites/").json()["results"][0]
    space_json = anonymous.get("/api/v1/spaces/").json()["results"][0]
    feature = anonymous.get("/api/v1/sites/?format=geojson").json()["features"][0]
    assert site_json["recovery_cost"] == "0.10"
    assert space_json["monthly_fee"] == "450.10"
    assert feature["properties"]["recovery_cost"] == "0.10"
    assert space_json["id"] == space.pk


# --- Writes go through the domain ----------------------------------------------------------------


def test_creating_a_site_derives_its_zones_and_writes_an_audit_entry(as_staff, staff, milan_zones):
    response = as_staff.post("/api/v1/sites/", site_payload(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["municipio"]["code"] == "1"
    assert data["nil"]["name"] == "DUOMO"
    assert data["is_periphery"] is False
    assert response["Location"] == data["url"]
    site = Site.objects.get(pk=data["id"])
    assert site.municipio.code == "1" and site.nil.name == "DUOMO"
    assert site.recovery_cost == Decimal("1200000.00")
    entry = ActionLog.objects.get(verb="site.create")
    assert (entry.actor, entry.object_id) == (staff, str(site.pk))


def test_creating_a_polygon_site_without_surface_computes_it(as_staff, db):
    payload = site_payload(geometry=square(9.19, 45.46, 0.001), surface_m2=None)
    data = as_staff.post("/api/v1/sites/", payload, format="json").json()
    assert data["surface_source"] == "computed"
    assert 8000 < Decimal(data["surface_m2"]) < 9000  # about 111 m × 78 m at Milan's latitude


def test_moving_a_site_re_derives_zones_and_periphery_and_audits_the_change(
    as_staff, staff, milan_zones_copy
):
    site = SiteFactory(geometry=DUOMO)
    response = as_staff.patch(f"/api/v1/sites/{site.pk}/", {"geometry": BICOCCA}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["municipio"]["code"] == "9"
    assert response.json()["is_periphery"] is True
    entry = ActionLog.objects.get(verb="site.update")
    assert entry.actor == staff and entry.data == {"changed": ["geometry"]}


def test_a_put_replaces_fields_but_keeps_derived_ones_read_only(as_staff, db):
    site = SiteFactory()
    payload = site_payload(name="New name", lon=1.0, municipio=None, surface_source="computed")
    data = as_staff.put(f"/api/v1/sites/{site.pk}/", payload, format="json").json()
    assert data["name"] == "New name"
    assert data["lon"] == 9.1916  # derived from the new geometry, not taken from the body
    assert data["surface_source"] == "declared"


@pytest.mark.parametrize(
    ("geometry", "fragment"),
    [
        (BOW_TIE, "invalid polygon"),
        ({"type": "Point", "coordinates": [9.19, 95.0]}, "latitude out of range"),
        ({"type": "LineString", "coordinates": [[9.1, 45.4], [9.2, 45.5]]}, "not accepted"),
        ("9.19,45.46", "GeoJSON geometry object"),
    ],
)
def test_invalid_geometry_is_a_400_naming_the_geometry_field(as_staff, db, geometry, fragment):
    response = as_staff.post("/api/v1/sites/", site_payload(geometry=geometry), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"geometry"}
    assert fragment in response.json()["geometry"][0]
    assert not Site.objects.exists()
    assert not ActionLog.objects.exists()


def test_invalid_geometry_on_update_changes_nothing(as_staff, db):
    site = SiteFactory()
    response = as_staff.patch(
        f"/api/v1/sites/{site.pk}/", {"geometry": BOW_TIE, "name": "X"}, format="json"
    )
    assert response.status_code == 400
    assert "invalid polygon" in response.json()["geometry"][0]
    site.refresh_from_db()
    assert site.name != "X" and site.geometry_type == "Point"


def test_negative_money_and_unknown_choices_are_400_naming_the_field(as_staff, db):
    response = as_staff.post(
        "/api/v1/sites/", site_payload(recovery_cost="-1.00", ownership="church"), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"recovery_cost", "ownership"}


def test_duplicate_reference_code_is_a_400_but_empty_codes_may_repeat(as_staff, db):
    assert (
        as_staff.post("/api/v1/sites/", site_payload(ref_code="MI-1"), format="json").status_code
        == 201
    )
    again = as_staff.post("/api/v1/sites/", site_payload(ref_code="MI-1"), format="json")
    assert again.status_code == 400 and "ref_code" in again.json()
    for _ in range(2):
        response = as_staff.post("/api/v1/sites/", site_payload(ref_code=""), format="json")
        assert response.status_code == 201 and response.json()["ref_code"] is None


def test_domain_validation_errors_become_400_with_the_field(staff, db, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError({"address": "Give the street and number."})

    monkeypatch.setattr(places_api.domain, "site_create", refuse)
    response = client_for(staff).post("/api/v1/sites/", site_payload(), format="json")
    assert response.status_code == 400
    assert response.json() == {"address": ["Give the street and number."]}


# --- Status ---------------------------------------------------------------------------------------


def test_status_cannot_change_through_a_normal_update(as_staff, db):
    site = SiteFactory()
    response = as_staff.patch(f"/api/v1/sites/{site.pk}/", {"status": "active"}, format="json")
    assert response.status_code == 400
    assert "status action" in response.json()["status"][0]
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED
    unchanged = as_staff.patch(
        f"/api/v1/sites/{site.pk}/", {"status": "mapped", "name": "Y"}, format="json"
    )
    assert unchanged.status_code == 200


def test_status_action_moves_the_site_and_audits_the_reason(as_staff, staff, db):
    site = SiteFactory()
    response = as_staff.post(
        f"/api/v1/sites/{site.pk}/status/",
        {"status": "surveyed", "reason": "Inspection 3 March"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "surveyed"
    assert response.json()["allowed_next_statuses"] == ["offered", "withdrawn"]
    entry = ActionLog.objects.get(verb="site.status_change")
    assert entry.actor == staff
    assert entry.data == {"from": "mapped", "to": "surveyed", "reason": "Inspection 3 March"}


def test_status_action_refuses_a_jump_and_lists_the_allowed_statuses(as_staff, db):
    site = SiteFactory()
    response = as_staff.post(
        f"/api/v1/sites/{site.pk}/status/", {"status": "active"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["allowed_next_statuses"] == ["surveyed", "withdrawn"]
    assert "cannot go from “Mapped” to “Active”" in body["status"][0]
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED
    assert not ActionLog.objects.filter(verb="site.status_change").exists()


def test_status_action_refuses_an_unknown_status(as_staff, db):
    site = SiteFactory()
    response = as_staff.post(
        f"/api/v1/sites/{site.pk}/status/", {"status": "demolished"}, format="json"
    )
    assert response.status_code == 400 and "status" in response.json()


def test_withdrawn_site_may_be_reinstated_as_mapped(as_staff, db):
    site = SiteFactory(status=SiteStatus.WITHDRAWN)
    response = as_staff.post(
        f"/api/v1/sites/{site.pk}/status/", {"status": "mapped"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "mapped"


# --- Spaces ------------------------------------------------------------------------------


def test_space_create_update_delete_are_audited(as_staff, staff, db):
    site = SiteFactory()
    created = as_staff.post(
        "/api/v1/spaces/",
        {"site": site.pk, "name": "Lab 1", "surface_m2": "90.50", "monthly_fee": "300"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["monthly_fee"] == "300.00"
    assert created.json()["site_name"] == site.name
    space_id = created.json()["id"]
    updated = as_staff.patch(
        f"/api/v1/spaces/{space_id}/", {"availability": "unavailable"}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["availability_label"] == "Not available"
    assert as_staff.delete(f"/api/v1/spaces/{space_id}/").status_code == 204
    assert not Space.objects.filter(pk=space_id).exists()
    verbs = list(ActionLog.objects.order_by("id").values_list("verb", "actor", "data"))
    assert verbs[-3:] == [
        ("space.create", staff.pk, {"site": site.pk}),
        ("space.update", staff.pk, {"changed": ["availability"]}),
        ("space.delete", staff.pk, {"site": site.pk, "name": "Lab 1", "surface_m2": "90.50"}),
    ]


def test_space_name_must_be_unique_within_its_site(as_staff, db):
    space = SpaceFactory(name="Lab A")
    other = SiteFactory()
    clash = as_staff.post(
        "/api/v1/spaces/",
        {"site": space.site_id, "name": "Lab A", "surface_m2": "10"},
        format="json",
    )
    assert clash.status_code == 400
    assert "already has a space with this name" in clash.json()["name"][0]
    elsewhere = as_staff.post(
        "/api/v1/spaces/", {"site": other.pk, "name": "Lab A", "surface_m2": "10"}, format="json"
    )
    assert elsewhere.status_code == 201
    sibling = SpaceFactory(site=space.site, name="Lab B")
    rename = as_staff.patch(f"/api/v1/spaces/{sibling.pk}/", {"name": "Lab A"}, format="json")
    assert rename.status_code == 400 and "name" in rename.json()


def test_a_space_stays_in_its_site(as_staff, db):
    space = SpaceFactory()
    other = SiteFactory()
    response = as_staff.patch(
        f"/api/v1/spaces/{space.pk}/", {"site": other.pk, "floor": 1}, format="json"
    )
    assert response.status_code == 200
    space.refresh_from_db()
    assert (space.site_id, space.floor) == (response.json()["site"], 1)
    assert space.site_id != other.pk


def test_space_with_negative_fee_is_refused(as_staff, db):
    site = SiteFactory()
    response = as_staff.post(
        "/api/v1/spaces/",
        {"site": site.pk, "name": "X", "surface_m2": "10", "monthly_fee": "-5"},
        format="json",
    )
    assert response.status_code == 400 and set(response.json()) == {"monthly_fee"}


# --- Filters, ordering, pagination ---------------------------------------------------------------


@pytest.fixture
def city_zones(db):
    """Two Municipi (1 central, 9 peripheral) and a NIL in each: squares around DUOMO and BICOCCA.

    (Milan's real boundaries take seconds to load; tests that need them use ``milan_zones_copy``.)
    """
    zones = {
        "1": ZoneFactory(
            kind=ZoneKind.MUNICIPIO,
            code="1",
            name="Municipio 1",
            geometry=square(9.15, 45.44, 0.05),
        ),
        "9": ZoneFactory(
            kind=ZoneKind.MUNICIPIO, code="9", name="Municipio 9", geometry=square(9.15, 45.50, 0.1)
        ),
        "DUOMO": ZoneFactory(
            kind=ZoneKind.NIL, code="1", name="DUOMO", geometry=square(9.18, 45.45, 0.02)
        ),
        "BICOCCA": ZoneFactory(
            kind=ZoneKind.NIL, code="13", name="BICOCCA", geometry=square(9.19, 45.50, 0.02)
        ),
    }
    return zones


@pytest.fixture
def milan_sites(city_zones):
    """A central site and a peripheral one, differing in every filtered field."""
    central = SiteFactory(
        name="Centrale",
        geometry=DUOMO,
        surface_m2=Decimal("500"),
        recovery_cost=Decimal("100000"),
        ownership="municipal",
    )
    peripheral = SiteFactory(
        name="Periferico",
        geometry=BICOCCA,
        surface_m2=Decimal("5000"),
        recovery_cost=Decimal("2000000"),
        ownership="private",
        status=SiteStatus.SURVEYED,
    )
    return central, peripheral


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Centrale", "Periferico"]),
        ("status=surveyed", ["Periferico"]),
        ("status=mapped&status=surveyed", ["Centrale", "Periferico"]),
        ("is_periphery=true", ["Periferico"]),
        ("is_periphery=false", ["Centrale"]),
        ("surface_min=1000", ["Periferico"]),
        ("surface_max=1000", ["Centrale"]),
        ("surface_min=400&surface_max=600", ["Centrale"]),
        ("ownership=private", ["Periferico"]),
        ("bbox=9.18,45.46,9.20,45.47", ["Centrale"]),
        ("bbox=9.0,45.0,9.5,45.6", ["Centrale", "Periferico"]),
        ("q=perif", ["Periferico"]),
    ],
)
def test_site_filters(anonymous, milan_sites, query, expected):
    assert names(anonymous.get(f"/api/v1/sites/?{query}")) == expected


def test_site_filters_by_municipio_and_nil(anonymous, milan_sites, city_zones):
    assert names(anonymous.get(f"/api/v1/sites/?municipio={city_zones['1'].pk}")) == ["Centrale"]
    assert names(anonymous.get(f"/api/v1/sites/?nil={city_zones['DUOMO'].pk}")) == ["Centrale"]
    assert names(anonymous.get(f"/api/v1/sites/?municipio={city_zones['9'].pk}")) == ["Periferico"]
    assert names(anonymous.get(f"/api/v1/sites/?nil={city_zones['BICOCCA'].pk}")) == ["Periferico"]


def test_space_filters_follow_their_site(anonymous, milan_sites, city_zones):
    central, peripheral = milan_sites
    SpaceFactory(site=central, name="Central lab", surface_m2=Decimal("50"))
    SpaceFactory(
        site=peripheral, name="Outer lab", surface_m2=Decimal("500"), availability="assigned"
    )
    assert names(anonymous.get(f"/api/v1/spaces/?municipio={city_zones['1'].pk}")) == [
        "Central lab"
    ]
    assert names(anonymous.get(f"/api/v1/spaces/?nil={city_zones['BICOCCA'].pk}")) == ["Outer lab"]
    assert names(anonymous.get("/api/v1/spaces/?is_periphery=true")) == ["Outer lab"]
    assert names(anonymous.get("/api/v1/spaces/?availability=available")) == ["Central lab"]
    assert names(anonymous.get(f"/api/v1/spaces/?site={peripheral.pk}")) == ["Outer lab"]
    assert names(anonymous.get("/api/v1/spaces/?surface_min=100")) == ["Outer lab"]


def test_zone_filter_by_kind(anonymous, city_zones):
    response = anonymous.get("/api/v1/zones/?kind=nil")
    assert [row["name"] for row in response.json()["results"]] == [
        "DUOMO",
        "BICOCCA",
    ]  # by kind, code
    assert (
        anonymous.get("/api/v1/zones/?kind=municipio&code=9").json()["results"][0]["name"]
        == "Municipio 9"
    )


@pytest.mark.parametrize("bbox", ["abc", "9.1,45.4,9.2", "9.1,45.4,9.2,north"])
def test_malformed_bbox_is_a_400_that_says_how_to_write_it(anonymous, db, bbox):
    for url in (f"/api/v1/sites/?bbox={bbox}", f"/api/v1/sites/geojson/?bbox={bbox}"):
        response = anonymous.get(url)
        assert response.status_code == 400
        assert "four numbers" in response.json()["bbox"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("municipio=999999", "municipio"),
        ("status=lost", "status"),
        ("surface_min=big", "surface_min"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_parameter(anonymous, db, query, field):
    response = anonymous.get(f"/api/v1/sites/?{query}")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["A", "B", "C"]),
        ("-name", ["C", "B", "A"]),
        ("surface_m2", ["B", "C", "A"]),
        ("-recovery_cost", ["C", "A", "B"]),
        ("status", ["C", "A", "B"]),  # alphabetical by code: active, mapped, surveyed
    ],
)
def test_site_ordering(anonymous, db, ordering, expected):
    SiteFactory(name="A", surface_m2=Decimal("300"), recovery_cost=Decimal("20"))
    SiteFactory(
        name="B", surface_m2=Decimal("100"), recovery_cost=Decimal("10"), status=SiteStatus.SURVEYED
    )
    SiteFactory(
        name="C", surface_m2=Decimal("200"), recovery_cost=Decimal("30"), status=SiteStatus.ACTIVE
    )
    assert names(anonymous.get(f"/api/v1/sites/?ordering={ordering}")) == expected


def test_pagination_with_page_size_and_its_maximum(anonymous, db, monkeypatch):
    for name in "ABCDE":
        SiteFactory(name=name)
    first = anonymous.get("/api/v1/sites/?page_size=2").json()
    assert (
        first["count"] == 5
        and len(first["results"]) == 2
        and first["next"].endswith("page=2&page_size=2")
    )
    third = anonymous.get("/api/v1/sites/?page_size=2&page=3").json()
    assert [row["name"] for row in third["results"]] == ["E"] and third["next"] is None
    monkeypatch.setattr(places_api.SiteViewSet.pagination_class, "max_page_size", 3)
    assert len(anonymous.get("/api/v1/sites/?page_size=1000").json()["results"]) == 3


def test_pages_are_stable_when_ordering_ties(anonymous, db):
    for name in "ABCDEF":
        SiteFactory(name=name, surface_m2=Decimal("100"))
    seen = []
    for page in (1, 2, 3):
        seen += names(anonymous.get(f"/api/v1/sites/?ordering=surface_m2&page_size=2&page={page}"))
    assert sorted(seen) == list("ABCDEF")


# --- Query counts --------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


def make_sites(n: int) -> None:
    """Sites alternately in the centre and the periphery, with two spaces each."""
    for i in range(n):
        SpaceFactory.create_batch(2, site=SiteFactory(geometry=DUOMO if i % 2 else BICOCCA))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/sites/", 2),  # count + page
        ("/api/v1/sites/?format=geojson", 1),
        ("/api/v1/sites/geojson/", 1),
        ("/api/v1/spaces/", 2),
        ("/api/v1/spaces/?format=geojson", 1),
        ("/api/v1/zones/", 2),
        ("/api/v1/zones/geojson/?kind=municipio", 1),
    ],
)
def test_list_query_count_does_not_grow_with_rows(anonymous, city_zones, url, expected):
    make_sites(1)
    with_one = count_queries(anonymous, url)
    make_sites(4)
    assert Site.objects.count() == 5 and Space.objects.count() == 10
    with_five = count_queries(anonymous, url)
    assert with_one == with_five == expected


@pytest.mark.parametrize(
    ("url", "geometry_columns"),
    [
        ("/api/v1/sites/", 1),  # the site's own
        ("/api/v1/sites/?format=geojson", 1),
        ("/api/v1/spaces/", 0),
        ("/api/v1/spaces/?format=geojson", 0),
    ],
)
def test_lists_do_not_load_zone_boundaries_or_group_by_site(
    anonymous, city_zones, url, geometry_columns
):
    """A NIL boundary has thousands of points: loading it per row, or grouping by it, is slow."""
    make_sites(2)
    with CaptureQueriesContext(connection) as queries:
        assert anonymous.get(url).status_code == 200
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert sql.count('."geometry"') == geometry_columns, sql
    assert 'GROUP BY "places_site"' not in sql


def test_site_detail_and_writes_run_a_fixed_number_of_queries(as_staff, db):
    site = SiteFactory()
    SpaceFactory.create_batch(3, site=site)
    assert count_queries(as_staff, f"/api/v1/sites/{site.pk}/") == 1
    assert count_queries(as_staff, f"/api/v1/sites/{site.pk}/?format=geojson") == 1


def test_staff_list_adds_no_per_row_queries(as_staff, city_zones):
    make_sites(1)
    with_one = count_queries(as_staff, "/api/v1/sites/")
    make_sites(4)
    assert count_queries(as_staff, "/api/v1/sites/") == with_one
