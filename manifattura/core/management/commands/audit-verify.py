"""``manifattura audit-verify``: link pending audit entries, then verify the whole hash chain."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from manifattura.core.audit import audit_link, audit_verify


class Command(BaseCommand):
    help = _(
        "Link the committed audit entries not yet in the chain, then check every linked entry against its "
        "hash and its predecessor. Exits with status 1 if anything was altered, removed or reordered."
    )

    def handle(self, *args, **options):
        linked = audit_link()
        checked, problems = audit_verify()
        self.stdout.write(
            _("Audit log: %(linked)d entries linked now, %(checked)d entries checked.")
            % {"linked": linked, "checked": checked}
        )
        if problems:
            for problem in problems:
                self.stdout.write("  " + problem)
            raise CommandError(
                _("The audit chain has %(count)d problems: the log was altered.")
                % {"count": len(problems)}
            )
        self.stdout.write(self.style.SUCCESS(_("The audit chain is intact.")))
