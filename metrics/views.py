"""`GET /metrics` for Prometheus, behind an optional bearer token."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metrics.prometheus import REGISTRY


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Answer the exposition format; with VIGIL_METRICS_TOKEN set, only to
    `Authorization: Bearer <token>` (401 otherwise)."""
    token = settings.VIGIL_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("A bearer token is required.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
