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
    CommissionMember,
    IntegrationRequest,
    Question,
    ReviewAssignment,
)
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call, ready_application
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
            client.credentials(**({"HTTP_AUTHORIZATION": self.authorization} if self.authorization else {}))
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
    criteria = {c.code: c for c in call.criteria.all()}
    for assignment in ReviewAssignment.objects.filter(application__call=call).select_related(
            "member__user", "application__current_submission"):
        quality, jobs = points[assignment.application.current_submission.protocol]
        for code, value in (("quality", quality), ("jobs", jobs)):
            evaluation.score_set(assignment=assignment, criterion=criteria[code], points=value,
                                 by=assignment.member.user, comment="Reasoned comment")


def make_world(phase: str, *, anonymous: bool = False, code: str = "MM-2026-01", applications: int = 4) -> World:
    """A space call (3 spaces) with 4 submitted applications, evaluated up to ``phase``; the clock is left
    frozen inside that phase."""
    staff = UserFactory(is_staff=True, email=f"office-{code.lower()}@example.org")
    move_clock(T0)
    call = build_call(staff=staff, code=code, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=3,
                      with_file=True, tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "draw"}],
                      reviewers_per_application=2, appeal_days=10, preference_days=5,
                      anonymous_review=anonymous, publish_names=not anonymous)
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
    appeal = evaluation.appeal_file(application=target, text="Quality was misread", by=applicants[1],
                                    files=[("grounds.pdf", PDF_BYTES)])
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


def call_api(world: World, role: str, method: str, path: str, **kwargs):
    """One request as ``role``, rolled back afterwards (the world stays as built)."""
    with transaction.atomic():
        response = getattr(api(world.users[role]), method)(path, **kwargs)
        transaction.set_rollback(True)
    return response
