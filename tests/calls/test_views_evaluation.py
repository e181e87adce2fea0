"""The evaluation pages: role × phase matrix with a frozen clock, effects of each step, downloads, query counts.

Phases: admissibility, review, provisional (appeal window just opened), appeal (an appeal filed),
final (final ranking, preference window open), allocation (awards offered). Roles: anonymous,
applicant, other applicant, commission member, conflicted member, president, staff. Each phase builds
one world; every request runs in a savepoint rolled back afterwards, so the matrix shares it.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from manifattura.calls import domain, evaluation
from manifattura.calls.enums import QuestionKind
from manifattura.calls.enums_evaluation import Admissibility, AppealStatus, CommissionRole, RankingKind
from manifattura.calls.models import (
    AdmissibilityDecision,
    Appeal,
    Application,
    Award,
    Call,
    CommissionMember,
    Concession,
    ConflictDeclaration,
    IntegrationDocument,
    IntegrationRequest,
    Question,
    ReviewAssignment,
    Score,
    SpacePreference,
)
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call, declare_no_conflicts, ready_application
from tests.factories import UserFactory

T0 = clock.rome(2026, 4, 1, 9)
CLOSE = clock.rome(2026, 4, 30, 12)
AFTER = CLOSE + dt.timedelta(hours=1)
PHASES = ("admissibility", "review", "provisional", "appeal", "final", "allocation")
ROLES = ("anonymous", "applicant", "other_applicant", "member", "conflicted", "president", "staff")
# Protocol → (quality, jobs) from every reviewer. Protocol 1 is not fit until its appeal re-scores quality to
# 60: then 3 (90), 2 (80, more jobs), 1 (80), 4 (70, reserve: three spaces).
POINTS = {1: (30, 20), 2: (50, 30), 3: (60, 30), 4: (50, 20)}


def move_clock(instant):
    clock.unfreeze()
    clock.freeze(instant)


@dataclass
class World:
    call: Call
    users: dict
    apps: dict  # protocol → Application
    members: dict  # role → CommissionMember
    integration: IntegrationRequest

    @property
    def target(self) -> Application:
        """The applicant's application (protocol 1); the conflicted member declared a conflict on it."""
        return self.apps[1]

    @property
    def staff(self):
        return self.users["staff"]


def submit_applications(call, count, *, identity_in_answers=False):
    apps, users = {}, {}
    file_question = Question.objects.filter(section__call=call, kind=QuestionKind.FILE).first()
    text_question = Question.objects.get(section__call=call, kind=QuestionKind.SHORT_TEXT)
    for _ in range(count):
        application, user = ready_application(call)
        organization = application.organization
        if identity_in_answers:
            # The identity wherever a careless page could leak it: a text answer and the file's own name.
            domain.application_save_section(application=application, by=user, values={
                str(text_question.pk): f"Lab of {organization.legal_name}, VAT {organization.vat_number}"})
            if file_question:
                domain.application_upload_file(application=application, by=user, question_id=file_question.pk,
                                               name=f"{organization.legal_name} business plan.pdf", content=PDF_BYTES)
        domain.application_submit(application=application, by=user)
        application.refresh_from_db()
        apps[application.current_submission.protocol] = application
        users[application.current_submission.protocol] = user
    return apps, users


def score_everything(call, points=POINTS):
    declare_no_conflicts(call)
    criteria = {c.code: c for c in call.criteria.all()}
    for assignment in ReviewAssignment.objects.filter(application__call=call).select_related(
            "member__user", "application__current_submission"):
        quality, jobs = points[assignment.application.current_submission.protocol]
        for code, value in (("quality", quality), ("jobs", jobs)):
            evaluation.score_set(assignment=assignment, criterion=criteria[code], points=value,
                                 by=assignment.member.user, comment="Reasoned comment")


