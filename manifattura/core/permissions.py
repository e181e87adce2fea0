"""API permissions. A module of its own because DRF imports the default permission while it
starts, before its views exist: import nothing from DRF here but ``rest_framework.permissions``."""

from rest_framework import permissions


class ReadOnlyOrStaff(permissions.BasePermission):
    """Everyone reads; only programme staff write."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ReadOnlyOrRulesPermission(permissions.DjangoModelPermissions):
    """Everyone reads; a write needs the model permission the ``rules`` predicates grant.

    ``POST`` needs ``<app>.add_<model>``, ``PUT``/``PATCH`` ``change`` and ``DELETE`` ``delete``, as
    in the staff area. A viewset names the permissions of its extra actions in
    ``action_permissions`` (``{"status": ["places.change_site_status"]}``).
    """

    authenticated_users_only = False
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "OPTIONS": [],
        "HEAD": [],
    }

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if not hasattr(view, request.method.lower()):
            return True  # nobody may: the view answers 405 Method Not Allowed to everyone alike
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if required is not None:
            return user.has_perms(required)
        return super().has_permission(request, view)
