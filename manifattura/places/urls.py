from django.urls import path

from manifattura.places import views

app_name = "places"
urlpatterns = [
    path("sites/", views.site_list, name="site-list"),
    path("sites/<int:pk>/", views.site_detail, name="site-detail"),
]
