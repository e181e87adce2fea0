from django.conf import settings


def platform(request):
    config = settings.MANIFATTURA
    return {
        "CITY_NAME": config["CITY_NAME"],
        "PROGRAMME_NAME": config["PROGRAMME_NAME"],
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
        "MAP_CENTER": config["MAP_CENTER"],
    }
