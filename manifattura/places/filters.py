"""The site, space and zone filters: one FilterSet each, shared by the map, the list page and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from manifattura.places.enums import (
    Ownership,
    SiteStatus,
    SpaceAvailability,
    SpaceUse,
    Typology,
    ZoneKind,
)
from manifattura.places.models import Site, Space, Zone


def _municipi(request):
    return Zone.objects.filter(kind=ZoneKind.MUNICIPIO).order_by("code")


def _nils(request):
    return Zone.objects.filter(kind=ZoneKind.NIL).order_by("name")


class SiteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    municipio = django_filters.ModelChoiceFilter(queryset=_municipi, label=_("Municipio"))
    nil = django_filters.ModelChoiceFilter(queryset=_nils, label=_("NIL"))
    status = django_filters.MultipleChoiceFilter(choices=SiteStatus.choices, label=_("Status"))
    ownership = django_filters.MultipleChoiceFilter(choices=Ownership.choices, label=_("Ownership"))
    typology = django_filters.MultipleChoiceFilter(choices=Typology.choices, label=_("Typology"))
    is_periphery = django_filters.BooleanFilter(label=_("Periphery"))
    outside_zones = django_filters.BooleanFilter(label=_("Outside every zone"))
    surface_min = django_filters.NumberFilter(field_name="surface_m2", lookup_expr="gte", label=_("Surface from (m²)"))
    surface_max = django_filters.NumberFilter(field_name="surface_m2", lookup_expr="lte", label=_("Surface up to (m²)"))
    bbox = django_filters.CharFilter(method="filter_bbox", label=_("Bounding box (min lon, min lat, max lon, max lat)"))

    class Meta:
        model = Site
        fields = []

    def filter_text(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value) | Q(ref_code__iexact=value))

    def filter_bbox(self, queryset, name, value):
        from django.core.exceptions import ValidationError

        try:
            min_lon, min_lat, max_lon, max_lat = (float(part) for part in value.split(","))
        except ValueError:
            raise ValidationError(
                _("Write the bounding box as four numbers: min lon, min lat, max lon, max lat.")
            ) from None
        # Sites whose own box intersects the requested one (uses the indexed bbox columns).
        return queryset.filter(
            min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat
        )


class SpaceFilter(django_filters.FilterSet):
    site = django_filters.NumberFilter(field_name="site_id", label=_("Site"))
    municipio = django_filters.ModelChoiceFilter(field_name="site__municipio", queryset=_municipi, label=_("Municipio"))
    nil = django_filters.ModelChoiceFilter(field_name="site__nil", queryset=_nils, label=_("NIL"))
    is_periphery = django_filters.BooleanFilter(field_name="site__is_periphery", label=_("Periphery"))
    use = django_filters.MultipleChoiceFilter(choices=SpaceUse.choices, label=_("Use"))
    availability = django_filters.MultipleChoiceFilter(choices=SpaceAvailability.choices, label=_("Availability"))
    surface_min = django_filters.NumberFilter(field_name="surface_m2", lookup_expr="gte", label=_("Surface from (m²)"))
    surface_max = django_filters.NumberFilter(field_name="surface_m2", lookup_expr="lte", label=_("Surface up to (m²)"))
    fee_max = django_filters.NumberFilter(field_name="monthly_fee", lookup_expr="lte", label=_("Monthly fee up to (EUR)"))

    class Meta:
        model = Space
        fields = []


class ZoneFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ZoneKind.choices, label=_("Kind"))

    class Meta:
        model = Zone
        fields = ["kind", "code"]
