"""Demo calls: an open call assigning periphery spaces on merit, and an upcoming first-come grant call.

``load()`` is idempotent: a demo call that exists (by code) is left as it is, people and organizations
are matched by email and name. Dates are relative to the moment of loading, so a fresh demo always
has a call open for about 30 days. The offered spaces are the places demo spaces in the periphery
when they exist, else four demo spaces in three demo sites of our own.
"""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction

from manifattura.accounts.enums import MembershipRole, OrganizationKind
from manifattura.accounts.models import Membership, Organization, User
from manifattura.calls import domain
from manifattura.calls.enums import CallKind, QuestionKind, SeatRequirement, SelectionMode
from manifattura.calls.models import Call, CallDocument, Criterion, Declaration, FormSection, Question
from manifattura.core import clock
from manifattura.places.enums import Ownership, SiteStatus, SpaceAvailability, SpaceUse

SPACE_CALL_CODE = "MM-DEMO-01"
GRANT_CALL_CODE = "MM-DEMO-02"
STAFF_EMAIL, STAFF_PASSWORD = "staff@example.org", "demo-staff-2026"
APPLICANT_EMAIL, APPLICANT_PASSWORD = "applicant@example.org", "demo-applicant-2026"
APPLICANT_ORGANIZATION = "Officina Futura S.r.l. (demo)"

DECLARATION_TRUTH = (
    "I declare, under articles 46 and 47 of DPR 445/2000 and aware of the criminal penalties of article 76 "
    "for false declarations, that the information given in this application and in its attachments is true."
)
DECLARATION_STANDING = (
    "I declare, under DPR 445/2000, that the organization is not in liquidation or bankruptcy, is up to date "
    "with tax and social security payments (DURC), and that none of its legal representatives has a "
    "conviction that bars contracts with the public administration."
)

# Our own demo sites, used only when the places demo offers no periphery spaces (ref_code keeps it idempotent).
FALLBACK_SITES = [
    {"ref_code": "DEMO-CALLS-1", "name": "Ex Fonderia Quarto Oggiaro", "address": "Via Pascarella 20, Milano",
     "lon": 9.1372, "lat": 45.5168, "surface": "3400", "spaces": [
         ("Laboratorio A", "180", SpaceUse.LAB, "420"), ("Officina B", "260", SpaceUse.WORKSHOP, "560")]},
    {"ref_code": "DEMO-CALLS-2", "name": "Ex Magazzini Corvetto", "address": "Via Mompiani 5, Milano",
     "lon": 9.2238, "lat": 45.4391, "surface": "1900", "spaces": [("Spazio 1", "140", SpaceUse.LAB, "350")]},
    {"ref_code": "DEMO-CALLS-3", "name": "Ex Officine Lambrate", "address": "Via Rombon 41, Milano",
     "lon": 9.2441, "lat": 45.4857, "surface": "2600", "spaces": [("Capannone C", "320", SpaceUse.WORKSHOP, "690")]},
]


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def _rome_at(day: dt.date, hour: int) -> dt.datetime:
    return clock.rome(day.year, day.month, day.day, hour)


def _valid_vat(serial: int) -> str:
    from stdnum import luhn

    base = f"{serial:07d}015"  # 7-digit serial + a province office code; Luhn check digit
    return base + luhn.calc_check_digit(base)


def ensure_people() -> tuple[User, User, Organization]:
    """The demo staff person, the demo applicant and the organization the applicant acts for."""
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_user(
            STAFF_EMAIL, STAFF_PASSWORD, is_staff=True, is_superuser=True, first_name="Demo", last_name="Staff")
    applicant = User.objects.filter(email=APPLICANT_EMAIL).first()
    if applicant is None:
        applicant = User.objects.create_user(
            APPLICANT_EMAIL, APPLICANT_PASSWORD, first_name="Giulia", last_name="Demo", language="it")
    organization = Organization.objects.filter(legal_name=APPLICANT_ORGANIZATION).first()
    if organization is None:
        founded = clock.local_now().date().replace(day=1) - dt.timedelta(days=3 * 365)
        organization = Organization.objects.create(
            legal_name=APPLICANT_ORGANIZATION, kind=OrganizationKind.STARTUP, vat_number=_valid_vat(4242001),
            address="Via Cesare Lombroso 54", city="Milano", operating_address="Via Pascarella 20",
            operating_city="Milano", founded_on=founded, ateco_code="25.62",
            email="info@officinafutura.example.org", is_demo=True,
        )
    Membership.objects.get_or_create(user=applicant, organization=organization,
                                     defaults={"role": MembershipRole.OWNER})
    return staff, applicant, organization


