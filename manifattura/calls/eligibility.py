"""Eligibility rules of a call, evaluated at submission: each rule gives its own explained outcome."""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.it import iva

from manifattura.accounts.enums import OrganizationKind
from manifattura.calls.enums import RuleOutcome, SeatRequirement


@dataclass(frozen=True)
class RuleResult:
    code: str
    outcome: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "outcome": self.outcome, "message": self.message}


def describe_rules(call) -> list[str]:
    """The call's rules in plain words, as shown to applicants before they apply."""
    lines = []
    if call.allowed_organization_kinds:
        kinds = ", ".join(str(OrganizationKind(k).label) for k in call.allowed_organization_kinds)
        lines.append(_("Who may apply: %(kinds)s.") % {"kinds": kinds})
    if call.max_organization_age_years is not None:
        lines.append(
            _("The organization was founded no more than %(years)d years before submission.")
            % {"years": call.max_organization_age_years}
        )
    if call.require_valid_vat:
        lines.append(_("The organization has a valid Italian VAT number."))
    if call.seat_requirement != SeatRequirement.NONE:
        text = str(SeatRequirement(call.seat_requirement).label)
        if call.seat_needs_human_check:
            text += " " + _("(checked by staff after submission)")
        lines.append(text + ".")
    if call.one_per_organization:
        lines.append(_("One application per organization."))
    return lines


def years_between(start: dt.date, end: dt.date) -> int:
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def next_birthday(founded_on: dt.date, on: dt.date) -> dt.date:
    """The first day after ``on`` on which the organization's age in whole years grows.

    An organization founded on 29 February turns a year older on 1 March in common years, as
    ``years_between`` counts.
    """
    for year in (on.year, on.year + 1):
        try:
            day = founded_on.replace(year=year)
        except ValueError:  # 29 February in a common year
            day = dt.date(year, 3, 1)
        if day > on:
            return day
    raise AssertionError("unreachable: next year's anniversary is after today")


def next_change(call, organization, on: dt.date) -> dt.date | None:
    """The first day after ``on`` on which ``evaluate`` could give another result, or None if never.

    Only the age rule depends on the day, and its result changes only on the founding anniversary.
    """
    if call.max_organization_age_years is None or organization.founded_on is None:
        return None
    return next_birthday(organization.founded_on, on)


def evaluate(call, organization, *, on: dt.date, municipality: str) -> list[RuleResult]:
    """Every rule of the call applied to the organization on the given (Europe/Rome) date."""
    results: list[RuleResult] = []
    if call.allowed_organization_kinds:
        allowed = call.allowed_organization_kinds
        if organization.kind in allowed:
            results.append(RuleResult("kind", RuleOutcome.PASSED, _("Organization kind allowed.")))
        else:
            results.append(RuleResult("kind", RuleOutcome.FAILED, _(
                "Organizations of kind “%(kind)s” may not apply to this call; allowed kinds: %(allowed)s."
            ) % {
                "kind": OrganizationKind(organization.kind).label if organization.kind in OrganizationKind.values
                else organization.kind,
                "allowed": ", ".join(str(OrganizationKind(k).label) for k in allowed),
            }))
    if call.max_organization_age_years is not None:
        if organization.founded_on is None:
            results.append(RuleResult("age", RuleOutcome.FAILED, _(
                "The call admits organizations founded at most %(years)d years ago: add the founding date "
                "to the organization's profile."
            ) % {"years": call.max_organization_age_years}))
        else:
            age = years_between(organization.founded_on, on)
            if age <= call.max_organization_age_years:
                results.append(RuleResult("age", RuleOutcome.PASSED, _("Organization age within the limit.")))
            else:
                results.append(RuleResult("age", RuleOutcome.FAILED, _(
                    "The organization was founded on %(date)s, %(age)d years ago; the call admits at most "
                    "%(years)d years."
                ) % {"date": organization.founded_on.isoformat(), "age": age, "years": call.max_organization_age_years}))
    if call.require_valid_vat:
        vat = (organization.vat_number or "").upper().removeprefix("IT")
        try:
            iva.validate(vat)
            results.append(RuleResult("vat", RuleOutcome.PASSED, _("Valid VAT number.")))
        except StdnumError:
            results.append(RuleResult("vat", RuleOutcome.FAILED, _(
                "The call requires a valid Italian VAT number: correct it in the organization's profile."
            )))
    if call.seat_requirement != SeatRequirement.NONE:
        results.append(_seat_result(call, organization, municipality))
    return results


def _seat_result(call, organization, municipality: str) -> RuleResult:
    cities = {(organization.city or "").strip().casefold(), (organization.operating_city or "").strip().casefold()}
    in_city = municipality.strip().casefold() in cities
    operating_in_city = (organization.operating_city or "").strip().casefold() == municipality.strip().casefold()
    if call.seat_requirement == SeatRequirement.CITY:
        if call.seat_needs_human_check:
            return RuleResult("seat", RuleOutcome.REVIEW, _(
                "Registered office or operating site in %(city)s: declared, to be checked by staff."
            ) % {"city": municipality})
        if in_city:
            return RuleResult("seat", RuleOutcome.PASSED, _("Seat in %(city)s.") % {"city": municipality})
        return RuleResult("seat", RuleOutcome.FAILED, _(
            "The call requires a registered office or an operating site in %(city)s: the organization's "
            "profile names neither."
        ) % {"city": municipality})
    # Periphery: an address alone does not tell, so a person checks unless the site is not even in the city.
    if not operating_in_city:
        return RuleResult("seat", RuleOutcome.FAILED, _(
            "The call requires an operating site in the periphery of %(city)s: add the operating site to "
            "the organization's profile."
        ) % {"city": municipality})
    return RuleResult("seat", RuleOutcome.REVIEW, _(
        "Operating site in the periphery: to be checked by staff."
    ))
