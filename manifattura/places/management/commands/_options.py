"""Helpers shared by the places commands (not a command: the leading underscore hides it)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def staff_user(email: str | None):
    """The staff user named by ``--by EMAIL``, or None; an unknown or non-staff email is an error."""
    if not email:
        return None
    user = get_user_model().objects.filter(email__iexact=email.strip()).first()
    if user is None or not user.is_staff:
        raise CommandError(_("--by: no staff user has the email %(email)s.") % {"email": email})
    return user
