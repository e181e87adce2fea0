"""How zones, sites and spaces look in the API: JSON objects and GeoJSON Features.

Serializers only shape and check input; writes happen in ``places.domain`` (called by
``places.api``).
"""

from functools import cached_property

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from manifattura.core.api import (
    FeatureCollectionSerializer,
    GeoFeatureMixin,
    GeometryField,
    PointField,
)
from manifattura.places.domain import allowed_statuses
from manifattura.places.enums import SiteStatus
from manifattura.places.models import Site, Space, Zone

_PK_SENTINEL = 2147483647


def site_page_urls(request):
    """A function from site id to the absolute URL of its public page (None without web pages).

    The URL is reversed once and filled in per site: reversing costs more than serializing a row.
    """
    try:
        template = reverse("places:site-detail", kwargs={"pk": _PK_SENTINEL})
    except NoReverseMatch:
        return lambda site_id: None
    if request is not None:
        template = request.build_absolute_uri(template)
    return lambda site_id: template.replace(str(_PK_SENTINEL), str(site_id))


class SiteRowCacheMixin:
    """What every row of a site list shares, computed once: the page URL pattern, status labels."""

    @cached_property
    def _page_url(self):
        return site_page_urls(self.context.get("request"))

    @cached_property
    def _status_labels(self) -> dict[str, str]:
        return {value: str(label) for value, label in SiteStatus.choices}


class ZoneRefSerializer(serializers.ModelSerializer):
    """A zone as other objects refer to it."""

    class Meta:
        model = Zone
        fields = ["id", "code", "name"]
        read_only_fields = fields


class ZoneSerializer(serializers.ModelSerializer):
    geometry = GeometryField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="places-api:zone-detail")

    class Meta:
        model = Zone
        fields = ["id", "url", "kind", "code", "name", "area_m2", "geometry"]
        read_only_fields = fields


class ZoneFeatureSerializer(GeoFeatureMixin, serializers.ModelSerializer):
    geometry = GeometryField(read_only=True)

    class Meta:
        model = Zone
        fields = ["id", "kind", "code", "name", "area_m2", "geometry"]
        read_only_fields = fields


@extend_schema_serializer(many=False)
class ZoneFeatureCollectionSerializer(FeatureCollectionSerializer):
    features = ZoneFeatureSerializer(many=True)


class SiteSerializer(SiteRowCacheMixin, serializers.ModelSerializer):
    """A site. Zones, periphery, centre point and (polygons) surface derive from the geometry."""

    url = serializers.HyperlinkedIdentityField(view_name="places-api:site-detail")
    page_url = serializers.SerializerMethodField(help_text=_("The site's public web page."))
    geometry = GeometryField()
    municipio = ZoneRefSerializer(read_only=True, allow_null=True)
    nil = ZoneRefSerializer(read_only=True, allow_null=True)
    status_label = serializers.SerializerMethodField()
    allowed_next_statuses = serializers.SerializerMethodField(
        help_text=_("Statuses the site may move to next (POST them to the status action).")
    )
    space_count = serializers.IntegerField(
        read_only=True, help_text=_("How many spaces the site has.")
    )
    available_space_count = serializers.IntegerField(
        read_only=True, help_text=_("How many of its spaces are available.")
    )

    class Meta:
        model = Site
        fields = [
            "id",
            "url",
            "page_url",
            "ref_code",
            "name",
            "address",
            "description",
            "geometry",
            "lon",
            "lat",
            "municipio",
            "nil",
            "outside_zones",
            "is_periphery",
            "surface_m2",
            "surface_source",
            "ownership",
            "condition",
            "typology",
            "recovery_cost",
            "status",
            "status_label",
            "allowed_next_statuses",
            "is_demo",
            "space_count",
            "available_space_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "lon",
            "lat",
            "outside_zones",
            "is_periphery",
            "surface_source",
            "status",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "surface_m2": {
                "help_text": _(
                    "Declared surface; leave empty on a polygon to compute it from the geometry."
                )
            },
            "ref_code": {"allow_null": True},
        }

    def get_page_url(self, site) -> str | None:
        return self._page_url(site.pk)

    def get_status_label(self, site) -> str:
        return self._status_labels[site.status]

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=SiteStatus.choices))
    )
    def get_allowed_next_statuses(self, site) -> list[str]:
        return [str(status) for status in allowed_statuses(site)]

    def validate_ref_code(self, value):
        return value or None  # several sites may lack a code; an empty one would collide

    def validate(self, attrs):
        status = self.initial_data.get("status") if hasattr(self.initial_data, "get") else None
        current = self.instance.status if self.instance is not None else SiteStatus.MAPPED
        if status is not None and status != current:
            raise serializers.ValidationError(
                {
                    "status": _(
                        "The status changes only through the status action: POST "
                        '{"status": …, "reason": …} to this site\'s status/ URL.'
                    )
                }
            )
        return attrs


class SiteStatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SiteStatus.choices, help_text=_("The new status."))
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text=_("Why the status changes (kept in the site's history and the action log)."),
    )


