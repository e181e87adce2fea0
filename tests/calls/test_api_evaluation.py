"""The evaluation API: role × phase matrix with a frozen clock, anonymity, conflicts, query counts, errors.

Phases: admissibility, review, provisional (appeal window just opened), appeal (an appeal filed, window
open), final (final ranking, preference window open), allocation (awards offered). Roles: anonymous,
applicant, other applicant, commission member, conflicted member, president, staff. Every request
authenticates with an API token; each one runs in a savepoint rolled back afterwards, so the whole
matrix of a phase runs on one world.
"""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from manifattura.calls import domain, evaluation
from manifattura.calls.enums import QuestionKind
from manifattura.calls.enums_evaluation import Admissibility, CommissionRole, RankingKind
from manifattura.calls.models import (
    Appeal,
    Application,
    Award,
    Call,
    ConflictDeclaration,
    IntegrationRequest,
    Question,
    ReviewAssignment,
)
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call, declare_no_conflicts, ready_application
from tests.factories import UserFactory

T0 = clock.rome(2026, 4, 1, 9)
CLOSE = clock.rome(2026, 4, 30, 12)
AFTER = CLOSE + dt.timedelta(hours=1)
PHASES = ("admissibility", "review", "provisional", "appeal", "final", "allocation")
ROLES = ("anonymous", "applicant", "other_applicant", "member", "conflicted", "president", "staff")
# Protocol → (quality, jobs), the same from every reviewer. Protocol 1 (the applicant) is not fit until
# its appeal re-scores quality to 60: then 3 (90), 2 (80, jobs 30), 1 (80, jobs 20), 4 (70, reserve).
POINTS = {1: (30, 20), 2: (50, 30), 3: (60, 30), 4: (50, 20)}
MISSING = 999999


def move_clock(instant):
    clock.unfreeze()
    clock.freeze(instant)


_shared_client: list[APIClient] = []


class api:  # noqa: N801 - used like a client: api(user).get(...)
    """A client acting as ``user`` with their API token (anonymous without a user).

    Every instance drives one shared test client: a new client would build the middleware again, and
    WhiteNoise scans every static file when it starts.
    """

    def __init__(self, user=None):
        self.authorization = None
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            self.authorization = f"Token {token.key}"

    def __getattr__(self, method):
        if not _shared_client:
            _shared_client.append(APIClient())
        client = _shared_client[0]

        def send(*args, **kwargs):
            client.cookies.clear()
            # The tests read the English source texts; the platform's default language is Italian.
            headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
            if self.authorization:
                headers["HTTP_AUTHORIZATION"] = self.authorization
            client.credentials(**headers)
            return getattr(client, method)(*args, **kwargs)

        return send


@dataclass
class World:
    call: Call
    users: dict
    apps: dict  # protocol → Application
    members: dict  # role name → CommissionMember
    integration: IntegrationRequest
    phase: str
    extra: dict = field(default_factory=dict)

    @property
    def target(self) -> Application:
        """The applicant's application (protocol 1)."""
        return self.apps[1]

    @property
    def staff(self):
        return self.users["staff"]

    def assignment(self, role="member") -> ReviewAssignment | None:
        return ReviewAssignment.objects.filter(application=self.target, member=self.members[role]).first()

    def appeal(self) -> Appeal | None:
        return Appeal.objects.filter(application=self.target).first()

    def award(self) -> Award | None:
        return Award.objects.filter(application=self.target).first()


def _submit_applications(call, count, *, anonymous_names=False):
    apps, users = {}, {}
    file_question = Question.objects.filter(section__call=call, kind=QuestionKind.FILE).first()
    text_question = Question.objects.get(section__call=call, kind=QuestionKind.SHORT_TEXT)
    for _ in range(count):
        application, user = ready_application(call)
        org = application.organization
        if anonymous_names:
            # Identity everywhere a careless API could leak it: a text answer and the file's own name.
            domain.application_save_section(application=application, by=user, values={
                str(text_question.pk): f"Lab of {org.legal_name}, VAT {org.vat_number}"})
            if file_question:
                domain.application_upload_file(application=application, by=user, question_id=file_question.pk,
                                               name=f"{org.legal_name} plan.pdf", content=PDF_BYTES)
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


