from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    STARTUP = "startup", _("Start-up")
    SME = "sme", _("Small or medium enterprise")
    ARTISAN = "artisan", _("Artisan business")
    ASSOCIATION = "association", _("Association")
    SCHOOL = "school", _("School")
    TRAINING_BODY = "training_body", _("Training body")
    PUBLIC_BODY = "public_body", _("Public body")


class MembershipRole(models.TextChoices):
    OWNER = "owner", _("Legal representative")
    MEMBER = "member", _("Member")
