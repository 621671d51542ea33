"""Ingest endpoints: authenticate, validate, store one row, answer.

Plain Django views rather than DRF: the PagerDuty endpoints must answer
byte for byte as PagerDuty does, and this is the hottest path Vigil has.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from config.strict_json import JSONRefused, loads
from incidents.exceptions import IngestQuotaExceededError
from incidents.ingest import alertmanager, generic, pagerduty, vigil
from incidents.ingest.auth import integration_for_key, request_key
from incidents.ingest.generic import parse_generic
from incidents.ingest.pagerduty import parse_change, parse_event
from incidents.ingest.signals import TRIGGER, InvalidEvent, Refused
from incidents.models import AlertEvent, Integration
from incidents.services import (
    alert_body_fields,
    alert_event_record_for_key,
    alert_event_record_for_key_within_quota,
    alert_event_record_within_quota,
    change_event_record,
    heartbeat_ping,
    ingest_quota_applies,
)

Kind = Integration.Kind
Source = AlertEvent.Source
logger = logging.getLogger(__name__)


def _answer(status: int, body: dict[str, Any]) -> HttpResponse:
    # Compact separators: PagerDuty's own bytes, which some clients compare.
    return HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def _success(
    dedup_key: str | None = None, message: str = "Event processed"
) -> HttpResponse:
    body: dict[str, Any] = {"status": "success", "message": message}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    return _answer(202, body)


def _read_json(request: HttpRequest) -> Any:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise Refused(415, "Unsupported content type", [
            f"Content-Type must be application/json, not {content_type or 'missing'}"
        ])  # fmt: skip
    limit = settings.VIGIL_INGEST_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, "Request body too large", [f"the limit is {limit} bytes"])
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise Refused(413, "Request body too large", [f"the limit is {limit} bytes"])
    try:
        return loads(raw, max_depth=settings.VIGIL_JSON_MAX_DEPTH)
    except JSONRefused as error:
        raise Refused(400, "Event object is invalid", [str(error)]) from None


def _integration(key: str, kind: str) -> Integration:
    integration = integration_for_key(key)
    if integration is None:
        raise Refused(404, "Unknown integration key", ["no integration has this key"])
    if integration.kind != kind:
        raise Refused(400, "Wrong endpoint for this integration", [
            f"this key belongs to a {integration.get_kind_display()} integration"
        ])  # fmt: skip
    return integration


def _record(
    key: str, kind: str, *, source: str, action: str, dedup_key: str, payload: Any
) -> None:
    """Store the event for the integration `key` opens, in one statement
    when the key is its enabled `kind` integration's current key (nearly
    always) and the event is not a new alert under the quota, in two more
    when it is (the key's admission, then the event's INSERT), else after
    looking the key up (and refusing it if need be)."""
    fields = {
        "source": source,
        "action": action,
        "dedup_key": dedup_key,
        "payload": payload,
    }
    digest = Integration.hash_key(key)
    quota = ingest_quota_applies(action)
    record = (
        alert_event_record_for_key_within_quota if quota else alert_event_record_for_key
    )
    stored = record(key_hash=digest, kind=kind, **fields)
    if stored is None:
        integration = _integration(key, kind)
        alert_event_record_within_quota(integration=integration, looked=quota, **fields)


def _guarded(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Answer Refused and InvalidEvent in the senders' error shape.

    An unavailable database is a 503 with Retry-After: the event was not
    stored (its INSERT is the request's only write), so the sender must
    send it again, and senders retry a 503 but drop a 4xx.
    """

    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except DATABASE_UNAVAILABLE as error:
            # One line, not a traceback: an outage meets every request.
            logger.warning("database unavailable, answered 503: %s", error)
            body = {
                "status": "unavailable",
                "message": "Service unavailable",
                "errors": ["the event was not stored: retry later"],
            }
            response = _answer(503, body)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        except IngestQuotaExceededError as throttled:
            return _throttled(throttled)
        except Refused as refused:
            body = {
                "status": "invalid",
                "message": refused.message,
                "errors": refused.errors,
            }
            return _answer(refused.status, body)
        except InvalidEvent as invalid:
            body = {
                "status": "invalid",
                "message": invalid.message,
                "errors": invalid.errors,
            }
            return _answer(400, body)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(wrapper)


