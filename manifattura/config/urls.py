import os

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from manifattura.core import views as core_views
from manifattura.core.api import TokenObtainView
from manifattura.places import views as places_views

admin.site.site_header = _("Manifattura — staff area")
admin.site.site_title = _("Manifattura staff")
admin.site.index_title = _("Programme management")

# Django tries URL patterns in order: the API comes first, and in it the calls (the click-day submit
# resolves after a handful of patterns instead of every page's).
api_v1 = [
    path("", include("manifattura.calls.api_urls")),
    path("", include("manifattura.places.api_urls")),
    path("", include("manifattura.calls.api_evaluation")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # drf-spectacular's own Redoc page loads Google Fonts; ours serves everything from /static/.
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="core/api_redoc.html"),
        name="api-redoc",
    ),
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("", places_views.home, name="home"),
    path("", include("manifattura.places.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("manifattura.accounts.urls")),
    path("calls/", include("manifattura.calls.urls_evaluation")),
    path("calls/", include("manifattura.calls.urls")),
    path("staff/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Benchmark baselines (bench/) only; never set in production.
if os.environ.get("MANIFATTURA_BENCH_ENDPOINTS") == "1":
    from manifattura.core import bench_views

    # First, so the baseline pays no more URL matching than the endpoints it is compared with.
    urlpatterns.insert(0, path("bench/bare-insert/", bench_views.bare_insert, name="bench-bare-insert"))