def make_world(phase: str, *, anonymous: bool = False, code: str = "MM-2026-01", aggregation: str = "mean") -> World:
    """A space call (3 spaces) with 4 submitted applications evaluated up to ``phase``; the clock is left
    frozen inside that phase. A ``consensus`` call goes up to the review at most."""
    assert aggregation != "consensus" or phase in ("admissibility", "review")
    staff = UserFactory(is_staff=True, email=f"office-{code.lower()}@example.org")
    move_clock(T0)
    call = build_call(staff=staff, code=code, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=3,
                      with_file=True, tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "draw"}],
                      reviewers_per_application=2, appeal_days=10, preference_days=5,
                      anonymous_review=anonymous, publish_names=not anonymous, score_aggregation=aggregation)
    apps, applicants = submit_applications(call, 4, identity_in_answers=anonymous)
    move_clock(AFTER)
    people = {role: UserFactory(email=f"{role}-{code.lower()}@example.org") for role in ("president", "member",
                                                                                          "conflicted")}
    members = {role: evaluation.commission_appoint(
        call=call, user=people[role], by=staff,
        role=CommissionRole.PRESIDENT if role == "president" else CommissionRole.MEMBER) for role in people}
    evaluation.conflict_declare(member=members["conflicted"], application=apps[1], has_conflict=True,
                                by=people["conflicted"], note="Former business partner")
    integration = evaluation.integration_request(application=apps[1], items=["Visura camerale"],
                                                 deadline=AFTER + dt.timedelta(days=5), by=staff)
    users = {"anonymous": None, "applicant": applicants[1], "other_applicant": applicants[2], "staff": staff,
             **people}
    world = World(call=call, users=users, apps=apps, members=members, integration=integration)
    if phase == "admissibility":
        for protocol, application in apps.items():
            if protocol not in (1, 3):  # 1 waits for documents, 3 for a decision
                evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
        return world
    evaluation.integration_upload(request=integration, item="Visura camerale", name="visura.pdf", content=PDF_BYTES,
                                  by=applicants[1])
    evaluation.integration_answer(request=integration, by=applicants[1])
    for application in apps.values():
        evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    if phase == "review":
        return world
    score_everything(call)
    evaluation.final_scores_compute(call=call, by=staff)
    evaluation.draw_seed_publish(call=call, seed="lotto-2026-05-02-milano", by=staff)
    evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    if phase == "provisional":
        return world
    move_clock(AFTER + dt.timedelta(days=1))
    appeal = evaluation.appeal_file(application=apps[1], text="Quality was misread", by=applicants[1],
                                    files=[("grounds.pdf", PDF_BYTES)])
    if phase == "appeal":
        return world
    evaluation.appeal_decide(appeal=appeal, accepted=True, decision="Quality re-examined", by=people["president"],
                             rescores={"quality": 60})
    move_clock(AFTER + dt.timedelta(days=11))
    evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)
    if phase == "final":
        return world
    spaces = list(call.offered_spaces.order_by("id"))
    for protocol, application in apps.items():
        evaluation.preferences_set(application=application, space_ids=[s.pk for s in spaces], by=applicants[protocol])
    move_clock(AFTER + dt.timedelta(days=17))
    evaluation.allocation_run(call=call, by=staff)
    return world


def english_client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def request_as(world: World, role: str, method: str, url: str, data=None, *, keep=False):
    """One request as ``role``; its effects are rolled back unless ``keep``."""
    client = english_client(world.users[role])
    if keep:
        return getattr(client, method)(url, data or {})
    with transaction.atomic():
        response = getattr(client, method)(url, data or {})
        transaction.set_rollback(True)
    return response


def outcome_of(response) -> str:
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return "login"
    return str(response.status_code)


# --- who may open which page, in every phase ------------------------------------------------------

# page → {role: expected outcome}; the same in every phase (the pages explain what is possible now).
PAGE_ACCESS = {
    "dashboard": dict(anonymous="login", applicant="403", other_applicant="403", member="403", conflicted="403",
                      president="403", staff="200"),
    "staff_application": dict(anonymous="login", applicant="403", other_applicant="403", member="403",
                              conflicted="403", president="403", staff="200"),
    "review": dict(anonymous="login", applicant="403", other_applicant="403", member="200", conflicted="200",
                   president="200", staff="200"),
    "review_progress": dict(anonymous="login", applicant="403", other_applicant="403", member="403",
                            conflicted="403", president="200", staff="200"),
    "review_application": dict(anonymous="login", applicant="403", other_applicant="403", member="200",
                               conflicted="403", president="200", staff="200"),
    "ranking": dict(anonymous="200", applicant="200", other_applicant="200", member="200", conflicted="200",
                    president="200", staff="200"),
    "outcome": dict(anonymous="login", applicant="200", other_applicant="403", member="403", conflicted="403",
                    president="403", staff="200"),
}


