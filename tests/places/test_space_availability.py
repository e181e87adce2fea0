"""A space's availability: staff move it between available and not available; calls offer and assign it."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from manifattura.core.models import ActionLog
from manifattura.places import domain
from manifattura.places.enums import SpaceAvailability
from manifattura.places.models import Space
from tests.factories import SiteFactory, SpaceFactory, UserFactory


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True, email="places-staff@example.org")


@pytest.mark.parametrize("current, wanted, allowed", [
    (SpaceAvailability.AVAILABLE, SpaceAvailability.UNAVAILABLE, True),
    (SpaceAvailability.UNAVAILABLE, SpaceAvailability.AVAILABLE, True),
    (SpaceAvailability.AVAILABLE, SpaceAvailability.OFFERED, False),
    (SpaceAvailability.AVAILABLE, SpaceAvailability.ASSIGNED, False),
    (SpaceAvailability.OFFERED, SpaceAvailability.AVAILABLE, False),
    (SpaceAvailability.ASSIGNED, SpaceAvailability.UNAVAILABLE, False),
    (SpaceAvailability.ASSIGNED, SpaceAvailability.ASSIGNED, True),
])
def test_staff_may_only_switch_between_available_and_not_available(staff, current, wanted, allowed):
    space = SpaceFactory(availability=current)
    if allowed:
        domain.space_update(space=space, by=staff, availability=wanted)
        assert Space.objects.get(pk=space.pk).availability == wanted
    else:
        with pytest.raises(ValidationError) as refused:
            domain.space_update(space=space, by=staff, availability=wanted)
        assert "availability" in refused.value.message_dict
        assert Space.objects.get(pk=space.pk).availability == current


def test_an_offered_space_keeps_its_other_fields_editable(staff):
    space = SpaceFactory(availability=SpaceAvailability.OFFERED, monthly_fee=Decimal("300.00"))
    domain.space_update(space=space, by=staff, monthly_fee=Decimal("250.00"), availability=SpaceAvailability.OFFERED)
    assert Space.objects.get(pk=space.pk).monthly_fee == Decimal("250.00")


def test_an_offered_or_assigned_space_cannot_be_removed(staff):
    for state in (SpaceAvailability.OFFERED, SpaceAvailability.ASSIGNED):
        space = SpaceFactory(availability=state)
        with pytest.raises(ValidationError):
            domain.space_delete(space=space, by=staff)
        assert Space.objects.filter(pk=space.pk).exists()


def test_the_api_refuses_to_assign_a_space_by_hand(staff):
    space = SpaceFactory(availability=SpaceAvailability.AVAILABLE)
    client = APIClient()
    client.force_authenticate(staff)
    response = client.patch(f"/api/v1/spaces/{space.pk}/", {"availability": "assigned"}, format="json")
    assert response.status_code == 400
    assert "availability" in response.json()
    offered = SpaceFactory(availability=SpaceAvailability.OFFERED)
    assert client.delete(f"/api/v1/spaces/{offered.pk}/").status_code == 400
    assert Space.objects.filter(pk=offered.pk).exists()


def _post_change_form(client, space, **changes):
    """Post the space's staff-area form as shown, with ``changes``."""
    url = reverse("admin:places_space_change", args=[space.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update({"description": "", **changes})
    return client.post(url, data)


def test_the_staff_area_refuses_the_change_on_the_field_and_audits_allowed_ones(client, staff):
    space = SpaceFactory(availability=SpaceAvailability.OFFERED, name="Lab A")
    client.force_login(staff)
    response = _post_change_form(client, space, availability="available")
    assert response.status_code == 200
    assert "its call decides its availability" in str(response.context["adminform"].form.errors["availability"])
    assert Space.objects.get(pk=space.pk).availability == SpaceAvailability.OFFERED

    free = SpaceFactory(availability=SpaceAvailability.AVAILABLE, name="Lab B")
    response = _post_change_form(client, free, availability="unavailable")
    assert response.status_code == 302
    assert Space.objects.get(pk=free.pk).availability == SpaceAvailability.UNAVAILABLE
    entry = ActionLog.objects.get(verb="space.update", object_id=str(free.pk))
    assert entry.data == {"changed": ["availability"]}
    assert client.get(reverse("admin:places_space_delete", args=[space.pk])).status_code == 403


def test_a_site_page_cannot_remove_an_assigned_space(staff):
    from django.forms import inlineformset_factory

    from manifattura.places.admin import SpaceInline
    from manifattura.places.forms import SpaceAdminForm, SpaceInlineFormSet
    from manifattura.places.models import Site

    site = SiteFactory(name="Ex Macello")
    space = SpaceFactory(site=site, availability=SpaceAvailability.ASSIGNED, name="Lab 1")
    Spaces = inlineformset_factory(Site, Space, form=SpaceAdminForm, formset=SpaceInlineFormSet,
                                   fields=SpaceInline.fields, extra=0, can_delete=True)
    data = {"spaces-TOTAL_FORMS": "1", "spaces-INITIAL_FORMS": "1", "spaces-0-id": str(space.pk),
            "spaces-0-DELETE": "on"}
    for name in SpaceInline.fields:
        value = getattr(space, name)
        if value is not None and value is not False:
            data[f"spaces-0-{name}"] = str(value)
    formset = Spaces(data, instance=site, prefix="spaces")
    assert not formset.is_valid()
    assert "cannot be removed" in str(formset.non_form_errors())
