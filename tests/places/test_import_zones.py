"""import-zones: Milan's boundaries by default, another city's with options; idempotent and audited."""

import io
import json
import sys

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.utils import translation

from manifattura.__main__ import main
from manifattura.core.models import ActionLog
from manifattura.places.enums import ZoneKind
from manifattura.places.models import Zone
from tests.factories import SiteFactory


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English; the project's default language is Italian.
    with translation.override("en"):
        yield


def run(*args) -> str:
    out = io.StringIO()
    call_command("import-zones", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def square(lon, lat, size=0.01) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


def collection(path, features) -> str:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": props, "geometry": geometry}
                    for props, geometry in features
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_the_hyphenated_commands_are_found_by_django():
    commands = get_commands()
    for name in ("import-zones", "import-sites", "load-demo", "audit-verify"):
        assert name in commands, name


def test_the_console_script_runs_hyphenated_commands(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["manifattura", "import-zones", "--help"])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 0
    assert "--municipio-field" in capsys.readouterr().out


def test_default_loads_milan_and_a_second_run_only_updates(db):
    out = run()

    assert "Municipi: 9 created, 0 updated." in out
    assert "NIL: 88 created, 0 updated." in out
    assert Zone.objects.filter(kind=ZoneKind.MUNICIPIO).count() == 9
    assert Zone.objects.filter(kind=ZoneKind.NIL).count() == 88

    out = run()

    assert "Municipi: 0 created, 9 updated." in out
    assert Zone.objects.count() == 97
    assert ActionLog.objects.filter(verb="zones.import").count() == 4


def test_another_city_with_its_own_field_names_and_sites_are_rezoned(db, tmp_path, staff):
    site = SiteFactory(geometry={"type": "Point", "coordinates": [11.005, 44.005]})
    assert site.outside_zones is True
    municipi = collection(
        tmp_path / "quartieri.geojson",
        [
            ({"QUARTIERE": "Q1", "NOME": "Centro"}, square(11.0, 44.0)),
            ({"QUARTIERE": "Q2", "NOME": "Nord"}, square(11.0, 44.01)),
        ],
    )
    nil = collection(
        tmp_path / "rioni.geojson", [({"NUM": 7, "RIONE": "San Pietro"}, square(11.0, 44.0))]
    )

    out = run(
        "--municipi",
        municipi,
        "--nil",
        nil,
        "--municipio-field",
        "QUARTIERE",
        "--municipio-name-field",
        "NOME",
        "--nil-code-field",
        "NUM",
        "--nil-name-field",
        "RIONE",
        "--by",
        staff.email,
    )

    assert "Municipi: 2 created" in out and "NIL: 1 created" in out and "Sites re-zoned: 1." in out
    assert Zone.objects.get(kind=ZoneKind.MUNICIPIO, code="Q2").name == "Nord"
    assert Zone.objects.get(kind=ZoneKind.NIL, code="7").name == "San Pietro"
    site.refresh_from_db()
    assert (site.municipio.code, site.nil.code, site.outside_zones) == ("Q1", "7", False)
    assert ActionLog.objects.filter(verb="zones.import", actor=staff).count() == 2


def test_a_bad_nil_file_leaves_the_municipi_untouched(db, tmp_path):
    municipi = collection(tmp_path / "m.geojson", [({"MUNICIPIO": 1}, square(11.0, 44.0))])
    nil = collection(tmp_path / "n.geojson", [({"WRONG": 1}, square(11.0, 44.0))])

    with pytest.raises(CommandError, match="no field 'ID_NIL'"):
        run("--municipi", municipi, "--nil", nil)

    assert not Zone.objects.exists()
    assert not ActionLog.objects.exists()


def test_a_missing_file_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="File not found"):
        run("--municipi", tmp_path / "nowhere.geojson")
