"""Demo sites and spaces in Milan: 25 abandoned sites over the 9 Municipi, along the whole lifecycle.

Idempotent: a site whose ``ref_code`` (DEMO-001…) exists is left as it is. Milan's zones are loaded
first if no Municipio is loaded yet. Every write goes through ``places.domain`` (so history and the
audit log show a real lifecycle), by the demo staff user. The records are fictional: real streets of
the periphery, invented buildings, costs and fees. Coordinates were chosen inside the Municipio named
in each row (tests/places/test_demo.py checks it against the shipped boundaries).
"""

import math
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manifattura.accounts.demo import staff_user
from manifattura.places.domain import (
    lifecycle_path,
    site_change_status,
    site_create,
    space_create,
)
from manifattura.places.enums import (
    Accessibility,
    Condition,
    Ownership,
    SiteStatus,
    SpaceAvailability,
    SpaceUse,
    Typology,
    ZoneKind,
)
from manifattura.places.importers import load_milan_zones
from manifattura.places.models import Site, Zone

M, OP, PR = Ownership.MUNICIPAL, Ownership.OTHER_PUBLIC, Ownership.PRIVATE
GOOD, FAIR, POOR, RUIN = Condition.GOOD, Condition.FAIR, Condition.POOR, Condition.RUIN
LAB, WORKSHOP, OFFICE, STORAGE = SpaceUse.LAB, SpaceUse.WORKSHOP, SpaceUse.OFFICE, SpaceUse.STORAGE

# What a site's status says about its spaces.
SPACE_AVAILABILITY = {
    SiteStatus.MAPPED: SpaceAvailability.UNAVAILABLE,
    SiteStatus.SURVEYED: SpaceAvailability.AVAILABLE,
    SiteStatus.OFFERED: SpaceAvailability.OFFERED,
    SiteStatus.ASSIGNED: SpaceAvailability.ASSIGNED,
    SiteStatus.UNDER_RECOVERY: SpaceAvailability.ASSIGNED,
    SiteStatus.ACTIVE: SpaceAvailability.ASSIGNED,
    SiteStatus.WITHDRAWN: SpaceAvailability.UNAVAILABLE,
}