def page_urls(world: World) -> dict:
    code, target = world.call.code, world.target.pk
    return {
        "dashboard": reverse("calls_eval:dashboard", args=[code]),
        "staff_application": reverse("calls_eval:application", args=[code, target]),
        "review": reverse("calls_eval:review", args=[code]),
        "review_progress": reverse("calls_eval:review-progress", args=[code]),
        "review_application": reverse("calls_eval:review-application", args=[code, target]),
        "ranking": reverse("calls_eval:ranking", args=[code]),
        "outcome": reverse("calls_eval:outcome", args=[target]),
    }


@pytest.mark.parametrize("phase", PHASES)
def test_role_phase_matrix(db, phase):
    """Who may open each page (the same in every phase); then the step of the phase works for the role it
    belongs to and is refused to the others."""
    world = make_world(phase)
    urls = page_urls(world)
    got = {(page, role): outcome_of(request_as(world, role, "get", url)) for page, url in urls.items()
           for role in ROLES}
    expected = {(page, role): PAGE_ACCESS[page][role] for page in urls for role in ROLES}
    assert got == expected
    code, target = world.call.code, world.target

    if phase == "admissibility":
        third = world.apps[3]
        url = reverse("calls_eval:admissibility", args=[code, third.pk])
        for role in ("applicant", "member", "president"):
            assert request_as(world, role, "post", url, {"decision": "admitted"}).status_code == 403
        response = request_as(world, "staff", "post", url, {"decision": "not_admitted", "reason": ""})
        assert response.status_code == 200 and b"Write why the application is not admitted" in response.content
        response = request_as(world, "staff", "post", url, {"decision": "admitted"}, keep=True)
        assert response.status_code == 302
        assert evaluation.latest_admissibility(third).decision == Admissibility.ADMITTED
        upload = reverse("calls_eval:outcome-integration-upload", args=[target.pk, world.integration.pk])
        assert request_as(world, "other_applicant", "post", upload, {
            "item": "Visura camerale", "file": SimpleUploadedFile("v.pdf", PDF_BYTES)}).status_code == 403
        response = request_as(world, "applicant", "post", upload, {
            "item": "Something else", "file": SimpleUploadedFile("v.pdf", PDF_BYTES)})
        assert response.status_code == 200 and b"Upload only the documents requested" in response.content
        response = request_as(world, "applicant", "post", upload, {
            "item": "Visura camerale", "file": SimpleUploadedFile("visura.pdf", PDF_BYTES)}, keep=True)
        assert response.status_code == 302 and IntegrationDocument.objects.filter(request=world.integration).exists()
        answer = reverse("calls_eval:outcome-integration-answer", args=[target.pk, world.integration.pk])
        request_as(world, "applicant", "post", answer, keep=True)
        world.integration.refresh_from_db()
        assert world.integration.status == "answered"
        # Still admissibility: opening the review is refused with the reason.
        response = english_client(world.staff).post(reverse("calls_eval:review-open", args=[code]), follow=True)
        assert "1 submitted applications still need an admissibility decision." in response.content.decode()

    elif phase == "review":
        member = world.members["member"]
        assignment = ReviewAssignment.objects.filter(member=member).select_related("application").first()
        application = assignment.application
        scores_url = reverse("calls_eval:review-scores", args=[code, application.pk])
        conflict_url = reverse("calls_eval:review-conflict", args=[code, application.pk])
        criteria = list(world.call.criteria.all())
        points = {f"points_{criteria[0].pk}": "50", f"points_{criteria[1].pk}": "30"}  # above the thresholds
        # Scoring needs the declaration first; a low score needs a comment; a score above the maximum is refused.
        response = request_as(world, "member", "post", scores_url, points, keep=True)
        assert b"Declare first" in response.content and not Score.objects.filter(assignment=assignment).exists()
        request_as(world, "member", "post", conflict_url, {"has_conflict": "no"}, keep=True)
        assert ConflictDeclaration.objects.get(member=member, application=application).has_conflict is False
        low = {f"points_{criteria[0].pk}": "10", f"points_{criteria[1].pk}": "99"}
        response = request_as(world, "member", "post", scores_url, low)
        assert response.status_code == 200
        assert b"needs a comment explaining it" in response.content and b"Score between 0 and 40" in response.content
        response = request_as(world, "member", "post", scores_url, points, keep=True)
        assert response.status_code == 302 and Score.objects.filter(assignment=assignment).count() == 2
        for role in ("applicant", "other_applicant", "staff"):  # only an assigned reviewer scores
            assert request_as(world, role, "post", scores_url, points).status_code == 403
        # The conflicted member can neither declare again nor score the application of the conflict.
        target_scores = reverse("calls_eval:review-scores", args=[code, target.pk])
        assert request_as(world, "conflicted", "post", target_scores, points).status_code == 403
        assert request_as(world, "conflicted", "post", reverse(
            "calls_eval:review-conflict", args=[code, target.pk]), {"has_conflict": "no"}).status_code == 403
        # Staff adjust assignments; a conflicted member is refused with the reason.
        assign_url = reverse("calls_eval:assignment", args=[code, target.pk])
        response = english_client(world.staff).post(assign_url, {
            "member": world.members["conflicted"].pk, "assigned": "1"}, follow=True)
        assert "declared a conflict of interest for the application" in response.content.decode()
        assert not ReviewAssignment.objects.filter(application=target, member=world.members["conflicted"]).exists()

    elif phase == "provisional":
        appeal_url = reverse("calls_eval:outcome-appeal", args=[target.pk])
        assert request_as(world, "other_applicant", "post", appeal_url, {"text": "x"}).status_code == 403
        response = request_as(world, "applicant", "post", appeal_url, {"text": ""})
        assert b"Write the grounds of the appeal." in response.content
        response = request_as(world, "applicant", "post", appeal_url, {
            "text": "Quality was misread", "files": [SimpleUploadedFile("grounds.pdf", PDF_BYTES)]}, keep=True)
        assert response.status_code == 302
        appeal = Appeal.objects.get(application=target)
        assert appeal.files.count() == 1
        # The final ranking waits for the window and for the decision.
        response = request_as(world, "staff", "post", reverse("calls_eval:ranking-publish", args=[code, "final"]),
                              keep=True)
        assert response.status_code == 302 and not world.call.rankings.filter(kind="final").exists()

    elif phase == "appeal":
        appeal = Appeal.objects.get(application=target)
        url = reverse("calls_eval:appeal-decide", args=[code, appeal.pk])
        for role, expected in (("member", 403), ("conflicted", 403), ("applicant", 403), ("anonymous", 302)):
            assert request_as(world, role, "get", url).status_code == expected
        quality = world.call.criteria.get(code="quality")
        response = request_as(world, "president", "post", url, {"accepted": "yes", "decision": ""})
        assert b"Write the decision" in response.content
        response = request_as(world, "president", "post", url, {
            "accepted": "yes", "decision": "Quality re-examined", f"points_{quality.pk}": "60"}, keep=True)
        assert response.status_code == 302
        appeal.refresh_from_db()
        assert appeal.status == AppealStatus.ACCEPTED
        assert target.final_scores.get(criterion=quality).points == 60

    elif phase == "final":
        spaces = list(world.call.offered_spaces.order_by("id"))
        url = reverse("calls_eval:outcome-preferences", args=[target.pk])
        data = {f"space_{spaces[0].pk}": "1", f"space_{spaces[1].pk}": "1"}
        assert b"(1 is used twice)" in request_as(world, "applicant", "post", url, data).content
        assert request_as(world, "other_applicant", "post", url, {f"space_{spaces[0].pk}": "1"}).status_code == 403
        data = {f"space_{spaces[2].pk}": "1", f"space_{spaces[0].pk}": "2"}
        assert request_as(world, "applicant", "post", url, data, keep=True).status_code == 302
        assert list(SpacePreference.objects.filter(application=target).values_list("space_id", flat=True)) == [
            spaces[2].pk, spaces[0].pk]
        text = english_client(world.users["applicant"]).get(reverse("calls_eval:ranking", args=[code])).content
        assert b"Appeal accepted: Quality re-examined" in text  # what changed and why

    elif phase == "allocation":
        award = Award.objects.get(application=target)
        accept = reverse("calls_eval:outcome-award-accept", args=[target.pk, award.pk])
        assert request_as(world, "other_applicant", "post", accept).status_code == 403
        assert request_as(world, "staff", "post", accept).status_code == 403  # staff see, the applicant acts
        assert request_as(world, "applicant", "post", accept, keep=True).status_code == 302
        concession = Concession.objects.get(award=award)
        text = english_client(world.users["applicant"]).get(reverse("calls_eval:outcome", args=[target.pk])).content
        assert b"Monthly fee" in text and concession.space.name.encode() in text
        # The award of protocol 4 (reserve) does not exist: it is told why.
        fourth = world.apps[4]
        text = english_client(world.users["staff"]).get(reverse("calls_eval:outcome", args=[fourth.pk])).content
        assert b"You are on the reserve list" in text


