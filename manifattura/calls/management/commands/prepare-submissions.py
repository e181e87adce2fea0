from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from manifattura.calls import domain
from manifattura.calls.enums import CallStatus
from manifattura.calls.models import Application, Call


class Command(BaseCommand):
    help = _(
        "Prepare the drafts of a published call for submission (before a click day): each complete and "
        "eligible draft then submits in one database call. Drafts saved through the pages or the API are "
        "prepared as they are saved; run this after importing drafts, or the day before the opening."
    )

    def add_arguments(self, parser):
        parser.add_argument("call", help=_("The call's code."))

    def handle(self, *args, call, **options):
        found = Call.objects.filter(code=call).first()
        if found is None:
            raise CommandError(_("No call with code “%(code)s”.") % {"code": call})
        if found.status != CallStatus.PUBLISHED:
            raise CommandError(_("The call “%(code)s” is not published: there is nothing to prepare.") % {"code": call})

        def progress(done, total):
            self.stderr.write(f"\r{done}/{total}", ending="\n" if done == total else "")
            self.stderr.flush()

        ready = domain.prepare_submissions(found, progress=progress)
        drafts = Application.objects.filter(call=found, status__in=domain.EDITABLE_APPLICATION_STATUSES).count()
        self.stdout.write(_(
            "%(code)s: %(ready)d of %(drafts)d drafts are ready to submit; the others are incomplete or "
            "ineligible (submitting them explains why)."
        ) % {"code": found.code, "ready": ready, "drafts": drafts})
