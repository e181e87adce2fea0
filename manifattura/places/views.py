from django.shortcuts import get_object_or_404, render

from manifattura.places.models import Site


def home(request):
    return render(request, "places/home.html", {})


def site_list(request):
    return render(request, "places/site_list.html", {"sites": Site.objects.all()})


def site_detail(request, pk):
    return render(request, "places/site_detail.html", {"site": get_object_or_404(Site, pk=pk)})