def test_conflicted_member_does_not_see_the_application_in_the_list(db):
    world = make_world("review")
    code = world.call.code
    conflicted = english_client(world.users["conflicted"]).get(reverse("calls_eval:review", args=[code]))
    target_url = reverse("calls_eval:review-application", args=[code, world.target.pk])
    assert target_url.encode() not in conflicted.content
    member = english_client(world.users["member"]).get(reverse("calls_eval:review", args=[code]))
    assert target_url.encode() in member.content
    assert english_client(world.users["conflicted"]).get(target_url).status_code == 403


def test_declaring_a_conflict_removes_the_application_from_the_members_list(db):
    world = make_world("review")
    code = world.call.code
    assignment = ReviewAssignment.objects.filter(member=world.members["member"]).select_related("application").first()
    client = english_client(world.users["member"])
    url = reverse("calls_eval:review-conflict", args=[code, assignment.application_id])
    response = client.post(url, {"has_conflict": "yes", "note": "Related company"})
    assert response.status_code == 302 and response["Location"] == reverse("calls_eval:review", args=[code])
    assert not ReviewAssignment.objects.filter(pk=assignment.pk).exists()
    listing = client.get(reverse("calls_eval:review", args=[code])).content.decode()
    assert reverse("calls_eval:review-application", args=[code, assignment.application_id]) not in listing


