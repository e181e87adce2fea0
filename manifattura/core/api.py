"""What every API needs: permissions, pagination, filtering, errors, and GeoJSON output.

Nothing here knows about a particular app: viewsets combine these pieces and call their app's
``queries`` for reads and ``domain`` for writes.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django_filters import utils as filter_utils
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import build_object_type
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import pagination, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.filters import OrderingFilter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

# Re-exported: API code imports its permissions from here too.
from manifattura.core.permissions import ReadOnlyOrRulesPermission, ReadOnlyOrStaff  # noqa: F401


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N``; clients choose ``?page_size=`` up to ``max_page_size``."""

    page_size_query_param = "page_size"
    max_page_size = 500


class StableOrderingFilter(OrderingFilter):
    """``?ordering=field,-other``; ties break by primary key, so pages never repeat or skip rows."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not {"pk", "-pk", "id", "-id"} & set(ordering):
            ordering = [*ordering, "pk"]
        return ordering


class FilterBackend(DjangoFilterBackend):
    """django-filter, where a filter method that refuses its value gives a 400 naming the parameter.

    (A ``FilterSet`` method may raise Django's ``ValidationError`` while filtering, e.g. a malformed
    bounding box; plain django-filter would let it escape as a server error.)
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        # The filters are per-instance copies, so wrapping them here affects this request only.
        for name, filter_ in filterset.filters.items():
            filter_.filter = _naming_errors(name, filter_.filter)
        return filterset.qs


def _naming_errors(name, apply):
    def wrapper(queryset, value):
        try:
            return apply(queryset, value)
        except DjangoValidationError as exc:
            raise ValidationError({name: exc.messages}) from exc

    return wrapper


def validation_error_detail(exc: DjangoValidationError) -> dict:
    """A Django ``ValidationError`` as DRF's error body: messages by field, the rest under
    ``non_field_errors``."""
    detail = get_error_detail(exc)
    if not isinstance(detail, dict):
        return {api_settings.NON_FIELD_ERRORS_KEY: detail}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
        for field, messages in detail.items()
    }


def exception_handler(exc, context):
    """DRF's handler, plus: a domain ``ValidationError`` is a 400 with its translated messages."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(validation_error_detail(exc))
    return drf_exception_handler(exc, context)


class TokenObtainView(ObtainAuthToken):
    """Exchange an email and password for the API token of that user (created on first request)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


# --- GeoJSON (RFC 7946) -------------------------------------------------------------------------


class GeoJSONRenderer(JSONRenderer):
    """``application/geo+json``: ``?format=geojson`` or ``Accept: application/geo+json``."""

    media_type = "application/geo+json"
    format = "geojson"


FORMAT_PARAMETER = OpenApiParameter(
    "format",
    enum=["json", "geojson"],
    description=_(
        "Response format: json (default) or geojson, an RFC 7946 document (lists: an unpaginated "
        "FeatureCollection)."
    ),
)

_POSITION = {
    "type": "array",
    "items": {"type": "number", "format": "double"},
    "minItems": 2,
    "maxItems": 3,
    "description": "longitude, latitude (WGS84)",
}
_RING = {"type": "array", "items": _POSITION, "minItems": 4}
GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "GeoJSON geometry (RFC 7946), WGS84 lon/lat: Point, Polygon or MultiPolygon.",
    "properties": {
        "type": {"type": "string", "enum": ["Point", "Polygon", "MultiPolygon"]},
        "coordinates": {
            "oneOf": [
                _POSITION,
                {"type": "array", "items": _RING, "minItems": 1},
                {
                    "type": "array",
                    "items": {"type": "array", "items": _RING, "minItems": 1},
                    "minItems": 1,
                },
            ]
        },
    },
    "required": ["type", "coordinates"],
    "example": {"type": "Point", "coordinates": [9.1916, 45.4642]},
}


@extend_schema_field(GEOMETRY_SCHEMA)
class GeometryField(serializers.JSONField):
    """A GeoJSON geometry; domain functions validate it (type, ranges, self-intersections)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError(
                _(
                    'Give a GeoJSON geometry object, e.g. {"type": "Point", '
                    '"coordinates": [9.19, 45.46]}.'
                )
            )
        return super().to_internal_value(data)


@extend_schema_field(GEOMETRY_SCHEMA)
class PointField(serializers.Field):
    """Read-only GeoJSON Point from an object's ``lon`` and ``lat`` attributes."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return {"type": "Point", "coordinates": [value.lon, value.lat]}


