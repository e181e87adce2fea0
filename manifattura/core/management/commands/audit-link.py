"""``manifattura audit-link``: link committed audit entries into the hash chain, once or every N seconds."""

import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manifattura.core.audit import audit_link


class Command(BaseCommand):
    help = _(
        "Link the committed audit entries not yet in the hash chain, in id order. With --every it keeps "
        "doing so (the linker process of AUDIT_LINKING=worker) until it is stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=None, metavar="SECONDS",
                            help=_("Link again every SECONDS seconds, until stopped (Ctrl-C or SIGTERM)."))
        parser.add_argument("--batch", type=int, default=5000,
                            help=_("Entries linked per transaction (default 5000)."))

    def handle(self, *args, every=None, batch=5000, **options):
        if batch < 1:
            raise CommandError(_("--batch must be at least 1."))
        if every is not None and every <= 0:
            raise CommandError(_("--every must be a positive number of seconds."))
        previous = signal.signal(signal.SIGTERM, _stop) if every is not None else None  # a stop: as Ctrl-C
        total = 0
        try:
            while True:
                linked = audit_link(batch=batch)
                total += linked
                if linked and (every is not None or self.stdout.isatty()):
                    self.stdout.write(ngettext("Linked %(linked)d entry (%(total)d in all).",
                                               "Linked %(linked)d entries (%(total)d in all).", linked)
                                      % {"linked": linked, "total": total})
                    self.stdout.flush()
                if every is None:
                    break
                time.sleep(every)
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self.stdout.write(ngettext("Audit log: %(total)d entry linked.", "Audit log: %(total)d entries linked.", total)
                          % {"total": total})


def _stop(signum, frame):
    raise KeyboardInterrupt  # a half-done linking transaction is rolled back: the entries stay pending
