"""Demo of a concluded call: commission, scores, provisional ranking, an appeal, final ranking,
allocation with a renounced space passed down the reserve list (scorrimento), and concessions.

The call ran in the past: each step happens with ``core.clock`` frozen at a past instant relative to
the day the demo is loaded, so dates, deadlines and windows are consistent and every page shows a
real history. Every write goes through ``calls.domain`` and ``calls.evaluation``. Idempotent: the call
is matched by its code.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from manifattura.accounts.enums import MembershipRole, OrganizationKind
from manifattura.accounts.models import Membership, Organization, User
from manifattura.calls import domain, evaluation
from manifattura.calls.enums import CallKind, QuestionKind, SeatRequirement, SelectionMode
from manifattura.calls.enums_evaluation import Admissibility, CommissionRole, RankingKind
from manifattura.calls.models import Call, Criterion, Declaration, FormSection, Question, ReviewAssignment
from manifattura.core import clock
from manifattura.places.domain import site_change_status, site_create, space_create
from manifattura.places.enums import Ownership, SiteStatus, SpaceUse
from manifattura.places.models import Site

CODE = "MM-DEMO-00"
COMMISSION_PASSWORD = "demo-commission-2026"
COMMISSION = [
    ("presidente@example.org", "Anna", "Presidente", CommissionRole.PRESIDENT),
    ("commissario1@example.org", "Bruno", "Commissario", CommissionRole.MEMBER),
    ("commissario2@example.org", "Carla", "Commissaria", CommissionRole.MEMBER),
    ("segretario@example.org", "Dario", "Segretario", CommissionRole.SECRETARY),
]
EXTRA_APPLICANTS = [
    ("applicant5@example.org", "Elena", "Saggio", "Ceramiche Niguarda S.r.l. (demo)", OrganizationKind.SME, 4242005, "23.41"),
    ("applicant6@example.org", "Franco", "Modello", "Riparo Lorenteggio Coop. (demo)", OrganizationKind.ASSOCIATION, 4242006, "95.29"),
]
SITE = {
    "ref_code": "DEMO-EVAL-1", "name": "Ex Cartiera Gratosoglio", "address": "Via dei Missaglia 117, Milano",
    "lon": 9.1805, "lat": 45.4102, "surface": "5200",
    "spaces": [("Laboratorio 1", "150", SpaceUse.LAB, "380"), ("Laboratorio 2", "210", SpaceUse.LAB, "470"),
               ("Officina grande", "420", SpaceUse.WORKSHOP, "820")],
}
# Reviewer points per applicant (quality /50, jobs /30, neighbourhood /20) — two reviewers each.
POINTS = [
    ((46, 26, 18), (44, 24, 17)),
    ((40, 25, 15), (42, 25, 16)),
    ((38, 27, 14), (40, 25, 15)),
    ((30, 15, 10), (28, 14, 12)),  # below the minimum of 60: not fit until the appeal
    ((41, 25, 16), (39, 25, 15)),  # ties on total with the second: the jobs criterion decides
    ((20, 10, 8), (22, 12, 7)),
]


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def _at(base: dt.date, days: int, hour: int = 10) -> dt.datetime:
    day = base + dt.timedelta(days=days)
    return clock.rome(day.year, day.month, day.day, hour)


def _people(staff):
    from manifattura.accounts import demo as accounts_demo

    organizations = accounts_demo.load()["organizations"]
    applicants = []
    for organization in organizations:
        membership = organization.memberships.select_related("user").first()
        applicants.append((organization, membership.user))
    today = clock.local_now().date()
    for email, first, last, name, kind, serial, ateco in EXTRA_APPLICANTS:
        organization = Organization.objects.filter(legal_name=name).first()
        if organization is None:
            vat = accounts_demo.demo_vat(serial)
            organization = Organization.objects.create(
                legal_name=name, kind=kind, vat_number=vat, tax_code=vat, city="Milano", operating_city="Milano",
                founded_on=today.replace(day=1) - dt.timedelta(days=365 * 2), ateco_code=ateco, is_demo=True)
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, accounts_demo.APPLICANT_PASSWORD, first_name=first, last_name=last)
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": MembershipRole.OWNER})
        applicants.append((organization, user))
    members = []
    for email, first, last, role in COMMISSION:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, COMMISSION_PASSWORD, first_name=first, last_name=last)
        members.append((user, role))
    return applicants, members


def _spaces(staff):
    site = Site.objects.filter(ref_code=SITE["ref_code"]).first()
    if site is None:
        site = site_create(by=staff, geometry={"type": "Point", "coordinates": [SITE["lon"], SITE["lat"]]},
                           ref_code=SITE["ref_code"], name=SITE["name"], address=SITE["address"],
                           ownership=Ownership.MUNICIPAL, surface_m2=Decimal(SITE["surface"]), is_demo=True,
                           recovery_cost=Decimal("2400000.00"),
                           description="Demo: a former paper mill whose spaces were assigned by the demo call MM-DEMO-00.")
        site_change_status(site=site, to=SiteStatus.SURVEYED, by=staff, reason="Demo survey")
    spaces = []
    for name, surface, use, fee in SITE["spaces"]:
        spaces.append(site.spaces.filter(name=name).first() or space_create(
            site=site, by=staff, name=name, surface_m2=Decimal(surface), use=use, monthly_fee=Decimal(fee), is_demo=True))
    return spaces


def _build_call(staff, base: dt.date, spaces) -> Call:
    call = domain.call_create(
        by=staff, code=CODE, kind=CallKind.SPACE, selection_mode=SelectionMode.MERIT,
        title="Laboratories in the former Gratosoglio paper mill (demo, concluded)",
        summary="Three laboratories assigned on merit for six years to makers who bring jobs to Gratosoglio.",
        body="A concluded demo call: browse its commission, scores, rankings, appeal and allocation.",
        contact_email="bandi@example.org",
        opens_at=_at(base, 0, 9), closes_at=_at(base, 30, 12),
        allowed_organization_kinds=[OrganizationKind.STARTUP, OrganizationKind.SME, OrganizationKind.ARTISAN,
                                    OrganizationKind.ASSOCIATION],
        max_organization_age_years=12, require_valid_vat=True, seat_requirement=SeatRequirement.CITY,
        rubric_total=Decimal("100"), min_total_score=Decimal("60"), is_demo=True,
        reviewers_per_application=2, anonymous_review=True, score_aggregation="mean",
        tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "protocol"}, {"kind": "draw"}],
        appeal_days=10, preference_days=5, acceptance_days=10,
    )
    section = FormSection.objects.create(call=call, order=1, title="The project")
    Question.objects.create(section=section, order=1, label="Project title", kind=QuestionKind.SHORT_TEXT, max_length=120)
    Question.objects.create(section=section, order=2, label="Jobs created in two years", kind=QuestionKind.NUMBER,
                            min_value=0, max_value=100)
    for order, (code, title, points) in enumerate(
            [("quality", "Quality of the project", 50), ("jobs", "Jobs created", 30),
             ("neighbourhood", "Benefits for Gratosoglio", 20)], start=1):
        Criterion.objects.create(call=call, code=code, title=title, max_points=points, order=order)
    Declaration.objects.create(call=call, order=1, text=(
        "I declare, under articles 46 and 47 of DPR 445/2000, that the information given is true."))
    call.offered_spaces.set(spaces)
    return domain.call_publish(call=call, by=staff)


@transaction.atomic
def load(*, stdout=None) -> Call:
    existing = Call.objects.filter(code=CODE).first()
    if existing is not None:
        _say(stdout, f"Demo call {CODE} exists already: left as it is")
        return existing
    from manifattura.accounts.demo import staff_user

    staff = staff_user()
    applicants, members = _people(staff)
    base = clock.local_now().date() - dt.timedelta(days=120)
    with clock.frozen(_at(base, -2)):
        spaces = _spaces(staff)
        call = _build_call(staff, base, spaces)
    projects = ["Ceramic 3D printing lab", "Bicycle repair and reuse", "Textile upcycling atelier",
                "Home automation kits", "Wood and CNC workshop", "Electronics repair café"]
    submitted = []
    for number, (organization, user) in enumerate(applicants):
        with clock.frozen(_at(base, 2 + number, 11)):
            application = domain.application_start(call=call, organization=organization, by=user)
            title, jobs = call.sections.get().questions.order_by("order")
            domain.application_save_section(application=application, by=user, values={
                str(title.pk): projects[number % len(projects)], str(jobs.pk): str(3 + number)})
            domain.application_accept_declarations(application=application, by=user,
                                                   declaration_ids=list(call.declarations.values_list("id", flat=True)))
            domain.application_submit(application=application, by=user)
            application.refresh_from_db()
            submitted.append((application, user))
    with clock.frozen(_at(base, 32)):
        for application, _user in submitted:
            evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff,
                                            reason="Complete and eligible")
        commission = [evaluation.commission_appoint(call=call, user=user, role=role, by=staff) for user, role in members]
        # The second member worked with the last applicant: declared before any assignment.
        evaluation.conflict_declare(member=commission[1], application=submitted[-1][0], has_conflict=True,
                                    by=commission[1].user, note="Consultant to this organization in 2025")
        for member in commission[:3]:
            for application, _user in submitted:
                if not (member == commission[1] and application == submitted[-1][0]):
                    evaluation.conflict_declare(member=member, application=application, has_conflict=False,
                                                by=member.user)
        evaluation.review_open(call=call, by=staff)
        evaluation.reviews_assign(call=call, by=staff)
    with clock.frozen(_at(base, 40)):
        criteria = list(call.criteria.order_by("order"))
        for index, (application, _user) in enumerate(submitted):
            for slot, assignment in enumerate(ReviewAssignment.objects.filter(application=application)
                                              .select_related("member__user").order_by("member_id")):
                for criterion, points in zip(criteria, POINTS[index][slot % 2], strict=True):
                    evaluation.score_set(assignment=assignment, criterion=criterion, points=points,
                                         by=assignment.member.user,
                                         comment=f"{criterion.title}: assessed against the published criterion.")
        evaluation.final_scores_compute(call=call, by=staff)
        evaluation.draw_seed_publish(call=call, seed="demo-draw-ruota-di-milano-1-17-42-63-88", by=staff)
    with clock.frozen(_at(base, 45)):
        evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    with clock.frozen(_at(base, 48)):
        appellant, appellant_user = submitted[3]
        appeal = evaluation.appeal_file(application=appellant, by=appellant_user, text=(
            "The commission did not consider the letters of intent from three local firms, which show the jobs "
            "the project will create."))
    with clock.frozen(_at(base, 53)):
        president = commission[0].user
        evaluation.appeal_decide(appeal=appeal, accepted=True, by=president, rescores={"jobs": 24, "quality": 36},
                                 decision="The letters of intent were in the file: jobs and quality re-scored.")
    with clock.frozen(_at(base, 56)):
        evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)
        winners = evaluation.winners(call)
        order = [spaces[2].pk, spaces[1].pk, spaces[0].pk]
        for entry in winners:
            user = next(u for a, u in submitted if a.pk == entry.application_id)
            evaluation.preferences_set(application=entry.application, space_ids=order, by=user)
    with clock.frozen(_at(base, 62)):
        evaluation.allocation_run(call=call, by=staff)
    with clock.frozen(_at(base, 64)):
        from manifattura.calls.models import Award

        awards = list(Award.objects.filter(call=call).select_related("application").order_by("id"))
        renouncer = awards[1]
        user = next(u for a, u in submitted if a.pk == renouncer.application_id)
        evaluation.award_renounce(award=renouncer, by=user, reason="The team moved to another city")
    with clock.frozen(_at(base, 66)):
        for award in Award.objects.filter(call=call, status="offered").select_related("application"):
            user = next(u for a, u in submitted if a.pk == award.application_id)
            evaluation.award_accept(award=award, by=user)
        evaluation.call_conclude(call=call, by=staff)
    _say(stdout, f"Demo call {CODE} created: concluded with commission, rankings, an appeal and concessions "
                 f"(commission logins: {', '.join(email for email, *_ in COMMISSION)} / {COMMISSION_PASSWORD})")
    return call