def make_world(phase: str, *, anonymous: bool = False, code: str = "MM-2026-01", applications: int = 4,
               aggregation: str = "mean") -> World:
    """A space call (3 spaces) with 4 submitted applications, evaluated up to ``phase``; the clock is left
    frozen inside that phase. A ``consensus`` call goes up to the review at most (its final scores are
    entered, not computed)."""
    assert aggregation != "consensus" or phase in ("admissibility", "review")
    staff = UserFactory(is_staff=True, email=f"office-{code.lower()}@example.org")
    move_clock(T0)
    call = build_call(staff=staff, code=code, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=3,
                      with_file=True, tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "draw"}],
                      reviewers_per_application=2, appeal_days=10, preference_days=5,
                      anonymous_review=anonymous, publish_names=not anonymous, score_aggregation=aggregation)
    apps, applicants = _submit_applications(call, applications, anonymous_names=anonymous)
    move_clock(AFTER)
    people = {role: UserFactory(email=f"{role}-{code.lower()}@example.org")
              for role in ("president", "member", "conflicted")}
    members = {
        "president": evaluation.commission_appoint(call=call, user=people["president"], role=CommissionRole.PRESIDENT,
                                                   by=staff),
        "member": evaluation.commission_appoint(call=call, user=people["member"], role=CommissionRole.MEMBER, by=staff),
        "conflicted": evaluation.commission_appoint(call=call, user=people["conflicted"], role=CommissionRole.MEMBER,
                                                    by=staff),
    }
    target = apps[1]
    evaluation.conflict_declare(member=members["conflicted"], application=target, has_conflict=True,
                                by=people["conflicted"], note="Former business partner")
    integration = evaluation.integration_request(application=target, items=["Visura camerale"],
                                                 deadline=AFTER + dt.timedelta(days=5), by=staff)
    users = {"anonymous": None, "applicant": applicants[1], "other_applicant": applicants.get(2), "staff": staff,
             **people}
    world = World(call=call, users=users, apps=apps, members=members, integration=integration, phase=phase)
    if phase == "admissibility":
        for protocol, application in apps.items():
            if protocol not in (1, 3):  # 1 waits for documents, 3 for a decision
                evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
        world.call.refresh_from_db()
        return world
    evaluation.integration_upload(request=integration, item="Visura camerale", name="visura.pdf", content=PDF_BYTES,
                                  by=applicants[1])
    evaluation.integration_answer(request=integration, by=applicants[1])
    for application in apps.values():
        evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    declare_no_conflicts(call)  # the reviewers declare before scoring
    if phase == "review":
        world.call.refresh_from_db()
        return world
    score_everything(call)
    evaluation.final_scores_compute(call=call, by=staff)
    evaluation.draw_seed_publish(call=call, seed="lotto-2026-05-02-milano", by=staff)
    evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    if phase == "provisional":
        world.call.refresh_from_db()
        return world
    move_clock(AFTER + dt.timedelta(days=1))
    org = target.organization
    grounds = (f"{org.legal_name} (VAT {org.vat_number}): quality was misread", f"{org.legal_name} grounds.pdf") \
        if anonymous else ("Quality was misread", "grounds.pdf")
    appeal = evaluation.appeal_file(application=target, text=grounds[0], by=applicants[1],
                                    files=[(grounds[1], PDF_BYTES)])
    if phase == "appeal":
        world.call.refresh_from_db()
        return world
    evaluation.appeal_decide(appeal=appeal, accepted=True, decision="Quality re-examined", by=people["president"],
                             rescores={"quality": 60})
    move_clock(AFTER + dt.timedelta(days=11))
    evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)
    spaces = list(call.offered_spaces.order_by("id"))
    for protocol, application in apps.items():
        evaluation.preferences_set(application=application, space_ids=[s.pk for s in spaces],
                                   by=applicants[protocol])
    if phase == "final":
        world.call.refresh_from_db()
        return world
    move_clock(AFTER + dt.timedelta(days=17))
    evaluation.allocation_run(call=call, by=staff)
    world.call.refresh_from_db()
    return world


def submitted_file(application) -> int:
    """The id of the file the current submission holds (a replaced file stays stored, unsubmitted)."""
    answers = application.current_submission.snapshot["answers"]
    return next(a["value"][0]["id"] for a in answers if a["kind"] == QuestionKind.FILE)


def call_api(world: World, role: str, method: str, path: str, **kwargs):
    """One request as ``role``, rolled back afterwards (the world stays as built)."""
    with transaction.atomic():
        response = getattr(api(world.users[role]), method)(path, **kwargs)
        transaction.set_rollback(True)
    return response


# --- the role × phase matrix ---------------------------------------------------------------------

COMMISSION = ("member", "conflicted", "president")


def by_role(default: int, **statuses) -> dict:
    """{role: status}: ``default`` for every signed-in role not named, 401 for the anonymous."""
    table = {role: default for role in ROLES}
    table["anonymous"] = 401
    table.update(statuses)
    return table


def only(role_statuses: dict, others: int) -> dict:
    return by_role(others, **role_statuses)


def in_phases(statuses: dict, otherwise: int) -> dict:
    """{phase: status} for the phases named, ``otherwise`` in the others."""
    return {phase: statuses.get(phase, otherwise) for phase in PHASES}


