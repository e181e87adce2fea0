"""``manifattura import-sites FILE``: import sites from GeoJSON or CSV (see ``places.sites_import``)."""

import sys
from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from manifattura.places import sites_import
from manifattura.places.management.commands._options import staff_user

PROGRESS_ABOVE = 200  # rows; smaller files finish before progress lines would help
SUMMARY_ABOVE = 10  # problems; a longer report ends with a count per field
WARNINGS_SHOWN = 50  # "outside every zone" lines; the count of the others follows


class Command(BaseCommand):
    help = _(
        "Import sites from a GeoJSON FeatureCollection (Point, Polygon, MultiPolygon; properties are "
        "fields) or a CSV file with lon/lat columns (separator ; or , detected). Every row is validated "
        "first; if any is invalid nothing is written unless --skip-invalid. Rows update the site with the "
        "same ref_code (or, without one, the site with the same name and address) and create the others."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=_("GeoJSON or CSV file (UTF-8)."))
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=SOURCE",
            help=_(
                "Take FIELD from the SOURCE column (repeatable). FIELD is one of: %(fields)s. SOURCE may "
                "be a template joining columns, e.g. address='{addr:street} {addr:housenumber}'."
            )
            % {"fields": ", ".join(sites_import.TARGET_FIELDS)},
        )
        parser.add_argument(
            "--default",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help=_(
                "Value for new sites whose row leaves FIELD empty (repeatable), e.g. ownership=private."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("Validate and report; write nothing.")
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=_("Import the valid rows and report the invalid ones."),
        )
        parser.add_argument("--by", metavar="EMAIL", help=_("Staff user recorded as the actor."))

    def handle(self, *args, **options):
        try:
            mapping = sites_import.parse_pairs(
                options["map"], option="--map", allowed=sites_import.TARGET_FIELDS
            )
            defaults = sites_import.parse_pairs(
                options["default"], option="--default", allowed=sites_import.DEFAULTABLE_FIELDS
            )
            by = staff_user(options["by"])
            source = sites_import.read_source(options["file"])
            self.stdout.write(
                _("Read %(count)d rows from %(file)s (%(format)s).")
                % {"count": len(source.records), "file": source.name, "format": source.format}
            )
            show_progress = len(source.records) > PROGRESS_ABOVE or sys.stderr.isatty()
            result = sites_import.import_sites(
                source,
                by=by,
                mapping=mapping,
                defaults=defaults,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                progress=self.progress if show_progress else None,
            )
        except sites_import.ImportFileError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:  # a row passed validation but the database refused it
            raise CommandError(
                _("Nothing was imported: %(error)s") % {"error": "; ".join(exc.messages)}
            ) from None
        self.report(result)

    def progress(self, phase: str, done: int, total: int) -> None:
        label = _("validated") if phase == "validate" else _("written")
        self.stderr.write(
            _("%(label)s %(done)d/%(total)d (%(percent)d%%)")
            % {"label": label, "done": done, "total": total, "percent": 100 * done // max(total, 1)}
        )

    def report(self, result: sites_import.ImportResult) -> None:
        if result.problems:
            self.stdout.write(_("Invalid rows: %(count)d. Problems:") % {"count": result.invalid})
            for line in sites_import.problem_lines(result):
                self.stdout.write("  " + line)
            if len(result.problems) > SUMMARY_ABOVE:
                by_field = Counter(problem.field for problem in result.problems)
                self.stdout.write(
                    _("Problems by field: %(fields)s")
                    % {
                        "fields": ", ".join(
                            f"{name} {count}" for name, count in by_field.most_common()
                        )
                    }
                )
        for warning in result.warnings[:WARNINGS_SHOWN]:
            self.stdout.write(_("Warning: %(warning)s") % {"warning": warning})
        if len(result.warnings) > WARNINGS_SHOWN:
            self.stdout.write(
                _("… and %(count)d more warnings of the same kind.")
                % {"count": len(result.warnings) - WARNINGS_SHOWN}
            )
        counts = (
            _(
                "created %(created)d, updated %(updated)d, unchanged %(unchanged)d, "
                "skipped %(skipped)d, invalid %(invalid)d"
            )
            % result.counts()
        )
        if result.invalid and not result.written and not (result.dry_run and result.skipped):
            raise CommandError(
                _(
                    "Nothing was imported: %(count)d rows are invalid. Fix them, or use --skip-invalid "
                    "to import only the valid rows."
                )
                % {"count": result.invalid}
            )
        if result.dry_run:
            self.stdout.write(
                _("Dry run, nothing written. The import would give: %(counts)s.")
                % {"counts": counts}
            )
        elif result.written:
            self.stdout.write(self.style.SUCCESS(_("Imported: %(counts)s.") % {"counts": counts}))
        else:
            self.stdout.write(_("Nothing to write: %(counts)s.") % {"counts": counts})
