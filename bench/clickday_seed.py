"""Seed the click-day database fast: one open call (through the domain), N organizations with a
user, a membership, an API token and a complete draft each (bulk inserts).

Run by bench/clickday.py in a subprocess with ``DATABASE_URL`` pointing at the (migrated) bench
database; writes ``{"call_id", "call_code", "applications": [[application_id, token], ...]}``.

    DATABASE_URL=postgresql://postgres@127.0.0.1/manifattura_bench \\
        python bench/clickday_seed.py --count 20000 --out /tmp/seed.json
"""

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import time
from pathlib import Path

# The project to load: this checkout, or an experimental copy (clickday.py --project-dir).
REPO = Path(os.environ.get("BENCH_PROJECT_DIR") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(REPO))  # the tests package: the call is built like the tests build it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manifattura.config.settings")

BATCH = 2000


def seed(count: int, mode: str, tune_count: int = 0) -> dict:
    import django

    django.setup()
    from django.db import transaction
    from django.urls import Resolver404, resolve
    from rest_framework.authtoken.models import Token

    from manifattura.accounts.enums import MembershipRole, OrganizationKind
    from manifattura.accounts.models import Membership, Organization, User
    from manifattura.calls import domain, eligibility
    from manifattura.calls.enums import ApplicationStatus, SelectionMode
    from manifattura.calls.models import Application
    from manifattura.core import clock
    from tests.calls.factories import build_call, complete_answers
    from tests.factories import valid_vat

    now = clock.now()
    # Open since a minute ago (the clients fire "at the opening"), closing long after the run.
    call = build_call(
        code="CLICKDAY-2026", mode=SelectionMode(mode), opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(days=1), title="Click day benchmark",
    )
    answers = complete_answers(call)
    declarations = sorted(call.declarations.values_list("id", flat=True))
    people = max(count, tune_count)  # the tuning call's applicants may outnumber the main call's
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(email=f"clickday{i}@example.org", password="!bench-unusable", first_name="Click",
                  last_name=f"Day {i}", language="it") for i in range(people)],
            batch_size=BATCH,
        )
        orgs = Organization.objects.bulk_create(
            [Organization(legal_name=f"Officina Click Day {i} S.r.l.", kind=OrganizationKind.SME,
                          vat_number=valid_vat(i + 2_000_000), tax_code=valid_vat(i + 2_000_000),
                          address=f"Via del Lavoro {i}", city="Milano", operating_city="Milano",
                          founded_on=dt.date(2020, 1, 1), ateco_code="25.62", email=f"clickday{i}@example.org")
             for i in range(people)],
            batch_size=BATCH,
        )
        Membership.objects.bulk_create(
            [Membership(user=u, organization=o, role=MembershipRole.OWNER) for u, o in zip(users, orgs)],
            batch_size=BATCH,
        )
        tokens = Token.objects.bulk_create(
            [Token(key=secrets.token_hex(20), user=u) for u in users], batch_size=BATCH
        )
        applications = Application.objects.bulk_create(
            [Application(call=call, organization=o, slot=1, created_by=u, created_at=now, updated_at=now,
                         status=ApplicationStatus.DRAFT, answers=answers, accepted_declarations=declarations)
             for u, o in zip(users[:count], orgs[:count])],
            batch_size=BATCH,
        )
    tune_applications = []
    if tune_count:
        # A separate call for trying server configurations, so the measured call starts at protocol 1.
        tune_call = build_call(
            code="CLICKDAY-TUNE", mode=SelectionMode(mode), opens_at=now - dt.timedelta(minutes=1),
            closes_at=now + dt.timedelta(days=1), title="Click day benchmark (tuning)",
        )
        tune_answers = complete_answers(tune_call)
        tune_declarations = sorted(tune_call.declarations.values_list("id", flat=True))
        created = Application.objects.bulk_create(
            [Application(call=tune_call, organization=o, slot=1, created_by=u, created_at=now, updated_at=now,
                         status=ApplicationStatus.DRAFT, answers=tune_answers,
                         accepted_declarations=tune_declarations)
             for u, o in zip(users[:tune_count], orgs[:tune_count])],
            batch_size=BATCH,
        )
        tune_applications = [[a.pk, t.key] for a, t in zip(created, tokens)]
    # The seeded drafts must be exactly what a real applicant would submit.
    sample = Application.objects.select_related("call", "organization").get(pk=applications[-1].pk)
    missing = domain.application_checklist(sample)
    if missing:
        raise SystemExit(f"seeded application {sample.pk} is incomplete: {missing}")
    failed = [r for r in eligibility.evaluate(call, sample.organization, on=clock.local_now().date(),
                                              municipality="Milano") if r.outcome == "failed"]
    if failed:
        raise SystemExit(f"seeded organization {sample.organization_id} is not eligible: {failed}")
    if domain.call_phase(call) != "open":
        raise SystemExit(f"the call is not open: {domain.call_phase(call)}")
    # Drafts saved through the application pages are prepared as they are saved; bulk-created ones are
    # prepared as the programme office would before a click day (`manifattura prepare-submissions`).
    prepared = domain.prepare_submissions(call)
    if tune_count:
        prepared += domain.prepare_submissions(tune_call)
    if prepared != count + tune_count:
        raise SystemExit(f"only {prepared} of {count + tune_count} seeded drafts could be prepared")
    try:
        resolve("/api/v1/applications/1/submit/")
        submit_route = True
    except Resolver404:
        submit_route = False
    return {
        "submit_route": submit_route,
        "tune_applications": tune_applications,
        "call_id": call.pk,
        "call_code": call.code,
        "selection_mode": call.selection_mode,
        "applications": [[a.pk, t.key] for a, t in zip(applications, tokens[:count])],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--mode", default="first_come", choices=["first_come", "merit"])
    parser.add_argument("--tune-count", type=int, default=0, help="drafts on a second call, for tuning")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    data = seed(args.count, args.mode, args.tune_count)
    data["seed_s"] = round(time.perf_counter() - started, 2)
    Path(args.out).write_text(json.dumps(data))
    print(f"seeded {len(data['applications'])} complete drafts in {data['seed_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