# ref, name, address, Municipio, lon, lat, shape, ownership, condition, typology, cost (EUR), status,
# spaces (name, use, m², floor, monthly fee EUR), story. Shape: ("point", declared m²) or
# ("polygon", footprint m², width/height ratio): the polygon's surface is computed from it.
# fmt: off
SITES = [
    ("DEMO-001", "Ex deposito comunale di via Pontaccio", "Via Pontaccio 12", "1", 9.1880, 45.4720,
     ("point", 640), M, FAIR, Typology.PUBLIC_SERVICE, 420_000, SiteStatus.SURVEYED,
     [("Laboratorio 1", LAB, 180, 0, 1150), ("Ufficio 2", OFFICE, 90, 1, 700)],
     "A municipal storehouse in Brera, empty since the archive it held was digitised."),
    ("DEMO-002", "Ex Officine Meccaniche Giacosa", "Via Giuseppe Giacosa 38", "2", 9.2270, 45.4990,
     ("polygon", 4200, 1.6), M, POOR, Typology.PRODUCTIVE, 2_350_000, SiteStatus.ACTIVE,
     [("Officina A", WORKSHOP, 620, 0, 2480), ("Laboratorio B", LAB, 310, 0, 1400),
      ("Laboratorio C", LAB, 280, 1, 1200), ("Uffici", OFFICE, 150, 1, 750),
      ("Magazzino", STORAGE, 200, -1, 400)],
     "A 1920s machine shop recovered as a manufacturing hub; every space is let."),
    ("DEMO-003", "Ex autorimessa di viale Monza", "Viale Monza 255", "2", 9.2235, 45.5050,
     ("point", 2800), OP, FAIR, Typology.COMMERCIAL, 980_000, SiteStatus.SURVEYED,
     [("Capannone 1", WORKSHOP, 900, 0, 2700), ("Capannone 2", WORKSHOP, 750, 0, 2250),
      ("Ufficio", OFFICE, 60, 1, 300)],
     "A bus garage with two large sheds under a sound roof, next to the Gorla metro station."),
    ("DEMO-004", "Ex scalo merci di Greco", "Via Cristoforo Rucellai 20", "2", 9.2130, 45.5030,
     ("polygon", 9800, 3.0), OP, RUIN, Typology.PRODUCTIVE, 3_900_000, SiteStatus.MAPPED,
     [("Magazzino merci", STORAGE, 1200, 0, 1800)],
     "A railway goods yard with a long warehouse; the roof has partly collapsed."),
    ("DEMO-005", "Ex tintoria di via Conte Rosso", "Via Conte Rosso 25", "3", 9.2450, 45.4880,
     ("point", 1350), PR, POOR, Typology.PRODUCTIVE, 760_000, SiteStatus.MAPPED,
     [("Laboratorio", LAB, 400, 0, 1400)],
     "A dye works in Lambrate, reported by the neighbours; the owner has not answered yet."),
    ("DEMO-006", "Ex laboratori di via Pacini", "Via Giovanni Pacini 20", "3", 9.2300, 45.4770,
     ("polygon", 1900, 1.2), OP, GOOD, Typology.TERTIARY, 540_000, SiteStatus.UNDER_RECOVERY,
     [("Laboratorio 1", LAB, 220, 0, 1300), ("Laboratorio 2", LAB, 200, 0, 1200),
      ("Aula", OFFICE, 120, 1, 600)],
     "University laboratories left when the department moved; works started this year."),
    ("DEMO-007", "Ex cascina dell'Ortica", "Via San Faustino 62", "3", 9.2500, 45.4780,
     ("polygon", 2600, 1.4), M, RUIN, Typology.RURAL, 1_850_000, SiteStatus.WITHDRAWN,
     [("Fienile", STORAGE, 300, 0, 450)],
     "A farmstead by the railway, withdrawn from the programme: the recovery costs too much."),
    ("DEMO-008", "Ex magazzini di via Gabriele Rosa", "Via Gabriele Rosa 15", "4", 9.2230, 45.4400,
     ("point", 1600), M, FAIR, Typology.PRODUCTIVE, 640_000, SiteStatus.ASSIGNED,
     [("Laboratorio tessile", LAB, 380, 0, 1520), ("Magazzino", STORAGE, 120, -1, 240)],
     "Warehouses in Corvetto assigned to a textile workshop of the neighbourhood."),
    ("DEMO-009", "Ex Macello - padiglione ovini", "Viale Molise 62", "4", 9.2285, 45.4567,
     ("polygon", 5200, 2.2), M, POOR, Typology.PRODUCTIVE, 3_200_000, SiteStatus.OFFERED,
     [("Padiglione A", WORKSHOP, 1100, 0, 3300), ("Padiglione B", WORKSHOP, 950, 0, 2850),
      ("Uffici", OFFICE, 180, 1, 900)],
     "A pavilion of the old slaughterhouse, offered in a call for makers."),
    ("DEMO-010", "Ex fabbrica di via Rogoredo", "Via Rogoredo 70", "4", 9.2400, 45.4350,
     ("point", 7400), PR, POOR, Typology.PRODUCTIVE, 2_100_000, SiteStatus.SURVEYED,
     [("Capannone nord", WORKSHOP, 1500, 0, 3750), ("Capannone sud", WORKSHOP, 1300, 0, 3250),
      ("Laboratorio", LAB, 240, 1, 960), ("Uffici", OFFICE, 200, 1, 800)],
     "A private factory whose owner offered it to the programme on a long lease."),
    ("DEMO-011", "Ex centro civico di Gratosoglio", "Via Saponaro 40", "5", 9.1750, 45.4100,
     ("point", 980), M, FAIR, Typology.PUBLIC_SERVICE, 380_000, SiteStatus.SURVEYED,
     [("Sala 1", LAB, 160, 0, 480), ("Sala 2", LAB, 140, 0, 420), ("Ufficio", OFFICE, 50, 0, 150)],
     "A civic centre at the foot of the Gratosoglio towers, closed since 2019."),
    ("DEMO-012", "Ex deposito di via Barrili", "Via Anton Giulio Barrili 21", "5", 9.1750, 45.4300,
     ("polygon", 3100, 1.8), M, POOR, Typology.PRODUCTIVE, 1_450_000, SiteStatus.ACTIVE,
     [("Officina", WORKSHOP, 700, 0, 2100), ("Laboratorio", LAB, 260, 0, 910),
      ("Uffici", OFFICE, 180, 1, 720), ("Magazzino", STORAGE, 300, -1, 450)],
     "A municipal depot recovered as workshops for repair and reuse."),
    ("DEMO-013", "Cascina ex Vigentina", "Via Ripamonti 340", "5", 9.2000, 45.4300,
     ("polygon", 2200, 1.3), M, RUIN, Typology.RURAL, 2_600_000, SiteStatus.MAPPED,
     [("Stalla", STORAGE, 400, 0, 400), ("Fienile", WORKSHOP, 350, 1, 525)],
     "A farmstead among the fields of Vigentino, mapped from the municipal inventory."),
    ("DEMO-014", "Ex mercato comunale del Lorenteggio", "Via Lorenteggio 181", "6", 9.1350, 45.4500,
     ("point", 1200), M, FAIR, Typology.COMMERCIAL, 520_000, SiteStatus.SURVEYED,
     [("Box 1", LAB, 60, 0, 240), ("Box 2", LAB, 60, 0, 240), ("Box 3", LAB, 80, 0, 320),
      ("Sala comune", WORKSHOP, 300, 0, 900), ("Magazzino", STORAGE, 90, -1, 135)],
     "A covered market with its stalls still in place, a block from the new metro line."),
    ("DEMO-015", "Ex lavanderia di via Giambellino", "Via Giambellino 80", "6", 9.1420, 45.4530,
     ("point", 560), OP, POOR, Typology.PUBLIC_SERVICE, 230_000, SiteStatus.ASSIGNED,
     [("Laboratorio", LAB, 210, 0, 630), ("Ufficio", OFFICE, 40, 0, 160)],
     "The laundry of a public housing estate, assigned to a cooperative."),
    ("DEMO-016", "Ex officina di via Barona", "Via Barona 60", "6", 9.1550, 45.4330,
     ("polygon", 3600, 1.5), PR, FAIR, Typology.PRODUCTIVE, 1_150_000, SiteStatus.UNDER_RECOVERY,
     [("Officina", WORKSHOP, 900, 0, 2700), ("Laboratorio", LAB, 300, 0, 1050),
      ("Uffici", OFFICE, 160, 1, 640)],
     "A mechanical workshop under recovery, to reopen as shared workshops."),
    ("DEMO-017", "Ex scuola di via Anselmo da Baggio", "Via Anselmo da Baggio 50", "7", 9.0920, 45.4620,
     ("polygon", 1700, 1.1), M, POOR, Typology.PUBLIC_SERVICE, 890_000, SiteStatus.SURVEYED,
     [("Aula 1", LAB, 70, 0, 210), ("Aula 2", LAB, 70, 0, 210), ("Palestra", WORKSHOP, 350, 0, 875)],
     "A primary school closed when the pupils moved to the new building nearby."),
    ("DEMO-018", "Ex deposito militare di via delle Forze Armate", "Via delle Forze Armate 360", "7",
     9.1050, 45.4700, ("polygon", 14000, 2.5), OP, RUIN, Typology.PRODUCTIVE, 4_000_000,
     SiteStatus.MAPPED,
     [("Hangar 1", WORKSHOP, 2200, 0, 4400), ("Hangar 2", WORKSHOP, 2000, 0, 4000),
      ("Palazzina uffici", OFFICE, 450, 1, 1350), ("Magazzino", STORAGE, 800, 0, 1200)],
     "A former army depot handed over by the State; large hangars, to be surveyed."),
    ("DEMO-019", "Ex cascina di Figino", "Via Fratelli Zoia 120", "7", 9.0800, 45.4900,
     ("point", 3200), M, POOR, Typology.RURAL, 1_700_000, SiteStatus.WITHDRAWN,
     [("Corte", STORAGE, 500, 0, 500)],
     "A farmstead withdrawn from the programme after the park plan changed its use."),
    ("DEMO-020", "Ex stabilimento di via Lessona", "Via Michele Lessona 50", "8", 9.1370, 45.5130,
     ("point", 5600), PR, POOR, Typology.PRODUCTIVE, 2_450_000, SiteStatus.SURVEYED,
     [("Capannone A", WORKSHOP, 1200, 0, 3000), ("Capannone B", WORKSHOP, 1000, 0, 2500),
      ("Laboratorio", LAB, 250, 1, 875)],
     "A plant in Quarto Oggiaro with sound sheds and a three-phase power supply."),
    ("DEMO-021", "Ex centro sportivo di via Cilea", "Via Francesco Cilea 100", "8", 9.1200, 45.4950,
     ("polygon", 2400, 1.7), M, FAIR, Typology.PUBLIC_SERVICE, 700_000, SiteStatus.OFFERED,
     [("Palestra", WORKSHOP, 500, 0, 1250), ("Spogliatoi", STORAGE, 120, 0, 180)],
     "A sports hall of the Gallaratese estate, offered for a makerspace."),
    ("DEMO-022", "Ex mercato rionale di QT8", "Via Salmoiraghi 20", "8", 9.1400, 45.4850,
     ("point", 450), M, GOOD, Typology.COMMERCIAL, 160_000, SiteStatus.ACTIVE,
     [("Laboratorio", LAB, 200, 0, 800), ("Bottega", OFFICE, 60, 0, 300)],
     "A small neighbourhood market, now a repair café and a bicycle workshop."),
    ("DEMO-023", "Ex capannone dei gasometri", "Via Giuseppe Candiani 80", "9", 9.1600, 45.5040,
     ("polygon", 6300, 2.0), M, POOR, Typology.PRODUCTIVE, 2_900_000, SiteStatus.ASSIGNED,
     [("Fab lab", LAB, 600, 0, 2400), ("Officina", WORKSHOP, 900, 0, 2700),
      ("Uffici", OFFICE, 220, 1, 880), ("Magazzino", STORAGE, 300, 0, 450)],
     "A shed by the Bovisa gasometers, assigned to a fab lab."),
    ("DEMO-024", "Ex filanda di Affori", "Via Enrico Cialdini 50", "9", 9.1750, 45.5150,
     ("point", 2100), PR, POOR, Typology.PRODUCTIVE, 1_050_000, SiteStatus.UNDER_RECOVERY,
     [("Sala macchine", WORKSHOP, 600, 0, 1800), ("Laboratorio", LAB, 200, 1, 700)],
     "A silk mill with its vaulted halls, under recovery with the owner's investment."),
    ("DEMO-025", "Ex magazzini di via Ornato", "Via Luigi Ornato 70", "9", 9.1930, 45.5180,
     ("point", 1400), M, FAIR, Typology.PRODUCTIVE, 610_000, SiteStatus.SURVEYED,
     [("Laboratorio 1", LAB, 250, 0, 875), ("Laboratorio 2", LAB, 230, 0, 805),
      ("Ufficio", OFFICE, 70, 1, 280)],
     "Municipal warehouses in Niguarda, surveyed and ready to be offered."),
]
# fmt: on


