import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.translation import gettext as _

from manifattura.calls import domain, queries
from manifattura.calls.enums import CallPhase, CallStatus
from manifattura.calls.models import Call
from manifattura.core import clock
from manifattura.core.models import ActionLog


class Command(BaseCommand):
    help = _(
        "Email the people of organizations whose application is not submitted, for open calls closing "
        "within the window. Each application is reminded once per deadline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--call", metavar="CODE", help=_("Only this call."))
        parser.add_argument("--hours", type=float, default=48,
                            help=_("Calls closing within this many hours (default 48)."))
        parser.add_argument("--dry-run", action="store_true", help=_("Say who would be reminded; send nothing."))
        parser.add_argument("--base-url", default=settings.MANIFATTURA["BASE_URL"],
                            help=_("The platform's address, for the link in the email."))

    def handle(self, *args, call=None, hours=48, dry_run=False, base_url="", **options):
        if hours <= 0:
            raise CommandError(_("--hours must be positive."))
        now = clock.now()
        calls = Call.objects.filter(status=CallStatus.PUBLISHED, closes_at__gt=now,
                                    closes_at__lte=now + dt.timedelta(hours=hours)).order_by("closes_at")
        if call:
            if not Call.objects.filter(code=call).exists():
                raise CommandError(_("There is no call with the code “%(code)s”.") % {"code": call})
            calls = calls.filter(code=call)
        people = applications = skipped = 0
        for each in calls:
            if domain.call_phase(each, now) != CallPhase.OPEN:
                continue
            self.stdout.write(_("%(code)s closes at %(when)s") % {
                "code": each.code, "when": each.closes_at.astimezone(clock.ROME).strftime("%Y-%m-%d %H:%M")})
            for application in queries.applications_to_remind(each):
                url = base_url.rstrip("/") + reverse("calls:application", args=[application.pk])
                if dry_run:
                    already = ActionLog.objects.filter(
                        verb=domain.REMINDED_VERB, object_type="calls.application", object_id=str(application.pk),
                        data__closes_at=each.closes_at.astimezone(clock.ROME).isoformat()).exists()
                    addresses = [m.user.email for m in application.organization.memberships.all() if m.user.email]
                    state = _("already reminded") if already else _("would remind %(to)s") % {"to": ", ".join(addresses)}
                    self.stdout.write(f"  {application.organization}: {state}")
                    continue
                sent = domain.application_remind(application=application, url=url)
                if sent:
                    people += sent
                    applications += 1
                    self.stdout.write(_("  %(org)s: reminded %(count)d people") % {
                        "org": application.organization, "count": sent})
                else:
                    skipped += 1
        if dry_run:
            self.stdout.write(_("Dry run: nothing was sent."))
        else:
            self.stdout.write(_("Reminded %(apps)d applications (%(people)d people); %(skipped)d skipped "
                                "(already reminded or nobody to write to).") % {
                "apps": applications, "people": people, "skipped": skipped})
