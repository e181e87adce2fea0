"""import-sites: GeoJSON and CSV files from third parties, validated whole, written in one transaction."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from pyproj import Geod

from manifattura.core.models import ActionLog
from manifattura.places import sites_import
from manifattura.places.domain import lifecycle_path
from manifattura.places.enums import SiteStatus, SurfaceSource
from manifattura.places.models import Site

DATA = Path(__file__).resolve().parent / "data"
BUILDINGS = DATA / "milan_buildings.geojson"
OSM_OPTIONS = [
    "--map",
    "ref_code=osm_id",
    "--map",
    "address={addr:street} {addr:housenumber}",
    "--default",
    "ownership=private",
]


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English; the project's default language is Italian.
    with translation.override("en"):
        yield


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import-sites", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import-sites", *[str(a) for a in args], stdout=out, stderr=io.StringIO())
    return caught.value, out.getvalue()


def write(tmp_path, name: str, text: str, encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def geojson(tmp_path, features: list[dict], name="sites.geojson") -> Path:
    return write(tmp_path, name, json.dumps({"type": "FeatureCollection", "features": features}))


def feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def square_100m(lon=9.16, lat=45.47) -> dict:
    """A geodesic 100 m x 100 m square with its south-west corner at (lon, lat): 10,000 m²."""
    geod = Geod(ellps="WGS84")
    east_lon, east_lat, _ = geod.fwd(lon, lat, 90, 100)
    ne_lon, ne_lat, _ = geod.fwd(east_lon, east_lat, 0, 100)
    north_lon, north_lat, _ = geod.fwd(lon, lat, 0, 100)
    ring = [[lon, lat], [east_lon, east_lat], [ne_lon, ne_lat], [north_lon, north_lat], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


GOOD_CSV_ROWS = [
    "ref;name;address;ownership;recovery_cost;lon;lat",
    "A1;Ex officina Bovisa;Via Candiani 10;municipal;1.250.000,00;9.1600;45.5040",
    "A2;Ex deposito Corvetto;Via Gabriele Rosa 5;Comunale;850.000;9.2230;45.4400",
]


# --- The OSM-style GeoJSON of Milan buildings -----------------------------------------------------

# Features whose Municipio is sure: at least 200 m inside it in the shipped boundary files.
EXPECTED_ZONES = {
    "Duomo di Milano": ("1", "DUOMO"),
    "Castello Sforzesco": ("1", "DUOMO"),
    "Stazione di Milano Centrale": ("2", "STAZIONE CENTRALE - PONTE SEVESO"),
    "Stazione di Milano Lambrate": ("3", "CITTA' STUDI"),
    "Mercato Ortofrutticolo": ("4", "TALIEDO - MORSENCHIO - Q.RE FORLANINI"),
    "Fondazione Prada": ("5", "SCALO ROMANA"),
    "BASE Milano (ex Ansaldo)": ("6", "PORTA GENOVA"),
    "Stadio Giuseppe Meazza": ("7", "STADIO - IPPODROMI"),
    "Fabbrica del Vapore": ("8", "GHISOLFA"),
    "Pirelli HangarBicocca": ("9", "BICOCCA"),
    "Politecnico di Milano - Campus Bovisa": ("9", "BOVISA"),
    "Ospedale Niguarda": ("9", "NIGUARDA - CA' GRANDA - PRATO CENTENARO - Q.RE FULVIO TESTI"),
}


def test_osm_geojson_imports_every_building_in_its_municipio_and_nil(milan_zones_copy):
    out, _err = run(BUILDINGS, *OSM_OPTIONS)

    assert Site.objects.count() == 26
    for name, (municipio, nil) in EXPECTED_ZONES.items():
        site = Site.objects.select_related("municipio", "nil").get(name=name)
        assert (site.municipio.code, site.nil.name) == (municipio, nil), name
    assert {s.municipio.code for s in Site.objects.filter(outside_zones=False)} == set("123456789")
    assert "created 26, updated 0, unchanged 0, skipped 0, invalid 0" in out


def test_osm_geojson_builds_addresses_from_the_template_and_refs_from_osm_id(milan_zones_copy):
    run(BUILDINGS, *OSM_OPTIONS)

    base = Site.objects.get(ref_code="900106")
    assert base.address == "Via Bergognone 34"
    assert base.ownership == "private"
    assert Site.objects.get(name="Duomo di Milano").address == "Piazza del Duomo"
    assert Site.objects.get(name="Stazione di Milano Rogoredo").address == ""


def test_building_outside_the_city_is_flagged_and_reported(milan_zones_copy):
    out, _err = run(BUILDINGS, *OSM_OPTIONS)

    monza = Site.objects.get(name="Villa Reale di Monza")
    assert monza.outside_zones is True
    assert monza.municipio is None and monza.nil is None
    assert "feature 26 falls outside every zone" in out
    assert Site.objects.filter(outside_zones=True).count() == 1


def test_reimporting_the_same_file_changes_nothing_and_creates_no_duplicates(milan_zones_copy):
    run(BUILDINGS, *OSM_OPTIONS)
    ids = set(Site.objects.values_list("id", flat=True))
    entries = ActionLog.objects.filter(verb__startswith="site.").count()

    out, _err = run(BUILDINGS, *OSM_OPTIONS)

    assert set(Site.objects.values_list("id", flat=True)) == ids
    assert ActionLog.objects.filter(verb__startswith="site.").count() == entries
    assert "created 0, updated 0, unchanged 26" in out


def test_reimport_updates_the_site_with_the_same_ref_code(milan_zones_copy, tmp_path):
    run(BUILDINGS, *OSM_OPTIONS)
    data = json.loads(BUILDINGS.read_text(encoding="utf-8"))
    data["features"][4]["properties"]["name"] = "Fabbrica del Vapore (ex Carminati e Toselli)"
    data["features"][4]["geometry"]["coordinates"] = [9.1740, 45.4878]
    changed = write(tmp_path, "changed.geojson", json.dumps(data))

    out, _err = run(changed, *OSM_OPTIONS)

    site = Site.objects.get(ref_code="900105")
    assert site.name == "Fabbrica del Vapore (ex Carminati e Toselli)"
    assert [site.lon, site.lat] == [9.1740, 45.4878]
    assert Site.objects.count() == 26
    assert "created 0, updated 1, unchanged 25" in out
    entry = ActionLog.objects.get(verb="site.update", object_id=str(site.pk))
    assert entry.data == {"changed": ["geometry", "name"]}


def test_the_import_writes_one_audit_entry_with_counts_and_the_acting_staff(
    milan_zones_copy, staff
):
    run(BUILDINGS, *OSM_OPTIONS, "--by", "staff@example.org")

    entry = ActionLog.objects.get(verb="sites.import")
    assert entry.actor == staff
    assert entry.data == {
        "file": "milan_buildings.geojson",
        "format": "geojson",
        "rows": 26,
        "created": 26,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "invalid": 0,
    }
    assert ActionLog.objects.filter(verb="site.create", actor=staff).count() == 26


def test_by_must_name_a_staff_user(milan_zones_copy, registered):
    error, _out = run_failing(BUILDINGS, *OSM_OPTIONS, "--by", registered.email)

    assert "no staff user" in str(error)
    assert not Site.objects.exists()


def test_missing_ownership_without_a_default_refuses_every_row_and_says_how_to_fix(
    milan_zones_copy,
):
    error, out = run_failing(BUILDINGS, "--map", "ref_code=osm_id")

    assert error.returncode == 1
    assert "feature 1, ownership: required for a new site" in out
    assert "--default ownership=VALUE" in out
    assert "Problems by field: ownership 26" in out
    assert not Site.objects.exists()


# --- CSV ------------------------------------------------------------------------------------------


def test_semicolon_csv_with_bom_and_italian_numbers(milan_zones_copy, tmp_path):
    path = write(
        tmp_path,
        "inventario.csv",
        "\ufeff"
        + "\n".join(
            [
                "Codice;Nome;Indirizzo;Proprietà;Superficie;Costo;Condizione;Tipologia;LAT;LON",
                "MI-1;Ex officina Bovisa;Via Candiani 10;Comunale;1.234,56;€ 1.250.000,00;Scarso;produttivo;45,5040;9,1600",
                "MI-2;Ex cascina Figino;Via Zoia 120;other_public;850 mq;12.500;poor;Rural;45.4900;9.0800",
            ]
        )
        + "\n",
    )

    out, _err = run(
        path,
        "--map",
        "ref_code=Codice",
        "--map",
        "name=Nome",
        "--map",
        "address=Indirizzo",
        "--map",
        "ownership=Proprietà",
        "--map",
        "surface_m2=Superficie",
        "--map",
        "recovery_cost=Costo",
        "--map",
        "condition=Condizione",
        "--map",
        "typology=Tipologia",
    )

    bovisa = Site.objects.get(ref_code="MI-1")
    assert (bovisa.surface_m2, bovisa.recovery_cost) == (Decimal("1234.56"), Decimal("1250000.00"))
    assert (bovisa.ownership, bovisa.condition, bovisa.typology) == (
        "municipal",
        "poor",
        "productive",
    )
    assert bovisa.municipio.code == "9"
    figino = Site.objects.get(ref_code="MI-2")
    assert (figino.surface_m2, figino.recovery_cost) == (Decimal("850.00"), Decimal("12500.00"))
    assert (figino.ownership, figino.typology) == ("other_public", "rural")
    assert figino.municipio.code == "7"
    assert "created 2" in out


def test_comma_csv_with_english_numbers_labels_and_lng_latitude_columns(milan_zones_copy, tmp_path):
    path = write(
        tmp_path,
        "sites.csv",
        "\n".join(
            [
                "ref_code,name,address,ownership,surface_m2,recovery_cost,typology,status,Lng,Latitude",
                'L-1,Ex tintoria,"Via Conte Rosso 25, Milano",Private,"1,350.50","760,000.00",industrial,Surveyed,9.2450,45.4880',
                "L-2,Ex laboratori,Via Pacini 20,Other public body,1900,540000,Tertiary / offices,mapped,9.2300,45.4770",
            ]
        )
        + "\n",
    )

    run(path)

    tintoria = Site.objects.get(ref_code="L-1")
    assert tintoria.address == "Via Conte Rosso 25, Milano"
    assert (tintoria.surface_m2, tintoria.recovery_cost) == (
        Decimal("1350.50"),
        Decimal("760000.00"),
    )
    assert (tintoria.ownership, tintoria.typology, tintoria.status) == (
        "private",
        "productive",
        "surveyed",
    )
    assert tintoria.municipio.code == "3"
    laboratori = Site.objects.get(ref_code="L-2")
    assert (laboratori.ownership, laboratori.typology, laboratori.status) == (
        "other_public",
        "tertiary",
        "mapped",
    )


@pytest.mark.parametrize(
    ("bad_row", "field", "words"),
    [
        (
            "B3;Bad coordinates;Via X 1;municipal;1000;nove virgola uno;45.47",
            "lon",
            "not a coordinate",
        ),
        ("B3;Lat out of range;Via X 1;municipal;1000;9.19;145.2", "lat", "swapped"),
        (
            "B3;Unknown ownership;Via X 1;rented;1000;9.19;45.47",
            "ownership",
            "unknown value “rented”",
        ),
        (
            "B3;Negative cost;Via X 1;municipal;-5000;9.19;45.47",
            "recovery_cost",
            "greater than or equal to 0",
        ),
        (
            "B3;Cost not a number;Via X 1;municipal;tanti;9.19;45.47",
            "recovery_cost",
            "not a number",
        ),
        (";;Via X 1;municipal;1000;9.19;45.47", "name", "required for a new site"),
    ],
)
def test_one_bad_csv_row_writes_nothing_and_the_report_names_row_and_field(
    milan_zones_copy, tmp_path, bad_row, field, words
):
    path = write(tmp_path, "bad.csv", "\n".join([*GOOD_CSV_ROWS, bad_row]) + "\n")

    error, out = run_failing(path, "--map", "ref_code=ref")

    assert error.returncode == 1
    assert "Nothing was imported: 1 rows are invalid" in str(error)
    assert f"row 4, {field}" in out
    assert words in out
    assert not Site.objects.exists()
    assert not ActionLog.objects.filter(verb__in=["sites.import", "site.create"]).exists()


def test_bow_tie_polygon_in_geojson_is_refused_with_the_feature_and_the_reason(
    milan_zones_copy, tmp_path
):
    bow_tie = {
        "type": "Polygon",
        "coordinates": [
            [[9.20, 45.48], [9.21, 45.49], [9.21, 45.48], [9.20, 45.49], [9.20, 45.48]]
        ],
    }
    path = geojson(
        tmp_path,
        [
            feature(
                {"type": "Point", "coordinates": [9.19, 45.46]}, name="Good", ownership="municipal"
            ),
            feature(bow_tie, name="Bow tie", ownership="municipal"),
        ],
    )

    _error, out = run_failing(path)

    assert "feature 2, geometry: invalid geometry: invalid polygon: Self-intersection" in out
    assert not Site.objects.exists()


def test_skip_invalid_imports_the_good_rows_and_reports_the_bad_one(milan_zones_copy, tmp_path):
    bad = "B3;Lat out of range;Via X 1;municipal;1000;9.19;145.2"
    path = write(tmp_path, "bad.csv", "\n".join([*GOOD_CSV_ROWS, bad]) + "\n")

    out, _err = run(path, "--map", "ref_code=ref", "--skip-invalid")

    assert set(Site.objects.values_list("ref_code", flat=True)) == {"A1", "A2"}
    assert "row 4, lat" in out
    assert "created 2, updated 0, unchanged 0, skipped 1, invalid 1" in out
    assert ActionLog.objects.get(verb="sites.import").data["skipped"] == 1


def test_skip_invalid_with_no_valid_row_fails(milan_zones_copy, tmp_path):
    path = write(tmp_path, "bad.csv", "ref;name;ownership;lon;lat\nX;Bad;municipal;9.19;145\n")

    error, _out = run_failing(path, "--map", "ref_code=ref", "--skip-invalid")

    assert error.returncode == 1
    assert not ActionLog.objects.filter(verb="sites.import").exists()


def test_dry_run_reports_what_would_happen_and_writes_nothing(milan_zones_copy):
    out, _err = run(BUILDINGS, *OSM_OPTIONS, "--dry-run")

    assert "Dry run, nothing written" in out
    assert "created 26" in out
    assert not Site.objects.exists()
    assert not ActionLog.objects.filter(verb__in=["sites.import", "site.create"]).exists()


def test_dry_run_with_an_invalid_row_exits_non_zero(milan_zones_copy, tmp_path):
    path = write(
        tmp_path, "bad.csv", "\n".join([*GOOD_CSV_ROWS, "B3;X;Y;rented;1;9.19;45.47"]) + "\n"
    )

    error, out = run_failing(path, "--map", "ref_code=ref", "--dry-run")

    assert error.returncode == 1
    assert "row 4, ownership" in out


def test_polygon_surface_is_computed_from_the_polygon(milan_zones_copy, tmp_path):
    path = geojson(
        tmp_path,
        [
            feature(square_100m(), ref="P1", name="Square", ownership="municipal"),
            feature(
                square_100m(9.17, 45.48),
                ref="P2",
                name="Declared",
                ownership="municipal",
                surface_m2="7.500",
            ),
        ],
    )

    run(path, "--map", "ref_code=ref")

    computed = Site.objects.get(ref_code="P1")
    assert computed.surface_source == SurfaceSource.COMPUTED
    assert abs(computed.surface_m2 - Decimal(10_000)) < Decimal(100)  # within 1%
    declared = Site.objects.get(ref_code="P2")
    assert (declared.surface_m2, declared.surface_source) == (
        Decimal("7500.00"),
        SurfaceSource.DECLARED,
    )


def test_rows_without_ref_code_match_on_name_and_address_so_reimports_do_not_duplicate(
    milan_zones_copy, tmp_path
):
    path = write(
        tmp_path,
        "noref.csv",
        "name;address;ownership;lon;lat\n"
        "Ex officina;Via Candiani 10;municipal;9.16;45.504\n"
        "Ex officina;Via Candiani 12;municipal;9.161;45.504\n",
    )
    run(path)
    changed = write(
        tmp_path,
        "noref2.csv",
        "name;address;ownership;lon;lat\nEx officina;Via Candiani 10;private;9.16;45.504\n",
    )

    out, _err = run(changed)

    assert Site.objects.count() == 2
    assert Site.objects.get(address="Via Candiani 10").ownership == "private"
    assert "created 0, updated 1" in out


def test_a_ref_code_is_given_to_the_site_that_matched_on_name_and_address(
    milan_zones_copy, tmp_path
):
    run(
        write(
            tmp_path,
            "a.csv",
            "name;address;ownership;lon;lat\nEx officina;Via Candiani 10;municipal;9.16;45.504\n",
        )
    )

    run(
        write(
            tmp_path,
            "b.csv",
            "ref_code;name;address;lon;lat\nR-9;Ex officina;Via Candiani 10;9.16;45.504\n",
        )
    )

    assert list(Site.objects.values_list("ref_code", flat=True)) == ["R-9"]


def test_same_ref_code_twice_in_a_file_is_refused(milan_zones_copy, tmp_path):
    path = write(
        tmp_path,
        "dup.csv",
        "ref_code;name;ownership;lon;lat\nD;One;municipal;9.16;45.504\n"
        "D;Two;municipal;9.17;45.504\n",
    )

    _error, out = run_failing(path)

    assert "row 3, ref_code: the same reference is in row 2" in out


def test_status_column_walks_new_sites_along_the_lifecycle_with_history(milan_zones_copy, tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        "ref_code;name;ownership;status;lon;lat\nS;Site;municipal;assigned;9.16;45.504\n",
    )

    run(path)

    site = Site.objects.get(ref_code="S")
    assert site.status == SiteStatus.ASSIGNED
    steps = ActionLog.objects.filter(verb="site.status_change", object_id=str(site.pk)).order_by(
        "id"
    )
    assert [(e.data["from"], e.data["to"]) for e in steps] == [
        ("mapped", "surveyed"),
        ("surveyed", "offered"),
        ("offered", "assigned"),
    ]


def test_status_of_an_existing_site_moves_one_allowed_step_only(milan_zones_copy, tmp_path):
    run(write(tmp_path, "a.csv", "ref_code;name;ownership;lon;lat\nS;Site;municipal;9.16;45.504\n"))

    _error, out = run_failing(
        write(tmp_path, "b.csv", "ref_code;status;lon;lat\nS;active;9.16;45.504\n")
    )
    assert "row 2, status: the site is “Mapped” and cannot go to “Active”" in out
    assert "allowed next statuses: Surveyed, Withdrawn" in out

    run(write(tmp_path, "c.csv", "ref_code;status;lon;lat\nS;Surveyed;9.16;45.504\n"))
    assert Site.objects.get(ref_code="S").status == SiteStatus.SURVEYED


def test_swapped_coordinates_are_imported_with_a_hint(milan_zones_copy, tmp_path):
    path = write(tmp_path, "swap.csv", "name;ownership;lon;lat\nSwapped;municipal;45.4642;9.1916\n")

    out, _err = run(path)

    assert Site.objects.get().outside_zones is True
    assert "with longitude and latitude swapped it would be inside" in out


def test_many_outside_rows_are_counted_after_the_first_fifty_warnings(milan_zones_copy, tmp_path):
    rows = [f"Monza {i};municipal;9.27;45.58" for i in range(55)]
    path = write(tmp_path, "monza.csv", "\n".join(["name;ownership;lon;lat", *rows]) + "\n")

    out, _err = run(path, "--dry-run")

    assert out.count("falls outside every zone") == 50
    assert "and 5 more warnings of the same kind" in out


def test_csv_geometry_column_accepts_wkt_and_geojson(milan_zones_copy, tmp_path):
    path = write(
        tmp_path,
        "g.csv",
        "\n".join(
            [
                "name,ownership,geometry",
                'WKT,municipal,"POLYGON ((9.16 45.50, 9.161 45.50, 9.161 45.501, 9.16 45.501, 9.16 45.50))"',
                'JSON,municipal,"{""type"": ""Point"", ""coordinates"": [9.19, 45.46]}"',
            ]
        )
        + "\n",
    )

    run(path)

    assert Site.objects.get(name="WKT").geometry_type == "Polygon"
    assert Site.objects.get(name="JSON").municipio.code == "1"


def test_file_level_problems_stop_before_reading_rows(milan_zones_copy, tmp_path):
    latin1 = write(
        tmp_path, "latin1.csv", "name;ownership;lon;lat\nCittà;municipal;9.1;45.4\n", "latin-1"
    )
    assert "not UTF-8" in str(run_failing(latin1)[0])

    no_coordinates = write(tmp_path, "nocoords.csv", "name;ownership\nX;municipal\n")
    assert "no coordinates" in str(run_failing(no_coordinates)[0])

    error, _out = run_failing(BUILDINGS, "--map", "ref_code=osm")
    assert "Column “osm” (for ref_code) is not in the file" in str(error)

    error, _out = run_failing(BUILDINGS, "--map", "colour=name")
    assert "“colour” is not a field you can set here" in str(error)


def test_progress_goes_to_stderr_on_large_files(milan_zones_copy, tmp_path):
    lines = ["name;ownership;lon;lat"] + [f"Site {i};municipal;9.19;45.46" for i in range(250)]
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")

    _out, err = run(path, "--dry-run")

    assert "validated 250/250 (100%)" in err
    _out, err = run(write(tmp_path, "small.csv", "\n".join(lines[:10]) + "\n"), "--dry-run")
    assert err == ""


# --- Conversions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1234,5", "1234.50"),
        ("12.500", "12500.00"),
        ("€ 1.250.000,00", "1250000.00"),
        ("850 mq", "850.00"),
        ("1200 m²", "1200.00"),
        (1234.5, "1234.50"),
        (42, "42.00"),
        ("1.5", "1.50"),
    ],
)
def test_parse_amount_reads_italian_and_english_numbers(text, amount):
    assert sites_import.parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["abc", "", "1,2,3.4.5", True])
def test_parse_amount_refuses_what_is_not_a_number(text):
    with pytest.raises(ValueError):
        sites_import.parse_amount(text)


def test_delimiter_is_the_one_the_header_uses_most():
    assert sites_import.sniff_delimiter("a;b;c") == ";"
    assert sites_import.sniff_delimiter("a,b,c") == ","
    assert sites_import.sniff_delimiter("a\tb\tc") == "\t"
    assert sites_import.sniff_delimiter("name") == ","


def test_lifecycle_path_is_the_shortest_allowed_path():
    assert lifecycle_path("mapped", "active") == [
        "surveyed",
        "offered",
        "assigned",
        "under_recovery",
        "active",
    ]
    assert lifecycle_path("active", "mapped") == ["withdrawn", "mapped"]
    assert lifecycle_path("offered", "offered") == []


def test_enum_values_are_accepted_by_code_label_or_common_italian_word():
    table = sites_import.enum_lookup("ownership")
    assert sites_import.parse_enum("MUNICIPAL", name="ownership", table=table) == "municipal"
    assert (
        sites_import.parse_enum("Other public body", name="ownership", table=table)
        == "other_public"
    )
    assert sites_import.parse_enum(" privata ", name="ownership", table=table) == "private"
    with pytest.raises(ValueError, match="use one of: municipal"):
        sites_import.parse_enum("leased", name="ownership", table=table)
