from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from manifattura.calls import demo


class Command(BaseCommand):
    help = _("Load the demo calls (an open space call, an upcoming first-come grant call) and the demo applicant.")

    def handle(self, *args, **options):
        demo.load(stdout=self.stdout)
