from django.db import models
from django.utils.translation import gettext_lazy as _


class ZoneKind(models.TextChoices):
    MUNICIPIO = "municipio", _("Municipio")
    NIL = "nil", _("NIL (local identity unit)")


class SiteStatus(models.TextChoices):
    MAPPED = "mapped", _("Mapped")
    SURVEYED = "surveyed", _("Surveyed")
    OFFERED = "offered", _("Offered in a call")
    ASSIGNED = "assigned", _("Assigned")
    UNDER_RECOVERY = "under_recovery", _("Under recovery")
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The lifecycle of a site: from each status, the statuses it may move to.
# A site goes back from "offered" to "surveyed" when a call ends without assigning it; a withdrawn
# site may be reinstated as "mapped" and start again.
SITE_TRANSITIONS: dict[str, set[str]] = {
    SiteStatus.MAPPED: {SiteStatus.SURVEYED, SiteStatus.WITHDRAWN},
    SiteStatus.SURVEYED: {SiteStatus.OFFERED, SiteStatus.WITHDRAWN},
    SiteStatus.OFFERED: {SiteStatus.ASSIGNED, SiteStatus.SURVEYED, SiteStatus.WITHDRAWN},
    SiteStatus.ASSIGNED: {SiteStatus.UNDER_RECOVERY, SiteStatus.WITHDRAWN},
    SiteStatus.UNDER_RECOVERY: {SiteStatus.ACTIVE, SiteStatus.WITHDRAWN},
    SiteStatus.ACTIVE: {SiteStatus.WITHDRAWN},
    SiteStatus.WITHDRAWN: {SiteStatus.MAPPED},
}


class Ownership(models.TextChoices):
    MUNICIPAL = "municipal", _("Municipal")
    OTHER_PUBLIC = "other_public", _("Other public body")
    PRIVATE = "private", _("Private")


class Condition(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")
    RUIN = "ruin", _("Ruin")
    UNKNOWN = "unknown", _("Unknown")


class Typology(models.TextChoices):
    PRODUCTIVE = "productive", _("Productive / industrial")
    RESIDENTIAL = "residential", _("Residential")
    TERTIARY = "tertiary", _("Tertiary / offices")
    COMMERCIAL = "commercial", _("Commercial")
    RURAL = "rural", _("Rural")
    PUBLIC_SERVICE = "public_service", _("Public service")
    OPEN_AREA = "open_area", _("Open area")
    OTHER = "other", _("Other")


class SurfaceSource(models.TextChoices):
    DECLARED = "declared", _("Declared")
    COMPUTED = "computed", _("Computed from the polygon")


class SpaceUse(models.TextChoices):
    LAB = "lab", _("Laboratory")
    WORKSHOP = "workshop", _("Workshop")
    OFFICE = "office", _("Office")
    STORAGE = "storage", _("Storage")
    SHOWROOM = "showroom", _("Showroom / shop")
    COWORKING = "coworking", _("Coworking")
    EVENT = "event", _("Event space")
    OTHER = "other", _("Other")


class SpaceAvailability(models.TextChoices):
    AVAILABLE = "available", _("Available")
    OFFERED = "offered", _("Offered in a call")
    ASSIGNED = "assigned", _("Assigned")
    UNAVAILABLE = "unavailable", _("Not available")


class Accessibility(models.TextChoices):
    FULL = "full", _("Fully accessible")
    PARTIAL = "partial", _("Partially accessible")
    NONE = "none", _("Not accessible")
    UNKNOWN = "unknown", _("Unknown")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    DOCUMENT = "document", _("Document")
