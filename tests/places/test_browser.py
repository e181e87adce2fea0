"""The home page in a real browser: the map draws the sites; a filter updates list and map."""

import pytest

from manifattura.places.models import Zone
from tests.browser import BROWSER_MARKS, SCREENSHOTS, chromium_page
from tests.factories import SiteFactory, SpaceFactory, square

SCREENSHOT = SCREENSHOTS / "manifattura-home.png"

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(monkeypatch):
    yield from chromium_page(monkeypatch, locale="it-IT")


def open_first_popup(page):
    # A click event on the marker itself: a mouse click at its position can miss while the map is
    # still animating to its bounds (seen on a loaded machine). Leaflet opens the popup either way.
    page.locator("#sites-map path.site-marker").first.dispatch_event("click")
    link = page.locator(".leaflet-popup-content a").first
    link.wait_for(timeout=10000)
    return link


def marker_count(page) -> int:
    return page.evaluate("document.querySelectorAll('#sites-map path.site-marker').length")


def test_home_map_shows_the_sites_and_a_municipio_filter_updates_list_and_map(
    transactional_db, milan_zones_copy, live_server, settings, browser_page
):
    settings.MAP_TILE_URL = ""  # no tiles: zone outlines and markers on a blank background
    east = SiteFactory(
        name="Capannone Lambrate", geometry={"type": "Point", "coordinates": [9.255, 45.48]}
    )
    SiteFactory(
        name="Palazzina Duomo", geometry={"type": "Point", "coordinates": [9.1916, 45.4642]}
    )
    SiteFactory(name="Area Giambellino", geometry=square(9.133, 45.449, 0.003), surface_m2=None)
    SpaceFactory(site=east)
    municipio_3 = Zone.objects.get(kind="municipio", code="3")

    page = browser_page
    page.goto(live_server.url + "/")
    page.wait_for_function(
        "document.querySelectorAll('#sites-map path.site-marker').length === 3", timeout=15000
    )
    page.wait_for_selector("#sites-map[data-state='ready']")
    # Municipio outlines drawn (9 zones) and the polygon site drawn as a shape as well as a marker.
    page.wait_for_function(
        "document.querySelectorAll('#sites-map .leaflet-zones-pane path').length >= 9"
    )
    assert page.locator("#sites-map path.site-shape").count() == 1
    assert page.locator("#site-results tbody tr").count() == 3

    # A popup links to the site page.
    popup_link = open_first_popup(page)
    assert popup_link.get_attribute("href").startswith("/sites/")
    page.locator(".leaflet-popup-close-button").click()

    page.select_option("#id_municipio", value=str(municipio_3.pk))
    page.wait_for_function(
        "document.querySelectorAll('#site-results tbody tr').length === 1", timeout=15000
    )
    page.wait_for_function(
        "document.querySelectorAll('#sites-map path.site-marker').length === 1", timeout=15000
    )
    page.wait_for_selector("#sites-map[data-state='ready']")
    assert page.locator("#site-results tbody tr th a").inner_text() == "Capannone Lambrate"
    assert f"municipio={municipio_3.pk}" in page.url  # the filtered view has its own address

    # Italian PA look: Bootstrap Italia header, the map, the list.
    assert page.locator("header.it-header-wrapper .it-brand-title").is_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    # Back to the unfiltered page: a working map with every site again, not a dead snapshot.
    page.go_back()
    page.wait_for_function(
        "document.querySelectorAll('#site-results tbody tr').length === 3", timeout=15000
    )
    page.wait_for_selector("#sites-map[data-state='ready']")
    assert marker_count(page) == 3
    open_first_popup(page)
    assert page.errors == []