def footprint(lon: float, lat: float, area_m2: float, ratio: float) -> dict:
    """A rectangle of about ``area_m2`` centred on (lon, lat), ``ratio`` times wider than high."""
    width = math.sqrt(area_m2 * ratio)
    height = area_m2 / width
    half_lon = width / 2 / (111_320 * math.cos(math.radians(lat)))
    half_lat = height / 2 / 110_574
    ring = [
        [lon - half_lon, lat - half_lat],
        [lon + half_lon, lat - half_lat],
        [lon + half_lon, lat + half_lat],
        [lon - half_lon, lat + half_lat],
        [lon - half_lon, lat - half_lat],
    ]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def _accessibility(floor: int) -> str:
    if floor < 0:
        return Accessibility.NONE
    return Accessibility.FULL if floor == 0 else Accessibility.PARTIAL


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _create_site(spec, *, staff) -> Site:
    (
        ref,
        name,
        address,
        _municipio,
        lon,
        lat,
        shape,
        ownership,
        condition,
        typology,
        cost,
        status,
        spaces,
        story,
    ) = spec
    if shape[0] == "point":
        geometry, surface = {"type": "Point", "coordinates": [lon, lat]}, Decimal(shape[1])
    else:
        geometry, surface = footprint(lon, lat, shape[1], shape[2]), None
    site = site_create(
        by=staff,
        geometry=geometry,
        ref_code=ref,
        name=name,
        address=f"{address}, Milano",
        description=f"Demo data (fictional). {story}",
        surface_m2=surface,
        ownership=ownership,
        condition=condition,
        typology=typology,
        recovery_cost=Decimal(cost),
        is_demo=True,
    )
    for step in lifecycle_path(site.status, status):
        site = site_change_status(site=site, to=step, by=staff, reason="Demo data")
    for space_name, use, surface_m2, floor, fee in spaces:
        space_create(
            site=site,
            by=staff,
            name=space_name,
            use=use,
            surface_m2=Decimal(surface_m2),
            floor=floor,
            monthly_fee=Decimal(fee),
            availability=SPACE_AVAILABILITY[status],
            accessibility=_accessibility(floor),
            is_demo=True,
        )
    return site


