"""load-demo: every app's demo step; the people, organizations, and Milan sites and spaces."""

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from manifattura.accounts import demo as accounts_demo
from manifattura.accounts.models import Membership, Organization, User
from manifattura.core.demo_steps import demo_steps
from manifattura.core.models import ActionLog
from manifattura.places import demo as places_demo
from manifattura.places.domain import lifecycle_path
from manifattura.places.enums import SiteStatus, SpaceAvailability
from manifattura.places.models import Site, Space, Zone


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English; the project's default language is Italian.
    with translation.override("en"):
        yield


@pytest.fixture
def demo_sites(milan_zones_copy):
    out = io.StringIO()
    accounts_demo.load(stdout=out)
    places_demo.load(stdout=out)
    return out.getvalue()


def test_demo_steps_run_in_installed_apps_order_and_only_for_project_apps(settings):
    labels = [label for label, _load in demo_steps()]

    assert labels[:2] == ["accounts", "places"]
    order = [app.rsplit(".", 1)[-1] for app in settings.INSTALLED_APPS]
    assert labels == sorted(labels, key=order.index)
    assert "core" not in labels and "auth" not in labels


def test_staff_and_applicants_can_log_in_and_each_applicant_owns_a_demo_organization(db):
    accounts_demo.load()

    staff = User.objects.get(email="staff@example.org")
    assert staff.is_staff and staff.is_superuser and staff.check_password("demo-staff-2026")
    applicant = User.objects.get(email="applicant@example.org")
    assert applicant.check_password("demo-applicant-2026") and not applicant.is_staff
    first = Membership.objects.get(user=applicant)
    assert (first.organization.legal_name, first.role) == ("Officina Futura S.r.l. (demo)", "owner")
    organizations = Organization.objects.all()
    assert len(organizations) == len(accounts_demo.ORGANIZATIONS) >= 3
    for organization in organizations:
        organization.full_clean()  # valid VAT number and tax code
        assert organization.is_demo
        assert organization.memberships.filter(role="owner").count() == 1


def test_demo_sites_cover_every_municipio_and_each_lands_where_its_row_says(demo_sites):
    sites = {s.ref_code: s for s in Site.objects.select_related("municipio", "nil")}

    assert len(sites) == len(places_demo.SITES) == 25
    for spec in places_demo.SITES:
        assert sites[spec[0]].municipio.code == spec[3], spec[0]
    assert {s.municipio.code for s in sites.values()} == set("123456789")
    assert len({s.nil_id for s in sites.values()}) >= 20
    assert all(s.is_periphery == (s.municipio.code != "1") for s in sites.values())


def test_demo_sites_are_marked_realistic_and_along_the_whole_lifecycle(demo_sites):
    sites = list(Site.objects.all())

    assert all(
        s.is_demo and s.description.startswith("Demo data") and s.ref_code.startswith("DEMO-")
        for s in sites
    )
    assert set(Counter(s.status for s in sites)) == set(SiteStatus.values)
    assert Counter(s.geometry_type for s in sites).keys() == {"Point", "Polygon"}
    assert all(Decimal(200) <= s.surface_m2 <= Decimal(15_000) for s in sites)
    assert all(Decimal(150_000) <= s.recovery_cost <= Decimal(4_000_000) for s in sites)
    ownership = Counter(s.ownership for s in sites)
    assert ownership["municipal"] > len(sites) / 2 and len(ownership) == 3
    assert len({s.condition for s in sites}) >= 3 and len({s.typology for s in sites}) >= 4


def test_each_demo_site_has_one_to_five_spaces_whose_availability_follows_the_site(demo_sites):
    for site in Site.objects.prefetch_related("spaces"):
        spaces = list(site.spaces.all())
        assert 1 <= len(spaces) <= 5, site.ref_code
        assert all(s.is_demo and s.monthly_fee > 0 and s.surface_m2 > 0 for s in spaces)
        assert {s.availability for s in spaces} == {places_demo.SPACE_AVAILABILITY[site.status]}
    assert (
        Space.objects.filter(
            availability=SpaceAvailability.AVAILABLE, site__is_periphery=True
        ).count()
        >= 3
    )


def test_demo_statuses_were_reached_through_the_lifecycle_with_audit_entries(demo_sites):
    for site in Site.objects.all():
        steps = ActionLog.objects.filter(
            verb="site.status_change", object_id=str(site.pk)
        ).order_by("id")
        assert [e.data["to"] for e in steps] == lifecycle_path(SiteStatus.MAPPED, site.status)
        assert site.history.count() == 1 + steps.count()
    assert ActionLog.objects.filter(verb="space.create").count() == Space.objects.count()


def test_demo_places_load_the_milan_zones_when_none_are_loaded(db):
    out = io.StringIO()

    places_demo.load(stdout=out)

    assert Zone.objects.count() == 97
    assert "Milan zones loaded: 9 Municipi, 88 NIL." in out.getvalue()
    assert Site.objects.filter(outside_zones=True).count() == 0


def test_load_demo_twice_creates_nothing_new(milan_zones_copy):
    call_command("load-demo", stdout=io.StringIO())
    counts = {
        model: model.objects.count()
        for model in (User, Organization, Membership, Site, Space, ActionLog)
    }

    out = io.StringIO()
    call_command("load-demo", stdout=out)

    assert {model: model.objects.count() for model in counts} == counts
    assert "Demo sites: all 25 exist already." in out.getvalue()
