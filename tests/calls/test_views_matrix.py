"""Who may do what on the calls pages, in each phase of a call (clock frozen): role × phase matrix.

Roles: anonymous, registered without organization, applicant of another organization, applicant
(member of the organization that owns the application), programme staff.
Phases: before opening (drafts allowed, submission not), open, closed.
"""

import datetime as dt

import pytest
from django.urls import reverse

from manifattura.calls import domain
from manifattura.calls.enums import ApplicationStatus
from manifattura.calls.models import Application, ApplicationFile, Question, Submission
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.factories import MembershipFactory, UserFactory

OPENS = clock.rome(2026, 3, 2, 9, 0)
CLOSES = clock.rome(2026, 3, 29, 12, 0)
PHASES = {
    "before": clock.rome(2026, 3, 1, 12, 0),
    "open": clock.rome(2026, 3, 10, 12, 0),
    "closed": clock.rome(2026, 3, 30, 12, 0),
}
ROLES = ["anonymous", "registered", "other_applicant", "applicant", "staff"]


@pytest.fixture
def world(db):
    """A call with a file question; the applicant's complete draft; one person for each role."""
    with clock.frozen(clock.rome(2026, 3, 1, 10, 0)):
        call = build_call(opens_at=OPENS, closes_at=CLOSES, with_file=True)
        application, applicant = ready_application(call)
    other = MembershipFactory().user
    people = {
        "anonymous": None,
        "registered": UserFactory(email="nobody@example.org"),
        "other_applicant": other,
        "applicant": applicant,
        "staff": UserFactory(email="office@example.org", is_staff=True),
    }
    return {"call": call, "application": application, "people": people}


@pytest.fixture
def submitted(db):
    """A call whose applicant submitted during the open phase (for receipts and downloads)."""
    with clock.frozen(clock.rome(2026, 3, 1, 10, 0)):
        call = build_call(opens_at=OPENS, closes_at=CLOSES, with_file=True, code="MM-2026-09")
        application, applicant = ready_application(call)
    with clock.frozen(PHASES["open"]):
        domain.application_submit(application=application, by=applicant)
    people = {
        "anonymous": None,
        "registered": UserFactory(email="nobody@example.org"),
        "other_applicant": MembershipFactory().user,
        "applicant": applicant,
        "staff": UserFactory(email="office@example.org", is_staff=True),
    }
    return {"call": call, "application": application, "people": people}


def _as(client, people, role, phase):
    clock.freeze(PHASES[phase])
    if people[role] is not None:
        client.force_login(people[role])
    return client


def _is_login_redirect(response):
    return response.status_code == 302 and reverse("accounts:login") in response["Location"]


def _section_and_title(application):
    question = Question.objects.get(section__call=application.call, label="Project title")
    return question.section_id, question


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_everybody_sees_a_published_call_page_in_every_phase(client, world, role, phase):
    response = _as(client, world["people"], role, phase).get(reverse("calls:call-detail", args=[world["call"].code]))
    assert response.status_code == 200
    assert world["call"].title in response.content.decode()


DRAFT_PAGE = {"anonymous": "login", "registered": 403, "other_applicant": 403, "applicant": 200, "staff": 200}


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_only_members_and_staff_see_the_draft(client, world, role, phase):
    url = reverse("calls:application", args=[world["application"].pk])
    response = _as(client, world["people"], role, phase).get(url)
    expected = DRAFT_PAGE[role]
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
    if expected == 200:
        assert "Fab lab in Quarto Oggiaro" in response.content.decode()


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_editing_a_section(client, world, role, phase):
    application = world["application"]
    section_id, question = _section_and_title(application)
    url = reverse("calls:section-save", args=[application.pk, section_id])
    response = _as(client, world["people"], role, phase).post(url, {f"q{question.pk}": "A new title"}, follow=False)
    application.refresh_from_db()
    saved = application.answers[str(question.pk)] == "A new title"
    if role == "anonymous":
        assert _is_login_redirect(response)
    elif role != "applicant":
        assert response.status_code == 403
    elif phase == "closed":
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert "The call is closed: the application can no longer be changed." in page.content.decode()
    else:
        assert response.status_code == 302 and f"#section-{section_id}" in response["Location"]
    assert saved == (role == "applicant" and phase != "closed")


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_uploading_a_file(client, world, role, phase):
    application = world["application"]
    question = Question.objects.get(section__call=application.call, kind="file")
    before = ApplicationFile.objects.count()
    url = reverse("calls:file-upload", args=[application.pk, question.pk])
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("new-plan.pdf", PDF_BYTES, content_type="application/pdf")
    response = _as(client, world["people"], role, phase).post(url, {"file": upload})
    stored = ApplicationFile.objects.count() - before
    if role == "anonymous":
        assert _is_login_redirect(response)
    elif role != "applicant":
        assert response.status_code == 403
    elif phase == "closed":
        assert response.status_code == 200
        assert "The call is closed" in response.content.decode()
    else:
        assert response.status_code == 302
    assert stored == (1 if role == "applicant" and phase != "closed" else 0)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_submitting(client, world, role, phase):
    application = world["application"]
    url = reverse("calls:submit", args=[application.pk])
    response = _as(client, world["people"], role, phase).post(url, {"submit_token": "a" * 32})
    application.refresh_from_db()
    if role == "anonymous":
        assert _is_login_redirect(response)
    elif role != "applicant":
        assert response.status_code == 403
    elif phase == "open":
        assert response.status_code == 302
        assert response["Location"] == reverse("calls:receipt", args=[application.pk])
    else:
        assert response.status_code == 200
        text = response.content.decode()
        assert "The application was not submitted. Your draft is kept as it is." in text
        assert ("opens on" if phase == "before" else "closed on") in text
    accepted = role == "applicant" and phase == "open"
    assert Submission.objects.count() == (1 if accepted else 0)
    assert application.status == (ApplicationStatus.SUBMITTED if accepted else ApplicationStatus.DRAFT)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_starting_an_application(client, world, role, phase):
    before = Application.objects.count()
    url = reverse("calls:apply", args=[world["call"].code])
    people = world["people"]
    response = _as(client, people, role, phase).post(url, {"organization": _first_org_id(people[role])})
    created = Application.objects.count() - before
    if role == "anonymous":
        assert _is_login_redirect(response)
        assert created == 0
    elif phase == "closed" or role in ("registered", "staff"):
        # Refused with a message on the call page: closed, or nobody to apply for.
        assert response.status_code == 302
        assert response["Location"] == reverse("calls:call-detail", args=[world["call"].code])
        assert created == 0
    elif role == "applicant":
        assert response["Location"] == reverse("calls:application", args=[world["application"].pk])
        assert created == 0  # one application per organization: the existing draft is resumed
    else:
        assert response.status_code == 302 and created == 1
        assert Application.objects.latest("id").organization.memberships.filter(user=people[role]).exists()


