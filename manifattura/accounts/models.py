from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from manifattura.accounts.enums import MembershipRole, OrganizationKind
from manifattura.accounts.validators import (
    normalize_vat,
    validate_ateco,
    validate_tax_code,
    validate_vat_number,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person; logs in with the email address. ``is_staff`` marks programme staff."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(
        _("preferred language"), max_length=8, default="it", choices=[("it", "Italiano"), ("en", "English")]
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        # One address, one account: logins compare emails exactly, so store them lower-case.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class Organization(models.Model):
    """A firm, maker, association, school or body that applies to calls and occupies spaces."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    vat_number = models.CharField(
        _("VAT number"), max_length=13, blank=True, validators=[validate_vat_number]
    )
    tax_code = models.CharField(
        _("tax code"), max_length=16, blank=True, validators=[validate_tax_code]
    )
    address = models.CharField(_("registered office address"), max_length=250, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    operating_address = models.CharField(_("operating site address"), max_length=250, blank=True)
    operating_city = models.CharField(_("operating site city"), max_length=100, blank=True)
    founded_on = models.DateField(_("founding date"), null=True, blank=True)
    ateco_code = models.CharField(
        _("ATECO code"), max_length=10, blank=True, validators=[validate_ateco]
    )
    email = models.EmailField(_("email"), blank=True)
    pec = models.EmailField(_("certified email (PEC)"), blank=True)
    website = models.URLField(_("website"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["legal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vat_number"],
                condition=~models.Q(vat_number=""),
                name="accounts_organization_unique_vat",
            )
        ]

    def __str__(self):
        return self.legal_name

    def save(self, *args, **kwargs):
        self.vat_number = normalize_vat(self.vat_number)
        self.tax_code = (self.tax_code or "").strip().upper()
        super().save(*args, **kwargs)


class Membership(models.Model):
    """A person acting for an organization, with a role."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        _("role"), max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="accounts_membership_unique")
        ]

    def __str__(self):
        return f"{self.user} — {self.organization} ({self.get_role_display()})"