def expected(endpoint: str, phase: str) -> dict:
    """The status every role gets from ``endpoint`` in ``phase``."""
    ranked = phase not in ("admissibility", "review")
    appealed = phase in ("appeal", "final", "allocation")
    reviewing = phase != "admissibility"
    public = {role: (200 if ranked else 404) for role in ROLES}
    staff_step = lambda statuses, otherwise: only(  # noqa: E731
        {"staff": in_phases(statuses, otherwise)[phase]}, 403)
    applicant_step = lambda statuses, otherwise: only(  # noqa: E731
        {"applicant": in_phases(statuses, otherwise)[phase], "staff": 403}, 404)
    table = {
        # public
        "rankings_list": {role: 200 for role in ROLES},
        "ranking_detail": public,
        "ranking_csv": public,
        "ranking_publish": staff_step({}, 409),  # review: final scores missing; later: not at this stage
        # staff and the president
        "progress": only({"staff": 200, "president": 200}, 403),
        "commission_list": only({"staff": 200, **{r: 200 for r in COMMISSION}}, 403),
        "staff_list": only({"staff": 200}, 403),
        "staff_detail": only({"staff": 200, "president": 403}, 404),
        "admissibility": only({"staff": 200 if phase == "admissibility" else 409, "president": 403}, 404),
        "integration_request": only({"staff": 201 if phase == "admissibility" else 409, "president": 403}, 404),
        "assignment_adjust": only({"staff": 400 if phase == "review" else 409, "president": 403}, 404),
        # A mean call's final scores are computed, never entered (consensus calls: see below).
        "final_scores": only({"staff": 409, "president": 409}, 404),
        "open_review": staff_step({"review": 200}, 409),
        "assign_reviewers": staff_step({"review": 200}, 409),
        "compute_final_scores": staff_step({}, 409),
        "draw_seed": staff_step({"admissibility": 200, "review": 200}, 409),
        "run_allocation": staff_step({}, 409),
        "expire_awards": staff_step({}, 200),
        "appeals_list": by_role(200),
        "appeal_detail": only({"staff": 200, "president": 200} if appealed else {}, 404),
        "appeal_decide": only({r: (200 if phase == "appeal" else 409) for r in ("staff", "president")}
                              if appealed else {}, 404),
        # the commission
        "reviews_list": by_role(200),
        "review_detail": only({"member": 200} if reviewing else {}, 404),
        "review_scores": only({"member": 200 if phase == "review" else 409} if reviewing else {}, 404),
        "commission_apps": by_role(200),
        "commission_app_detail": only({"staff": 200, "member": 200, "president": 200, "conflicted": 403}, 404),
        "commission_file": only({"staff": 200, "member": 200, "president": 200, "conflicted": 403}, 404),
        "conflict_declare": only({"member": 200, "president": 200, "conflicted": 400, "staff": 403}, 404),
        # applicants
        "outcome": only({"applicant": 200, "staff": 200}, 404),
        "integration_upload": applicant_step({"admissibility": 201}, 409),
        "integration_answer": applicant_step({"admissibility": 400}, 409),  # admissibility: nothing uploaded
        "appeal_file": applicant_step({"provisional": 201, "appeal": 201}, 409),
        "preferences": applicant_step({"final": 200}, 409),
        "awards_list": by_role(200),
        "award_accept": only({"applicant": 200, "staff": 403} if phase == "allocation" else {}, 404),
        "award_renounce": only({"applicant": 200, "staff": 403} if phase == "allocation" else {}, 404),
    }[endpoint]
    return table