def test_staff_walk_through_the_dashboard_from_admissibility_to_conclusion(db):
    """Every step posted from the dashboard, in order; refusals come back as messages."""
    staff = UserFactory(is_staff=True, email="office@example.org")
    move_clock(T0)
    call = build_call(staff=staff, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=2,
                      reviewers_per_application=1, appeal_days=1, preference_days=1, acceptance_days=2,
                      tie_breaks=[{"kind": "draw"}])
    apps, users = submit_applications(call, 2)
    move_clock(AFTER)
    client = english_client(staff)
    code = call.code

    def post(name, data=None, *args):
        response = client.post(reverse(f"calls_eval:{name}", args=[code, *args]), data or {}, follow=True)
        assert response.status_code == 200
        return response.content.decode()

    assert "Appoint the commission first." not in post("review-open") or True
    for application in apps.values():
        post("admissibility", {"decision": "admitted"}, application.pk)
    assert "Appoint the commission first." in post("review-open")
    reviewer = UserFactory(email="reviewer@example.org")
    text = post("commission-appoint", {"email": "nobody@example.org", "role": "member"})
    assert "has an account" in text
    post("commission-appoint", {"email": reviewer.email, "role": CommissionRole.PRESIDENT})
    assert CommissionMember.objects.filter(call=call, user=reviewer, role="president").exists()
    assert "the commission&#x27;s review is open" in post("review-open")
    assert "2 review assignments made." in post("reviews-assign")
    score_everything(call, {1: (50, 30), 2: (40, 30)})
    assert "4 final scores computed" in post("final-scores-compute")
    assert "Publish the draw seed before computing the ranking." in post("ranking-publish", None, "provisional")
    assert "at least 8 characters" in post("draw-seed", {"seed": "short"})
    post("draw-seed", {"seed": "public-draw-seed-2026"})
    text = post("ranking-publish", None, "provisional")
    assert "manifattura verify-ranking --csv ranking-MM-2026-01-provisional.csv" in text
    assert "Verified:" in post("ranking-verify")
    move_clock(AFTER + dt.timedelta(days=2))
    post("ranking-publish", None, "final")
    move_clock(AFTER + dt.timedelta(days=4))
    assert "Allocation done: 0 awards offered" in post("allocation-run")  # nobody stated preferences
    assert "The call is concluded." in post("conclude")
    call.refresh_from_db()
    assert call.stage == "concluded"


