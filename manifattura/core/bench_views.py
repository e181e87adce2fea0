"""Bare endpoints for the benchmarks (bench/): served only when MANIFATTURA_BENCH_ENDPOINTS=1.

``bare_insert`` is the click-day baseline: the same settings, middleware and server as the real
submit endpoint, but the view does nothing except one durable INSERT of the posted JSON (~2 KB)
into ``bench_bare``, a table the benchmark creates itself (no model, no migration).
"""

import json

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def bare_insert(request):
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "invalid JSON"}, status=400)
    with connection.cursor() as cursor:  # autocommit: one INSERT, one commit
        cursor.execute(
            "INSERT INTO bench_bare (payload) VALUES (%s::jsonb) RETURNING id", [json.dumps(payload)]
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)
