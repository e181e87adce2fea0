import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from manifattura.core.notify import deliver_pending


class Command(BaseCommand):
    help = _("Deliver pending outgoing emails (the outbox), oldest first.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help=_("Deliver at most this many."))

    def handle(self, *args, limit=None, **options):
        def progress(done, total):
            if total >= 50 and (done % 50 == 0 or done == total):
                sys.stderr.write(f"\r{done}/{total}")
                if done == total:
                    sys.stderr.write("\n")

        sent, failed = deliver_pending(limit=limit, progress=progress)
        self.stdout.write(_("Sent: %(sent)d, not sent: %(failed)d") % {"sent": sent, "failed": failed})