class SiteStatusRefusedSerializer(serializers.Serializer):
    status = serializers.ListField(
        child=serializers.CharField(), help_text=_("Why the change was refused.")
    )
    allowed_next_statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=SiteStatus.choices),
        help_text=_("The statuses the site may move to now."),
    )


class SiteFeatureSerializer(SiteRowCacheMixin, GeoFeatureMixin, serializers.ModelSerializer):
    """A site as a map feature: flat properties, so GIS tools can show and style them."""

    geometry = GeometryField(read_only=True)
    status_label = serializers.CharField(read_only=True)
    municipio = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Municipio code.")
    )
    municipio_name = serializers.CharField(read_only=True, allow_null=True)
    nil = serializers.CharField(read_only=True, allow_null=True, help_text=_("NIL code."))
    nil_name = serializers.CharField(read_only=True, allow_null=True)
    url = serializers.URLField(
        read_only=True, allow_null=True, help_text=_("The site's public web page.")
    )

    class Meta:
        model = Site
        fields = [
            "id",
            "geometry",
            "name",
            "status",
            "status_label",
            "municipio",
            "municipio_name",
            "nil",
            "nil_name",
            "is_periphery",
            "surface_m2",
            "ownership",
            "recovery_cost",
            "url",
        ]
        read_only_fields = fields

    def flat_representation(self, site) -> dict:
        money = self.fields["recovery_cost"]
        surface = self.fields["surface_m2"]
        return {
            "id": site.pk,
            "geometry": site.geometry,
            "name": site.name,
            "status": site.status,
            "status_label": self._status_labels[site.status],
            "municipio": site.municipio.code if site.municipio else None,
            "municipio_name": site.municipio.name if site.municipio else None,
            "nil": site.nil.code if site.nil else None,
            "nil_name": site.nil.name if site.nil else None,
            "is_periphery": site.is_periphery,
            "surface_m2": None
            if site.surface_m2 is None
            else surface.to_representation(site.surface_m2),
            "ownership": site.ownership,
            "recovery_cost": None
            if site.recovery_cost is None
            else money.to_representation(site.recovery_cost),
            "url": self._page_url(site.pk),
        }


@extend_schema_serializer(many=False)
class SiteFeatureCollectionSerializer(FeatureCollectionSerializer):
    features = SiteFeatureSerializer(many=True)


class SpaceSerializer(serializers.ModelSerializer):
    """A space; its site is chosen when it is created and does not change."""

    url = serializers.HyperlinkedIdentityField(view_name="places-api:space-detail")
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    site_name = serializers.CharField(source="site.name", read_only=True)
    municipio = ZoneRefSerializer(source="site.municipio", read_only=True, allow_null=True)
    nil = ZoneRefSerializer(source="site.nil", read_only=True, allow_null=True)
    is_periphery = serializers.BooleanField(source="site.is_periphery", read_only=True)
    availability_label = serializers.CharField(source="get_availability_display", read_only=True)

    class Meta:
        model = Space
        fields = [
            "id",
            "url",
            "site",
            "site_name",
            "municipio",
            "nil",
            "is_periphery",
            "name",
            "surface_m2",
            "use",
            "floor",
            "accessibility",
            "monthly_fee",
            "availability",
            "availability_label",
            "description",
            "is_demo",
        ]
        # Uniqueness of the name within the site is checked in validate(), naming the field.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["site"].read_only = True
        return fields

    def validate(self, attrs):
        site = attrs.get("site") or getattr(self.instance, "site", None)
        name = attrs.get("name")
        if site is not None and name is not None:
            clash = Space.objects.filter(site=site, name=name)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {
                        "name": _(
                            "This site already has a space with this name: choose another name."
                        )
                    }
                )
        return attrs


class SpaceFeatureSerializer(GeoFeatureMixin, serializers.ModelSerializer):
    """A space as a map feature, placed at its site's centre point."""

    geometry = PointField(source="site")
    site_name = serializers.CharField(read_only=True)
    municipio = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Municipio code.")
    )
    nil_name = serializers.CharField(read_only=True, allow_null=True)
    is_periphery = serializers.BooleanField(read_only=True)

    class Meta:
        model = Space
        fields = [
            "id",
            "geometry",
            "site",
            "site_name",
            "municipio",
            "nil_name",
            "is_periphery",
            "name",
            "surface_m2",
            "use",
            "monthly_fee",
            "availability",
        ]
        read_only_fields = fields

    def flat_representation(self, space) -> dict:
        site = space.site
        return {
            "id": space.pk,
            "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
            "site": site.pk,
            "site_name": site.name,
            "municipio": site.municipio.code if site.municipio else None,
            "nil_name": site.nil.name if site.nil else None,
            "is_periphery": site.is_periphery,
            "name": space.name,
            "surface_m2": self.fields["surface_m2"].to_representation(space.surface_m2),
            "use": space.use,
            "monthly_fee": self.fields["monthly_fee"].to_representation(space.monthly_fee),
            "availability": space.availability,
        }


@extend_schema_serializer(many=False)
class SpaceFeatureCollectionSerializer(FeatureCollectionSerializer):
    features = SpaceFeatureSerializer(many=True)