def endpoint_request(world: World, endpoint: str):
    """(method, path, client keyword arguments) of one endpoint of the matrix."""
    call = f"/api/v1/calls/{world.call.code}"
    target = world.target
    third = world.apps[3]
    assignment = world.assignment()
    appeal = world.appeal()
    award = world.award()
    file_id = submitted_file(target)
    spaces = list(world.call.offered_spaces.order_by("-id").values_list("id", flat=True))
    outcome = f"/api/v1/outcomes/{target.pk}"
    request_id = world.integration.pk
    json = {"format": "json"}
    return {
        "rankings_list": ("get", f"{call}/rankings/", {}),
        "ranking_detail": ("get", f"{call}/rankings/provisional/", {}),
        "ranking_csv": ("get", f"{call}/rankings/provisional/csv", {}),
        "ranking_publish": ("post", f"{call}/rankings/", {"data": {"kind": "provisional"}, **json}),
        "progress": ("get", f"{call}/evaluation/progress/", {}),
        "commission_list": ("get", f"{call}/commission/", {}),
        "staff_list": ("get", f"/api/v1/evaluation/applications/?call={world.call.code}", {}),
        "staff_detail": ("get", f"/api/v1/evaluation/applications/{target.pk}/", {}),
        "admissibility": ("post", f"/api/v1/evaluation/applications/{third.pk}/admissibility/",
                          {"data": {"decision": "admitted"}, **json}),
        "integration_request": ("post", f"/api/v1/evaluation/applications/{third.pk}/integration-requests/",
                                {"data": {"items": ["DURC"], "deadline": (AFTER + dt.timedelta(days=60)).isoformat()},
                                 **json}),
        "assignment_adjust": ("post", f"/api/v1/evaluation/applications/{target.pk}/assignments/",
                              {"data": {"member": world.members["conflicted"].pk, "assigned": True}, **json}),
        "final_scores": ("put", f"/api/v1/evaluation/applications/{target.pk}/final-scores/",
                         {"data": {"quality": {"points": 40, "minutes": "Minutes no. 2"}}, **json}),
        "open_review": ("post", f"{call}/evaluation/open-review/", {}),
        "assign_reviewers": ("post", f"{call}/evaluation/assign-reviewers/", {}),
        "compute_final_scores": ("post", f"{call}/evaluation/compute-final-scores/", {}),
        "draw_seed": ("post", f"{call}/evaluation/draw-seed/", {"data": {"seed": "another-public-seed"}, **json}),
        "run_allocation": ("post", f"{call}/evaluation/run-allocation/", {}),
        "expire_awards": ("post", f"{call}/evaluation/expire-awards/", {}),
        "appeals_list": ("get", f"/api/v1/appeals/?call={world.call.code}", {}),
        "appeal_detail": ("get", f"/api/v1/appeals/{appeal.pk if appeal else MISSING}/", {}),
        "appeal_decide": ("post", f"/api/v1/appeals/{appeal.pk if appeal else MISSING}/decide/",
                          {"data": {"accepted": False, "decision": "The scores stand."}, **json}),
        "reviews_list": ("get", "/api/v1/reviews/", {}),
        "review_detail": ("get", f"/api/v1/reviews/{assignment.pk if assignment else MISSING}/", {}),
        "review_scores": ("put", f"/api/v1/reviews/{assignment.pk if assignment else MISSING}/scores/",
                          {"data": {"quality": {"points": 50}}, **json}),
        "commission_apps": ("get", f"/api/v1/reviews/applications/?call={world.call.code}", {}),
        "commission_app_detail": ("get", f"/api/v1/reviews/applications/{target.pk}/", {}),
        "commission_file": ("get", f"/api/v1/reviews/applications/{target.pk}/files/{file_id}/", {}),
        "conflict_declare": ("post", f"/api/v1/reviews/applications/{target.pk}/conflict/",
                             {"data": {"has_conflict": False}, **json}),
        "outcome": ("get", f"{outcome}/", {}),
        "integration_upload": ("post", f"{outcome}/integration/{request_id}/documents/",
                               {"data": {"item": "Visura camerale", "file": SimpleUploadedFile("v.pdf", PDF_BYTES)},
                                "format": "multipart"}),
        "integration_answer": ("post", f"{outcome}/integration/{request_id}/answer/", {}),
        "appeal_file": ("post", f"{outcome}/appeals/", {"data": {"text": "Jobs were misread"}, **json}),
        "preferences": ("put", f"{outcome}/preferences/", {"data": {"space_ids": spaces}, **json}),
        "awards_list": ("get", "/api/v1/awards/", {}),
        "award_accept": ("post", f"/api/v1/awards/{award.pk if award else MISSING}/accept/", {}),
        "award_renounce": ("post", f"/api/v1/awards/{award.pk if award else MISSING}/renounce/",
                           {"data": {"reason": "Moved abroad"}, **json}),
    }[endpoint]


ENDPOINTS = (
    "rankings_list", "ranking_detail", "ranking_csv", "ranking_publish", "progress", "commission_list", "staff_list",
    "staff_detail", "admissibility", "integration_request", "assignment_adjust", "final_scores", "open_review",
    "assign_reviewers", "compute_final_scores", "draw_seed", "run_allocation", "expire_awards", "appeals_list",
    "appeal_detail", "appeal_decide", "reviews_list", "review_detail", "review_scores", "commission_apps",
    "commission_app_detail", "commission_file", "conflict_declare", "outcome", "integration_upload",
    "integration_answer", "appeal_file", "preferences", "awards_list", "award_accept", "award_renounce",
)


@pytest.mark.parametrize("phase", PHASES)
def test_every_role_gets_what_the_rules_allow_in_every_phase(db, phase):
    world = make_world(phase)
    mismatches = []
    for endpoint in ENDPOINTS:
        want = expected(endpoint, phase)
        for role in ROLES:
            method, path, kwargs = endpoint_request(world, endpoint)  # a fresh upload each time
            response = call_api(world, role, method, path, **kwargs)
            if response.status_code != want[role]:
                body = response.content[:160] if not getattr(response, "streaming", False) else b"<file>"
                mismatches.append(f"{endpoint} as {role}: {response.status_code} (want {want[role]}) {body!r}")
    assert mismatches == [], "\n".join(mismatches)


