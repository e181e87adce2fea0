"""What every API needs: the default permission and the GeoJSON helpers."""

from rest_framework import permissions


class ReadOnlyOrStaff(permissions.BasePermission):
    """Everyone reads; only programme staff write."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
