import datetime as dt
from decimal import Decimal

import factory

from manifattura.accounts.enums import MembershipRole, OrganizationKind
from manifattura.accounts.models import Membership, Organization, User
from manifattura.places.enums import Ownership, SpaceUse, ZoneKind
from manifattura.places.models import Site, Space, Zone

# Valid Italian VAT numbers (check digit computed by python-stdnum's algorithm).


def valid_vat(n: int) -> str:
    from stdnum import luhn

    base = f"{n:07d}" + "001"  # 7-digit serial + province office code; the check digit is Luhn's
    return base + luhn.calc_check_digit(base)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = factory.Faker("first_name", locale="it_IT")
    last_name = factory.Faker("last_name", locale="it_IT")
    password = factory.django.Password("secret-pass-2026")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    legal_name = factory.Sequence(lambda n: f"Officina {n} S.r.l.")
    kind = OrganizationKind.SME
    vat_number = factory.Sequence(lambda n: valid_vat(n + 1000))
    tax_code = factory.LazyAttribute(lambda o: o.vat_number)
    city = "Milano"
    operating_city = "Milano"
    founded_on = dt.date(2020, 1, 1)
    ateco_code = "25.62"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = MembershipRole.OWNER


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    kind = ZoneKind.MUNICIPIO
    code = factory.Sequence(lambda n: str(n + 100))
    name = factory.LazyAttribute(lambda z: f"Zone {z.code}")
    geometry = factory.LazyFunction(lambda: square(9.0, 45.0))


class SiteFactory(factory.django.DjangoModelFactory):
    """Builds a site through the domain function, so zones and periphery are derived as in real use."""

    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Ex fabbrica {n}")
    address = factory.Sequence(lambda n: f"Via delle Industrie {n}, Milano")
    geometry = factory.LazyFunction(lambda: {"type": "Point", "coordinates": [9.2, 45.5]})
    ownership = Ownership.MUNICIPAL
    surface_m2 = Decimal("1200.00")
    recovery_cost = Decimal("850000.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from manifattura.places.domain import site_create

        status = kwargs.pop("status", None)
        site = site_create(by=None, **kwargs)
        if status:
            Site.objects.filter(pk=site.pk).update(status=status)
            site.refresh_from_db()
        return site


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Lab {n}")
    surface_m2 = Decimal("120.00")
    use = SpaceUse.LAB
    monthly_fee = Decimal("450.00")
