"""Demo people and organizations: programme staff, and applicants each acting for a demo organization.

Idempotent: people are matched by email, organizations by legal name; nothing existing is changed.
The first organization and its applicant are the ones the calls demo uses (same names).
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from stdnum import luhn

from manifattura.accounts.enums import MembershipRole, OrganizationKind
from manifattura.accounts.models import Membership, Organization, User
from manifattura.core import clock

STAFF_EMAIL, STAFF_PASSWORD = "staff@example.org", "demo-staff-2026"
APPLICANT_PASSWORD = "demo-applicant-2026"


def demo_vat(serial: int) -> str:
    """A valid Italian VAT number: 7-digit serial, office code 015, check digit."""
    base = f"{serial:07d}015"
    return base + luhn.calc_check_digit(base)


# (applicant email, first name, last name, organization fields); founded_years_ago is relative to today.
ORGANIZATIONS = [
    (
        "applicant@example.org",
        "Giulia",
        "Demo",
        {
            "legal_name": "Officina Futura S.r.l. (demo)",
            "kind": OrganizationKind.STARTUP,
            "vat_number": demo_vat(4242001),
            "address": "Via Cesare Lombroso 54",
            "operating_address": "Via Pascarella 20",
            "ateco_code": "25.62",
            "email": "info@officinafutura.example.org",
            "founded_years_ago": 3,
        },
    ),
    (
        "applicant2@example.org",
        "Marco",
        "Esempio",
        {
            "legal_name": "Laboratorio Tessile Corvetto APS (demo)",
            "kind": OrganizationKind.ASSOCIATION,
            "vat_number": demo_vat(4242002),
            "address": "Via Gabriele Rosa 15",
            "operating_address": "Via Gabriele Rosa 15",
            "ateco_code": "13.92",
            "email": "ciao@tessilecorvetto.example.org",
            "founded_years_ago": 6,
        },
    ),
    (
        "applicant3@example.org",
        "Sara",
        "Prova",
        {
            "legal_name": "Meccanica Fine Giacosa S.n.c. (demo)",
            "kind": OrganizationKind.ARTISAN,
            "vat_number": demo_vat(4242003),
            "address": "Via Giuseppe Giacosa 12",
            "operating_address": "Via Giuseppe Giacosa 38",
            "ateco_code": "25.62",
            "email": "officina@meccanicagiacosa.example.org",
            "founded_years_ago": 9,
        },
    ),
    (
        "applicant4@example.org",
        "Luca",
        "Campione",
        {
            "legal_name": "Fab Lab Bovisa S.r.l. (demo)",
            "kind": OrganizationKind.SME,
            "vat_number": demo_vat(4242004),
            "address": "Via Giuseppe Candiani 80",
            "operating_address": "Via Giuseppe Candiani 80",
            "ateco_code": "32.99.90",
            "email": "hello@fablabbovisa.example.org",
            "founded_years_ago": 4,
        },
    ),
]


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def staff_user(*, stdout=None) -> User:
    """The demo programme staff person (created with is_staff and is_superuser if missing)."""
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_superuser(
            STAFF_EMAIL, STAFF_PASSWORD, first_name="Demo", last_name="Staff"
        )
        _say(
            stdout,
            _("Staff user created: %(email)s / %(password)s")
            % {"email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        )
    return staff


@transaction.atomic
def load(*, stdout=None) -> dict:
    """Create the staff user, the demo organizations and one applicant owning each; returns them."""
    staff = staff_user(stdout=stdout)
    organizations = []
    today = clock.local_now().date()
    for email, first_name, last_name, spec in ORGANIZATIONS:
        spec = dict(spec)
        years = spec.pop("founded_years_ago")
        organization = Organization.objects.filter(legal_name=spec["legal_name"]).first()
        if organization is None:
            organization = Organization(
                tax_code=spec["vat_number"],
                city="Milano",
                operating_city="Milano",
                is_demo=True,
                founded_on=today.replace(day=1) - dt.timedelta(days=365 * years),
                **spec,
            )
            organization.full_clean()
            organization.save()
            _say(stdout, _("Demo organization created: %(name)s") % {"name": organization})
        applicant = User.objects.filter(email=email).first()
        if applicant is None:
            applicant = User.objects.create_user(
                email, APPLICANT_PASSWORD, first_name=first_name, last_name=last_name
            )
            _say(
                stdout,
                _("Applicant created: %(email)s / %(password)s (acts for %(organization)s)")
                % {"email": email, "password": APPLICANT_PASSWORD, "organization": organization},
            )
        Membership.objects.get_or_create(
            user=applicant, organization=organization, defaults={"role": MembershipRole.OWNER}
        )
        organizations.append(organization)
    return {"staff": staff, "organizations": organizations}