def _demo_spaces(staff) -> list:
    from manifattura.places.domain import site_change_status, site_create, space_create
    from manifattura.places.models import Site, Space

    spaces = list(
        Space.objects.filter(is_demo=True, availability=SpaceAvailability.AVAILABLE, site__is_periphery=True)
        .select_related("site").order_by("site__name", "name")[:4]
    )
    if len(spaces) >= 3:
        return spaces
    spaces = []
    for spec in FALLBACK_SITES:
        site = Site.objects.filter(ref_code=spec["ref_code"]).first()
        if site is None:
            site = site_create(
                by=staff, geometry={"type": "Point", "coordinates": [spec["lon"], spec["lat"]]},
                ref_code=spec["ref_code"], name=spec["name"], address=spec["address"],
                ownership=Ownership.MUNICIPAL, surface_m2=Decimal(spec["surface"]), is_demo=True,
                description="Demonstration site for the demo calls.",
            )
            site_change_status(site=site, to=SiteStatus.SURVEYED, by=staff, reason="Demo data")
        for name, surface, use, fee in spec["spaces"]:
            space = site.spaces.filter(name=name).first() or space_create(
                site=site, by=staff, name=name, surface_m2=Decimal(surface), use=use,
                monthly_fee=Decimal(fee), is_demo=True,
            )
            if space.availability == SpaceAvailability.AVAILABLE:
                spaces.append(space)
    return spaces


