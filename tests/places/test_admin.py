"""Staff area for places: staff only, writes through the domain, status only by its own page."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from manifattura.core.models import ActionLog
from manifattura.places.enums import SiteStatus, SurfaceSource
from manifattura.places.models import Site, Space, Zone
from tests.factories import SiteFactory, SpaceFactory, square

DUOMO = {"type": "Point", "coordinates": [9.1916, 45.4642]}
LAMBRATE = {"type": "Point", "coordinates": [9.255, 45.48]}


@pytest.fixture
def site(db):
    site = SiteFactory(name="Ex Macello")
    SpaceFactory(site=site, name="Lab 1")
    return site


def admin_urls(site):
    zone = Zone.objects.create(kind="municipio", code="77", name="Test", geometry=square(9.0, 45.0))
    space = site.spaces.first()
    return [
        reverse("admin:index"),
        reverse("admin:places_site_changelist"),
        reverse("admin:places_site_add"),
        reverse("admin:places_site_change", args=[site.pk]),
        reverse("admin:places_site_history", args=[site.pk]),
        reverse("admin:places_site_status", args=[site.pk]),
        reverse("admin:places_space_changelist"),
        reverse("admin:places_space_change", args=[space.pk]),
        reverse("admin:places_zone_changelist"),
        reverse("admin:places_zone_change", args=[zone.pk]),
    ]


@pytest.mark.django_db
def test_staff_area_pages_answer_200_to_staff(client, staff, site):
    client.force_login(staff)
    for url in admin_urls(site):
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "registered"])
def test_staff_area_pages_send_everybody_else_to_the_login(client, registered, site, role):
    if role == "registered":
        client.force_login(registered)
    for url in admin_urls(site):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.italian
@pytest.mark.django_db
def test_staff_area_is_translated(client, staff, site):
    client.force_login(staff)
    response = client.get(reverse("admin:places_site_changelist"))
    assert '<html lang="it"' in response.text
    assert "Cerca" in response.text  # Django's own Italian translation of the admin


@pytest.mark.italian
@pytest.mark.django_db
@pytest.mark.italian
def test_changelist_shows_status_zones_surface_cost_and_demo(client, staff):
    SiteFactory(
        name="Cascina Demo",
        is_demo=True,
        surface_m2=Decimal("1500"),
        recovery_cost=Decimal("20000"),
    )
    client.force_login(staff)
    html = client.get(reverse("admin:places_site_changelist")).text
    assert "Cascina Demo" in html
    assert "1.500 m²" in html and "€ 20.000,00" in html
    from django.utils import translation

    with translation.override("it"):
        assert str(SiteStatus.MAPPED.label) in html


# --- status changes -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_page_offers_only_the_allowed_next_statuses(client, staff, site):
    client.force_login(staff)
    response = client.get(reverse("admin:places_site_status", args=[site.pk]))
    options = [value for value, _label in response.context["form"].fields["to"].widget.choices]
    assert options == [SiteStatus.SURVEYED, SiteStatus.WITHDRAWN]


@pytest.mark.django_db
def test_allowed_status_change_is_applied_and_audited(client, staff, site):
    client.force_login(staff)
    response = client.post(
        reverse("admin:places_site_status", args=[site.pk]),
        {"to": "surveyed", "reason": "Sopralluogo fatto"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:places_site_change", args=[site.pk])
    site.refresh_from_db()
    assert site.status == SiteStatus.SURVEYED
    entry = ActionLog.objects.get(verb="site.status_change", object_id=str(site.pk))
    assert entry.actor == staff
    assert entry.data == {"from": "mapped", "to": "surveyed", "reason": "Sopralluogo fatto"}
    latest = site.history.first()
    assert latest.history_user == staff and latest.history_change_reason == "Sopralluogo fatto"


@pytest.mark.django_db
def test_disallowed_status_change_is_refused_with_a_message_and_nothing_changes(
    client, staff, site
):
    client.force_login(staff)
    versions = site.history.count()
    response = client.post(
        reverse("admin:places_site_status", args=[site.pk]),
        {"to": "active", "reason": "Scorciatoia"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["to"]
    assert any("cannot go from" in error for error in errors)
    assert "Allowed next statuses" in response.text
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED
    assert site.history.count() == versions
    assert not ActionLog.objects.filter(verb="site.status_change").exists()


@pytest.mark.django_db
def test_status_change_needs_a_reason(client, staff, site):
    client.force_login(staff)
    response = client.post(
        reverse("admin:places_site_status", args=[site.pk]), {"to": "surveyed", "reason": ""}
    )
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED


@pytest.mark.django_db
def test_registered_user_cannot_post_a_status_change(client, registered, site):
    client.force_login(registered)
    response = client.post(
        reverse("admin:places_site_status", args=[site.pk]), {"to": "surveyed", "reason": "x"}
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED


@pytest.mark.django_db
def test_change_status_action_leads_to_the_status_page_for_one_site(client, staff, site):
    client.force_login(staff)
    url = reverse("admin:places_site_changelist")
    response = client.post(url, {"action": "change_status_action", "_selected_action": [site.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:places_site_status", args=[site.pk])
    other = SiteFactory()
    response = client.post(
        url,
        {"action": "change_status_action", "_selected_action": [site.pk, other.pk]},
        follow=True,
    )
    assert "Select exactly one site" in response.text


# --- editing goes through the domain --------------------------------------------------------------


def change_form_data(site, **overrides):
    data = {
        "name": site.name,
        "address": site.address,
        "description": site.description,
        "ref_code": site.ref_code or "",
        "geometry": json.dumps(site.geometry),
        "surface_m2": "" if site.surface_m2 is None else str(site.surface_m2),
        "ownership": site.ownership,
        "condition": site.condition,
        "typology": site.typology,
        "recovery_cost": "" if site.recovery_cost is None else str(site.recovery_cost),
        "spaces-TOTAL_FORMS": "0",
        "spaces-INITIAL_FORMS": "0",
        "spaces-MIN_NUM_FORMS": "0",
        "spaces-MAX_NUM_FORMS": "1000",
        "attachments-TOTAL_FORMS": "0",
        "attachments-INITIAL_FORMS": "0",
        "attachments-MIN_NUM_FORMS": "0",
        "attachments-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    if site.is_demo:
        data["is_demo"] = "on"
    data.update(overrides)
    return data


def test_editing_the_geometry_rederives_zones_and_is_audited(client, staff, milan_zones_copy):
    site = SiteFactory(geometry=DUOMO)
    assert site.municipio.code == "1" and not site.is_periphery
    client.force_login(staff)
    response = client.post(
        reverse("admin:places_site_change", args=[site.pk]),
        change_form_data(site, geometry=json.dumps(LAMBRATE), name="Ex Macello nuovo"),
    )
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    site.refresh_from_db()
    assert site.name == "Ex Macello nuovo"
    assert site.municipio.code == "3" and site.is_periphery
    entry = ActionLog.objects.get(verb="site.update", object_id=str(site.pk))
    assert entry.actor == staff
    assert set(entry.data["changed"]) == {"geometry", "name"}


@pytest.mark.django_db
def test_invalid_geometry_is_reported_on_the_geometry_field_and_nothing_changes(client, staff):
    site = SiteFactory(name="Invariato")
    client.force_login(staff)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[9.1, 45.4], [9.2, 45.5], [9.2, 45.4], [9.1, 45.5], [9.1, 45.4]]],
    }
    for bad in (
        "{not json",
        json.dumps({"type": "LineString", "coordinates": [[9, 45], [9.1, 45.1]]}),
        json.dumps(bowtie),
        json.dumps({"type": "Point", "coordinates": [45.46, 191.0]}),
    ):
        response = client.post(
            reverse("admin:places_site_change", args=[site.pk]),
            change_form_data(site, geometry=bad, name="Cambiato"),
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert list(errors) == ["geometry"], errors
        assert errors["geometry"][0].startswith("Invalid geometry")
    site.refresh_from_db()
    assert site.name == "Invariato"
    assert not ActionLog.objects.filter(verb="site.update").exists()


@pytest.mark.django_db
def test_status_cannot_be_changed_through_the_edit_form(client, staff, site):
    client.force_login(staff)
    client.post(
        reverse("admin:places_site_change", args=[site.pk]), change_form_data(site, status="active")
    )
    site.refresh_from_db()
    assert site.status == SiteStatus.MAPPED


@pytest.mark.django_db
def test_untouched_computed_surface_stays_computed_after_an_edit(client, staff):
    site = SiteFactory(geometry=square(9.2, 45.5, 0.002), surface_m2=None)
    assert site.surface_source == SurfaceSource.COMPUTED
    client.force_login(staff)
    response = client.post(
        reverse("admin:places_site_change", args=[site.pk]),
        change_form_data(site, address="Via Nuova 1"),
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.surface_source == SurfaceSource.COMPUTED and site.address == "Via Nuova 1"


def test_adding_a_site_with_a_space_goes_through_the_domain(client, staff, milan_zones_copy):
    client.force_login(staff)
    data = change_form_data(
        Site(
            name="Nuovo sito",
            geometry=LAMBRATE,
            ownership="municipal",
            condition="fair",
            typology="productive",
            surface_m2=None,
            recovery_cost=Decimal("100000"),
        ),
        **{
            "spaces-TOTAL_FORMS": "1",
            "spaces-0-name": "Officina",
            "spaces-0-use": "workshop",
            "spaces-0-floor": "0",
            "spaces-0-surface_m2": "80",
            "spaces-0-accessibility": "full",
            "spaces-0-monthly_fee": "300",
            "spaces-0-availability": "available",
        },
    )
    response = client.post(reverse("admin:places_site_add"), data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    site = Site.objects.get(name="Nuovo sito")
    assert site.municipio.code == "3" and site.status == SiteStatus.MAPPED
    assert ActionLog.objects.filter(
        verb="site.create", object_id=str(site.pk), actor=staff
    ).exists()
    space = Space.objects.get(site=site)
    assert space.name == "Officina"
    assert ActionLog.objects.filter(
        verb="space.create", object_id=str(space.pk), actor=staff
    ).exists()


# --- what nobody does by hand ---------------------------------------------------------------------


@pytest.mark.django_db
def test_zones_cannot_be_added_or_deleted_and_sites_cannot_be_deleted(client, staff, site):
    zone = Zone.objects.create(kind="municipio", code="77", name="Test", geometry=square(9.0, 45.0))
    client.force_login(staff)
    assert client.get(reverse("admin:places_zone_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:places_zone_delete", args=[zone.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:places_site_delete", args=[site.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Zone.objects.filter(pk=zone.pk).exists() and Site.objects.filter(pk=site.pk).exists()


@pytest.mark.django_db
def test_history_can_be_read_but_not_reverted(client, staff, site):
    client.force_login(staff)
    version = site.history.first()
    url = reverse("admin:places_site_simple_history", args=[site.pk, version.history_id])
    assert client.get(url).status_code == 200
    assert client.post(url, change_form_data(site, name="Reverted")).status_code == 403
    site.refresh_from_db()
    assert site.name == "Ex Macello"