def _first_org_id(user):
    if user is None:
        return ""
    membership = user.memberships.first()
    return membership.organization_id if membership else ""


ACCESS = {"anonymous": "login", "registered": 403, "other_applicant": 403, "applicant": 200, "staff": 200}


@pytest.mark.parametrize("phase", ["open", "closed"])
@pytest.mark.parametrize("role", ROLES)
def test_receipt_and_pdf(client, submitted, role, phase):
    application = submitted["application"]
    _as(client, submitted["people"], role, phase)
    for url in (reverse("calls:receipt", args=[application.pk]), reverse("calls:receipt-pdf", args=[application.pk])):
        response = client.get(url)
        expected = ACCESS[role]
        if expected == "login":
            assert _is_login_redirect(response)
        else:
            assert response.status_code == expected
    if ACCESS[role] == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("phase", ["open", "closed"])
@pytest.mark.parametrize("role", ROLES)
def test_downloading_a_private_file(client, submitted, role, phase):
    stored = ApplicationFile.objects.get(application=submitted["application"])
    response = _as(client, submitted["people"], role, phase).get(reverse("calls:file-download", args=[stored.pk]))
    expected = ACCESS[role]
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == 'attachment; filename="plan.pdf"'


MANAGE = {"anonymous": "login", "registered": 403, "other_applicant": 403, "applicant": 403, "staff": 200}


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_manage_page_and_csv_are_for_staff(client, world, role, phase):
    code = world["call"].code
    _as(client, world["people"], role, phase)
    for name in ("calls:manage", "calls:manage-export", "calls:manage-application"):
        args = [code, world["application"].pk] if name == "calls:manage-application" else [code]
        response = client.get(reverse(name, args=args))
        expected = MANAGE[role]
        if expected == "login":
            assert _is_login_redirect(response)
        else:
            assert response.status_code == expected, name


def test_a_draft_call_is_hidden_from_everybody_but_staff(client, db):
    call = build_call(code="MM-DRAFT", publish=False)
    url = reverse("calls:call-detail", args=[call.code])
    assert client.get(url).status_code == 404
    client.force_login(MembershipFactory().user)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(email="office@example.org", is_staff=True))
    assert client.get(url).status_code == 200


def test_withdraw_only_while_open(client, submitted):
    application, applicant = submitted["application"], submitted["people"]["applicant"]
    client.force_login(applicant)
    url = reverse("calls:withdraw", args=[application.pk])
    clock.freeze(PHASES["closed"])
    response = client.post(url, {"reason": "late change"})
    application.refresh_from_db()
    assert response.status_code == 302 and application.status == ApplicationStatus.SUBMITTED
    clock.unfreeze()
    clock.freeze(PHASES["open"] + dt.timedelta(days=1))
    client.force_login(submitted["people"]["other_applicant"])
    assert client.post(url, {"reason": "not mine"}).status_code == 403
    client.force_login(applicant)
    response = client.post(url, {"reason": "We add a partner"})
    application.refresh_from_db()
    assert response.status_code == 302 and application.status == ApplicationStatus.WITHDRAWN
