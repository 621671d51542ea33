"""The baseline: the least a Django view can do to accept an event.

Parse the JSON body, one INSERT, one Celery enqueue, answer 202: the floor
that Vigil's ingest endpoint is compared with on the same stack.
"""

from __future__ import annotations

import json
import os

from celery import shared_task
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bench.schema import INSERT
from config.celery import app

NOOP_TASK = "bench.noop"


@shared_task(name=NOOP_TASK)
def noop(**kwargs: object) -> None:
    """The worker's side of the baseline: take the message, do nothing."""


# The status page's baseline: a constant body, as long as the page measured
# (VIGIL_BENCH_CONSTANT_BYTES), so that only the work of making it differs.
CONSTANT = b"x" * int(os.environ.get("VIGIL_BENCH_CONSTANT_BYTES", "1024"))


@require_GET
def baseline_constant(request: HttpRequest) -> HttpResponse:
    """Answer the same bytes every time: the least a Django view can do."""
    return HttpResponse(CONSTANT, content_type="text/html; charset=utf-8")


@csrf_exempt
@require_POST
def baseline_enqueue(request: HttpRequest) -> HttpResponse:
    """Accept one event: parse, INSERT, enqueue, 202."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"status": "invalid"}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [json.dumps(body)])
    dedup_key = body.get("dedup_key") if isinstance(body, dict) else None
    app.send_task(NOOP_TASK, kwargs={"dedup_key": dedup_key}, queue="default")
    return JsonResponse({"status": "success", "message": "Event processed"}, status=202)
