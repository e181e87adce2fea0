"""Public site pages: every role sees them, filters filter, CSV and map agree with the list."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.utils import translation
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from manifattura.core.models import ActionLog
from manifattura.places import domain
from manifattura.places.enums import Ownership, SiteStatus, SpaceAvailability, Typology
from manifattura.places.models import Site, Zone
from tests.factories import SiteFactory, SpaceFactory, UserFactory, square

# Points inside known Milan zones (checked against the shipped boundaries).
DUOMO = {"type": "Point", "coordinates": [9.1916, 45.4642]}  # Municipio 1, NIL Duomo: not periphery
LAMBRATE = {"type": "Point", "coordinates": [9.255, 45.48]}  # Municipio 3: periphery
GIAMBELLINO = {"type": "Point", "coordinates": [9.135, 45.45]}  # Municipio 6: periphery

PUBLIC_URLS = [
    ("home", {}),
    ("places:site-list", {}),
    ("places:site-export", {}),
    ("places:site-map-geojson", {}),
    ("places:zones-geojson", {"kind": "municipio"}),
    ("places:zones-geojson", {"kind": "nil"}),
]
ROLES = ["anonymous", "registered", "staff"]


@pytest.fixture
def client_as(client, registered, staff):
    def login(role):
        if role == "registered":
            client.force_login(registered)
        elif role == "staff":
            client.force_login(staff)
        return client

    return login


@pytest.fixture
def milan_sites(milan_zones_copy):
    """Three sites in different Municipi with different status, ownership, surface and typology."""
    centre = SiteFactory(
        name="Palazzina Duomo",
        geometry=DUOMO,
        ownership=Ownership.MUNICIPAL,
        surface_m2=Decimal("500"),
        typology=Typology.RESIDENTIAL,
        recovery_cost=Decimal("1234567.50"),
    )
    east = SiteFactory(
        name="Capannone Lambrate",
        geometry=LAMBRATE,
        ownership=Ownership.PRIVATE,
        surface_m2=Decimal("5000"),
        typology=Typology.PRODUCTIVE,
        status=SiteStatus.SURVEYED,
    )
    west = SiteFactory(
        name="Ex scuola Giambellino",
        geometry=GIAMBELLINO,
        ownership=Ownership.OTHER_PUBLIC,
        surface_m2=Decimal("1500"),
        typology=Typology.PUBLIC_SERVICE,
        status=SiteStatus.OFFERED,
    )
    SpaceFactory(site=east, name="Lab A")
    SpaceFactory(site=east, name="Lab B", availability=SpaceAvailability.ASSIGNED)
    return {"centre": centre, "east": east, "west": west}


def listed_names(response) -> set[str]:
    return {site.name for site in response.context["page_obj"].object_list}


def geojson_names(response) -> set[str]:
    return {f["properties"]["name"] for f in json.loads(response.content)["features"]}


# --- every role sees the public pages -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "kwargs"), PUBLIC_URLS)
def test_public_pages_answer_200_for_every_role(client_as, role, name, kwargs):
    SiteFactory()
    response = client_as(role).get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_site_page_answers_200_for_every_role(client_as, role):
    site = SiteFactory(name="Ex Fornace")
    response = client_as(role).get(reverse("places:site-detail", args=[site.pk]))
    assert response.status_code == 200
    assert "Ex Fornace" in response.text


@pytest.mark.django_db
def test_unknown_site_is_404(client):
    assert client.get(reverse("places:site-detail", args=[987654])).status_code == 404


@pytest.mark.django_db
def test_unknown_zone_kind_is_404(client):
    assert client.get("/zones/regione.geojson").status_code == 404


# --- home page ------------------------------------------------------------------------------------


@pytest.mark.italian
@pytest.mark.django_db
def test_home_shows_key_figures_computed_from_the_database(client):
    first = SiteFactory(surface_m2=Decimal("1000"), recovery_cost=Decimal("100000"))
    SiteFactory(surface_m2=Decimal("2500"), recovery_cost=Decimal("400000"))
    SpaceFactory(site=first)
    SpaceFactory(site=first, availability=SpaceAvailability.ASSIGNED)
    response = client.get("/")
    figures = response.context["figures"]
    assert figures["sites"]["count"] == 2
    assert figures["sites"]["surface"] == Decimal("3500")
    assert figures["sites"]["cost"] == Decimal("500000")
    assert figures["spaces"]["available"] == 1
    html = response.text
    assert "3.500 m²" in html  # Italian grouping by default
    assert "€ 500.000,00" in html
    assert "€ 10.000.000,00" in html  # the programme's fund (MANIFATTURA["FUND_TOTAL_EUR"])
    assert 'id="sites-map"' in html
    assert "leaflet/leaflet.js" in html
    assert "//cdn" not in html and "https://" not in html.split("<body")[0]


@pytest.mark.django_db
def test_home_without_tile_url_still_configures_the_map(client, settings):
    settings.MAP_TILE_URL = ""
    SiteFactory()
    response = client.get("/")
    config = response.context["map_config"]
    assert config["tileUrl"] == ""
    assert config["sitesUrl"] == reverse("places:site-map-geojson")
    assert config["zonesUrls"]["municipio"] == "/zones/municipio.geojson"


@pytest.mark.django_db
def test_home_marks_demo_data(client):
    SiteFactory(is_demo=True)
    response = client.get("/")
    assert "demo-badge" in response.text
    assert response.context["figures"]["sites"]["demo"] == 1


@pytest.mark.django_db
def test_htmx_request_for_the_results_gets_only_the_results_partial(client):
    SiteFactory(name="Cascina Nord")
    for url in ("/", reverse("places:site-list")):
        response = client.get(url, headers={"HX-Request": "true", "HX-Target": "site-results"})
        assert response.status_code == 200
        assert "<html" not in response.text
        assert "Cascina Nord" in response.text
        assert "data-filter-query" in response.text


# --- filters --------------------------------------------------------------------------------------


def test_filter_by_municipio_and_nil(client, milan_sites):
    m1 = Zone.objects.get(kind="municipio", code="1")
    m3 = Zone.objects.get(kind="municipio", code="3")
    url = reverse("places:site-list")
    assert listed_names(client.get(url, {"municipio": m1.pk})) == {"Palazzina Duomo"}
    assert listed_names(client.get(url, {"municipio": m3.pk})) == {"Capannone Lambrate"}
    duomo = Zone.objects.get(kind="nil", name="DUOMO")
    assert listed_names(client.get(url, {"nil": duomo.pk})) == {"Palazzina Duomo"}


def test_filter_by_status_periphery_surface_ownership_typology_and_text(client, milan_sites):
    url = reverse("places:site-list")
    assert listed_names(client.get(url, {"status": ["surveyed", "offered"]})) == {
        "Capannone Lambrate",
        "Ex scuola Giambellino",
    }
    assert listed_names(client.get(url, {"is_periphery": "false"})) == {"Palazzina Duomo"}
    assert listed_names(client.get(url, {"is_periphery": "true"})) == {
        "Capannone Lambrate",
        "Ex scuola Giambellino",
    }
    assert listed_names(client.get(url, {"surface_min": "1000", "surface_max": "2000"})) == {
        "Ex scuola Giambellino"
    }
    assert listed_names(client.get(url, {"ownership": "private"})) == {"Capannone Lambrate"}
    assert listed_names(client.get(url, {"typology": "residential"})) == {"Palazzina Duomo"}
    assert listed_names(client.get(url, {"q": "giambellino"})) == {"Ex scuola Giambellino"}


def test_map_geojson_uses_the_same_filters_as_the_list(client, milan_sites):
    m6 = Zone.objects.get(kind="municipio", code="6")
    for params in ({"municipio": m6.pk}, {"ownership": "private"}, {"surface_min": "1000"}, {}):
        listed = listed_names(client.get(reverse("places:site-list"), params))
        mapped = geojson_names(client.get(reverse("places:site-map-geojson"), params))
        assert listed == mapped


def test_map_geojson_features_carry_popup_data_and_link_to_the_site_page(client, milan_sites):
    response = client.get(reverse("places:site-map-geojson"))
    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    feature = next(f for f in data["features"] if f["properties"]["name"] == "Capannone Lambrate")
    assert feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert props["url"] == reverse("places:site-detail", args=[milan_sites["east"].pk])
    assert props["status"] == "surveyed" and props["color"].startswith("#")
    assert props["municipio"] == "Municipio 3"
    assert props["spaces_available"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"surface_min": "abc"}, "surface_min"),
        ({"surface_min": "-5"}, "surface_min"),
        ({"surface_min": "900", "surface_max": "100"}, "surface_max"),
        ({"municipio": "999999"}, "municipio"),
        ({"status": "demolished"}, "status"),
        ({"is_periphery": "maybe"}, None),
        ({"bbox": "not,a,box"}, "bbox"),
    ],
)
def test_bad_filter_input_gives_a_form_error_not_a_500(client, params, field):
    SiteFactory(name="Sempre visibile", surface_m2=Decimal("1000"))
    for name in ("home", "places:site-list", "places:site-map-geojson", "places:site-export"):
        response = client.get(reverse(name), params)
        assert response.status_code == 200, name
    response = client.get(reverse("places:site-list"), params)
    if field:
        assert field in response.context["form"].errors
        assert "alert-danger" in response.text
    # The other filters (none here) still apply: the site is listed.
    assert listed_names(response) == {"Sempre visibile"}


@pytest.mark.django_db
def test_sorting_by_each_column_works_and_unknown_sort_falls_back_to_name(client):
    SiteFactory(name="B", surface_m2=Decimal("10"), recovery_cost=Decimal("5"))
    SiteFactory(name="A", surface_m2=Decimal("20"), recovery_cost=None, status=SiteStatus.ACTIVE)
    url = reverse("places:site-list")
    for key in (
        "name",
        "municipio",
        "nil",
        "periphery",
        "surface",
        "ownership",
        "status",
        "cost",
        "spaces",
    ):
        for sort in (key, f"-{key}"):
            assert client.get(url, {"sort": sort}).status_code == 200
    assert [s.name for s in client.get(url, {"sort": "-surface"}).context["sites"]] == ["A", "B"]
    assert [s.name for s in client.get(url, {"sort": "status"}).context["sites"]] == ["B", "A"]
    # Empty costs sort last in both directions.
    assert [s.name for s in client.get(url, {"sort": "cost"}).context["sites"]] == ["B", "A"]
    assert [s.name for s in client.get(url, {"sort": "-cost"}).context["sites"]] == ["B", "A"]
    response = client.get(url, {"sort": "password"})
    assert response.context["sort"] == "name"


@pytest.mark.django_db
def test_list_is_paginated(client):
    for n in range(30):
        SiteFactory(name=f"Sito {n:02d}")
    url = reverse("places:site-list")
    first = client.get(url)
    assert len(first.context["sites"]) == 25
    second = client.get(url, {"page": 2})
    assert [s.name for s in second.context["sites"]] == [f"Sito {n:02d}" for n in range(25, 30)]
    assert client.get(url, {"page": "zzz"}).status_code == 200


# --- CSV ------------------------------------------------------------------------------------------


def read_csv(response):
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


@pytest.mark.italian
def test_csv_export_has_bom_semicolons_localized_decimals_and_the_filtered_rows(
    client, milan_sites
):
    m3 = Zone.objects.get(kind="municipio", code="3")
    response = client.get(reverse("places:site-export"), {"municipio": m3.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = read_csv(response)
    header, data = rows[0], rows[1:]
    with translation.override("it"):  # the default language: headers are in Italian
        t = translation.gettext
        assert header[:3] == [t("ID"), t("External reference"), t("Name")]
        assert len(data) == 1
        row = dict(zip(header, data[0], strict=True))
        assert row[t("Name")] == "Capannone Lambrate"
        assert row[t("Municipio")] == "3"
        assert row[t("Surface (m²)")] == "5000,00"  # Italian decimal comma, no grouping
        assert row[t("Spaces")] == "2" and row[t("Spaces available")] == "1"
        assert row[t("Page")].endswith(reverse("places:site-detail", args=[milan_sites["east"].pk]))


def test_csv_export_in_english_uses_a_decimal_point(client, milan_sites):
    client.cookies["django_language"] = "en"
    rows = read_csv(client.get(reverse("places:site-export"), {"q": "Duomo"}))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Estimated recovery cost (EUR)"] == "1234567.50"
    assert row["Periphery"] == "no"


def test_site_list_format_csv_is_the_same_export(client, milan_sites):
    direct = client.get(reverse("places:site-export"), {"ownership": "private"})
    via_list = client.get(reverse("places:site-list"), {"ownership": "private", "format": "csv"})
    assert read_csv(direct)[1:] == read_csv(via_list)[1:]
    assert len(read_csv(direct)) == 2


# --- zones ----------------------------------------------------------------------------------------


def test_zones_geojson_is_simplified_and_cached(client, milan_zones_copy):
    response = client.get(reverse("places:zones-geojson", args=["municipio"]))
    assert response.status_code == 200
    assert "max-age=3600" in response["Cache-Control"] and "public" in response["Cache-Control"]
    data = json.loads(response.content)
    assert len(data["features"]) == 9
    assert {f["properties"]["code"] for f in data["features"]} == {str(n) for n in range(1, 10)}
    assert len(response.content) < 300_000  # the source file is about 3.4 MB
    again = client.get(
        reverse("places:zones-geojson", args=["municipio"]),
        headers={"If-None-Match": response["ETag"]},
    )
    assert again.status_code == 304
    nil = json.loads(client.get(reverse("places:zones-geojson", args=["nil"])).content)
    assert len(nil["features"]) == 88


# --- site page ------------------------------------------------------------------------------------


def test_site_page_shows_zones_spaces_history_and_action_log(client, milan_sites, staff):
    site = milan_sites["east"]
    domain.site_change_status(site=site, to=SiteStatus.OFFERED, by=staff, reason="Bando spazi 2026")
    response = client.get(reverse("places:site-detail", args=[site.pk]))
    html = response.text
    assert "Municipio 3" in html
    assert "Lab A" in html and "Lab B" in html
    assert "Bando spazi 2026" in html
    changes = response.context["status_changes"]
    assert [c["to_value"] for c in changes] == ["offered", "mapped"]  # newest first
    assert any(a["action"] == "Status changed" for a in response.context["actions"])
    # The public sees the office, not the person.
    assert staff.email not in html and "Programme staff" in html
    assert 'aria-current="page"' in html and "breadcrumb" in html


def test_site_page_names_who_changed_the_status_to_staff(client, milan_sites, staff):
    site = milan_sites["centre"]
    domain.site_change_status(site=site, to=SiteStatus.SURVEYED, by=staff, reason="Sopralluogo")
    client.force_login(staff)
    response = client.get(reverse("places:site-detail", args=[site.pk]))
    assert str(staff) in [a["who"] for a in response.context["actions"]]


@pytest.mark.django_db
def test_site_page_notes_computed_surface_outside_zone_and_demo(client):
    site = SiteFactory(
        geometry=square(12.0, 41.9, 0.001), surface_m2=None, is_demo=True
    )  # Rome: no zone
    assert site.outside_zones
    html = client.get(reverse("places:site-detail", args=[site.pk])).text
    assert "computed from the polygon" in html
    assert "outside every known zone" in html
    assert "demo-badge" in html


@pytest.mark.django_db
def test_site_page_lists_photos_as_thumbnails_and_documents_as_links(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from manifattura.places.models import SiteAttachment

    site = SiteFactory()
    SiteAttachment.objects.create(
        site=site,
        kind="photo",
        title="Facciata nord",
        file=SimpleUploadedFile("f.jpg", b"\xff\xd8\xff"),
    )
    SiteAttachment.objects.create(
        site=site,
        kind="document",
        title="Perizia 2025",
        file=SimpleUploadedFile("p.pdf", b"%PDF-1.4"),
    )
    html = client.get(reverse("places:site-detail", args=[site.pk])).text
    assert 'alt="Facciata nord"' in html
    assert ">Perizia 2025</a>" in html


# --- fixed number of queries ----------------------------------------------------------------------


def count_queries(client, url, params=None) -> int:
    client.get(url, params or {})  # warm up (content types, caches)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["home", "places:site-list", "places:site-map-geojson", "places:site-export"]
)
def test_list_views_run_the_same_number_of_queries_for_1_and_5_sites(client, name):
    url = reverse(name)
    first = SiteFactory()
    SpaceFactory(site=first)
    with_one = count_queries(client, url)
    for _ in range(4):
        site = SiteFactory()
        SpaceFactory(site=site)
        SpaceFactory(site=site)
    with_five = count_queries(client, url)
    assert Site.objects.count() == 5
    assert with_one == with_five


@pytest.mark.django_db
def test_site_page_runs_the_same_number_of_queries_with_1_and_5_spaces(client, staff):
    site = SiteFactory()
    SpaceFactory(site=site)
    domain.site_change_status(site=site, to=SiteStatus.SURVEYED, by=staff, reason="x")
    url = reverse("places:site-detail", args=[site.pk])
    with_one = count_queries(client, url)
    for _ in range(4):
        SpaceFactory(site=site)
    domain.site_change_status(site=site, to=SiteStatus.OFFERED, by=staff, reason="y")
    assert count_queries(client, url) == with_one


# --- language -------------------------------------------------------------------------------------


@pytest.mark.italian
@pytest.mark.django_db
def test_pages_are_italian_by_default(client):
    assert '<html lang="it">' in client.get("/").text


@pytest.mark.django_db
def test_language_switch_via_setlang_cookie_and_accept_language(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/sites/"})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/sites/").text
    other = type(client)()
    other.cookies["django_language"] = "en"
    assert '<html lang="en">' in other.get("/").text
    assert '<html lang="en">' in type(client)().get("/", headers={"Accept-Language": "en"}).text


@pytest.mark.django_db
def test_action_log_entries_of_other_objects_are_not_shown(client):
    site = SiteFactory()
    other = SiteFactory()
    domain.site_update(site=other, by=UserFactory(), name="Renamed elsewhere")
    assert ActionLog.objects.filter(object_id=str(other.pk), verb="site.update").exists()
    response = client.get(reverse("places:site-detail", args=[site.pk]))
    assert [a["action"] for a in response.context["actions"]] == ["Site recorded"]
