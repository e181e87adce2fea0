"""People and organizations: email login, registration, VAT and tax-code validation."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from manifattura.accounts.models import Organization, User
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, valid_vat


def test_users_log_in_with_their_email(client, db):
    UserFactory(email="maker@example.org")
    response = client.post(reverse("accounts:login"), {"username": "maker@example.org", "password": "secret-pass-2026"})
    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_wrong_password_shows_a_form_error_and_no_session(client, db):
    UserFactory(email="maker@example.org")
    response = client.post(reverse("accounts:login"), {"username": "maker@example.org", "password": "nope"})
    assert response.status_code == 200
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_registration_creates_a_user_and_logs_in(client, db):
    response = client.post(reverse("accounts:register"), {
        "email": "New@Example.org", "first_name": "Ada", "last_name": "Rossi", "language": "it",
        "password1": "una-password-lunga-2026", "password2": "una-password-lunga-2026",
    })
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.org").exists()
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_registration_with_an_existing_email_is_refused(client, db):
    UserFactory(email="taken@example.org")
    response = client.post(reverse("accounts:register"), {
        "email": "taken@example.org", "password1": "una-password-lunga-2026", "password2": "una-password-lunga-2026",
        "language": "it",
    })
    assert response.status_code == 200
    assert User.objects.filter(email="taken@example.org").count() == 1


@pytest.mark.parametrize("url_name", ["accounts:profile"])
def test_profile_needs_login(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_profile_lists_the_organizations_a_person_acts_for(client, db):
    membership = MembershipFactory()
    client.force_login(membership.user)
    assert membership.organization.legal_name in client.get(reverse("accounts:profile")).content.decode()


def test_a_valid_vat_number_is_accepted_and_normalized(db):
    organization = OrganizationFactory.build(vat_number="IT" + valid_vat(77), tax_code=valid_vat(77))
    organization.full_clean()
    organization.save()
    assert organization.vat_number == valid_vat(77)


@pytest.mark.parametrize("field,value", [("vat_number", "12345678901"), ("vat_number", "1234"),
                                         ("tax_code", "RSSMRA80A01F205Y"), ("ateco_code", "25-62")])
def test_invalid_codes_are_refused_with_a_message_naming_the_field(db, field, value):
    organization = OrganizationFactory.build(**{field: value})
    with pytest.raises(ValidationError) as refused:
        organization.full_clean()
    assert field in refused.value.message_dict
    assert value in refused.value.message_dict[field][0]


def test_a_valid_personal_tax_code_is_accepted(db):
    organization = OrganizationFactory.build(tax_code="RSSMRA80A01F205X")
    organization.full_clean()


def test_two_organizations_cannot_share_a_vat_number(db):
    from django.db import IntegrityError

    OrganizationFactory(vat_number=valid_vat(5))
    with pytest.raises(IntegrityError):
        Organization.objects.create(legal_name="Copy", kind="sme", vat_number=valid_vat(5))