def _document_pdf(title: str, lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"]), Spacer(1, 12)]
    story += [Paragraph(line, styles["BodyText"]) for line in lines]
    SimpleDocTemplate(buffer, pagesize=A4, title=title).build(story)
    return buffer.getvalue()


def _question(section, order, label, kind, **extra):
    return Question.objects.create(section=section, order=order, label=label, kind=kind, **extra)


def _space_call(staff) -> Call:
    today = clock.local_now().date()
    call = domain.call_create(
        by=staff, code=SPACE_CALL_CODE, kind=CallKind.SPACE, selection_mode=SelectionMode.MERIT,
        title="Spaces for makers in the periphery (demo)",
        summary=(
            "Workshops and laboratories in recovered industrial buildings of the periphery, assigned for six "
            "years at a reduced fee to start-ups, small firms, artisans and associations that make things."
        ),
        body=(
            "Art. 1 — Purpose. The City assigns spaces in recovered abandoned sites to organizations that bring "
            "production, jobs and skills to the periphery.\n\n"
            "Art. 2 — What is offered. The spaces listed below, for a six-year concession renewable once, at "
            "the monthly fee shown.\n\n"
            "Art. 3 — Who may apply. Start-ups, small and medium enterprises, artisan businesses and "
            "associations, founded no more than ten years ago, with a valid VAT number and their registered "
            "office or an operating site in Milan.\n\n"
            "Art. 4 — How to apply. Online on this platform, before the deadline. Each organization submits "
            "one application; it may withdraw it and submit again before the deadline.\n\n"
            "Art. 5 — Evaluation. A commission scores the applications with the published criteria; "
            "applications below 60 points are not ranked."
        ),
        contact_email="bandi@example.org", contact_phone="+39 02 0000 0000",
        opens_at=_rome_at(today - dt.timedelta(days=3), 9), closes_at=_rome_at(today + dt.timedelta(days=30), 12),
        allowed_organization_kinds=[OrganizationKind.STARTUP, OrganizationKind.SME, OrganizationKind.ARTISAN,
                                    OrganizationKind.ASSOCIATION],
        max_organization_age_years=10, require_valid_vat=True, seat_requirement=SeatRequirement.CITY,
        one_per_organization=True, rubric_total=Decimal("100"), min_total_score=Decimal("60"), is_demo=True,
    )
    project = FormSection.objects.create(call=call, order=1, title="The project",
                                         help_text="What you will make in the space, for whom and from when.")
    _question(project, 1, "Project title", QuestionKind.SHORT_TEXT, max_length=120)
    _question(project, 2, "Project description", QuestionKind.LONG_TEXT, min_length=100, max_length=3000,
              help_text="What you will produce, for whom, how you will use the space and what it needs.")
    _question(project, 3, "Sector", QuestionKind.SINGLE_CHOICE, choices=[
        "Digital fabrication", "Craft and design", "Circular economy and repair", "Food production",
        "Textiles and fashion", "Other"])
    _question(project, 4, "Planned start date", QuestionKind.DATE, required=False)
    team = FormSection.objects.create(call=call, order=2, title="Team and impact")
    _question(team, 1, "Jobs created in the first two years", QuestionKind.NUMBER, min_value=0, max_value=100,
              help_text="Full-time equivalents, including the founders.")
    _question(team, 2, "Skills in the team", QuestionKind.MULTIPLE_CHOICE, choices=[
        "Design", "Electronics", "Woodworking", "Metalworking", "3D printing", "Textiles", "Software"])
    _question(team, 3, "Is the organization already operating?", QuestionKind.YES_NO)
    documents = FormSection.objects.create(call=call, order=3, title="Documents")
    _question(documents, 1, "Business plan (PDF)", QuestionKind.FILE, allowed_file_types=["pdf"], max_file_mb=5,
              help_text="Three years, with the investment plan for the space.")
    for order, (code, title, points) in enumerate([
        ("quality", "Quality and feasibility of the project", 40),
        ("jobs", "Jobs created", 25),
        ("periphery", "Benefits for the neighbourhood", 20),
        ("team", "Skills of the team", 15),
    ], start=1):
        Criterion.objects.create(call=call, code=code, title=title, max_points=points, order=order)
    Declaration.objects.create(call=call, order=1, text=DECLARATION_TRUTH)
    Declaration.objects.create(call=call, order=2, text=DECLARATION_STANDING)
    document = CallDocument(call=call, title="Call text (PDF, demo)", order=1)
    document.file.save(f"{SPACE_CALL_CODE}.pdf", ContentFile(_document_pdf(call.title, call.body.split("\n\n"))),
                       save=False)
    document.save()
    call.offered_spaces.set(_demo_spaces(staff))
    return domain.call_publish(call=call, by=staff)


def _grant_call(staff) -> Call:
    today = clock.local_now().date()
    call = domain.call_create(
        by=staff, code=GRANT_CALL_CODE, kind=CallKind.GRANT, selection_mode=SelectionMode.FIRST_COME,
        title="Grants for new machines, first come first served (demo)",
        summary=(
            "Grants of up to 20,000 EUR covering half of the cost of new production machines, given in the order "
            "applications are received until the 200,000 EUR budget runs out."
        ),
        body=(
            "Art. 1 — Budget. 200,000 EUR; at most 20,000 EUR per application, covering up to 50% of the cost.\n\n"
            "Art. 2 — Order of service. Eligible applications are served in protocol order until the budget "
            "runs out; the call page shows what is left."
        ),
        contact_email="contributi@example.org",
        opens_at=_rome_at(today + dt.timedelta(days=10), 10), closes_at=_rome_at(today + dt.timedelta(days=40), 12),
        grant_budget=Decimal("200000.00"), grant_max_per_application=Decimal("20000.00"),
        cofinancing_share=Decimal("50.00"),
        allowed_organization_kinds=[OrganizationKind.STARTUP, OrganizationKind.SME, OrganizationKind.ARTISAN],
        max_organization_age_years=None, require_valid_vat=True, seat_requirement=SeatRequirement.CITY,
        one_per_organization=True, rubric_total=Decimal("100"), min_total_score=Decimal("60"), is_demo=True,
    )
    request = FormSection.objects.create(call=call, order=1, title="The request")
    _question(request, 1, "Machine to buy", QuestionKind.SHORT_TEXT, max_length=150)
    _question(request, 2, "Requested amount (EUR)", QuestionKind.NUMBER, min_value=1000, max_value=20000,
              is_requested_amount=True, help_text="At most half of the cost, and at most 20,000 EUR.")
    _question(request, 3, "What the machine will let you make", QuestionKind.LONG_TEXT, max_length=2000)
    _question(request, 4, "Supplier's quote (PDF)", QuestionKind.FILE, allowed_file_types=["pdf"], max_file_mb=5)
    Criterion.objects.create(call=call, code="complete", title="Complete and consistent request", max_points=60, order=1)
    Criterion.objects.create(call=call, code="use", title="Productive use of the machine", max_points=40, order=2)
    Declaration.objects.create(call=call, order=1, text=DECLARATION_TRUTH)
    Declaration.objects.create(call=call, order=2, text=(
        "I declare, under DPR 445/2000, that the organization received less than 300,000 EUR of de minimis "
        "aid in the last three years (Regulation (EU) 2023/2831)."))
    return domain.call_publish(call=call, by=staff)


def load(*, stdout=None) -> dict:
    """Create the demo calls (once) and the demo applicant; returns what was created or found."""
    with transaction.atomic():
        staff, applicant, organization = ensure_people()
        result = {"applicant": applicant, "organization": organization, "created": []}
        for code, build in ((SPACE_CALL_CODE, _space_call), (GRANT_CALL_CODE, _grant_call)):
            call = Call.objects.filter(code=code).first()
            if call is None:
                call = build(staff)
                result["created"].append(code)
                _say(stdout, f"Demo call {code} created: {call.title}")
            else:
                _say(stdout, f"Demo call {code} exists already: left as it is")
            result[code] = call
    _say(stdout, f"Demo applicant: {APPLICANT_EMAIL} / {APPLICANT_PASSWORD} (acts for {organization})")
    from manifattura.calls import demo_evaluation

    result[demo_evaluation.CODE] = demo_evaluation.load(stdout=stdout)
    return result
