"""Fixtures for the places tests.

Milan's zones for tests that need many fresh databases: the shipped files are parsed once per
session (as ``zones_replace`` would store them) and the rows copied in with one query per test.

``tests/conftest.py``'s ``milan_zones`` goes through the importer (and writes audit entries); use it
when that matters, and ``milan_zones_copy`` when a test only needs the zones to be there.
"""

import functools

import pytest

from manifattura.core import geo
from manifattura.places import zoning
from manifattura.places.enums import ZoneKind
from manifattura.places.importers import MILAN_MUNICIPI, MILAN_NIL, read_zone_features
from manifattura.places.models import Zone


@functools.cache
def milan_zone_rows() -> tuple[dict, ...]:
    rows = []
    for kind, path, code_field, name_field in (
        (ZoneKind.MUNICIPIO, MILAN_MUNICIPI, "MUNICIPIO", None),
        (ZoneKind.NIL, MILAN_NIL, "ID_NIL", "NIL"),
    ):
        for item in read_zone_features(
            path, code_field=code_field, name_field=name_field, kind=kind
        ):
            geom = geo.parse_geometry(item["geometry"])
            box = geo.bbox(geom)
            rows.append(
                {
                    "kind": kind,
                    "code": item["code"],
                    "name": item["name"],
                    "geometry": geo.to_geojson(geom),
                    "min_lon": box.min_lon,
                    "min_lat": box.min_lat,
                    "max_lon": box.max_lon,
                    "max_lat": box.max_lat,
                    "area_m2": geo.area_m2(geom),
                }
            )
    return tuple(rows)


@pytest.fixture
def milan_zones_copy(db):
    """Milan's 9 Municipi and 88 NIL, without audit entries."""
    Zone.objects.bulk_create([Zone(**row) for row in milan_zone_rows()])
    zoning.invalidate()