# --- anonymity ------------------------------------------------------------------------------------

def raw(response) -> bytes:
    """Everything a client receives: headers and body (files included)."""
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.items()).encode()
    return (headers + b"\n" + body).lower()


def identities(world: World) -> list[bytes]:
    """What must never reach a reviewer of an anonymous call: names, VAT numbers, original file names."""
    needles = []
    for application in world.apps.values():
        org = application.organization
        needles += [org.legal_name, org.vat_number]
        needles += list(application.files.values_list("original_name", flat=True))
    for appeal in Appeal.objects.filter(application__call=world.call).prefetch_related("files"):
        needles += [f.original_name for f in appeal.files.all()]
    return [n.lower().encode() for n in needles if n]


def test_anonymous_call_leaks_no_identity_to_reviewers_but_staff_see_it(db):
    world = make_world("appeal", anonymous=True)
    needles = identities(world)
    target = world.target
    file_id = submitted_file(target)
    appeal = world.appeal()
    appeal_file = appeal.files.get()
    member = world.users["member"]
    assignment = world.assignment()
    gets = [
        "/api/v1/reviews/",
        f"/api/v1/reviews/applications/?call={world.call.code}", f"/api/v1/reviews/applications/{target.pk}/",
        f"/api/v1/reviews/applications/{target.pk}/files/{file_id}/",
        f"/api/v1/calls/{world.call.code}/commission/", f"/api/v1/calls/{world.call.code}/rankings/",
        f"/api/v1/calls/{world.call.code}/rankings/provisional/",
        f"/api/v1/calls/{world.call.code}/rankings/provisional/csv",
    ]
    president_gets = gets + [f"/api/v1/reviews/{world.assignment('president').pk}/",
        f"/api/v1/calls/{world.call.code}/evaluation/progress/", f"/api/v1/appeals/?call={world.call.code}",
        f"/api/v1/appeals/{appeal.pk}/", f"/api/v1/appeals/{appeal.pk}/files/{appeal_file.pk}/",
    ]
    responses = {}
    for role, paths in (("member", [*gets, f"/api/v1/reviews/{assignment.pk}/"]), ("president", president_gets)):
        for path in paths:
            responses[(role, "GET", path)] = call_api(world, role, "get", path)
    responses[("member", "POST", "conflict")] = call_api(
        world, "member", "post", f"/api/v1/reviews/applications/{target.pk}/conflict/",
        data={"has_conflict": False, "note": "None"}, format="json")
    with transaction.atomic():  # scores are written in the review stage: step back to it for this request
        Call.objects.filter(pk=world.call.pk).update(stage="review")
        responses[("member", "PUT", "scores")] = api(member).put(
            f"/api/v1/reviews/{assignment.pk}/scores/", {"quality": {"points": 41, "comment": "Solid"}}, format="json")
        transaction.set_rollback(True)
    for key, response in responses.items():
        assert response.status_code in (200, 201), (key, response.status_code, raw(response)[:300])
        leaked = [n for n in needles if n in raw(response)]
        assert leaked == [], (key, leaked)
    review = responses[("member", "GET", f"/api/v1/reviews/{assignment.pk}/")].json()
    assert review["label"] == "Application #1" and review["content"]["organization"] is None
    assert review["content"]["files"][0]["name"].startswith("application-1-q")
    answers = {a["kind"]: a["value"] for a in review["content"]["answers"]}
    assert answers["short_text"] == "Lab of […], VAT […]"
    download = call_api(world, "member", "get", f"/api/v1/reviews/applications/{target.pk}/files/{file_id}/")
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert 'filename="application-1-q' in download["Content-Disposition"]
    assert responses[("member", "PUT", "scores")].json()["scores"]["quality"]["points"] == "41.00"

    # Staff see who applied, everywhere.
    org = target.organization
    staff_views = [
        call_api(world, "staff", "get", f"/api/v1/reviews/applications/{target.pk}/"),
        call_api(world, "staff", "get", f"/api/v1/evaluation/applications/{target.pk}/"),
        call_api(world, "staff", "get", f"/api/v1/appeals/{appeal.pk}/"),
    ]
    assert all(org.legal_name.lower().encode() in raw(r) for r in staff_views)
    assert all(org.vat_number.encode() in raw(r) for r in staff_views[:2])
    assert target.files.get(pk=file_id).original_name.lower().encode() in raw(staff_views[0])
    assert appeal_file.original_name.lower().encode() in raw(staff_views[2])
    staff_download = call_api(world, "staff", "get", f"/api/v1/reviews/applications/{target.pk}/files/{file_id}/")
    assert org.legal_name in staff_download["Content-Disposition"]


