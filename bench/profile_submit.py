"""Where a submit's time goes, in one process, without HTTP or concurrency: queries per submit, CPU
per submit (whole Django stack vs the domain function), SQL time, and the top functions.

    .venv/bin/python bench/clickday.py --prepare-only --count 2000     # a seeded manifattura_bench
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/manifattura_bench \\
        .venv/bin/python bench/profile_submit.py --count 300 [--profile] [--queries]

It submits ``--count`` seeded drafts through Django's test client, with production settings (same
middleware, DRF, token authentication, ``NOTIFY_DELIVERY=worker``, ``AUDIT_LINK_INTERVAL=1``).
The submissions are real: prepare the database again before the click-day run.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manifattura.config.settings")
os.environ.setdefault("NOTIFY_DELIVERY", "worker")
os.environ.setdefault("AUDIT_LINK_INTERVAL", "1")
os.environ.setdefault("DB_CONN_MAX_AGE", "60")
os.environ.setdefault("DEBUG", "0")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20, help="submits before measuring")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured submits")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one submit")
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from manifattura.calls import domain
    from manifattura.calls.models import Application

    drafts = list(
        Application.objects.filter(call__code="CLICKDAY-2026", status="draft")
        .values_list("pk", "created_by_id")[: args.count + args.warm]
    )
    if len(drafts) < args.count + args.warm:
        raise SystemExit(f"only {len(drafts)} drafts left: prepare the database again")
    tokens = dict(Token.objects.filter(user_id__in=[u for _a, u in drafts]).values_list("user_id", "key"))
    client = Client()

    # Time spent inside the domain function, apart from the rest of the request.
    domain_time = [0.0, 0.0]
    original = domain.application_submit

    def timed_submit(**kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(**kwargs)
        finally:
            domain_time[0] += time.perf_counter() - wall
            domain_time[1] += time.process_time() - cpu

    domain.application_submit = timed_submit

    def submit(app_id, user_id):
        response = client.post(f"/api/v1/applications/{app_id}/submit/", data="{}",
                               content_type="application/json", HTTP_AUTHORIZATION=f"Token {tokens[user_id]}",
                               HTTP_IDEMPOTENCY_KEY=f"profile-{app_id}")
        if response.status_code != 201:
            raise SystemExit(f"submit {app_id}: {response.status_code} {response.content[:300]!r}")

    for app_id, user_id in drafts[: args.warm]:
        submit(app_id, user_id)
    measured = drafts[args.warm:]
    domain_time[:] = [0.0, 0.0]

    with CaptureQueriesContext(connection) as ctx:
        app_id, user_id = measured[0]
        submit(app_id, user_id)
    per_submit = ctx.captured_queries
    print(f"queries per submit: {len(per_submit)}")
    kinds = Counter(q["sql"].split()[0].upper() for q in per_submit)
    print("  by statement:", dict(kinds))
    if args.queries:
        for q in per_submit:
            print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:220]}")
    measured = measured[1:]
    domain_time[:] = [0.0, 0.0]

    profiler = cProfile.Profile() if args.profile else None
    sql_time = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    with CaptureQueriesContext(connection) as ctx:
        for app_id, user_id in measured:
            submit(app_id, user_id)
            sql_time += sum(float(q["time"]) for q in ctx.captured_queries)
            reset_queries()
            ctx.initial_queries = 0
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(measured)
    print(f"submits measured: {n}")
    print(f"wall per submit: {wall * 1000 / n:.2f} ms   CPU per submit (this process): {cpu * 1000 / n:.2f} ms")
    print(f"  inside domain.application_submit: wall {domain_time[0] * 1000 / n:.2f} ms, "
          f"CPU {domain_time[1] * 1000 / n:.2f} ms")
    print(f"  waiting for SQL (as timed by Django's cursor wrapper): {sql_time * 1000 / n:.2f} ms")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
