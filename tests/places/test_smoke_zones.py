from shapely.geometry import Point

from manifattura.places import zoning
from manifattura.places.models import Zone


def test_milan_zones_load_and_duomo_is_in_municipio_1_and_nil_duomo(milan_zones):
    assert Zone.objects.filter(kind="municipio").count() == 9
    assert Zone.objects.filter(kind="nil").count() == 88
    match = zoning.zone_index().locate(Point(9.1916, 45.4642))
    assert match.municipio_code == "1"
    assert Zone.objects.get(pk=match.nil_id).name == "DUOMO"
