"""The calls API: role × phase matrix with a frozen clock, for every endpoint (status codes and effects).

Phases: before opening, open, closed. Roles: anonymous, registered without organization, member of
another organization, applicant (member of the applying organization), staff. Every request carries
an API token, as intermediaries' software does.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from manifattura.calls import domain
from manifattura.calls.enums import QuestionKind
from manifattura.calls.models import Application, ApplicationFile, Call, Question, Submission
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.factories import MembershipFactory, UserFactory

T_OPEN = clock.rome(2026, 3, 2, 10, 0)
T_CLOSE = clock.rome(2026, 4, 1, 12, 0)
PHASES = {
    "before": T_OPEN - dt.timedelta(hours=1),
    "open": T_OPEN + dt.timedelta(hours=1),
    "closed": T_CLOSE + dt.timedelta(hours=1),
}
ROLES = ("anonymous", "registered", "other_member", "applicant", "staff")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each world creates five users; the default hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def move_clock(instant):
    clock.unfreeze()
    clock.freeze(instant)


def api(user=None) -> APIClient:
    """A client authenticating with the user's API token (anonymous without a user)."""
    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@dataclass
class World:
    call: Call
    draft_call: Call
    application: Application
    file: ApplicationFile
    users: dict

    @property
    def applicant(self):
        return self.users["applicant"]

    def question(self, kind) -> Question:
        return Question.objects.get(section__call=self.call, kind=kind)


def make_world(*, phase: str = "open", submitted: bool = False) -> World:
    """A published call (open from T_OPEN to T_CLOSE) with a file question, a draft call, and a complete
    application prepared before opening; ``submitted`` submits it once the call is open (if the phase
    comes after opening). The clock is left frozen in ``phase``."""
    staff = UserFactory(is_staff=True, email="staff@example.org")
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(staff=staff, code="MM-2026-01", opens_at=T_OPEN, closes_at=T_CLOSE, with_file=True)
    draft_call = build_call(
        staff=staff, code="MM-2026-99", opens_at=T_OPEN, closes_at=T_CLOSE + dt.timedelta(days=90), publish=False
    )
    move_clock(T_OPEN - dt.timedelta(days=1))  # drafts are prepared before opening
    application, applicant = ready_application(call)
    if submitted and phase != "before":
        move_clock(T_OPEN + dt.timedelta(minutes=30))
        domain.application_submit(application=application, by=applicant)
    move_clock(PHASES[phase])
    users = {
        "anonymous": None,
        "registered": UserFactory(email="registered@example.org"),
        "other_member": MembershipFactory(user=UserFactory(email="other@example.org")).user,
        "applicant": applicant,
        "staff": staff,
    }
    return World(call, draft_call, Application.objects.get(pk=application.pk), application.files.get(), users)


def fingerprint(world: World) -> tuple:
    """Everything a request could change."""
    application = Application.objects.get(pk=world.application.pk)
    call = Call.objects.get(pk=world.call.pk)
    return (
        application.status, application.answers, application.accepted_declarations,
        ApplicationFile.objects.filter(application=application).count(),
        list(Submission.objects.filter(application=application).values_list("protocol", "withdrawn_at")),
        call.closes_at, call.extensions.count(), Call.objects.get(pk=world.draft_call.pk).status,
        Application.objects.count(),
    )


def request(world: World, endpoint: str):
    """(method, path, client keyword arguments) of one endpoint of the matrix."""
    app = f"/api/v1/applications/{world.application.pk}"
    title = world.question(QuestionKind.SHORT_TEXT)
    pdf_question = world.question(QuestionKind.FILE)
    return {
        "call_list": ("get", "/api/v1/calls/", {}),
        "call_detail": ("get", f"/api/v1/calls/{world.call.code}/", {}),
        "draft_call_detail": ("get", f"/api/v1/calls/{world.draft_call.code}/", {}),
        "application_list": ("get", "/api/v1/applications/", {}),
        "application_detail": ("get", f"{app}/", {}),
        "application_create": (
            "post", "/api/v1/applications/",
            {"data": {"call": world.call.code, "organization": world.application.organization_id}, "format": "json"},
        ),
        "answers": ("patch", f"{app}/answers/", {"data": {str(title.pk): "A new title"}, "format": "json"}),
        "declarations": ("put", f"{app}/declarations/", {"data": {"declaration_ids": []}, "format": "json"}),
        "upload": (
            "post", f"{app}/files/",
            {"data": {"question": pdf_question.pk, "file": SimpleUploadedFile("plan-v2.pdf", PDF_BYTES + b"v2")},
             "format": "multipart"},
        ),
        "download": ("get", f"{app}/files/{world.file.pk}/", {}),
        "submit": ("post", f"{app}/submit/", {}),
        "withdraw": ("post", f"{app}/withdraw/", {"data": {"reason": "We found a mistake."}, "format": "json"}),
        "receipt_pdf": ("get", f"{app}/receipt.pdf", {}),
        "publish": ("post", f"/api/v1/calls/{world.draft_call.code}/publish/", {}),
        "extend_deadline": (
            "post", f"/api/v1/calls/{world.call.code}/extend-deadline/",
            {"data": {"closes_at": (T_CLOSE + dt.timedelta(days=10)).isoformat(), "reason": "Portal outage."},
             "format": "json"},
        ),
    }[endpoint]


