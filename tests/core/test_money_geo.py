"""Money (Decimal EUR, the euro filter) and geometry (parsing, validity, areas)."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from pyproj import Geod
from shapely.geometry import Point

from manifattura.core import geo
from manifattura.core.money import to_money

# --- Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1250, "1250.00"),
        ("1234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("€ 1.234,56", "1234.56"),
        (" 99 ", "99.00"),
        (Decimal("0.005"), "0.01"),
        ("0,004", "0.00"),
        ("-12,5", "-12.50"),
    ],
)
def test_to_money_reads_italian_and_english_amounts_with_two_places(value, expected):
    amount = to_money(value)
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == -2


def test_to_money_refuses_floats():
    with pytest.raises(TypeError):
        to_money(0.1)


@pytest.mark.parametrize("value", ["twelve", "", "1.2.3,4,5"])
def test_to_money_refuses_what_is_not_an_amount(value):
    with pytest.raises(ValueError, match="not an amount"):
        to_money(value)


def render_euro(value, language: str) -> str:
    with translation.override(language):
        return Template("{% load core_tags %}{{ value|euro }}").render(Context({"value": value}))


@pytest.mark.parametrize(
    ("value", "language", "text"),
    [
        (Decimal("1234.5"), "it", "€ 1.234,50"),
        (Decimal("1234.5"), "en", "€1,234.50"),
        (Decimal("1250000"), "it", "€ 1.250.000,00"),
        ("0.005", "en", "€0.01"),
        (None, "it", "—"),
    ],
)
def test_euro_filter_formats_per_locale(value, language, text):
    assert render_euro(value, language) == text


# --- Geometry ------------------------------------------------------------------------------------

BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[9.20, 45.48], [9.21, 45.49], [9.21, 45.48], [9.20, 45.49], [9.20, 45.48]]],
}


def test_parse_geometry_accepts_points_polygons_features_and_json_text():
    assert geo.parse_geometry({"type": "Point", "coordinates": [9.19, 45.46]}).equals(
        Point(9.19, 45.46)
    )
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [9.19, 45.46]},
    }
    assert geo.parse_geometry(feature).geom_type == "Point"
    assert (
        geo.parse_geometry('{"type": "Point", "coordinates": [9.19, 45.46]}').geom_type == "Point"
    )
    square = {
        "type": "Polygon",
        "coordinates": [[[9, 45], [9.01, 45], [9.01, 45.01], [9, 45.01], [9, 45]]],
    }
    assert geo.parse_geometry(square).geom_type == "Polygon"


def test_bow_tie_polygon_is_refused_saying_it_intersects_itself():
    with pytest.raises(geo.GeometryError, match="invalid polygon: Self-intersection"):
        geo.parse_geometry(BOW_TIE)


def test_latitude_out_of_range_is_refused_with_a_hint_that_coordinates_may_be_swapped():
    with pytest.raises(geo.GeometryError, match=r"latitude out of range .*swapped"):
        geo.parse_geometry({"type": "Point", "coordinates": [45.46, 99.19]})


def test_longitude_out_of_range_is_refused_with_the_same_hint():
    with pytest.raises(geo.GeometryError, match=r"longitude out of range .*swapped"):
        geo.parse_geometry({"type": "Point", "coordinates": [191.0, 45.46]})


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"type": "LineString", "coordinates": [[9, 45], [9.1, 45.1]]}, "not accepted; use one of"),
        (
            {"type": "Polygon", "coordinates": [[[9, 45], [9.1, 45], [9, 45]]]},
            "invalid polygon: Too few points",
        ),
        ({"type": "Polygon", "coordinates": [[9, 45]]}, "malformed coordinates"),
        ({"type": "Point", "coordinates": []}, "empty"),
        ("{not json", "not valid JSON"),
        ([9.19, 45.46], "GeoJSON geometry object is required"),
    ],
)
def test_unusable_geometries_are_refused_with_what_is_wrong(value, words):
    with pytest.raises(geo.GeometryError, match=words):
        geo.parse_geometry(value)


def test_area_of_a_100_metre_square_near_milan_is_10000_square_metres():
    geod = Geod(ellps="WGS84")
    lon, lat = 9.19, 45.46
    east = geod.fwd(lon, lat, 90, 100)[:2]
    north_east = geod.fwd(*east, 0, 100)[:2]
    north = geod.fwd(lon, lat, 0, 100)[:2]
    square = {
        "type": "Polygon",
        "coordinates": [[[lon, lat], list(east), list(north_east), list(north), [lon, lat]]],
    }

    area = geo.area_m2(geo.parse_geometry(square))

    assert abs(area - Decimal(10_000)) < Decimal(50)
    assert geo.area_m2(Point(9.19, 45.46)) == 0


def test_bbox_and_representative_point():
    polygon = geo.parse_geometry(
        {
            "type": "Polygon",
            "coordinates": [[[9, 45], [9.02, 45], [9.02, 45.01], [9, 45.01], [9, 45]]],
        }
    )

    assert geo.bbox(polygon) == geo.BBox(9, 45, 9.02, 45.01)
    assert polygon.contains(geo.representative_point(polygon))
    point = Point(9.1, 45.1)
    assert geo.representative_point(point) is point
    assert geo.to_geojson(point) == {"type": "Point", "coordinates": [9.1, 45.1]}
