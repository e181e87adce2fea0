import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from manifattura.calls import ranking as rk
from manifattura.calls.evaluation import verify_ranking
from manifattura.calls.models import Call


class Command(BaseCommand):
    help = _(
        "Recompute a call's published ranking from the stored scores (or from a published CSV with --csv) "
        "and exit non-zero on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("call", nargs="?", help=_("The call's code."))
        parser.add_argument("--kind", choices=["provisional", "final"], help=_("Which ranking (default: the latest)."))
        parser.add_argument("--csv", help=_("Verify a published ranking CSV file alone, without the database."))

    def handle(self, *args, call=None, kind=None, csv=None, **options):
        if csv:
            with open(csv, encoding="utf-8-sig") as handle:
                problems = rk.verify_csv(handle.read())
            label = csv
        else:
            if not call:
                raise CommandError(_("Name the call's code, or give --csv FILE."))
            found = Call.objects.filter(code=call).first()
            if found is None:
                raise CommandError(_("No call with code “%(code)s”.") % {"code": call})
            problems = verify_ranking(found, kind)
            label = found.code
        if problems:
            for problem in problems:
                self.stderr.write(f"- {problem}")
            self.stderr.write(_("%(label)s: the ranking does NOT match (%(n)d differences).") % {"label": label, "n": len(problems)})
            sys.exit(1)
        self.stdout.write(_("%(label)s: the ranking matches its inputs.") % {"label": label})
