from django.urls import URLPattern
from rest_framework.routers import DefaultRouter

from manifattura.calls import api, submit_fast

app_name = "calls-api"

router = DefaultRouter()
router.include_root_view = False  # the places router already answers /api/v1/
router.register("calls", api.CallViewSet, basename="call")
router.register("applications", api.ApplicationViewSet, basename="application")


def _with_fast_submit(pattern):
    """The submit action's URL answers through ``submit_fast`` first (click day), DRF otherwise."""
    if getattr(pattern, "name", None) != "application-submit":
        return pattern
    return URLPattern(pattern.pattern, submit_fast.view(pattern.callback), pattern.default_args, pattern.name)


# The click-day URL first: Django tries patterns in order (and lists every one it tried).
urlpatterns = sorted((_with_fast_submit(pattern) for pattern in router.urls),
                     key=lambda pattern: getattr(pattern, "name", None) != "application-submit")
