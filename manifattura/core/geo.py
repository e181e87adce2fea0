"""Geometry as GeoJSON (WGS84 lon/lat): parsing, validation, areas and bounding boxes."""

from dataclasses import dataclass
from decimal import Decimal

import shapely
from pyproj import Geod
from shapely.geometry import shape
from django.utils.translation import gettext as _
from shapely.validation import explain_validity

WGS84 = Geod(ellps="WGS84")
ALLOWED_TYPES = {"Point", "Polygon", "MultiPolygon"}


class GeometryError(ValueError):
    """A geometry that cannot be accepted; the message says what to fix."""


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_geometry(value, *, allowed=ALLOWED_TYPES):
    """Return a valid shapely geometry from a GeoJSON geometry (dict, Feature or JSON text).

    Refuses unknown types, coordinates outside lon -180..180 / lat -90..90 and invalid polygons
    (self-intersections, too few points), with a message that says what is wrong.
    """
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise GeometryError(_("not valid JSON: %(problem)s") % {"problem": exc.msg}) from exc
    if not isinstance(value, dict):
        raise GeometryError(_("a GeoJSON geometry object is required"))
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    kind = value.get("type")
    if kind not in allowed:
        raise GeometryError(_("geometry type “%(kind)s” is not accepted; use one of: %(allowed)s") % {
            "kind": kind, "allowed": ", ".join(sorted(allowed))})
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(_("malformed coordinates: %(problem)s") % {"problem": exc}) from exc
    if geom.is_empty:
        raise GeometryError(_("the geometry is empty"))
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise GeometryError(_("longitude out of range (-180..180): are longitude and latitude swapped?"))
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise GeometryError(_("latitude out of range (-90..90): are longitude and latitude swapped?"))
    if not geom.is_valid:
        raise GeometryError(_("invalid polygon: %(problem)s") % {"problem": explain_validity(geom)})
    return geom


def to_geojson(geom) -> dict:
    """GeoJSON dict (plain lists, JSON-ready) of a shapely geometry."""
    import json

    return json.loads(shapely.to_geojson(geom))


def bbox(geom) -> BBox:
    return BBox(*geom.bounds)


def area_m2(geom) -> Decimal:
    """Geodesic area in square metres on the WGS84 ellipsoid (0 for points)."""
    if geom.geom_type not in {"Polygon", "MultiPolygon"}:
        return Decimal("0")
    area, _perimeter = WGS84.geometry_area_perimeter(geom)
    return Decimal(abs(area)).quantize(Decimal("0.01"))


def representative_point(geom):
    """A point inside the geometry (the point itself for points): used for zone derivation."""
    if geom.geom_type == "Point":
        return geom
    return geom.representative_point()