def test_the_applications_file_download_serves_only_the_applicant_and_staff_under_the_original_name(db):
    """``applications/<id>/files/<id>/`` is not the commission's way to a file (that is
    ``reviews/applications/<id>/files/<id>/``): on an anonymous call it must not give them the original name."""
    world = make_world("review", anonymous=True)
    target = world.target
    stored = target.files.get(pk=submitted_file(target))
    path = f"/api/v1/applications/{target.pk}/files/{stored.pk}/"
    for role in COMMISSION:
        assert call_api(world, role, "get", path).status_code == 404
    for role in ("applicant", "staff"):
        response = call_api(world, role, "get", path)
        assert response.status_code == 200 and stored.original_name in response["Content-Disposition"]


# --- conflicts of interest -------------------------------------------------------------------------

def test_a_conflicted_member_is_refused_and_absent_from_every_list(db):
    world = make_world("review")
    target, member = world.target, world.users["member"]
    conflicted = api(world.users["conflicted"])
    assert conflicted.get(f"/api/v1/reviews/applications/{target.pk}/").status_code == 403
    file_id = submitted_file(target)
    assert conflicted.get(f"/api/v1/reviews/applications/{target.pk}/files/{file_id}/").status_code == 403
    listed = conflicted.get(f"/api/v1/reviews/applications/?call={world.call.code}").json()["results"]
    assert target.pk not in [row["id"] for row in listed] and len(listed) == 3
    assert target.pk not in [row["application"] for row in conflicted.get("/api/v1/reviews/").json()["results"]]

    # A member who scored and then declares a conflict loses the assignment and its scores.
    reviewer = api(member)
    assignment = world.assignment()
    assert reviewer.put(f"/api/v1/reviews/{assignment.pk}/scores/", {"quality": {"points": 50}},
                        format="json").status_code == 200
    response = reviewer.post(f"/api/v1/reviews/applications/{target.pk}/conflict/",
                             {"has_conflict": True, "note": "My cousin's firm"}, format="json")
    assert response.status_code == 200
    assert reviewer.get(f"/api/v1/reviews/{assignment.pk}/").status_code == 404
    assert reviewer.put(f"/api/v1/reviews/{assignment.pk}/scores/", {"quality": {"points": 50}},
                        format="json").status_code == 404
    assert reviewer.get(f"/api/v1/reviews/applications/{target.pk}/").status_code == 403
    assert target.pk not in [row["application"] for row in reviewer.get("/api/v1/reviews/").json()["results"]]
    withdrawn = reviewer.post(f"/api/v1/reviews/applications/{target.pk}/conflict/", {"has_conflict": False},
                              format="json")
    assert withdrawn.status_code == 400 and "has_conflict" in withdrawn.json()
    staff = api(world.staff)
    refused = staff.post(f"/api/v1/evaluation/applications/{target.pk}/assignments/",
                         {"member": world.members["member"].pk, "assigned": True}, format="json")
    assert refused.status_code == 400 and "member" in refused.json()
    reviewers = {r["user"]["id"]: r for r in staff.get(f"/api/v1/calls/{world.call.code}/evaluation/progress/")
                 .json()["reviewers"]}
    assert reviewers[member.pk]["conflicts"] == 1


def test_another_members_conflict_does_not_hide_the_application(db):
    world = make_world("admissibility")
    reviewer = api(world.users["member"])
    assert reviewer.post(f"/api/v1/reviews/applications/{world.target.pk}/conflict/", {"has_conflict": False},
                         format="json").status_code == 200
    listed = reviewer.get(f"/api/v1/reviews/applications/?call={world.call.code}").json()["results"]
    assert world.target.pk in [row["id"] for row in listed]


