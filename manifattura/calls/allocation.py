"""Allocation after the ranking: spaces to ranked preferences, grants to a budget, and scorrimento.

Spaces are served in ranking order: each winner gets their most preferred space that is still
free and fits them (surface and use). Because everyone ranked higher chose before, nobody ranked
higher envies a space given to someone lower that fitted them (no justified envy). No Django
imports: plain data in, plain data out, property-tested.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Space:
    id: int
    surface_m2: Decimal
    use: str


@dataclass(frozen=True)
class Applicant:
    id: int
    preferences: tuple[int, ...]  # space ids, most preferred first
    min_surface_m2: Decimal = Decimal("0")
    max_surface_m2: Decimal | None = None
    uses: tuple[str, ...] = ()  # accepted uses; empty = any


def fits(applicant: Applicant, space: Space) -> bool:
    if space.surface_m2 < applicant.min_surface_m2:
        return False
    if applicant.max_surface_m2 is not None and space.surface_m2 > applicant.max_surface_m2:
        return False
    return not applicant.uses or space.use in applicant.uses


@dataclass(frozen=True)
class SpaceAllocation:
    assigned: dict[int, int]  # applicant id -> space id
    reserve: list[int]  # applicants not served, in ranking order
    free_spaces: list[int]  # spaces nobody took


def allocate_spaces(ranked: Sequence[Applicant], spaces: Iterable[Space]) -> SpaceAllocation:
    """Serial dictatorship in ranking order over each applicant's fitting preferences."""
    by_id = {s.id: s for s in spaces}
    free = set(by_id)
    assigned: dict[int, int] = {}
    reserve: list[int] = []
    for applicant in ranked:
        choice = next(
            (sid for sid in applicant.preferences if sid in free and fits(applicant, by_id[sid])), None
        )
        if choice is None:
            reserve.append(applicant.id)
        else:
            assigned[applicant.id] = choice
            free.discard(choice)
    return SpaceAllocation(assigned, reserve, sorted(free))


def advance_space(
    *, freed_space: Space, reserve: Sequence[Applicant], already_served: Iterable[int] = ()
) -> int | None:
    """Scorrimento for a renounced space: the first reserve applicant (ranking order) who listed it
    among their preferences and whom it fits; None when nobody does."""
    served = set(already_served)
    for applicant in reserve:
        if applicant.id not in served and freed_space.id in applicant.preferences and fits(applicant, freed_space):
            return applicant.id
    return None


@dataclass(frozen=True)
class GrantRequest:
    id: int
    amount: Decimal


@dataclass(frozen=True)
class GrantAllocation:
    granted: dict[int, Decimal]  # applicant id -> amount granted
    partial: int | None  # the applicant partly funded, if any
    reserve: list[int]  # not funded, in ranking order
    left: Decimal


PARTIAL = "partial"  # the first request that does not fit is funded with what is left, then stop
SKIP = "skip"  # requests that do not fit whole are skipped; later smaller ones may still be funded


def allocate_grants(ranked: Sequence[GrantRequest], budget: Decimal, *, last: str = PARTIAL) -> GrantAllocation:
    if last not in (PARTIAL, SKIP):
        raise ValueError(f"unknown rule for the last grant: {last!r}")
    left = Decimal(budget)
    granted: dict[int, Decimal] = {}
    reserve: list[int] = []
    partial = None
    stopped = False
    for request in ranked:
        if stopped:
            reserve.append(request.id)
        elif request.amount <= left:
            granted[request.id] = request.amount
            left -= request.amount
        elif last == PARTIAL and left > 0:
            granted[request.id] = left
            partial = request.id
            left = Decimal("0")
            stopped = True
        else:
            reserve.append(request.id)
            stopped = last == PARTIAL
    return GrantAllocation(granted, partial, reserve, left)


def advance_grant(*, freed: Decimal, left: Decimal, reserve: Sequence[GrantRequest], partial: GrantRequest | None = None,
                  partial_granted: Decimal = Decimal("0")) -> dict[int, Decimal]:
    """Scorrimento for renounced grant money: top up a partly funded request first, then fund
    reserve requests in ranking order while the money lasts (the last one partly)."""
    money = freed + left
    result: dict[int, Decimal] = {}
    if partial is not None and partial_granted < partial.amount and money > 0:
        top_up = min(partial.amount - partial_granted, money)
        result[partial.id] = partial_granted + top_up
        money -= top_up
    for request in reserve:
        if money <= 0:
            break
        amount = min(request.amount, money)
        result[request.id] = amount
        money -= amount
    return result
