from rest_framework.routers import DefaultRouter

from manifattura.places import api

app_name = "places-api"

router = DefaultRouter()
router.register("zones", api.ZoneViewSet, basename="zone")
router.register("sites", api.SiteViewSet, basename="site")
router.register("spaces", api.SpaceViewSet, basename="space")
urlpatterns = router.urls
