"""After the close: admissibility, commission, conflicts, scores, ranking, appeals, allocation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from manifattura.calls import domain, evaluation
from manifattura.calls.enums import CallKind
from manifattura.calls.enums_evaluation import (
    Admissibility,
    AppealStatus,
    AwardStatus,
    CallStage,
    CommissionRole,
    RankingKind,
)
from manifattura.calls.models import Award, Concession, FinalScore, ReviewAssignment, Score
from manifattura.core import clock
from manifattura.core.models import ActionLog
from manifattura.places.enums import SpaceAvailability
from tests.calls.factories import PDF_BYTES, build_call, declare_no_conflicts, ready_application
from tests.factories import UserFactory

T0 = clock.rome(2026, 4, 1, 9)
CLOSE = clock.rome(2026, 4, 30, 12)
AFTER = CLOSE + dt.timedelta(hours=1)


@pytest.fixture
def closed_call(db):
    """A space call with 3 spaces and 4 submitted applications, the clock after the close."""
    staff = UserFactory(is_staff=True, email="office@example.org")
    with clock.frozen(T0):
        call = build_call(staff=staff, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=3,
                          tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "draw"}],
                          reviewers_per_application=2, appeal_days=10, preference_days=5)
        applicants = []
        for _ in range(4):
            application, user = ready_application(call)
            domain.application_submit(application=application, by=user)
            application.refresh_from_db()
            applicants.append((application, user))
    clock.freeze(AFTER)
    return call, staff, applicants


def _commission(call, staff):
    users = [UserFactory(email=f"reviewer{i}@example.org") for i in range(3)]
    members = [
        evaluation.commission_appoint(call=call, user=users[0], role=CommissionRole.PRESIDENT, by=staff),
        evaluation.commission_appoint(call=call, user=users[1], role=CommissionRole.MEMBER, by=staff),
        evaluation.commission_appoint(call=call, user=users[2], role=CommissionRole.MEMBER, by=staff),
    ]
    return members


def _admit_all(call, staff, applicants):
    for application, _user in applicants:
        evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)


def _score_all(call, points_by_protocol):
    declare_no_conflicts(call)
    criteria = list(call.criteria.all())
    for assignment in ReviewAssignment.objects.filter(application__call=call).select_related(
            "member__user", "application__current_submission"):
        quality, jobs = points_by_protocol[assignment.application.current_submission.protocol]
        for criterion, points in zip(criteria, (quality, jobs), strict=True):
            evaluation.score_set(assignment=assignment, criterion=criterion, points=points,
                                 by=assignment.member.user, comment="Reasoned comment")


def test_excluding_needs_a_reason_and_evaluation_waits_for_the_close(closed_call):
    call, staff, applicants = closed_call
    application, _user = applicants[0]
    with pytest.raises(ValidationError):
        evaluation.admissibility_decide(application=application, decision=Admissibility.NOT_ADMITTED, by=staff)
    evaluation.admissibility_decide(application=application, decision=Admissibility.NOT_ADMITTED, by=staff,
                                    reason="Missing the chamber of commerce registration")
    call.refresh_from_db()
    assert call.stage == CallStage.ADMISSIBILITY
    clock.unfreeze()
    with clock.frozen(CLOSE - dt.timedelta(minutes=1)), pytest.raises(domain.NotEditable):
        evaluation.admissibility_decide(application=applicants[1][0], decision=Admissibility.ADMITTED, by=staff)


def test_integration_request_accepts_only_the_named_documents_before_the_deadline(closed_call):
    call, staff, applicants = closed_call
    application, user = applicants[0]
    request = evaluation.integration_request(application=application, items=["Visura camerale"],
                                             deadline=AFTER + dt.timedelta(days=5), by=staff, message="Please")
    with pytest.raises(ValidationError):
        evaluation.integration_upload(request=request, item="Something else", name="x.pdf", content=PDF_BYTES, by=user)
    with pytest.raises(ValidationError):
        evaluation.integration_answer(request=request, by=user)
    evaluation.integration_upload(request=request, item="Visura camerale", name="visura.pdf", content=PDF_BYTES, by=user)
    evaluation.integration_answer(request=request, by=user)
    assert evaluation.latest_admissibility(application).decision == Admissibility.INTEGRATION
    evaluation.admissibility_decide(application=application, decision=Admissibility.ADMITTED, by=staff)
    assert evaluation.latest_admissibility(application).decision == Admissibility.ADMITTED
    request2 = evaluation.integration_request(application=applicants[1][0], items=["DURC"],
                                              deadline=AFTER + dt.timedelta(days=1), by=staff)
    with clock.frozen(AFTER + dt.timedelta(days=2)), pytest.raises(domain.NotEditable):
        evaluation.integration_upload(request=request2, item="DURC", name="d.pdf", content=PDF_BYTES, by=applicants[1][1])


def test_conflicted_reviewer_is_never_assigned_and_cannot_score(closed_call):
    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    president, m1, m2 = _commission(call, staff)
    target = applicants[0][0]
    evaluation.conflict_declare(member=m1, application=target, has_conflict=True, by=m1.user, note="Former partner")
    evaluation.review_open(call=call, by=staff)
    result = evaluation.reviews_assign(call=call, by=staff)
    assert result["short"] == []
    assert not ReviewAssignment.objects.filter(application=target, member=m1).exists()
    loads = [ReviewAssignment.objects.filter(member=m).count() for m in (president, m1, m2)]
    assert sum(loads) == 8 and max(loads) - min(loads) <= 1
    with pytest.raises(ValidationError):
        evaluation.review_assignment_set(application=target, member=m1, assigned=True, by=staff)
    other = ReviewAssignment.objects.filter(member=m1).first()
    # Declaring a conflict after scoring removes the assignment and its scores, and is recorded.
    evaluation.conflict_declare(member=m1, application=other.application, has_conflict=False, by=m1.user)
    evaluation.score_set(assignment=other, criterion=call.criteria.first(), points=50, by=m1.user)
    evaluation.conflict_declare(member=m1, application=other.application, has_conflict=True, by=m1.user)
    assert not Score.objects.filter(assignment__member=m1, assignment__application=other.application).exists()
    assert ActionLog.objects.filter(verb="review.conflict_declared", object_id=str(other.application_id)).exists()


def test_low_scores_need_a_comment_and_scores_stay_within_the_maximum(closed_call):
    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    _commission(call, staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    assignment = ReviewAssignment.objects.select_related("member__user").first()
    quality = call.criteria.get(code="quality")  # max 60; comment required below 60% = 36
    evaluation.conflict_declare(member=assignment.member, application=assignment.application, has_conflict=False,
                                by=assignment.member.user)
    with pytest.raises(ValidationError):
        evaluation.score_set(assignment=assignment, criterion=quality, points=61, by=assignment.member.user)
    with pytest.raises(ValidationError) as missing_comment:
        evaluation.score_set(assignment=assignment, criterion=quality, points=20, by=assignment.member.user)
    assert "comment" in missing_comment.value.message_dict
    with pytest.raises(PermissionError):
        evaluation.score_set(assignment=assignment, criterion=quality, points=50, by=staff)
    evaluation.score_set(assignment=assignment, criterion=quality, points=50, by=assignment.member.user)


def test_scoring_needs_the_reviewers_no_conflict_declaration_first(closed_call):
    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    _commission(call, staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    assignment = ReviewAssignment.objects.select_related("member__user", "application").first()
    reviewer = assignment.member.user
    quality = call.criteria.get(code="quality")
    with pytest.raises(domain.NotEditable, match="Declare first that you have no conflict of interest"):
        evaluation.score_set(assignment=assignment, criterion=quality, points=50, by=reviewer)
    assert not Score.objects.filter(assignment=assignment).exists()
    # Another member's declaration, or one for another application, does not count.
    application = assignment.application
    other = ReviewAssignment.objects.exclude(member=assignment.member).filter(application=application).first()
    evaluation.conflict_declare(member=other.member, application=assignment.application, has_conflict=False,
                                by=other.member.user)
    elsewhere = ReviewAssignment.objects.filter(member=assignment.member).exclude(application=application).first()
    evaluation.conflict_declare(member=assignment.member, application=elsewhere.application, has_conflict=False,
                                by=reviewer)
    with pytest.raises(domain.NotEditable):
        evaluation.score_set(assignment=assignment, criterion=quality, points=50, by=reviewer)
    evaluation.conflict_declare(member=assignment.member, application=assignment.application, has_conflict=False,
                                by=reviewer)
    evaluation.score_set(assignment=assignment, criterion=quality, points=50, by=reviewer)
    assert Score.objects.get(assignment=assignment).points == 50


def test_full_evaluation_ranking_appeal_final_allocation_and_scorrimento(closed_call):
    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    _commission(call, staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    # Protocols 1..4: totals 90, 80, 80 (tie: jobs 30 beats 20), 50 (not fit: minimum is 60).
    _score_all(call, {1: (60, 30), 2: (50, 30), 3: (60, 20), 4: (30, 20)})
    evaluation.final_scores_compute(call=call, by=staff)
    assert FinalScore.objects.filter(application__call=call).count() == 8
    with pytest.raises(domain.NotEditable):  # the draw is a tie-break: its seed must be published first
        evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    evaluation.draw_seed_publish(call=call, seed="lotto-2026-05-02-ruota-milano", by=staff)
    with pytest.raises(domain.NotEditable):
        evaluation.draw_seed_publish(call=call, seed="another-seed-value", by=staff)
    provisional = evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    order = [(e.protocol, e.position, e.fit, e.tie_break) for e in provisional.entries.order_by("order")]
    assert order[:3] == [(1, 1, True, ""), (2, 2, True, "criterion:jobs"), (3, 3, True, "criterion:jobs")]
    assert order[3][:3] == (4, None, False)
    assert evaluation.verify_ranking(call) == []

    # Protocol 4 appeals; the president accepts and re-scores quality to 45 (total 65: now fit).
    app4, user4 = next((a, u) for a, u in applicants if a.current_submission.protocol == 4)
    appeal = evaluation.appeal_file(application=app4, text="The jobs plan was misread", by=user4)
    with pytest.raises(domain.NotEditable):
        evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)  # window still open
    president = call.commission.get(role=CommissionRole.PRESIDENT).user
    evaluation.appeal_decide(appeal=appeal, accepted=True, decision="Quality re-examined", by=president,
                             rescores={"quality": 45})
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.ACCEPTED
    with clock.frozen(AFTER + dt.timedelta(days=11)):
        final = evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)
        assert [e.protocol for e in final.entries.filter(fit=True).order_by("order")] == [1, 2, 3, 4]
        assert any(c["protocol"] == 4 and "Appeal accepted" in c["reason"] for c in final.changes)
        assert evaluation.verify_ranking(call) == []
        spaces = list(call.offered_spaces.order_by("id"))
        by_protocol = {a.current_submission.protocol: (a, u) for a, u in applicants}
        # Everyone wants the first space most; 4 also lists the second.
        for protocol, prefs in {1: [0, 1], 2: [0, 1, 2], 3: [0, 2], 4: [1, 0]}.items():
            application, user = by_protocol[protocol]
            evaluation.preferences_set(application=application, space_ids=[spaces[i].pk for i in prefs], by=user)
    with clock.frozen(AFTER + dt.timedelta(days=17)):
        summary = evaluation.allocation_run(call=call, by=staff)
        assert summary["awarded"] == 3 and summary["reserve"] == [by_protocol[4][0].pk]
        award_of = {a.application.current_submission.protocol: a for a in Award.objects.select_related("application__current_submission")}
        assert award_of[1].space == spaces[0] and award_of[2].space == spaces[1] and award_of[3].space == spaces[2]
        # Protocol 2 renounces space 2: scorrimento offers it to protocol 4, who listed it.
        advanced = evaluation.award_renounce(award=award_of[2], by=by_protocol[2][1], reason="Moved abroad")
        assert advanced.application == by_protocol[4][0] and advanced.space == spaces[1] and advanced.by_advance
        concession = evaluation.award_accept(award=award_of[1], by=by_protocol[1][1])
        assert concession.space == spaces[0] and concession.monthly_fee == spaces[0].monthly_fee
        spaces[0].refresh_from_db()
        assert spaces[0].availability == SpaceAvailability.ASSIGNED
    # Protocol 3 misses the deadline: the award expires; nobody else on the reserve list.
    with clock.frozen(AFTER + dt.timedelta(days=40)):
        assert evaluation.awards_expire(call=call) == 2  # protocol 3 and the advanced offer to 4
        assert Award.objects.filter(status=AwardStatus.EXPIRED).count() == 2
    assert Concession.objects.count() == 1
    verbs = set(ActionLog.objects.values_list("verb", flat=True))
    assert {"ranking.publish_provisional", "ranking.publish_final", "appeal.decide", "allocation.run",
            "award.renounce", "allocation.advance", "award.accept", "award.expire"} <= verbs


def test_tampered_scores_after_publication_fail_verification(closed_call):
    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    _commission(call, staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    _score_all(call, {1: (60, 30), 2: (50, 30), 3: (60, 20), 4: (30, 20)})
    evaluation.final_scores_compute(call=call, by=staff)
    evaluation.draw_seed_publish(call=call, seed="seed-for-the-draw", by=staff)
    evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    FinalScore.objects.filter(application__current_submission__protocol=4, criterion__code="quality").update(points=60)
    assert evaluation.verify_ranking(call) != []


def test_grant_call_funds_in_ranking_order_and_scorrimento_moves_the_money(db):
    staff = UserFactory(is_staff=True, email="grants@example.org")
    with clock.frozen(T0):
        call = build_call(staff=staff, kind=CallKind.GRANT, spaces=0, opens_at=T0 - dt.timedelta(hours=1),
                          closes_at=CLOSE, grant_budget=Decimal("50000"), reviewers_per_application=1,
                          tie_breaks=[{"kind": "protocol"}], appeal_days=1)
        applicants = []
        for _ in range(3):
            application, user = ready_application(call)  # each requests 20,000
            domain.application_submit(application=application, by=user)
            application.refresh_from_db()
            applicants.append((application, user))
    with clock.frozen(AFTER):
        _admit_all(call, staff, applicants)
        evaluation.commission_appoint(call=call, user=UserFactory(), role=CommissionRole.PRESIDENT, by=staff)
        evaluation.review_open(call=call, by=staff)
        evaluation.reviews_assign(call=call, by=staff)
        _score_all(call, {1: (60, 30), 2: (55, 30), 3: (50, 30)})
        evaluation.final_scores_compute(call=call, by=staff)
        evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    with clock.frozen(AFTER + dt.timedelta(days=2)):
        evaluation.ranking_publish(call=call, kind=RankingKind.FINAL, by=staff)
        evaluation.allocation_run(call=call, by=staff)
        awards = {a.application.current_submission.protocol: a for a in Award.objects.select_related("application__current_submission")}
        assert awards[1].amount == 20000 and awards[2].amount == 20000
        assert awards[3].amount == 10000 and awards[3].partial
        evaluation.award_renounce(award=awards[1], by=applicants[0][1])
        awards[3].refresh_from_db()
        assert awards[3].amount == 20000 and not awards[3].partial


def test_verify_ranking_command_exits_non_zero_on_tampering(closed_call, tmp_path):
    from django.core.management import call_command

    call, staff, applicants = closed_call
    _admit_all(call, staff, applicants)
    _commission(call, staff)
    evaluation.review_open(call=call, by=staff)
    evaluation.reviews_assign(call=call, by=staff)
    _score_all(call, {1: (60, 30), 2: (50, 30), 3: (60, 20), 4: (30, 20)})
    evaluation.final_scores_compute(call=call, by=staff)
    evaluation.draw_seed_publish(call=call, seed="seed-for-the-draw", by=staff)
    ranking = evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=staff)
    call_command("verify-ranking", call.code)
    published = tmp_path / "ranking.csv"
    published.write_text(ranking.csv, encoding="utf-8")
    call_command("verify-ranking", "--csv", str(published))
    FinalScore.objects.filter(application__current_submission__protocol=1).update(points=0)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify-ranking", call.code)
    assert exit_info.value.code == 1


def test_refusals_give_deadlines_in_rome_time_not_utc(closed_call):
    call, staff, applicants = closed_call
    application, user = applicants[0]
    request = evaluation.integration_request(application=application, items=["DURC"],
                                             deadline=AFTER + dt.timedelta(days=1), by=staff)
    assert request.deadline == AFTER + dt.timedelta(days=1)
    from manifattura.core.models import OutboxEmail

    email = OutboxEmail.objects.filter(template="calls/email/integration.txt").latest("id")
    assert "2026" in email.context["deadline"] and "+00:00" not in email.context["deadline"]