class GeoFeatureMixin:
    """Serializer mixin: represent the object as a GeoJSON Feature.

    The serializer's ``id`` and ``geometry`` fields become the Feature's ``id`` and ``geometry``;
    every field (``id`` included, for GIS tools that only read properties) goes into ``properties``.
    """

    def to_representation(self, instance):
        data = self.flat_representation(instance)
        geometry = data.pop("geometry")
        return {"type": "Feature", "id": data["id"], "geometry": geometry, "properties": data}

    def flat_representation(self, instance) -> dict:
        """The declared fields as one flat dict.

        A subclass may build it directly: a map layer has thousands of rows and DRF's field-by-field
        serialization costs about a millisecond each. The declared fields still document the schema,
        and the API tests validate real responses against it.
        """
        return super().to_representation(instance)


class GeoFeatureSerializerExtension(OpenApiSerializerExtension):
    target_class = GeoFeatureMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        flat = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        properties = dict(flat["properties"])
        geometry = properties.pop("geometry")
        required = [name for name in flat.get("required", []) if name != "geometry"]
        return build_object_type(
            properties={
                "type": {"type": "string", "enum": ["Feature"]},
                "id": properties["id"],
                "geometry": geometry,
                "properties": build_object_type(properties=properties, required=required),
            },
            required=["type", "id", "geometry", "properties"],
        )


@extend_schema_serializer(many=False)
class FeatureCollectionSerializer(serializers.Serializer):
    """Documents a FeatureCollection; subclasses set ``features`` to their Feature serializer."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    numberMatched = serializers.IntegerField(help_text=_("How many objects match the filters."))
    numberReturned = serializers.IntegerField(help_text=_("How many features this document holds."))
    truncated = serializers.BooleanField(
        help_text=_(
            "True when more objects matched than the feature limit: narrow the filters (e.g. bbox)."
        )
    )


def feature_collection(queryset, feature_serializer, *, limit: int, context: dict) -> dict:
    """An RFC 7946 FeatureCollection of at most ``limit`` objects, saying whether it was truncated.

    One query for the rows, plus one count only when the limit is exceeded.
    """
    rows = list(queryset[: limit + 1])
    truncated = len(rows) > limit
    rows = rows[:limit]
    return {
        "type": "FeatureCollection",
        "numberMatched": queryset.count() if truncated else len(rows),
        "numberReturned": len(rows),
        "truncated": truncated,
        "features": feature_serializer(rows, many=True, context=context).data,
    }


class GeoJSONViewSetMixin:
    """List, retrieve and ``geojson`` action in GeoJSON for a model viewset.

    ``GET <list>?format=geojson`` (the documented form) and ``GET <list>/geojson/`` answer the
    filtered, ordered, unpaginated FeatureCollection, capped at ``geojson_max_features``;
    ``GET <detail>?format=geojson`` answers one Feature. Viewsets set ``feature_serializer_class``.
    """

    feature_serializer_class: type[serializers.Serializer]
    geojson_max_features = 5000

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action in {"list", "retrieve"}:
            renderers.append(GeoJSONRenderer())
        return renderers

    def wants_geojson(self) -> bool:
        return self.action == "geojson" or isinstance(
            getattr(self.request, "accepted_renderer", None), GeoJSONRenderer
        )

    def list(self, request, *args, **kwargs):
        if self.wants_geojson():
            return self.geojson(request, *args, **kwargs)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if self.wants_geojson():
            instance = self.get_object()
            return Response(
                self.feature_serializer_class(instance, context=self.get_serializer_context()).data
            )
        return super().retrieve(request, *args, **kwargs)

    @action(detail=False, methods=["get"], renderer_classes=[GeoJSONRenderer, JSONRenderer])
    def geojson(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        return Response(
            feature_collection(
                queryset,
                self.feature_serializer_class,
                limit=self.geojson_max_features,
                context=self.get_serializer_context(),
            )
        )


def geojson_schema_view(serializer, feature_serializer, collection_serializer, *, noun):
    """Class decorator documenting a ``GeoJSONViewSetMixin`` viewset: JSON and GeoJSON responses."""
    return extend_schema_view(
        list=extend_schema(
            parameters=[FORMAT_PARAMETER],
            responses={
                (200, "application/json"): serializer(many=True),
                (200, "application/geo+json"): collection_serializer,
            },
        ),
        retrieve=extend_schema(
            parameters=[FORMAT_PARAMETER],
            responses={
                (200, "application/json"): serializer,
                (200, "application/geo+json"): feature_serializer,
            },
        ),
        geojson=extend_schema(
            summary=format_lazy(_("All matching {noun} as a GeoJSON FeatureCollection"), noun=noun),
            description=_(
                "The same filters and ordering as the list, unpaginated; at most a fixed number "
                "of features (see numberMatched and truncated). Equivalent to the list with "
                "?format=geojson."
            ),
            filters=True,
            responses=collection_serializer,
        ),
    )
