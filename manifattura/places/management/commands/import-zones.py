"""``manifattura import-zones``: load the city's Municipi and NIL boundaries (Milan's by default)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from manifattura.core.geo import GeometryError
from manifattura.places.importers import MILAN_MUNICIPI, MILAN_NIL, load_zones
from manifattura.places.management.commands._options import staff_user


class Command(BaseCommand):
    help = _(
        "Load zone boundaries (GeoJSON FeatureCollections): Milan's 9 Municipi and 88 NIL by default, "
        "or another city's files. Zones are matched on their code, so running it again updates them; "
        "sites are then re-zoned."
    )

    def add_arguments(self, parser):
        parser.add_argument("--municipi", type=Path, help=_("Municipi file (default: Milan's)."))
        parser.add_argument(
            "--nil",
            type=Path,
            help=_("NIL file (default: Milan's when --municipi is not given, else none)."),
        )
        parser.add_argument(
            "--municipio-field",
            default="MUNICIPIO",
            help=_("Property holding the Municipio code (default MUNICIPIO)."),
        )
        parser.add_argument(
            "--municipio-name-field",
            default=None,
            help=_("Property holding the Municipio name (default: “Municipio N”)."),
        )
        parser.add_argument(
            "--nil-code-field",
            default="ID_NIL",
            help=_("Property holding the NIL code (default ID_NIL)."),
        )
        parser.add_argument(
            "--nil-name-field",
            default="NIL",
            help=_("Property holding the NIL name (default NIL)."),
        )
        parser.add_argument("--by", metavar="EMAIL", help=_("Staff user recorded as the actor."))

    def handle(self, *args, **options):
        municipi = options["municipi"] or MILAN_MUNICIPI
        nil = options["nil"] if options["municipi"] else (options["nil"] or MILAN_NIL)
        for path in (municipi, nil):
            if path is not None and not path.is_file():
                raise CommandError(_("File not found: %(file)s") % {"file": path})
        try:
            with transaction.atomic():  # a bad NIL file must not leave the Municipi half-replaced
                result = load_zones(
                    municipi=municipi,
                    nil=nil,
                    by=staff_user(options["by"]),
                    municipio_field=options["municipio_field"],
                    municipio_name_field=options["municipio_name_field"],
                    nil_code_field=options["nil_code_field"],
                    nil_name_field=options["nil_name_field"],
                )
        except (ValueError, KeyError, GeometryError) as exc:  # bad file: nothing was written
            raise CommandError(_("Zones not imported: %(error)s") % {"error": exc}) from exc
        self.stdout.write(
            _("Municipi: %(created)d created, %(updated)d updated.") % result["municipi"]
        )
        if "nil" in result:
            self.stdout.write(_("NIL: %(created)d created, %(updated)d updated.") % result["nil"])
        self.stdout.write(_("Sites re-zoned: %(count)d.") % {"count": result["sites_rezoned"]})
