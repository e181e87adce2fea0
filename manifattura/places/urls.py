from django.urls import path

from manifattura.places import views

app_name = "places"
urlpatterns = [
    path("sites/", views.site_list, name="site-list"),
    path("sites/export.csv", views.site_export_csv, name="site-export"),
    path("sites/map.geojson", views.site_map_geojson, name="site-map-geojson"),
    path("sites/<int:pk>/", views.site_detail, name="site-detail"),
    path("zones/<slug:kind>.geojson", views.zones_geojson, name="zones-geojson"),
]
