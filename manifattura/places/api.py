"""The places API under ``/api/v1/``: zones, sites and spaces, in JSON and GeoJSON.

Everyone reads; writes need the ``places`` permissions (programme staff) and go through
``places.domain``, so zones are derived and every change is audited. Reads come from
``places.queries``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from manifattura.core.api import (
    FilterBackend,
    GeoJSONViewSetMixin,
    ReadOnlyOrRulesPermission,
    StableOrderingFilter,
    geojson_schema_view,
    validation_error_detail,
)
from manifattura.places import domain, queries
from manifattura.places.filters import SiteFilter, SpaceFilter, ZoneFilter
from manifattura.places.serializers import (
    SiteFeatureCollectionSerializer,
    SiteFeatureSerializer,
    SiteSerializer,
    SiteStatusChangeSerializer,
    SiteStatusRefusedSerializer,
    SpaceFeatureCollectionSerializer,
    SpaceFeatureSerializer,
    SpaceSerializer,
    ZoneFeatureCollectionSerializer,
    ZoneFeatureSerializer,
    ZoneSerializer,
)


class PlacesViewSetMixin(GeoJSONViewSetMixin):
    permission_classes = [ReadOnlyOrRulesPermission]
    parser_classes = [JSONParser]  # geometries are JSON objects; form encodings cannot carry them
    filter_backends = [FilterBackend, StableOrderingFilter]

    def get_serializer_class(self):
        if self.action == "geojson":
            return self.feature_collection_serializer_class  # documents the action in the schema
        return self.serializer_class


@geojson_schema_view(
    ZoneSerializer,
    ZoneFeatureSerializer,
    ZoneFeatureCollectionSerializer,
    noun=_("zones (Municipi and NIL)"),
)
class ZoneViewSet(PlacesViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Administrative zones. Read-only: the ``import-zones`` command replaces them as a set."""

    serializer_class = ZoneSerializer
    feature_serializer_class = ZoneFeatureSerializer
    feature_collection_serializer_class = ZoneFeatureCollectionSerializer
    filterset_class = ZoneFilter
    ordering_fields = ["kind", "code", "name", "area_m2"]
    ordering = ["kind", "code"]

    def get_queryset(self):
        return queries.zones_for_list()


@geojson_schema_view(
    SiteSerializer,
    SiteFeatureSerializer,
    SiteFeatureCollectionSerializer,
    noun=_("abandoned sites"),
)
class SiteViewSet(
    PlacesViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Abandoned sites. Sites are never deleted: withdraw them through the status action."""

    serializer_class = SiteSerializer
    feature_serializer_class = SiteFeatureSerializer
    feature_collection_serializer_class = SiteFeatureCollectionSerializer
    filterset_class = SiteFilter
    ordering_fields = ["name", "surface_m2", "recovery_cost", "status", "created_at"]
    ordering = [
        "name"
    ]  # explicit: Django ignores Meta.ordering in the annotated (GROUP BY) list query
    action_permissions = {"status": ["places.change_site_status"]}

    def get_queryset(self):
        return queries.sites_for_map() if self.wants_geojson() else queries.sites_for_api()

    def get_serializer_class(self):
        if self.action == "status":
            return SiteStatusChangeSerializer
        return super().get_serializer_class()

    def perform_create(self, serializer):
        site = domain.site_create(by=self.request.user, **serializer.validated_data)
        serializer.instance = queries.sites_for_api().get(pk=site.pk)

    def perform_update(self, serializer):
        fields = dict(serializer.validated_data)
        geometry = fields.pop("geometry", None)
        site = domain.site_update(
            site=serializer.instance, by=self.request.user, geometry=geometry, **fields
        )
        serializer.instance = queries.sites_for_api().get(pk=site.pk)

    @extend_schema(
        summary=_("Move a site to another status of its lifecycle"),
        request=SiteStatusChangeSerializer,
        responses={
            200: SiteSerializer,
            400: OpenApiResponse(
                SiteStatusRefusedSerializer, description=_("The change is not allowed.")
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        site = self.get_object()
        change = self.get_serializer(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            domain.site_change_status(
                site=site,
                to=change.validated_data["status"],
                by=request.user,
                reason=change.validated_data["reason"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                {
                    **validation_error_detail(exc),
                    "allowed_next_statuses": domain.allowed_statuses(site),
                }
            ) from exc
        site = queries.sites_for_api().get(pk=site.pk)
        return Response(SiteSerializer(site, context=self.get_serializer_context()).data)


@geojson_schema_view(
    SpaceSerializer,
    SpaceFeatureSerializer,
    SpaceFeatureCollectionSerializer,
    noun=_("spaces (placed at their site's centre point)"),
)
class SpaceViewSet(PlacesViewSetMixin, viewsets.ModelViewSet):
    """Spaces of the sites, each assignable on its own."""

    serializer_class = SpaceSerializer
    feature_serializer_class = SpaceFeatureSerializer
    feature_collection_serializer_class = SpaceFeatureCollectionSerializer
    filterset_class = SpaceFilter
    ordering_fields = ["name", "surface_m2", "monthly_fee", "availability", "floor"]
    ordering = ["site__name", "site_id", "floor", "name"]

    def get_queryset(self):
        return queries.spaces_for_api()

    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        space = domain.space_create(site=fields.pop("site"), by=self.request.user, **fields)
        serializer.instance = queries.spaces_for_api().get(pk=space.pk)

    def perform_update(self, serializer):
        space = domain.space_update(
            space=serializer.instance, by=self.request.user, **serializer.validated_data
        )
        serializer.instance = queries.spaces_for_api().get(pk=space.pk)

    def perform_destroy(self, instance):
        domain.space_delete(space=instance, by=self.request.user)
