"""``manifattura load-demo``: every app's demo data (see ``core.demo_steps``), idempotent."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from manifattura.core.demo_steps import load_demo


class Command(BaseCommand):
    help = _(
        "Load the demo data of every app (people, organizations, Milan zones, sites and spaces, …). "
        "Running it again creates nothing new."
    )

    def handle(self, *args, **options):
        ran = load_demo(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(_("Demo data ready (%(apps)s).") % {"apps": ", ".join(ran)})
        )