def test_staff_application_page_shows_eligibility_and_takes_a_request_for_integration(db):
    world = make_world("admissibility")
    client = english_client(world.staff)
    third = world.apps[3]
    url = reverse("calls_eval:application", args=[world.call.code, third.pk])
    text = client.get(url).content.decode()
    assert third.organization.legal_name in text and "Valid VAT number." in text
    post_url = reverse("calls_eval:integration-request", args=[world.call.code, third.pk])
    response = client.post(post_url, {"items": "", "deadline": "2026-05-01T12:00"})
    assert "Name at least one missing document." in response.content.decode()
    response = client.post(post_url, {"items": "DURC\nVisura", "deadline": "2026-04-30T10:00"})
    assert "The deadline must be in the future." in response.content.decode()
    response = client.post(post_url, {"items": "DURC\nVisura", "deadline": "2026-05-10T12:00"})
    assert response.status_code == 302
    request = IntegrationRequest.objects.get(application=third)
    assert request.items == ["DURC", "Visura"]
    assert request.deadline == clock.rome(2026, 5, 10, 12)
    assert AdmissibilityDecision.objects.filter(application=third, decision="integration").exists()


def test_ranking_csv_is_the_published_text_with_a_bom_and_the_pdf_is_a_pdf(db):
    world = make_world("final")
    ranking = world.call.rankings.get(kind="final")
    client = english_client()
    response = client.get(reverse("calls_eval:ranking-csv", args=[world.call.code, "final"]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content == ("\ufeff" + ranking.csv).encode("utf-8")
    from manifattura.calls import ranking as rk

    assert rk.verify_csv(response.content.decode("utf-8")) == []
    page = client.get(reverse("calls_eval:ranking", args=[world.call.code])).content.decode()
    import hashlib

    assert hashlib.sha256(response.content).hexdigest() in page
    assert ranking.inputs_digest in page and "lotto-2026-05-02-milano" in page
    assert world.target.organization.legal_name in page  # this call publishes names
    pdf = client.get(reverse("calls_eval:ranking-pdf", args=[world.call.code, "provisional"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("calls_eval:ranking-csv", args=[world.call.code, "nonsense"])).status_code == 404


def test_applicant_outcome_shows_scores_comments_and_position_without_reviewer_names(db):
    world = make_world("provisional")
    text = english_client(world.users["applicant"]).get(
        reverse("calls_eval:outcome", args=[world.target.pk])).content.decode()
    assert "Your scores" in text and "Reasoned comment" in text and "Reviewer 1" in text
    assert "is below the minimum of 60" in text
    assert "You can appeal against the provisional ranking until" in text
    for role in ("member", "president", "conflicted"):
        assert world.users[role].email not in text and world.users[role].get_full_name() not in text


# --- query counts: the same for 1 and 3 rows -------------------------------------------------------

def _scored_call(code: str, count: int):
    staff = UserFactory(is_staff=True, email=f"staff-{code.lower()}@example.org")
    move_clock(T0)
    call = build_call(staff=staff, code=code, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=1,
                      reviewers_per_application=2, tie_breaks=[{"kind": "protocol"}])
    apps, _users = submit_applications(call, count)
    move_clock(AFTER)
    reviewers = [UserFactory(email=f"r{i}-{code.lower()}@example.org") for i in range(2)]
    for i, user in enumerate(reviewers):
        evaluation.commission_appoint(call=call, user=user, by=staff,
                                      role=CommissionRole.PRESIDENT if i == 0 else CommissionRole.MEMBER)
    for application in apps.values():
        evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    score_everything(call, dict.fromkeys(apps, (50, 30)))
    evaluation.final_scores_compute(call=call, by=staff)
    evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    return call, staff, reviewers


def _queries(user, url) -> int:
    client = english_client(user)
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_pages_run_the_same_number_of_queries_for_one_and_three_rows(db):
    measured = {}
    for code, count in (("QC-ONE", 1), ("QC-THREE", 3)):
        call, staff, reviewers = _scored_call(code, count)
        measured[count] = {
            "dashboard": _queries(staff, reverse("calls_eval:dashboard", args=[code])),
            "review": _queries(reviewers[1], reverse("calls_eval:review", args=[code])),
            "progress": _queries(reviewers[0], reverse("calls_eval:review-progress", args=[code])),
            "ranking": _queries(None, reverse("calls_eval:ranking", args=[code])),
        }
    assert measured[1] == measured[3], measured
    print("query counts:", measured[1])


# --- final scores and appeals: who and when -------------------------------------------------------

def test_final_scores_pages_refuse_after_the_review_and_a_president_with_a_conflict(db):
    world = make_world("appeal")
    code, target = world.call.code, world.target
    quality = world.call.criteria.get(code="quality")
    url = reverse("calls_eval:final-scores-set", args=[code, target.pk])
    data = {f"points_{quality.pk}": "10", "minutes": "Minutes no. 9", "from": "staff"}
    before = target.final_scores.get(criterion=quality).points
    with transaction.atomic():
        response = english_client(world.staff).post(url, data, follow=True)
        transaction.set_rollback(True)
    assert response.redirect_chain[-1][0].endswith("#final-scores")
    assert "Final scores are set during the commission&#x27;s review" in response.content.decode()
    assert target.final_scores.get(criterion=quality).points == before
    # The president who declares a conflict on the application neither decides its appeal nor re-scores it.
    evaluation.conflict_declare(member=world.members["president"], application=target, has_conflict=True,
                                by=world.users["president"], note="Sister's company")
    appeal = Appeal.objects.get(application=target)
    assert request_as(world, "president", "get", reverse("calls_eval:appeal-decide", args=[code, appeal.pk])
                      ).status_code == 403
    assert request_as(world, "president", "post", url, data).status_code == 403
    assert request_as(world, "staff", "get", reverse("calls_eval:appeal-decide", args=[code, appeal.pk])
                      ).status_code == 200


def test_the_consensus_form_saves_every_criterion_or_none_and_only_on_a_consensus_call(db):
    world = make_world("review", aggregation="consensus")
    code, target = world.call.code, world.apps[2]
    quality, jobs = world.call.criteria.get(code="quality"), world.call.criteria.get(code="jobs")
    url = reverse("calls_eval:final-scores-set", args=[code, target.pk])
    data = {f"points_{quality.pk}": "40", f"points_{jobs.pk}": "999", "minutes": "Minutes no. 5", "from": "staff"}
    response = request_as(world, "staff", "post", url, data, keep=True)
    assert response.status_code == 200
    assert f"Score between 0 and {jobs.max_points}" in response.content.decode()
    assert not target.final_scores.exists()  # the valid criterion was not saved alone
    for role, expected in (("member", 403), ("applicant", 403), ("anonymous", 302)):
        assert request_as(world, role, "post", url, {**data, f"points_{jobs.pk}": "20"}).status_code == expected
    response = request_as(world, "president", "post", url, {**data, f"points_{jobs.pk}": "20"}, keep=True)
    assert response.status_code == 302
    assert {s.criterion.code: s.points for s in target.final_scores.all()} == {"quality": 40, "jobs": 20}

    mean = make_world("review", code="MM-2026-02")  # a mean call: final scores are computed, never entered
    target = mean.apps[2]
    quality = mean.call.criteria.get(code="quality")
    url = reverse("calls_eval:final-scores-set", args=[mean.call.code, target.pk])
    response = english_client(mean.staff).post(url, {f"points_{quality.pk}": "40", "minutes": "Minutes no. 6",
                                                     "from": "staff"}, follow=True)
    assert "computed from the reviews, not entered by consensus" in response.content.decode()
    assert not target.final_scores.exists()
