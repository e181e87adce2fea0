"""Allocation: no space twice, nobody two spaces, fit respected, no justified envy; scorrimento."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from manifattura.calls import allocation as a

USES = ("lab", "office", "storage")


@st.composite
def markets(draw):
    spaces = [
        a.Space(id=i, surface_m2=Decimal(draw(st.integers(20, 400))), use=draw(st.sampled_from(USES)))
        for i in range(draw(st.integers(0, 25)))
    ]
    ids = [s.id for s in spaces]
    applicants = []
    for n in range(draw(st.integers(0, 30))):
        prefs = draw(st.lists(st.sampled_from(ids), max_size=5, unique=True)) if ids else []
        applicants.append(a.Applicant(
            id=1000 + n, preferences=tuple(prefs),
            min_surface_m2=Decimal(draw(st.integers(0, 200))),
            uses=tuple(draw(st.lists(st.sampled_from(USES), max_size=2, unique=True))),
        ))
    return applicants, spaces


@settings(max_examples=120, deadline=None)
@given(markets())
def test_allocation_is_a_fitting_matching_without_justified_envy(market):
    ranked, spaces = market
    by_space = {s.id: s for s in spaces}
    result = a.allocate_spaces(ranked, spaces)
    # No space twice, nobody two spaces (a dict gives one space per applicant).
    assert len(set(result.assigned.values())) == len(result.assigned)
    for applicant in ranked:
        if applicant.id in result.assigned:
            space = by_space[result.assigned[applicant.id]]
            assert space.id in applicant.preferences and a.fits(applicant, space)
    # No justified envy: a higher-ranked applicant never prefers a fitting space given to someone lower.
    position = {app.id: i for i, app in enumerate(ranked)}
    owner = {sid: aid for aid, sid in result.assigned.items()}
    for applicant in ranked:
        mine = result.assigned.get(applicant.id)
        limit = applicant.preferences.index(mine) if mine is not None else len(applicant.preferences)
        for better in applicant.preferences[:limit]:
            if better in owner and a.fits(applicant, by_space[better]):
                assert position[owner[better]] < position[applicant.id]
            else:
                assert better in owner or not a.fits(applicant, by_space[better])
    # Everyone is either served or on the reserve list, in ranking order.
    assert set(result.reserve) | set(result.assigned) == {app.id for app in ranked}
    assert result.reserve == [app.id for app in ranked if app.id in set(result.reserve)]


@settings(max_examples=100, deadline=None)
@given(markets())
def test_scorrimento_serves_the_reserve_in_ranking_order(market):
    ranked, spaces = market
    result = a.allocate_spaces(ranked, spaces)
    if not result.assigned:
        return
    freed_id = next(iter(result.assigned.values()))
    freed = next(s for s in spaces if s.id == freed_id)
    reserve = [app for app in ranked if app.id in set(result.reserve)]
    taker = a.advance_space(freed_space=freed, reserve=reserve)
    candidates = [app.id for app in reserve if freed.id in app.preferences and a.fits(app, freed)]
    assert taker == (candidates[0] if candidates else None)


def test_grants_in_ranking_order_last_partly_funded():
    requests = [a.GrantRequest(1, Decimal("40000")), a.GrantRequest(2, Decimal("40000")), a.GrantRequest(3, Decimal("40000"))]
    result = a.allocate_grants(requests, Decimal("100000"), last=a.PARTIAL)
    assert result.granted == {1: Decimal("40000"), 2: Decimal("40000"), 3: Decimal("20000")}
    assert result.partial == 3 and result.left == 0 and result.reserve == []


def test_grants_skip_mode_funds_later_smaller_requests():
    requests = [a.GrantRequest(1, Decimal("70000")), a.GrantRequest(2, Decimal("40000")), a.GrantRequest(3, Decimal("30000"))]
    result = a.allocate_grants(requests, Decimal("100000"), last=a.SKIP)
    assert result.granted == {1: Decimal("70000"), 3: Decimal("30000")}
    assert result.reserve == [2] and result.partial is None


@settings(max_examples=120, deadline=None)
@given(st.lists(st.integers(1, 50_000).map(Decimal), max_size=30), st.integers(0, 300_000).map(Decimal),
       st.sampled_from([a.PARTIAL, a.SKIP]))
def test_grants_never_exceed_the_budget(amounts, budget, mode):
    requests = [a.GrantRequest(i, amount) for i, amount in enumerate(amounts)]
    result = a.allocate_grants(requests, budget, last=mode)
    assert sum(result.granted.values(), Decimal(0)) + result.left == budget
    assert all(result.granted[i] <= requests[i].amount for i in result.granted)


def test_scorrimento_of_grant_money_tops_up_the_partial_then_the_reserve():
    freed = a.advance_grant(freed=Decimal("40000"), left=Decimal("0"),
                            reserve=[a.GrantRequest(4, Decimal("30000"))],
                            partial=a.GrantRequest(3, Decimal("40000")), partial_granted=Decimal("20000"))
    assert freed == {3: Decimal("40000"), 4: Decimal("20000")}