def each_role(code):
    return dict.fromkeys(ROLES, code)


def applicant_only(per_phase, *, staff=403):
    return {"anonymous": 401, "registered": 404, "other_member": 404, "applicant": per_phase, "staff": staff}


EDIT = {"before": 200, "open": 200, "closed": 409}
EXPECTED = {
    "call_list": each_role(200),
    "call_detail": each_role(200),
    "draft_call_detail": {**each_role(404), "staff": 200},
    "application_list": {**each_role(200), "anonymous": 401},
    "application_detail": applicant_only(200, staff=200),
    # The organization's draft exists already: starting again returns it (200).
    "application_create": {**each_role(403), "anonymous": 401, "applicant": EDIT},
    "answers": applicant_only(EDIT),
    "declarations": applicant_only(EDIT),
    "upload": applicant_only({"before": 201, "open": 201, "closed": 409}),
    "download": applicant_only(200, staff=200),
    "submit": applicant_only({"before": 409, "open": 201, "closed": 409}),
    "withdraw": applicant_only({"before": 409, "open": 200, "closed": 409}),
    "receipt_pdf": applicant_only(
        {"before": 404, "open": 200, "closed": 200}, staff={"before": 404, "open": 200, "closed": 200}
    ),
    "publish": {**each_role(403), "anonymous": 401, "staff": 200},
    "extend_deadline": {**each_role(403), "anonymous": 401, "staff": 200},
}
READS = {"call_list", "call_detail", "draft_call_detail", "application_list", "application_detail", "download",
         "receipt_pdf"}
# These act on a submitted application (submitted once the call opened).
ON_SUBMITTED = {"withdraw", "receipt_pdf"}


def expected_status(endpoint, role, phase):
    expected = EXPECTED[endpoint][role]
    return expected[phase] if isinstance(expected, dict) else expected


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", EXPECTED)
def test_role_phase_matrix(db, endpoint, role, phase):
    world = make_world(phase=phase, submitted=endpoint in ON_SUBMITTED)
    method, path, kwargs = request(world, endpoint)
    before = fingerprint(world)

    response = getattr(api(world.users[role]), method)(path, **kwargs)

    expected = expected_status(endpoint, role, phase)
    assert response.status_code == expected, (endpoint, role, phase, getattr(response, "data", None))
    after = fingerprint(world)
    if endpoint in READS or response.status_code >= 400 or endpoint == "application_create":
        assert after == before, "a read or a refused request changed something"
    else:
        assert after != before, "an accepted write changed nothing"
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", ROLES)
def test_application_list_shows_only_what_the_role_may_see(db, role):
    world = make_world(phase="open")
    MembershipFactory(user=world.users["other_member"])  # a second organization, without applications
    response = api(world.users[role]).get("/api/v1/applications/")
    if role == "anonymous":
        assert response.status_code == 401
        return
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == ([world.application.pk] if role in {"applicant", "staff"} else [])


@pytest.mark.parametrize("phase", PHASES)
def test_effects_of_the_applicants_accepted_requests(db, phase):
    world = make_world(phase=phase)
    client = api(world.applicant)
    app = f"/api/v1/applications/{world.application.pk}"
    title = world.question(QuestionKind.SHORT_TEXT)
    if phase == "closed":
        response = client.patch(f"{app}/answers/", {str(title.pk): "Late"}, format="json")
        assert response.status_code == 409
        assert "closed" in response.json()["detail"]
        return
    response = client.patch(f"{app}/answers/", {str(title.pk): "A new title"}, format="json")
    assert response.json()["answers"][str(title.pk)] == "A new title"
    response = client.put(f"{app}/declarations/", {"declaration_ids": []}, format="json")
    assert response.json()["accepted_declarations"] == []
    assert any(item["question"] is None for item in response.json()["checklist"])
    response = client.post(f"{app}/submit/")
    if phase == "before":
        assert response.status_code == 409
        assert response.json()["code"] == "upcoming"
    else:
        assert response.status_code == 422
        assert response.json()["code"] == "incomplete"
