"""Loading zones from boundary files (GeoJSON FeatureCollections)."""

import json
from pathlib import Path

from manifattura.places.domain import sites_rezone, zones_replace
from manifattura.places.enums import ZoneKind

DATA_DIR = Path(__file__).resolve().parent / "data"
MILAN_MUNICIPI = DATA_DIR / "milano" / "municipi.geojson"
MILAN_NIL = DATA_DIR / "milano" / "nil.geojson"


def read_zone_features(path: Path, *, code_field: str, name_field: str | None, kind: str) -> list[dict]:
    """Zone dicts (code, name, geometry) from a GeoJSON file; fields name the code and name columns."""
    with open(path, encoding="utf-8-sig") as handle:
        collection = json.load(handle)
    zones = []
    for number, feature in enumerate(collection.get("features", []), start=1):
        props = feature.get("properties") or {}
        if code_field not in props:
            raise ValueError(f"{path.name}: feature {number} has no field {code_field!r}")
        code = str(props[code_field]).strip()
        if kind == ZoneKind.MUNICIPIO:
            name = props.get(name_field) if name_field else None
            name = name or f"Municipio {code}"
        else:
            name = str(props.get(name_field) or code).strip()
        zones.append({"code": code, "name": name, "geometry": feature["geometry"]})
    return zones


def load_zones(*, municipi: Path, nil: Path | None, by=None, municipio_field="MUNICIPIO",
               municipio_name_field=None, nil_code_field="ID_NIL", nil_name_field="NIL") -> dict:
    result = {
        "municipi": zones_replace(
            kind=ZoneKind.MUNICIPIO,
            zones=read_zone_features(municipi, code_field=municipio_field, name_field=municipio_name_field,
                                     kind=ZoneKind.MUNICIPIO),
            by=by,
        )
    }
    if nil is not None:
        result["nil"] = zones_replace(
            kind=ZoneKind.NIL,
            zones=read_zone_features(nil, code_field=nil_code_field, name_field=nil_name_field, kind=ZoneKind.NIL),
            by=by,
        )
    result["sites_rezoned"] = sites_rezone(by=by)
    return result


def load_milan_zones(by=None) -> dict:
    """Milan's 9 Municipi and 88 NIL from the files shipped with the project (CC-BY 4.0 Comune di Milano)."""
    return load_zones(municipi=MILAN_MUNICIPI, nil=MILAN_NIL, by=by)
