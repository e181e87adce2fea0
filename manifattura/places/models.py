from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from manifattura.places.enums import (
    Accessibility,
    AttachmentKind,
    Condition,
    Ownership,
    SiteStatus,
    SpaceAvailability,
    SpaceUse,
    SurfaceSource,
    Typology,
    ZoneKind,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
SURFACE = {"max_digits": 12, "decimal_places": 2}


class GeoBoxMixin(models.Model):
    """GeoJSON geometry plus indexed bounding-box columns for fast window queries."""

    geometry = models.JSONField(_("geometry (GeoJSON, WGS84)"))
    min_lon = models.FloatField(editable=False, default=0)
    min_lat = models.FloatField(editable=False, default=0)
    max_lon = models.FloatField(editable=False, default=0)
    max_lat = models.FloatField(editable=False, default=0)

    class Meta:
        abstract = True


class Zone(GeoBoxMixin):
    """An administrative area: a Municipio or a NIL."""

    kind = models.CharField(_("kind"), max_length=12, choices=ZoneKind.choices)
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    area_m2 = models.DecimalField(_("area (m²)"), null=True, blank=True, **SURFACE)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="places_zone_unique_kind_code")
        ]
        indexes = [
            models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="places_zone_bbox_idx")
        ]

    def __str__(self):
        if self.kind == ZoneKind.MUNICIPIO:
            return _("Municipio %(code)s") % {"code": self.code}
        return self.name


class Site(GeoBoxMixin):
    """An abandoned building or area. Zones and periphery are derived from the geometry."""

    ref_code = models.CharField(
        _("external reference"), max_length=64, unique=True, null=True, blank=True,
        help_text=_("Code in the source inventory; re-imports match on it."),
    )
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=250, blank=True)
    description = models.TextField(_("description"), blank=True)
    lon = models.FloatField(_("longitude"), editable=False, default=0)
    lat = models.FloatField(_("latitude"), editable=False, default=0)
    municipio = models.ForeignKey(
        Zone, verbose_name=_("Municipio"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="municipio_sites", limit_choices_to={"kind": ZoneKind.MUNICIPIO}, editable=False,
    )
    nil = models.ForeignKey(
        Zone, verbose_name=_("NIL"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="nil_sites", limit_choices_to={"kind": ZoneKind.NIL}, editable=False,
    )
    outside_zones = models.BooleanField(
        _("outside every zone"), default=False, editable=False,
        help_text=_("The geometry falls in no known Municipio: check the coordinates."),
    )
    is_periphery = models.BooleanField(_("periphery"), default=False, editable=False)
    surface_m2 = models.DecimalField(
        _("surface (m²)"), null=True, blank=True, validators=[MinValueValidator(0)], **SURFACE
    )
    surface_source = models.CharField(
        _("surface source"), max_length=10, choices=SurfaceSource.choices, default=SurfaceSource.DECLARED
    )
    ownership = models.CharField(_("ownership"), max_length=16, choices=Ownership.choices)
    condition = models.CharField(
        _("condition"), max_length=10, choices=Condition.choices, default=Condition.UNKNOWN
    )
    typology = models.CharField(
        _("typology"), max_length=16, choices=Typology.choices, default=Typology.OTHER
    )
    recovery_cost = models.DecimalField(
        _("estimated recovery cost (EUR)"), null=True, blank=True,
        validators=[MinValueValidator(0)], **MONEY,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SiteStatus.choices, default=SiteStatus.MAPPED,
        db_index=True,
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recovery_cost__isnull=True) | models.Q(recovery_cost__gte=0),
                name="places_site_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(surface_m2__isnull=True) | models.Q(surface_m2__gte=0),
                name="places_site_surface_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="places_site_bbox_idx")
        ]

    def __str__(self):
        return self.name

    @property
    def geometry_type(self) -> str:
        return (self.geometry or {}).get("type", "")


class Space(models.Model):
    """A part of a site that can be assigned on its own."""

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE, related_name="spaces")
    name = models.CharField(_("name"), max_length=120)
    surface_m2 = models.DecimalField(_("surface (m²)"), validators=[MinValueValidator(0)], **SURFACE)
    use = models.CharField(_("use"), max_length=12, choices=SpaceUse.choices, default=SpaceUse.LAB)
    floor = models.SmallIntegerField(_("floor"), default=0, help_text=_("0 = ground floor, -1 = basement"))
    accessibility = models.CharField(
        _("accessibility"), max_length=10, choices=Accessibility.choices, default=Accessibility.UNKNOWN
    )
    monthly_fee = models.DecimalField(
        _("monthly fee (EUR)"), default=0, validators=[MinValueValidator(0)], **MONEY
    )
    availability = models.CharField(
        _("availability"), max_length=12, choices=SpaceAvailability.choices,
        default=SpaceAvailability.AVAILABLE, db_index=True,
    )
    description = models.TextField(_("description"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["site", "floor", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="places_space_unique_name_in_site"),
            models.CheckConstraint(condition=models.Q(monthly_fee__gte=0), name="places_space_fee_not_negative"),
            models.CheckConstraint(condition=models.Q(surface_m2__gte=0), name="places_space_surface_not_negative"),
        ]

    def __str__(self):
        return f"{self.site.name} — {self.name}"


def attachment_path(instance, filename):
    return f"sites/{instance.site_id}/{filename}"


class SiteAttachment(models.Model):
    """A photo or document about a site (public: shown on the site page)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=10, choices=AttachmentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=attachment_path)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("site photo or document")
        verbose_name_plural = _("site photos and documents")
        ordering = ["kind", "title"]

    def __str__(self):
        return self.title
