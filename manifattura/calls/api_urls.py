from rest_framework.routers import DefaultRouter

from manifattura.calls import api

app_name = "calls-api"

router = DefaultRouter()
router.include_root_view = False  # the places router already answers /api/v1/
router.register("calls", api.CallViewSet, basename="call")
router.register("applications", api.ApplicationViewSet, basename="application")
urlpatterns = router.urls