@transaction.atomic
def load(*, stdout=None) -> dict:
    """Load Milan's zones if none are loaded, then create the demo sites that do not exist yet."""
    staff = staff_user(stdout=stdout)
    if not Zone.objects.filter(kind=ZoneKind.MUNICIPIO).exists():
        result = load_milan_zones(by=staff)
        _say(
            stdout,
            _("Milan zones loaded: %(municipi)d Municipi, %(nil)d NIL.")
            % {"municipi": result["municipi"]["created"], "nil": result["nil"]["created"]},
        )
    existing = set(
        Site.objects.filter(ref_code__in=[s[0] for s in SITES]).values_list("ref_code", flat=True)
    )
    created = []
    for spec in SITES:
        if spec[0] in existing:
            continue
        site = _create_site(spec, staff=staff)
        created.append(site)
        spaces = ngettext("%(count)d space", "%(count)d spaces", len(spec[12])) % {
            "count": len(spec[12])
        }
        _say(
            stdout,
            _("Demo site created: %(ref)s %(name)s (%(zone)s, %(status)s, %(spaces)s)")
            % {
                "ref": site.ref_code,
                "name": site.name,
                "zone": site.municipio or _("outside every zone"),
                "status": site.get_status_display(),
                "spaces": spaces,
            },
        )
    if not created:
        _say(stdout, _("Demo sites: all %(count)d exist already.") % {"count": len(SITES)})
    return {"created": created}