def _throttled(error: IngestQuotaExceededError) -> HttpResponse:
    """Answer 429 as PagerDuty does when a key sends too fast: senders
    (PagerDuty's clients, Alertmanager) retry it after Retry-After."""
    body = {
        "status": "throttle exceeded",
        "message": "Requests for this service are arriving too quickly. "
        "Please retry later.",
        "errors": [error.message],
    }
    response = _answer(429, body)
    response["Retry-After"] = str(error.retry_after)
    return response


@_guarded
@require_POST
def pagerduty_enqueue(request: HttpRequest) -> HttpResponse:
    """PagerDuty Events API v2: trigger, acknowledge or resolve an alert."""
    body = _read_json(request)
    key = request_key(pagerduty.FORMAT, request, body)
    if body.get("event_action") == TRIGGER and not body.get("dedup_key"):
        body["dedup_key"] = uuid.uuid4().hex
    try:
        signal = parse_event(body)
    except InvalidEvent:
        _integration(key, Kind.PAGERDUTY)  # an unknown key is refused first
        raise
    _record(
        key,
        Kind.PAGERDUTY,
        source=Source.PAGERDUTY,
        action=signal.action,
        dedup_key=signal.dedup_key,
        payload={k: v for k, v in body.items() if k != "routing_key"},
    )
    return _success(signal.dedup_key)


@_guarded
@require_POST
def pagerduty_change(request: HttpRequest) -> HttpResponse:
    """PagerDuty change events: deploys and config pushes, for the record."""
    body = _read_json(request)
    integration = _integration(
        request_key(pagerduty.FORMAT, request, body), Kind.PAGERDUTY
    )
    summary, source, timestamp = parse_change(body)
    change_event_record(
        integration=integration,
        summary=summary,
        source=source,
        timestamp=timestamp,
        payload={k: v for k, v in body.items() if k != "routing_key"},
    )
    return _success(message="Change event processed")


@_guarded
@require_POST
def alertmanager_webhook(request: HttpRequest) -> HttpResponse:
    """Alertmanager webhook_configs receiver (payload version 4)."""
    integration = _integration(
        request_key(alertmanager.FORMAT, request), Kind.ALERTMANAGER
    )
    body = _read_json(request)
    if not isinstance(body, dict):
        raise InvalidEvent(
            ["the body must be a JSON object"], "Webhook body is invalid"
        )
    alert_event_record_within_quota(
        integration=integration,
        **alert_body_fields(kind=Kind.ALERTMANAGER, body=body),
    )
    return _success(message=f"Webhook accepted: {len(body['alerts'])} alerts")


@_guarded
@require_POST
def generic_webhook(request: HttpRequest) -> HttpResponse:
    """Any JSON body, read through the integration's field mapping."""
    integration = _integration(request_key(generic.FORMAT, request), Kind.GENERIC)
    body = _read_json(request)
    signal = parse_generic(body, integration.field_mapping)
    dedup_key = signal.dedup_key or uuid.uuid4().hex
    alert_event_record_within_quota(
        integration=integration,
        source=Source.GENERIC,
        action=signal.action,
        dedup_key=dedup_key,
        payload=body,
    )
    return _success(dedup_key)


@_guarded
@require_http_methods(["GET", "POST"])
def heartbeat(request: HttpRequest) -> HttpResponse:
    """A heartbeat ping: the job or host is alive. Any body is ignored."""
    integration = _integration(request_key(vigil.HEARTBEAT, request), Kind.HEARTBEAT)
    with transaction.atomic():
        heartbeat_ping(integration=integration)
    return _answer(200, {"status": "success", "message": "Ping received"})
