"""Where a submit's time goes, in one process, without HTTP or concurrency: queries per submit, CPU
per submit (whole Django stack vs the domain function), SQL time, and the top functions.

    .venv/bin/python bench/clickday.py --prepare-only --count 2000     # a seeded manifattura_bench
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/manifattura_bench \\
        .venv/bin/python bench/profile_submit.py --count 300 [--profile] [--queries]

It submits ``--count`` seeded drafts through Django's test client, with production settings (same
middleware, DRF, token authentication, ``NOTIFY_DELIVERY=worker``, ``AUDIT_LINKING=worker``: requests
leave the audit chain to the linker process, as in the click day), but one submit at a time
(``CALLS_SUBMIT_BATCH=1``), so that its statement is counted and timed here.
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

# The project to load: this checkout, or an experimental copy (clickday.py --project-dir).
REPO = Path(os.environ.get("BENCH_PROJECT_DIR") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manifattura.config.settings")
os.environ.setdefault("NOTIFY_DELIVERY", "worker")
os.environ.setdefault("AUDIT_LINKING", "worker")
# One at a time, the submit's statement runs on the request's own connection, where it is counted and
# timed; batched (the click day), it would run on the batch thread's and show here as 0 queries.
os.environ.setdefault("CALLS_SUBMIT_BATCH", "1")
os.environ.setdefault("DB_CONN_MAX_AGE", "60")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("MANIFATTURA_BENCH_ENDPOINTS", "1")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20, help="submits before measuring")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured submits")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one submit")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--detail", action="store_true", help="also time ORM calls, transaction, checks")
    parser.add_argument("--baseline-count", type=int, default=300, help="requests for each baseline")
    parser.add_argument("--save", help="write the cProfile stats to this file (pstats format)")
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

    # CPU (thread time, so waiting for PostgreSQL does not count) and wall time of the parts of a
    # submit: patched wrappers around the functions the request goes through.
    import importlib

    parts: dict[str, list[float]] = {}
    sql_stats = [0, 0.0]  # statements executed, CPU spent inside the driver (sending, reading rows)

    def count_sql(execute, sql, params, many, context):
        sql_stats[0] += 1
        cpu = time.thread_time()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_stats[1] += time.thread_time() - cpu

    def instrument(label, owner, name):
        original = getattr(owner, name)

        def wrapper(*a, **kw):
            wall, cpu, stats = time.perf_counter(), time.thread_time(), list(sql_stats)
            try:
                return original(*a, **kw)
            finally:
                acc = parts.setdefault(label, [0.0, 0.0, 0, 0])
                acc[0] += time.perf_counter() - wall
                acc[1] += time.thread_time() - cpu
                acc[2] += 1
                acc[3] += sql_stats[0] - stats[0]

        setattr(owner, name, wrapper)

    from rest_framework.authentication import TokenAuthentication

    from manifattura.calls import api as calls_api
    from manifattura.core import audit, notify

    targets = [
        ("DRF token authentication (1 query)", TokenAuthentication, "authenticate"),
        ("domain.application_submit (all of it)", domain, "application_submit"),
        ("  _submit: lock, checks, snapshot, inserts", domain, "_submit"),
        ("    audit_record (INSERT action log)", audit, "audit_record"),
        ("    send_email (INSERT outbox)", notify, "send_email"),
        ("    _take_protocol (counter UPDATE)", domain, "_take_protocol"),
        ("  audit_link_quietly (after commit; returns at once with AUDIT_LINKING=worker)", audit,
         "audit_link_quietly"),
    ]
    if args.detail:
        from django.db import transaction
        from django.db.models import QuerySet

        from manifattura.calls import answers, eligibility

        targets += [
            ("ORM QuerySet.get (all calls)", QuerySet, "get"),
            ("ORM QuerySet.first (all calls)", QuerySet, "first"),
            ("ORM QuerySet.exists (all calls)", QuerySet, "exists"),
            ("ORM QuerySet.count (all calls)", QuerySet, "count"),
            ("ORM QuerySet.create (all calls)", QuerySet, "create"),
            ("ORM QuerySet.update (all calls)", QuerySet, "update"),
            ("transaction.atomic enter (BEGIN)", transaction.Atomic, "__enter__"),
            ("transaction.atomic exit (COMMIT + on_commit hooks)", transaction.Atomic, "__exit__"),
            ("form checklist", answers, "checklist"),
            ("eligibility.evaluate", eligibility, "evaluate"),
            ("_snapshot", domain, "_snapshot"),
            ("snapshot_digest", domain, "snapshot_digest"),
        ]
    for label, owner, name in targets:
        instrument(label, owner, name)
    # Names bound at import time in other modules must be patched there too.
    domain.audit_record, domain.send_email = audit.audit_record, notify.send_email
    serializers = importlib.import_module("manifattura.calls.serializers")
    instrument("receipt_data (response body, first-come position)", serializers, "receipt_data")
    calls_api.receipt_data = serializers.receipt_data

    def submit(app_id, user_id):
        response = client.post(f"/api/v1/applications/{app_id}/submit/", data="{}",
                               content_type="application/json", HTTP_AUTHORIZATION=f"Token {tokens[user_id]}",
                               HTTP_IDEMPOTENCY_KEY=f"profile-{app_id}")
        if response.status_code != 201:
            raise SystemExit(f"submit {app_id}: {response.status_code} {response.content[:300]!r}")

    for app_id, user_id in drafts[: args.warm]:
        submit(app_id, user_id)

    # The same measure for the baselines, in the same process and moment: GET /healthz and the bare
    # INSERT endpoint (its table is created here if the click-day run did not).
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, payload jsonb, "
                       "created_at timestamptz DEFAULT now())")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from clickday import bare_payload

    body = bare_payload(0)
    for label, call in (
        ("GET /healthz", lambda: client.get("/healthz")),
        ("POST /bench/bare-insert/ (one ~2 KB INSERT)",
         lambda: client.post("/bench/bare-insert/", data=body, content_type="application/json")),
    ):
        for _ in range(args.warm):
            call()
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(args.baseline_count):
            call()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        print(f"{label}: CPU {cpu * 1000 / args.baseline_count:.2f} ms, "
              f"wall {wall * 1000 / args.baseline_count:.2f} ms per request")
    measured = drafts[args.warm:]

    with CaptureQueriesContext(connection) as ctx:
        app_id, user_id = measured[0]
        submit(app_id, user_id)
    per_submit = ctx.captured_queries
    print(f"queries of one submit: {len(per_submit)}")
    kinds = Counter(q["sql"].split()[0].upper() for q in per_submit)
    print("  by statement:", dict(kinds))
    if args.queries:
        for q in per_submit:
            print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:220]}")
    measured = measured[1:]
    parts.clear()

    profiler = cProfile.Profile() if args.profile else None
    sql_time = 0.0
    sql_stats[:] = [0, 0.0]
    wall, cpu = time.perf_counter(), time.thread_time()
    if profiler:
        profiler.enable()
    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(count_sql):
        for app_id, user_id in measured:
            submit(app_id, user_id)
            sql_time += sum(float(q["time"]) for q in ctx.captured_queries)
            reset_queries()
            ctx.initial_queries = 0
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    n = len(measured)
    print(f"submits measured: {n}")
    print(f"whole request (test client + middleware + DRF + domain): CPU {cpu * 1000 / n:.2f} ms, "
          f"wall {wall * 1000 / n:.2f} ms per submit")
    print(f"  SQL statements per submit: {sql_stats[0] / n:.1f} (CPU inside the driver: "
          f"{sql_stats[1] * 1000 / n:.2f} ms per submit)")
    print(f"  {'part':52} {'CPU ms':>8} {'wall ms':>8} {'SQL':>5}  (per submit)")
    for label, (part_wall, part_cpu, _calls, statements) in parts.items():
        print(f"  {label:52} {part_cpu * 1000 / n:8.2f} {part_wall * 1000 / n:8.2f} {statements / n:5.1f}")
    print(f"  waiting for SQL (as timed by Django's cursor wrapper): {sql_time * 1000 / n:.2f} ms")
    if profiler:
        if args.save:
            profiler.dump_stats(args.save)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
