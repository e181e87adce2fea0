"""How zones, sites and spaces look in the API: JSON objects and GeoJSON Features.

Serializers only shape and check input; writes happen in ``places.domain`` (called by ``places.api``).
"""

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


def site_page_url(site_id: int, request) -> str | None:
    """Absolute URL of the public page of a site, or None if the web pages are not installed."""
    try:
        path = reverse("places:site-detail", kwargs={"pk": site_id})
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(path) if request is not None else path


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


class SiteSerializer(serializers.ModelSerializer):
    """A site. Zones, periphery, centre point and (for polygons) surface derive from the geometry."""

    url = serializers.HyperlinkedIdentityField(view_name="places-api:site-detail")
    page_url = serializers.SerializerMethodField(help_text=_("The site's public web page."))
    geometry = GeometryField()
    municipio = ZoneRefSerializer(read_only=True, allow_null=True)
    nil = ZoneRefSerializer(read_only=True, allow_null=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    allowed_next_statuses = serializers.SerializerMethodField(
        help_text=_("Statuses the site may move to next (POST them to the status action).")
    )
    space_count = serializers.IntegerField(read_only=True, help_text=_("How many spaces the site has."))
    available_space_count = serializers.IntegerField(
        read_only=True, help_text=_("How many of its spaces are available.")
    )

    class Meta:
        model = Site
        fields = [
            "id", "url", "page_url", "ref_code", "name", "address", "description", "geometry", "lon", "lat",
            "municipio", "nil", "outside_zones", "is_periphery", "surface_m2", "surface_source",
            "ownership", "condition", "typology", "recovery_cost", "status", "status_label",
            "allowed_next_statuses", "is_demo", "space_count", "available_space_count",
            "created_at", "updated_at",
        ]
        read_only_fields = [
            "lon", "lat", "outside_zones", "is_periphery", "surface_source", "status",
            "created_at", "updated_at",
        ]
        extra_kwargs = {
            "surface_m2": {
                "help_text": _("Declared surface; leave empty on a polygon to compute it from the geometry.")
            },
            "ref_code": {"allow_null": True},
        }

    def get_page_url(self, site) -> str | None:
        return site_page_url(site.pk, self.context.get("request"))

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=SiteStatus.choices)))
    def get_allowed_next_statuses(self, site) -> list[str]:
        return [str(status) for status in allowed_statuses(site)]

    def validate_ref_code(self, value):
        return value or None  # several sites may lack a code; an empty one would collide

    def validate(self, attrs):
        status = self.initial_data.get("status") if hasattr(self.initial_data, "get") else None
        current = self.instance.status if self.instance is not None else SiteStatus.MAPPED
        if status is not None and status != current:
            raise serializers.ValidationError(
                {"status": _("The status changes only through the status action: POST "
                             "{\"status\": …, \"reason\": …} to this site's status/ URL.")}
            )
        return attrs


class SiteStatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SiteStatus.choices, help_text=_("The new status."))
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="",
        help_text=_("Why the status changes (kept in the site's history and the action log)."),
    )


class SiteStatusRefusedSerializer(serializers.Serializer):
    status = serializers.ListField(child=serializers.CharField(), help_text=_("Why the change was refused."))
    allowed_next_statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=SiteStatus.choices),
        help_text=_("The statuses the site may move to now."),
    )


class SiteFeatureSerializer(GeoFeatureMixin, serializers.ModelSerializer):
    """A site as a map feature: flat properties, so GIS tools can show and style them."""

    geometry = GeometryField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    municipio = serializers.CharField(source="municipio.code", read_only=True, allow_null=True, default=None)
    municipio_name = serializers.CharField(
        source="municipio.name", read_only=True, allow_null=True, default=None
    )
    nil = serializers.CharField(source="nil.code", read_only=True, allow_null=True, default=None)
    nil_name = serializers.CharField(source="nil.name", read_only=True, allow_null=True, default=None)
    url = serializers.SerializerMethodField(help_text=_("The site's public web page."))

    class Meta:
        model = Site
        fields = [
            "id", "geometry", "name", "status", "status_label", "municipio", "municipio_name", "nil",
            "nil_name", "is_periphery", "surface_m2", "ownership", "recovery_cost", "url",
        ]
        read_only_fields = fields

    def get_url(self, site) -> str | None:
        return site_page_url(site.pk, self.context.get("request"))


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
            "id", "url", "site", "site_name", "municipio", "nil", "is_periphery", "name", "surface_m2",
            "use", "floor", "accessibility", "monthly_fee", "availability", "availability_label",
            "description", "is_demo",
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
                    {"name": _("This site already has a space with this name: choose another name.")}
                )
        return attrs


class SpaceFeatureSerializer(GeoFeatureMixin, serializers.ModelSerializer):
    """A space as a map feature, placed at its site's centre point."""

    geometry = PointField(source="site")
    site_name = serializers.CharField(source="site.name", read_only=True)
    municipio = serializers.CharField(
        source="site.municipio.code", read_only=True, allow_null=True, default=None
    )
    nil_name = serializers.CharField(source="site.nil.name", read_only=True, allow_null=True, default=None)
    is_periphery = serializers.BooleanField(source="site.is_periphery", read_only=True)

    class Meta:
        model = Space
        fields = [
            "id", "geometry", "site", "site_name", "municipio", "nil_name", "is_periphery", "name",
            "surface_m2", "use", "monthly_fee", "availability",
        ]
        read_only_fields = fields


@extend_schema_serializer(many=False)
class SpaceFeatureCollectionSerializer(FeatureCollectionSerializer):
    features = SpaceFeatureSerializer(many=True)
