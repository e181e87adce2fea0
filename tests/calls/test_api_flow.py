"""The calls API end to end: an intermediary filing for firms with a token, idempotent submission,
refusals that keep the draft, file checks, staff actions, visibility, query counts and the schema."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from manifattura.accounts.enums import OrganizationKind
from manifattura.calls import domain
from manifattura.calls.enums import ApplicationStatus, CallKind, QuestionKind, SelectionMode
from manifattura.calls.models import Application, ApplicationFile, Call, Question, Submission
from manifattura.calls.queries import (
    first_come_position,
    first_come_position_fast,
    first_come_resources,
    first_come_resources_by_call,
)
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.calls.test_api import T_CLOSE, T_OPEN, api, move_clock
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

OPEN = T_OPEN + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def open_call(db):
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-01", opens_at=T_OPEN, closes_at=T_CLOSE, with_file=True)
    move_clock(OPEN)
    return call


def question(call, kind) -> Question:
    return Question.objects.get(section__call=call, kind=kind)


def draft_state(application) -> tuple:
    application = Application.objects.get(pk=application.pk)
    return (application.status, application.answers, application.accepted_declarations,
            application.files.count(), application.submissions.count())


# --- an intermediary filing for firms with a token ------------------------------------------------

def test_intermediary_files_for_two_firms_with_a_token_end_to_end(open_call):
    intermediary = UserFactory(email="studio@example.org", password="studio-pass-2026")
    firms = [MembershipFactory(user=intermediary).organization for _ in range(2)]
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "studio@example.org", "password": "studio-pass-2026"})
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    calls = client.get("/api/v1/calls/", {"phase": "open"}).json()["results"]
    assert [c["code"] for c in calls] == [open_call.code]
    detail = client.get(f"/api/v1/calls/{open_call.code}/").json()
    questions = {q["kind"]: q for section in detail["form"]["sections"] for q in section["questions"]}
    declaration_ids = [d["id"] for d in detail["declarations"]]

    receipts = []
    for number, firm in enumerate(firms, start=1):
        created = client.post("/api/v1/applications/", {"call": open_call.code, "organization": firm.pk}, format="json")
        assert created.status_code == 201
        assert created.json()["organization"]["id"] == firm.pk
        app = f"/api/v1/applications/{created.json()['id']}"
        saved = client.patch(f"{app}/answers/", {
            str(questions["short_text"]["id"]): "Fab lab", str(questions["number"]["id"]): "1000",
        }, format="json").json()
        assert list(saved["errors"]) == [str(questions["number"]["id"])]
        assert saved["answers"][str(questions["number"]["id"])] == "1000"  # kept, to be fixed
        saved = client.patch(f"{app}/answers/", {str(questions["number"]["id"]): "12"}, format="json").json()
        assert saved["errors"] == {}
        uploaded = client.post(
            f"{app}/files/", {"question": questions["file"]["id"], "file": SimpleUploadedFile("plan.pdf", PDF_BYTES)},
            format="multipart",
        )
        assert uploaded.status_code == 201
        assert uploaded.json()["sha256"] and uploaded.json()["size"] == len(PDF_BYTES)
        detail = client.put(f"{app}/declarations/", {"declaration_ids": declaration_ids}, format="json").json()
        assert detail["checklist"] == []
        assert detail["actions"] == {"change": True, "submit": True, "withdraw": False}

        submitted = client.post(f"{app}/submit/", HTTP_IDEMPOTENCY_KEY=f"firm-{number}")
        assert submitted.status_code == 201
        receipt = submitted.json()
        assert receipt["protocol"] == number
        assert receipt["protocol_label"] == f"{open_call.code}/{number:06d}"
        receipts.append(receipt)

        pdf = client.get(receipt["receipt_pdf"])
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert b"".join(pdf.streaming_content if pdf.streaming else [pdf.content]).startswith(b"%PDF")
        download = client.get(uploaded.json()["download_url"])
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF_BYTES

    listed = client.get("/api/v1/applications/", {"call": open_call.code}).json()
    assert listed["count"] == 2
    assert {row["current_submission"]["protocol"] for row in listed["results"]} == {1, 2}
    assert Submission.objects.filter(call=open_call).count() == 2


def test_receipt_shows_protocol_instant_with_milliseconds_and_digest(open_call):
    application, user = ready_application(open_call)
    move_clock(OPEN + dt.timedelta(milliseconds=250))
    receipt = api(user).post(f"/api/v1/applications/{application.pk}/submit/").json()
    submission = Submission.objects.get()
    assert receipt["received_at"] == "2026-03-02T11:00:00.250+01:00"
    assert receipt["digest"] == submission.digest == domain.snapshot_digest(submission.snapshot)
    assert receipt["position"] is None  # merit call
    assert receipt["receipt_pdf"].endswith(f"/api/v1/applications/{application.pk}/receipt.pdf")
    again = api(user).get(f"/api/v1/applications/{application.pk}/receipt/").json()
    assert again == receipt
    detail = api(user).get(f"/api/v1/applications/{application.pk}/").json()
    assert detail["receipt"] == receipt
    assert [v["protocol"] for v in detail["versions"]] == [1]


# --- idempotency ---------------------------------------------------------------------------------

def test_the_same_idempotency_key_twice_gives_one_submission_and_the_same_receipt(open_call):
    application, user = ready_application(open_call)
    client = api(user)
    first = client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert Submission.objects.filter(application=application).count() == 1


def test_a_second_submit_without_key_answers_with_the_same_receipt(open_call):
    application, user = ready_application(open_call)
    client = api(user)
    first = client.post(f"/api/v1/applications/{application.pk}/submit/")
    second = client.post(f"/api/v1/applications/{application.pk}/submit/")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["protocol"] == first.json()["protocol"] == 1
    assert Submission.objects.count() == 1


def test_an_idempotency_key_reused_for_another_application_is_refused(open_call):
    application, user = ready_application(open_call)
    other, _user = ready_application(open_call, user=user, organization=OrganizationFactory())
    client = api(user)
    assert client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    response = client.post(f"/api/v1/applications/{other.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert Application.objects.get(pk=other.pk).status == ApplicationStatus.DRAFT


def test_an_overlong_idempotency_key_is_refused(open_call):
    application, user = ready_application(open_call)
    response = api(user).post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k" * 101)
    assert response.status_code == 400
    assert Submission.objects.count() == 0


# --- refusals keep the draft ---------------------------------------------------------------------

def test_submit_before_opening_is_refused_with_409_and_the_draft_unchanged(open_call):
    application, user = ready_application(open_call)
    before = draft_state(application)
    move_clock(T_OPEN - dt.timedelta(seconds=1))
    response = api(user).post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="early")
    assert response.status_code == 409
    assert response.json()["code"] == "upcoming"
    assert response.json()["problems"]
    assert draft_state(application) == before
    move_clock(T_OPEN)  # the same key works once the call opens
    assert api(user).post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="early").status_code == 201


def test_submit_after_closing_is_refused_with_409_and_the_draft_kept(open_call):
    application, user = ready_application(open_call)
    before = draft_state(application)
    move_clock(T_CLOSE)
    response = api(user).post(f"/api/v1/applications/{application.pk}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "closed"
    assert draft_state(application) == before
    detail = api(user).get(f"/api/v1/applications/{application.pk}/").json()
    assert detail["status"] == "draft" and detail["phase"] == "closed"
    assert detail["actions"] == {"change": False, "submit": False, "withdraw": False}


def test_an_incomplete_application_is_refused_with_422_listing_every_problem(open_call):
    membership = MembershipFactory()
    application = domain.application_start(call=open_call, organization=membership.organization, by=membership.user)
    response = api(membership.user).post(f"/api/v1/applications/{application.pk}/submit/")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "incomplete"
    labels = " ".join(body["problems"])
    for expected in ("Project title", "Jobs created", "Business plan (PDF)", "Declaration 1"):
        assert expected in labels
    assert draft_state(application)[0] == ApplicationStatus.DRAFT
    assert Submission.objects.count() == 0


def test_an_ineligible_organization_is_refused_with_422_and_each_failed_rule(db):
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-02", opens_at=T_OPEN, closes_at=T_CLOSE,
                      allowed_organization_kinds=[OrganizationKind.STARTUP], max_organization_age_years=3)
    move_clock(OPEN)
    application, user = ready_application(call, organization=OrganizationFactory(founded_on=dt.date(2010, 5, 1)))
    response = api(user).post(f"/api/v1/applications/{application.pk}/submit/")
    assert response.status_code == 422
    assert response.json()["code"] == "ineligible"
    assert len(response.json()["problems"]) == 2


def test_withdraw_then_submit_again_keeps_both_versions(open_call):
    application, user = ready_application(open_call)
    client = api(user)
    app = f"/api/v1/applications/{application.pk}"
    first = client.post(f"{app}/submit/").json()
    withdrawn = client.post(f"{app}/withdraw/", {"reason": "Wrong figures"}, format="json")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["receipt"] is None
    assert client.post(f"{app}/withdraw/", {}, format="json").status_code == 409
    second = client.post(f"{app}/submit/")
    assert second.status_code == 201
    assert second.json()["protocol"] == 2
    versions = client.get(f"{app}/").json()["versions"]
    assert [v["protocol"] for v in versions] == [1, 2]
    assert versions[0]["withdrawn_at"] and versions[1]["withdrawn_at"] is None
    assert versions[0]["receipt_pdf"].endswith(f"receipt.pdf?submission={first['submission']}")
    old = client.get(versions[0]["receipt_pdf"])
    assert old.status_code == 200 and old.content.startswith(b"%PDF")
    old_json = client.get(f"{app}/receipt/", {"submission": first["submission"]}).json()
    assert old_json["protocol"] == 1 and old_json["withdrawn_at"]


# --- answers and files ---------------------------------------------------------------------------

def test_answers_with_problems_are_saved_and_listed(open_call):
    application, user = ready_application(open_call)
    jobs = question(open_call, QuestionKind.NUMBER)
    response = api(user).patch(
        f"/api/v1/applications/{application.pk}/answers/", {str(jobs.pk): "many", "999999": "x"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body["errors"]) == {str(jobs.pk), "999999"}
    assert body["answers"][str(jobs.pk)] == "many"
    assert [item["question"] for item in body["checklist"]] == [jobs.pk]
    assert Application.objects.get(pk=application.pk).answers[str(jobs.pk)] == "many"


def test_answers_must_be_an_object(open_call):
    application, user = ready_application(open_call)
    response = api(user).patch(f"/api/v1/applications/{application.pk}/answers/", ["x"], format="json")
    assert response.status_code == 400


def test_answers_of_another_section_are_refused_with_the_section_filter(open_call):
    application, user = ready_application(open_call)
    title = question(open_call, QuestionKind.SHORT_TEXT)
    response = api(user).patch(
        f"/api/v1/applications/{application.pk}/answers/?section={title.section_id + 1000}",
        {str(title.pk): "Other"}, format="json",
    )
    assert list(response.json()["errors"]) == [str(title.pk)]


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("plan.pdf", EXECUTABLE, id="renamed-executable"),
        pytest.param("plan.pdf", PDF_BYTES + b" " * (1024 * 1024), id="oversized"),
        pytest.param("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", id="path-trick"),
        pytest.param("plan.exe", EXECUTABLE, id="wrong-type"),
        pytest.param("plan.pdf", b"", id="empty"),
    ],
)
def test_refused_uploads_answer_400_and_store_nothing(open_call, settings, name, content):
    application, user = ready_application(open_call)
    stored_before = {p for p in settings.PRIVATE_MEDIA_ROOT.rglob("*") if p.is_file()}
    response = api(user).post(
        f"/api/v1/applications/{application.pk}/files/",
        {"question": question(open_call, QuestionKind.FILE).pk, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["file"]
    assert ApplicationFile.objects.filter(application=application).count() == 1  # the earlier one only
    assert {p for p in settings.PRIVATE_MEDIA_ROOT.rglob("*") if p.is_file()} == stored_before
    assert not (settings.PRIVATE_MEDIA_ROOT.parent / "etc").exists()


def test_an_upload_for_a_question_that_takes_no_files_is_refused(open_call):
    application, user = ready_application(open_call)
    response = api(user).post(
        f"/api/v1/applications/{application.pk}/files/",
        {"question": question(open_call, QuestionKind.SHORT_TEXT).pk, "file": SimpleUploadedFile("a.pdf", PDF_BYTES)},
        format="multipart",
    )
    assert response.status_code == 400


def test_files_of_an_application_are_not_downloadable_through_another_one(open_call):
    application, user = ready_application(open_call)
    mine, _ = ready_application(open_call, user=user, organization=OrganizationFactory())
    foreign_file = application.files.get()
    assert api(user).get(f"/api/v1/applications/{mine.pk}/files/{foreign_file.pk}/").status_code == 404


# --- session authentication ----------------------------------------------------------------------

def test_session_authentication_needs_the_csrf_token(open_call):
    application, user = ready_application(open_call)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(f"/api/v1/applications/{application.pk}/").status_code == 200
    refused = client.post(f"/api/v1/applications/{application.pk}/submit/")
    assert refused.status_code == 403
    assert Submission.objects.count() == 0
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    accepted = client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_X_CSRFTOKEN=secret)
    assert accepted.status_code == 201


# --- staff actions on calls ----------------------------------------------------------------------

def test_staff_create_a_draft_call_that_stays_invisible_to_others(db, staff, registered):
    move_clock(T_OPEN - dt.timedelta(days=10))
    body = {"code": "MM-2026-07", "kind": "grant", "title": "Grants for makers", "summary": "Co-funding.",
            "opens_at": T_OPEN.isoformat(), "closes_at": T_CLOSE.isoformat(), "grant_budget": "50000.00",
            "allowed_organization_kinds": ["startup", "sme"]}
    assert api(registered).post("/api/v1/calls/", body, format="json").status_code == 403
    created = api(staff).post("/api/v1/calls/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "draft" and created.json()["phase"] == "draft"
    assert created.json()["allowed_organization_kinds"] == ["startup", "sme"]
    changed = api(staff).patch("/api/v1/calls/MM-2026-07/", {"title": "Grants for artisans"}, format="json")
    assert changed.json()["title"] == "Grants for artisans"
    assert api(registered).get("/api/v1/calls/MM-2026-07/").status_code == 404
    assert api().get("/api/v1/calls/").json()["count"] == 0
    assert api(registered).get("/api/v1/calls/", {"phase": "draft"}).json()["count"] == 0
    assert api(staff).get("/api/v1/calls/", {"phase": "draft"}).json()["count"] == 1
    refused = api(staff).post("/api/v1/calls/MM-2026-07/publish/")
    assert refused.status_code == 400
    assert any("rubric" in problem for problem in refused.json()["problems"])
    assert Call.objects.get(code="MM-2026-07").status == "draft"


def test_drafts_of_calls_are_invisible_to_non_staff(db, staff, registered):
    move_clock(T_OPEN - dt.timedelta(days=2))
    build_call(code="MM-2026-98", opens_at=T_OPEN, closes_at=T_CLOSE, publish=False)
    membership = MembershipFactory()
    for user in (None, registered, membership.user):
        assert api(user).get("/api/v1/calls/").json()["count"] == 0
        assert api(user).get("/api/v1/calls/MM-2026-98/").status_code == 404
    refused = api(membership.user).post(
        "/api/v1/applications/", {"call": "MM-2026-98", "organization": membership.organization_id}, format="json"
    )
    assert refused.status_code == 400
    assert api(staff).get("/api/v1/calls/MM-2026-98/").status_code == 200


def test_a_published_call_cannot_be_edited_or_published_again(open_call, staff):
    assert api(staff).patch(f"/api/v1/calls/{open_call.code}/", {"title": "New"}, format="json").status_code == 409
    assert api(staff).post(f"/api/v1/calls/{open_call.code}/publish/").status_code == 409


def test_publishing_a_complete_draft_offers_it(db, staff):
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-05", opens_at=T_OPEN, closes_at=T_CLOSE, publish=False)
    response = api(staff).post(f"/api/v1/calls/{call.code}/publish/")
    assert response.status_code == 200
    assert response.json()["status"] == "published" and response.json()["phase"] == "upcoming"


def test_extending_the_deadline_needs_a_reason_and_a_later_instant(open_call, staff):
    url = f"/api/v1/calls/{open_call.code}/extend-deadline/"
    later = (T_CLOSE + dt.timedelta(days=7)).isoformat()
    assert api(staff).post(url, {"closes_at": later, "reason": "  "}, format="json").status_code == 400
    earlier = api(staff).post(url, {"closes_at": T_OPEN.isoformat(), "reason": "x"}, format="json")
    assert earlier.status_code == 400 and "closes_at" in earlier.json()
    response = api(staff).post(url, {"closes_at": later, "reason": "Portal outage"}, format="json")
    assert response.status_code == 200
    assert response.json()["extensions"][0]["reason"] == "Portal outage"
    assert response.json()["closes_at"] == "2026-04-08T12:00:00+02:00"


# --- what a call shows ---------------------------------------------------------------------------

def test_a_call_shows_rules_rubric_declarations_form_and_spaces(open_call):
    body = api().get(f"/api/v1/calls/{open_call.code}/").json()
    assert body["phase"] == "open" and body["resources"] is None
    assert body["rules"]
    assert body["rubric"]["total"] == "100.00" and len(body["rubric"]["criteria"]) == 2
    assert body["declarations"][0]["text"].startswith("I declare")
    kinds = [q["kind"] for section in body["form"]["sections"] for q in section["questions"]]
    assert kinds == ["short_text", "number", "file"]
    file_question = body["form"]["sections"][0]["questions"][2]
    assert file_question["allowed_file_types"] == ["pdf"] and file_question["max_file_mb"] == 1
    space = body["offered_spaces"][0]
    assert {"id", "name", "site", "surface_m2", "use", "monthly_fee"} <= set(space)
    assert space["site"]["name"]


@pytest.mark.parametrize("kind", [CallKind.SPACE, CallKind.GRANT])
def test_first_come_calls_show_what_is_left_and_receipts_their_position(db, kind):
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-03", kind=kind, mode=SelectionMode.FIRST_COME, opens_at=T_OPEN,
                      closes_at=T_CLOSE, spaces=3)
    move_clock(OPEN)
    receipts = []
    for _ in range(2):
        application, user = ready_application(call)
        receipts.append(api(user).post(f"/api/v1/applications/{application.pk}/submit/").json())
    assert [r["position"] for r in receipts] == [1, 2]
    resources = api().get(f"/api/v1/calls/{call.code}/").json()["resources"]
    listed = api().get("/api/v1/calls/").json()["results"][0]["resources"]
    assert resources == listed
    expected = first_come_resources(call)
    assert first_come_resources_by_call([call])[call.pk] == expected
    if kind == CallKind.SPACE:
        assert resources == {"kind": "spaces", "total": 3, "taken": 2, "left": 1, "submissions": 2}
    else:
        assert resources == {"kind": "budget", "total": "100000.00", "taken": "40000.00", "left": "60000.00",
                             "submissions": 2}
        assert expected["left"] == Decimal("60000.00")


def test_positions_skip_withdrawn_submissions_as_the_full_count_does(db):
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-04", mode=SelectionMode.FIRST_COME, opens_at=T_OPEN, closes_at=T_CLOSE, spaces=5)
    move_clock(OPEN)
    drafts = [ready_application(call) for _ in range(4)]
    for application, user in drafts[:3]:
        api(user).post(f"/api/v1/applications/{application.pk}/submit/")
    first, first_user = drafts[0]
    api(first_user).post(f"/api/v1/applications/{first.pk}/withdraw/", {"reason": "x"}, format="json")
    late, late_user = drafts[3]
    receipt = api(late_user).post(f"/api/v1/applications/{late.pk}/submit/").json()
    assert (receipt["protocol"], receipt["position"]) == (4, 3)
    again = api(first_user).post(f"/api/v1/applications/{first.pk}/submit/").json()
    assert (again["protocol"], again["position"]) == (5, 4)
    for submission in Submission.objects.select_related("call"):
        assert first_come_position_fast(submission) == first_come_position(submission)


def test_the_phase_filter_follows_the_clock(open_call):
    move_clock(T_OPEN - dt.timedelta(seconds=1))
    assert [c["code"] for c in api().get("/api/v1/calls/", {"phase": "upcoming"}).json()["results"]] == ["MM-2026-01"]
    assert api().get("/api/v1/calls/", {"phase": "open"}).json()["count"] == 0
    move_clock(T_CLOSE)
    assert api().get("/api/v1/calls/", {"phase": "closed"}).json()["count"] == 1
    assert api().get("/api/v1/calls/", {"phase": "open"}).json()["count"] == 0


def test_staff_filter_applications_by_call_and_status(open_call, staff):
    submitted, user = ready_application(open_call)
    api(user).post(f"/api/v1/applications/{submitted.pk}/submit/")
    ready_application(open_call)
    client = api(staff)
    assert client.get("/api/v1/applications/", {"call": open_call.code}).json()["count"] == 2
    rows = client.get("/api/v1/applications/", {"status": "submitted"}).json()["results"]
    assert [row["id"] for row in rows] == [submitted.pk]
    assert client.get("/api/v1/applications/", {"call": "nope"}).json()["count"] == 0


def test_starting_an_application_for_a_firm_one_does_not_act_for_is_forbidden(open_call):
    intermediary = MembershipFactory().user
    stranger_firm = OrganizationFactory()
    response = api(intermediary).post(
        "/api/v1/applications/", {"call": open_call.code, "organization": stranger_firm.pk}, format="json"
    )
    assert response.status_code == 403
    assert Application.objects.count() == 0


# --- query counts --------------------------------------------------------------------------------

def _count_queries(client, path, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(queries)


def test_the_application_list_runs_the_same_queries_for_1_and_3_rows(open_call, staff):
    user = UserFactory()
    application, _ = ready_application(open_call, user=user)
    api(user).post(f"/api/v1/applications/{application.pk}/submit/")
    for client in (api(user), api(staff)):
        one = _count_queries(client, "/api/v1/applications/")
        for _ in range(2):
            other, _ = ready_application(open_call, user=user, organization=OrganizationFactory())
            api(user).post(f"/api/v1/applications/{other.pk}/submit/")
        three = _count_queries(client, "/api/v1/applications/")
        assert one == three
    assert len(api(user).get("/api/v1/applications/").json()["results"]) == 5


def test_the_call_list_runs_the_same_queries_for_1_and_3_calls(db):
    move_clock(T_OPEN - dt.timedelta(days=2))
    build_call(code="MM-2026-11", mode=SelectionMode.FIRST_COME, opens_at=T_OPEN, closes_at=T_CLOSE)
    one = _count_queries(api(), "/api/v1/calls/")
    build_call(code="MM-2026-12", opens_at=T_OPEN, closes_at=T_CLOSE, with_file=True, spaces=2)
    build_call(code="MM-2026-13", kind=CallKind.GRANT, mode=SelectionMode.FIRST_COME, opens_at=T_OPEN,
               closes_at=T_CLOSE)
    three = _count_queries(api(), "/api/v1/calls/")
    assert one == three


def test_the_application_detail_runs_a_fixed_number_of_queries(open_call):
    application, user = ready_application(open_call)
    client = api(user)
    first = _count_queries(client, f"/api/v1/applications/{application.pk}/")
    client.post(f"/api/v1/applications/{application.pk}/submit/")
    second = _count_queries(client, f"/api/v1/applications/{application.pk}/")
    assert second <= first + 1  # the receipt's row comes with the application; versions are prefetched


# PostgreSQL: one call of calls_submit_prepared (calls.submit_fast). SQLite: token lookup, idempotency
# check, application row lock, membership, files, submission, application status, audit entry, outbox
# email, protocol counter (three statements), and one indexed count for a first-come position.
SUBMIT_STATEMENTS = {"postgresql": 1, "sqlite": 12}
FIRST_COME_POSITION_STATEMENTS = {"postgresql": 0, "sqlite": 1}
# A retry: the token lookup and the idempotency-key lookup (PostgreSQL: after the fast call says no).
RETRY_STATEMENTS = {"postgresql": 3, "sqlite": 2}


@pytest.mark.parametrize("mode", [SelectionMode.MERIT, SelectionMode.FIRST_COME])
def test_submit_runs_only_the_domain_queries_and_the_token_lookup(db, mode):
    """The click-day endpoint: one database call on PostgreSQL; elsewhere the token lookup and what
    ``application_submit`` needs, plus one indexed count for the position on first-come calls."""
    move_clock(T_OPEN - dt.timedelta(days=2))
    call = build_call(code="MM-2026-08", mode=mode, opens_at=T_OPEN, closes_at=T_CLOSE, with_file=True, spaces=3)
    move_clock(OPEN)
    application, user = ready_application(call)
    client = api(user)
    # Warm the per-process form cache as a running server would have it.
    warm, warm_user = ready_application(call)
    api(warm_user).post(f"/api/v1/applications/{warm.pk}/submit/")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="bench-1")
    assert response.status_code == 201
    work = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    print(f"\nsubmit ({mode}, {connection.vendor}): {len(work)} statements (savepoints left out)")
    for sql in work:
        print("  ", " ".join(sql.split())[:120])
    first_come = mode == SelectionMode.FIRST_COME
    expected = SUBMIT_STATEMENTS[connection.vendor] + first_come * FIRST_COME_POSITION_STATEMENTS[connection.vendor]
    assert len(work) == expected
    with CaptureQueriesContext(connection) as queries:
        retry = client.post(f"/api/v1/applications/{application.pk}/submit/", HTTP_IDEMPOTENCY_KEY="bench-1")
    assert retry.status_code == 200
    assert retry.json() == response.json()
    print(f"retry with the same key: {len(queries)} statements")
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == (
        RETRY_STATEMENTS[connection.vendor] + first_come)


def test_download_errors_are_json_even_when_a_pdf_was_asked_for(open_call):
    application, user = ready_application(open_call)
    client = api(user)
    missing = client.get(f"/api/v1/applications/{application.pk}/receipt.pdf")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert "not been submitted" in missing.json()["detail"]
    asked = client.get(f"/api/v1/applications/{application.pk}/receipt/", HTTP_ACCEPT="application/pdf")
    assert asked.status_code == 404 and asked["Content-Type"] == "application/json"
    gone = client.get(f"/api/v1/applications/{application.pk}/files/999999/", HTTP_ACCEPT="application/pdf")
    assert gone.status_code == 404 and gone["Content-Type"] == "application/json"
    client.post(f"/api/v1/applications/{application.pk}/submit/")
    asked = client.get(f"/api/v1/applications/{application.pk}/receipt/", HTTP_ACCEPT="application/pdf")
    assert asked.status_code == 200 and asked.content.startswith(b"%PDF")
    assert client.get(f"/api/v1/applications/{application.pk}/receipt/").json()["protocol"] == 1