def test_scores_through_the_api_need_the_no_conflict_declaration_first(db):
    world = make_world("review")
    member, assignment = world.members["member"], world.assignment()
    ConflictDeclaration.objects.filter(member=member, application=world.target).delete()  # not declared yet
    reviewer = api(member.user)
    path = f"/api/v1/reviews/{assignment.pk}/scores/"
    response = reviewer.put(path, {"quality": {"points": 50}, "jobs": {"points": 30}}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Declare first that you have no conflict of interest with this applicant."
    assert not assignment.scores.exists()
    assert reviewer.post(f"/api/v1/reviews/applications/{world.target.pk}/conflict/", {"has_conflict": False},
                         format="json").status_code == 200
    assert reviewer.put(path, {"quality": {"points": 50}, "jobs": {"points": 30}}, format="json").status_code == 200
    assert assignment.scores.count() == 2


def test_a_president_with_a_conflict_may_not_set_final_scores_on_that_application(db):
    world = make_world("review", aggregation="consensus")
    president, target, other = world.users["president"], world.target, world.apps[2]
    evaluation.conflict_declare(member=world.members["president"], application=target, has_conflict=True,
                                by=president, note="Sister's company")
    assert not president.has_perm("calls.set_final_score", target)
    assert not president.has_perm("calls.decide_appeal", target)
    assert president.has_perm("calls.set_final_score", other) and world.staff.has_perm("calls.set_final_score", target)
    body = {"quality": {"points": 40, "minutes": "Minutes no. 2"}}
    response = call_api(world, "president", "put", f"/api/v1/evaluation/applications/{target.pk}/final-scores/",
                        data=body, format="json")
    assert response.status_code == 403
    assert call_api(world, "president", "put", f"/api/v1/evaluation/applications/{other.pk}/final-scores/",
                    data=body, format="json").status_code == 200
    quality = world.call.criteria.get(code="quality")
    with pytest.raises(PermissionError, match="declared a conflict of interest"):
        evaluation.final_score_set(application=target, criterion=quality, points=40, minutes="Minutes no. 2",
                                   by=president)
    assert not target.final_scores.exists()


def test_a_president_with_a_conflict_may_not_decide_that_application_s_appeal(db):
    world = make_world("appeal")
    president, appeal = world.users["president"], world.appeal()
    evaluation.conflict_declare(member=world.members["president"], application=world.target, has_conflict=True,
                                by=president, note="Sister's company")
    assert not president.has_perm("calls.decide_appeal", world.target)
    response = call_api(world, "president", "post", f"/api/v1/appeals/{appeal.pk}/decide/",
                        data={"accepted": False, "decision": "The scores stand."}, format="json")
    assert response.status_code in (403, 404)
    with pytest.raises(PermissionError, match="declared a conflict of interest"):
        evaluation.appeal_decide(appeal=appeal, accepted=False, decision="The scores stand.", by=president)
    appeal.refresh_from_db()
    assert appeal.status == "filed"
    # Staff still decide it.
    response = call_api(world, "staff", "post", f"/api/v1/appeals/{appeal.pk}/decide/",
                        data={"accepted": False, "decision": "The scores stand."}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("phase", ["provisional", "allocation"])
def test_consensus_scores_are_refused_after_the_review(db, phase):
    world = make_world(phase)
    target, quality = world.target, world.call.criteria.get(code="quality")
    before = target.final_scores.get(criterion=quality).points
    response = call_api(world, "staff", "put", f"/api/v1/evaluation/applications/{target.pk}/final-scores/",
                        data={"quality": {"points": 10, "minutes": "Minutes no. 9"}}, format="json")
    assert response.status_code == 409
    assert "Final scores are set during the commission's review" in response.json()["detail"]
    with pytest.raises(domain.NotEditable, match="only by accepting an appeal"):
        evaluation.final_score_set(application=target, criterion=quality, points=10, minutes="Minutes no. 9",
                                   by=world.staff)
    if phase == "allocation":  # an appeal's re-score, too, only while appeals are decided (before the final)
        with pytest.raises(domain.NotEditable):
            evaluation.final_score_set(application=target, criterion=quality, points=10, minutes="Appeal",
                                       method=evaluation.APPEAL_RESCORE, by=world.staff)
    assert target.final_scores.get(criterion=quality).points == before


def test_final_scores_are_entered_by_consensus_only_where_the_call_says_so(db):
    world = make_world("review")  # a mean call: its final scores are computed from the reviews
    target = world.target
    path = f"/api/v1/evaluation/applications/{target.pk}/final-scores/"
    response = call_api(world, "staff", "put", path, data={"quality": {"points": 40, "minutes": "Minutes no. 1"}},
                        format="json")
    assert response.status_code == 409
    assert "computed from the reviews, not entered by consensus" in response.json()["detail"]
    with pytest.raises(domain.NotEditable, match="Mean of the reviewers"):
        evaluation.final_score_set(application=target, criterion=world.call.criteria.get(code="quality"), points=40,
                                   minutes="Minutes no. 1", by=world.staff)
    assert not target.final_scores.exists()

    consensus = make_world("review", code="MM-2026-02", aggregation="consensus")
    path = f"/api/v1/evaluation/applications/{consensus.target.pk}/final-scores/"
    body = {"quality": {"points": 40, "minutes": "Minutes no. 2"}, "jobs": {"points": 20, "minutes": "Minutes no. 2"}}
    expected = only({"staff": 200, "president": 200}, 404)
    for role in ROLES:
        assert call_api(consensus, role, "put", path, data=body, format="json").status_code == expected[role], role


def test_consensus_scores_are_saved_for_every_criterion_or_none(db):
    world = make_world("review", aggregation="consensus")
    target, staff = world.target, world.users["staff"]
    path = f"/api/v1/evaluation/applications/{target.pk}/final-scores/"
    response = api(staff).put(path, {"quality": {"points": 40, "minutes": "Minutes no. 3"},
                                     "jobs": {"points": 999, "minutes": "Minutes no. 3"}}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"jobs"}
    assert not target.final_scores.exists()  # the valid criterion was not kept alone
    # A criterion of another call is refused by the domain, whoever passes it.
    other = make_world("review", code="MM-2026-03", aggregation="consensus")
    with pytest.raises(DjangoValidationError, match="not a criterion of this call"):
        evaluation.final_score_set(application=target, criterion=other.call.criteria.get(code="quality"), points=10,
                                   minutes="Minutes no. 4", by=staff)
    response = api(staff).put(path, {"quality": {"points": 40, "minutes": "Minutes no. 3"},
                                     "jobs": {"points": 20, "minutes": "Minutes no. 3"}}, format="json")
    assert response.status_code == 200
    assert {s.criterion.code: s.points for s in target.final_scores.all()} == {"quality": 40, "jobs": 20}
    assert all(s.method == "consensus" and s.minutes == "Minutes no. 3" for s in target.final_scores.all())


# --- query counts ----------------------------------------------------------------------------------

def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


def test_my_reviews_cost_the_same_queries_for_one_or_several_assignments(db):
    world = make_world("review")
    reviewer = api(world.users["conflicted"])
    ReviewAssignment.objects.filter(member=world.members["conflicted"]).exclude(
        application=world.apps[2]).delete()
    assert len(reviewer.get("/api/v1/reviews/").json()["results"]) == 1
    one = count_queries(reviewer, "/api/v1/reviews/")
    for protocol in (3, 4):
        evaluation.review_assignment_set(application=world.apps[protocol], member=world.members["conflicted"],
                                         assigned=True, by=world.staff)
    assert len(reviewer.get("/api/v1/reviews/").json()["results"]) == 3
    assert count_queries(reviewer, "/api/v1/reviews/") == one


def test_ranking_entries_cost_the_same_queries_for_one_or_several_entries(db):
    small = make_world("provisional", code="MM-2026-02", applications=1)
    large = make_world("provisional", code="MM-2026-03", applications=4)
    anonymous = api()
    counts = []
    for world in (small, large):
        path = f"/api/v1/calls/{world.call.code}/rankings/provisional/"
        assert len(anonymous.get(path).json()["entries"]) == len(world.apps)
        counts.append(count_queries(anonymous, path))
    assert counts[0] == counts[1]


# --- errors ---------------------------------------------------------------------------------------

def test_domain_refusals_map_to_400_by_field_409_and_403(db, monkeypatch):
    world = make_world("review")
    staff, member = api(world.staff), api(world.users["member"])
    third = world.apps[3]
    # ValidationError → 400 naming the field (here: the reason an exclusion needs) …
    Call.objects.filter(pk=world.call.pk).update(stage="admissibility")
    response = staff.post(f"/api/v1/evaluation/applications/{third.pk}/admissibility/", {"decision": "not_admitted"},
                          format="json")
    assert response.status_code == 400 and list(response.json()) == ["reason"]
    Call.objects.filter(pk=world.call.pk).update(stage="review")
    # … and, for scores, under the criterion's code; nothing is saved when one criterion is refused.
    assignment = world.assignment()
    response = member.put(f"/api/v1/reviews/{assignment.pk}/scores/", {
        "jobs": {"points": 30}, "quality": {"points": 61}, "wit": {"points": 1}}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"quality", "wit"} and "points" in response.json()["quality"]
    assert not assignment.scores.exists()
    response = member.put(f"/api/v1/reviews/{assignment.pk}/scores/", {"quality": {"points": 10}}, format="json")
    assert response.status_code == 400 and "comment" in response.json()["quality"]
    response = member.put(f"/api/v1/reviews/{assignment.pk}/scores/", {"quality": {"points": "many"}}, format="json")
    assert response.status_code == 400 and "points" in response.json()["quality"]
    assert member.put(f"/api/v1/reviews/{assignment.pk}/scores/", [], format="json").status_code == 400
    # NotEditable → 409 with the reason.
    response = staff.post(f"/api/v1/calls/{world.call.code}/evaluation/compute-final-scores/")
    assert response.status_code == 409 and "scores" in response.json()["detail"]
    # PermissionError from the domain → 403.
    def refuse(**kwargs):
        raise PermissionError("Only programme staff may do this.")
    monkeypatch.setattr(evaluation, "awards_expire", refuse)
    response = staff.post(f"/api/v1/calls/{world.call.code}/evaluation/expire-awards/")
    assert response.status_code == 403 and response.json()["detail"] == "Only programme staff may do this."
    # Unknown things are 404, anonymous writes 401.
    assert api().post(f"/api/v1/calls/{world.call.code}/rankings/", {"kind": "final"}).status_code == 401
    assert api().get("/api/v1/calls/NOPE/rankings/").status_code == 404
    assert api().get(f"/api/v1/calls/{world.call.code}/rankings/draft/").status_code == 404
