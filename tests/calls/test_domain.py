"""Setting up calls (publish checks, frozen rules, extensions, copies), eligibility rules, files."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from manifattura.accounts.enums import OrganizationKind
from manifattura.calls import domain, eligibility
from manifattura.calls.enums import CallStatus, QuestionKind, RuleOutcome, SeatRequirement
from manifattura.calls.files import FileRejected, check_upload
from manifattura.calls.models import ApplicationFile, Question, Submission
from manifattura.core import clock
from manifattura.core.models import ActionLog
from manifattura.places.enums import SiteStatus, SpaceAvailability
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.factories import OrganizationFactory, UserFactory


def test_publishing_offers_the_spaces_and_their_sites(db):
    call = build_call()
    space = call.offered_spaces.get()
    assert call.status == CallStatus.PUBLISHED
    assert space.availability == SpaceAvailability.OFFERED
    # The factory's site was "mapped": mapped -> offered is not allowed, so it stays as it was.
    assert space.site.status == SiteStatus.MAPPED
    assert ActionLog.objects.filter(verb="call.publish", object_id=str(call.pk)).exists()


def test_publishing_moves_a_surveyed_site_to_offered(db):
    call = build_call(publish=False)
    site = call.offered_spaces.get().site
    from manifattura.places.models import Site

    Site.objects.filter(pk=site.pk).update(status=SiteStatus.SURVEYED)
    domain.call_publish(call=call, by=UserFactory(is_staff=True))
    site.refresh_from_db()
    assert site.status == SiteStatus.OFFERED


def test_publish_refuses_with_every_problem_listed(db):
    call = build_call(publish=False)
    call.criteria.filter(code="jobs").update(max_points=30)  # 60 + 30 != 100
    call.closes_at = None
    call.save()
    Question.objects.filter(section__call=call).delete()
    with pytest.raises(ValidationError) as refused:
        domain.call_publish(call=call, by=UserFactory(is_staff=True))
    text = " ".join(refused.value.messages)
    assert "opening and the closing" in text
    assert "does not add up" in text
    assert "no questions" in text
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT


def test_a_space_offered_by_another_call_blocks_publishing(db):
    first = build_call(code="C-1")
    second = build_call(code="C-2", publish=False, spaces=0)
    second.offered_spaces.add(first.offered_spaces.get())
    problems = domain.call_publish_problems(second)
    assert any("not available" in p for p in problems)


def test_published_rules_cannot_change_but_the_deadline_can_be_extended_with_reason(db):
    call = build_call()
    staff = UserFactory(is_staff=True)
    with pytest.raises(domain.NotEditable):
        domain.call_update(call=call, by=staff, min_total_score=Decimal("10"))
    with pytest.raises(ValidationError):
        domain.call_extend_deadline(call=call, by=staff, new_closes_at=call.closes_at + dt.timedelta(days=1), reason=" ")
    with pytest.raises(ValidationError):
        domain.call_extend_deadline(call=call, by=staff, new_closes_at=call.closes_at - dt.timedelta(days=1), reason="x")
    old = call.closes_at
    call = domain.call_extend_deadline(
        call=call, by=staff, new_closes_at=old + dt.timedelta(days=7), reason="Portal outage on 3 March"
    )
    assert call.closes_at == old + dt.timedelta(days=7)
    extension = call.extensions.get()
    assert extension.previous_closes_at == old and extension.reason == "Portal outage on 3 March"


def test_copying_a_call_copies_rules_form_rubric_and_declarations(db):
    call = build_call(with_file=True, max_organization_age_years=5)
    copy = domain.call_copy(call=call, by=UserFactory(is_staff=True), code="MM-2027-01")
    assert copy.status == CallStatus.DRAFT and copy.copied_from == call
    assert copy.max_organization_age_years == 5
    assert copy.opens_at is None and copy.closes_at is None
    assert [q.label for q in Question.objects.filter(section__call=copy)] == [
        q.label for q in Question.objects.filter(section__call=call)
    ]
    assert copy.criteria.count() == 2 and copy.declarations.count() == 1
    assert Question.objects.filter(section__call=call).count() == Question.objects.filter(section__call=copy).count()


# --- eligibility: every rule failing alone gives its own message ---------------------------------

def _org(**overrides):
    values = {"kind": OrganizationKind.SME, "founded_on": dt.date(2022, 1, 1), "city": "Milano",
              "operating_city": "Milano"}
    values.update(overrides)
    return OrganizationFactory(**values)


def _rules(**overrides):
    values = {"allowed_organization_kinds": [OrganizationKind.SME, OrganizationKind.STARTUP],
              "max_organization_age_years": 5, "require_valid_vat": True,
              "seat_requirement": SeatRequirement.CITY, "seat_needs_human_check": False}
    values.update(overrides)
    return build_call(publish=False, spaces=0, **values)


ON = dt.date(2026, 6, 1)


def _failed(call, org):
    results = eligibility.evaluate(call, org, on=ON, municipality="Milano")
    return {r.code: r.message for r in results if r.outcome == RuleOutcome.FAILED}


def test_an_eligible_organization_passes_every_rule(db):
    assert _failed(_rules(), _org()) == {}


def test_organization_kind_not_allowed_fails_alone(db):
    failed = _failed(_rules(), _org(kind=OrganizationKind.ASSOCIATION))
    assert list(failed) == ["kind"] and "Association" in failed["kind"]


def test_organization_too_old_fails_alone(db):
    failed = _failed(_rules(), _org(founded_on=dt.date(2019, 5, 31)))
    assert list(failed) == ["age"] and "7 years" in failed["age"]


def test_organization_exactly_at_the_age_limit_passes(db):
    assert _failed(_rules(), _org(founded_on=dt.date(2021, 6, 1))) == {}


def test_missing_founding_date_fails_and_says_what_to_add(db):
    failed = _failed(_rules(), _org(founded_on=None))
    assert list(failed) == ["age"] and "founding date" in failed["age"]


def test_invalid_vat_fails_alone(db):
    org = _org()
    org.vat_number = "12345678901"  # wrong check digit; not saved (the model validator would refuse it)
    failed = _failed(_rules(), org)
    assert list(failed) == ["vat"] and "VAT" in failed["vat"]


def test_seat_outside_the_city_fails_alone(db):
    failed = _failed(_rules(), _org(city="Torino", operating_city="Torino"))
    assert list(failed) == ["seat"] and "Milano" in failed["seat"]


def test_seat_checked_by_a_person_is_accepted_and_marked_for_review(db):
    call = _rules(seat_needs_human_check=True)
    results = eligibility.evaluate(call, _org(city="Torino", operating_city="Torino"), on=ON, municipality="Milano")
    assert {r.code: r.outcome for r in results}["seat"] == RuleOutcome.REVIEW


def test_submission_marked_for_review_when_a_rule_needs_a_human(db):
    call = build_call(seat_requirement=SeatRequirement.PERIPHERY)
    application, user = ready_application(call)
    submission = domain.application_submit(application=application, by=user).submission
    assert submission.needs_review
    assert any(r["outcome"] == RuleOutcome.REVIEW for r in submission.eligibility)


def test_ineligible_submission_is_refused_with_reasons_and_draft_kept(db):
    call = build_call(max_organization_age_years=1)
    application, user = ready_application(call)
    with pytest.raises(domain.SubmissionRefused) as refused:
        domain.application_submit(application=application, by=user)
    assert refused.value.code == "ineligible" and "years" in refused.value.problems[0]
    assert not Submission.objects.exists()


def test_one_application_per_organization(db):
    call = build_call()
    application, user = ready_application(call)
    again = domain.application_start(call=call, organization=application.organization, by=user)
    assert again.pk == application.pk


# --- files ---------------------------------------------------------------------------------------

def test_renamed_executable_as_pdf_is_refused(db):
    with pytest.raises(FileRejected, match="not a real .pdf"):
        check_upload(name="plan.pdf", content=b"MZ\x90\x00" + b"\x00" * 500, allowed_types=("pdf",), max_mb=1)


def test_oversized_file_is_refused(db):
    with pytest.raises(FileRejected, match="limit is 1 MB"):
        check_upload(name="plan.pdf", content=PDF_BYTES + b" " * (1024 * 1024), allowed_types=("pdf",), max_mb=1)


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\boot.ini", "/etc/passwd.pdf", "a/b.pdf"])
def test_path_tricks_in_file_names_are_refused(db, name):
    with pytest.raises(FileRejected, match="not allowed"):
        check_upload(name=name, content=PDF_BYTES, allowed_types=("pdf",), max_mb=1)


def test_wrong_extension_is_refused_with_the_allowed_list(db):
    with pytest.raises(FileRejected, match=r"\.pdf"):
        check_upload(name="photo.png", content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, allowed_types=("pdf",), max_mb=1)


def test_refused_upload_stores_nothing_and_keeps_the_draft(db):
    call = build_call(with_file=True)
    application, user = ready_application(call)
    question = Question.objects.get(section__call=call, kind=QuestionKind.FILE)
    before = dict(application.answers)
    with pytest.raises(FileRejected):
        domain.application_upload_file(application=application, by=user, question_id=question.pk,
                                       name="plan.pdf", content=b"MZ" + b"\x00" * 100)
    application.refresh_from_db()
    assert application.answers == before
    assert ApplicationFile.objects.count() == 1  # the good one from the factory


def test_invalid_answers_are_kept_and_reported(db):
    call = build_call()
    application, user = ready_application(call)
    number = Question.objects.get(section__call=call, label="Jobs created")
    errors = domain.application_save_section(application=application, by=user, values={str(number.pk): "9999"})
    assert "at most 500" in errors[str(number.pk)]
    application.refresh_from_db()
    assert application.answers[str(number.pk)] == "9999"  # nothing typed is lost
    assert any("at most 500" in m.problem for m in domain.application_checklist(application))


def test_drafts_can_be_prepared_before_opening_but_not_for_draft_calls(db):
    with clock.frozen(clock.rome(2026, 1, 10, 9)):
        call = build_call(opens_at=clock.rome(2026, 2, 1, 9), closes_at=clock.rome(2026, 3, 1, 12))
        application, _user = ready_application(call)
        assert application.pk
        draft_call = build_call(code="DRAFT-1", publish=False)
        with pytest.raises(domain.NotEditable):
            domain.application_start(call=draft_call, organization=application.organization, by=_user)
