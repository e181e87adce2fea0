"""Which zones contain a point: an STRtree over the zone polygons, rebuilt when zones change."""

import threading
from dataclasses import dataclass

from django.db.models import Count, Max
from shapely import STRtree
from shapely.geometry import shape

from manifattura.places.enums import ZoneKind
from manifattura.places.models import Zone

_lock = threading.Lock()
_cache: dict = {"key": None, "index": None}


@dataclass(frozen=True)
class ZoneMatch:
    municipio_id: int | None
    municipio_code: str | None
    nil_id: int | None


class ZoneIndex:
    def __init__(self, zones):
        self.zones = list(zones)
        self.geoms = [shape(z.geometry) for z in self.zones]
        self.tree = STRtree(self.geoms) if self.geoms else None

    def locate(self, point) -> ZoneMatch:
        municipio = nil = None
        if self.tree is not None:
            for i in self.tree.query(point, predicate="intersects"):
                zone = self.zones[int(i)]
                if zone.kind == ZoneKind.MUNICIPIO and municipio is None:
                    municipio = zone
                elif zone.kind == ZoneKind.NIL and nil is None:
                    nil = zone
        return ZoneMatch(
            municipio_id=municipio.pk if municipio else None,
            municipio_code=municipio.code if municipio else None,
            nil_id=nil.pk if nil else None,
        )


def zone_index() -> ZoneIndex:
    """The index for the zones in the database now (one cheap query to check it is current)."""
    stats = Zone.objects.aggregate(n=Count("id"), last=Max("id"))
    key = (stats["n"], stats["last"], _cache_generation[0])
    with _lock:
        if _cache["key"] != key:
            _cache["index"] = ZoneIndex(Zone.objects.only("id", "kind", "code", "geometry"))
            _cache["key"] = key
        return _cache["index"]


_cache_generation = [0]


def invalidate() -> None:
    """Call after zone geometries change in place (import-zones does)."""
    with _lock:
        _cache_generation[0] += 1
