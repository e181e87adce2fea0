"""Permission predicates about people and organizations (shared by every app)."""

import rules


@rules.predicate
def is_staff(user):
    return bool(user and user.is_authenticated and user.is_staff)


@rules.predicate
def is_registered(user):
    return bool(user and user.is_authenticated)


@rules.predicate
def is_member_of(user, organization):
    if not (user and user.is_authenticated) or organization is None:
        return False
    return organization.memberships.filter(user=user).exists()


rules.add_perm("accounts.view_organization", is_staff | is_member_of)
rules.add_perm("accounts.change_organization", is_staff | is_member_of)
