"""The status page is read far more than it changes, hardest while it is down.

Every public response (page, JSON, feeds) is rendered once per generation
and kept for `VIGIL_STATUS_CACHE_SECONDS` in the `statuspage` cache, which
the web processes of a host share (files under the var dir). A change to
what the page shows (an incident, a status update, a service, a maintenance
window, the branding) starts a new generation, so every process sharing the
cache answers the new page at once; processes on other hosts (or a change
made by a bulk update, which sends no signal) within those seconds.

Each body carries an ETag (its hash) and a Last-Modified (when this process
first rendered that body), so that a client asking again with
If-None-Match or If-Modified-Since gets a 304 and no body.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from notifications.statuspage.selectors import Snapshot, status_snapshot

GENERATION = "statuspage:generation"
cache = caches["statuspage"]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    logo_origin: str  # the branding's logo's origin, which the page may load


# This process's snapshot: (generation, read at, snapshot). Kept in memory,
# not in the cache: the renderings built from it are what processes share.
_snapshot: list[tuple[int, float, Snapshot]] = []


def invalidate(**_: Any) -> None:
    """Start a new generation: what is cached now is not served again."""
    _snapshot.clear()
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there (yet, or any more)
        cache.set(GENERATION, 1, timeout=None)


def _generation() -> int:
    return int(cache.get(GENERATION) or 0)


def snapshot() -> Snapshot:
    """Return the snapshot of this generation, read once per cache period."""
    generation, now = _generation(), time.monotonic()
    if _snapshot:
        made_in, read_at, found = _snapshot[0]
        fresh = now - read_at < settings.VIGIL_STATUS_CACHE_SECONDS
        if made_in == generation and fresh:
            return found
    found = status_snapshot()
    _snapshot[:] = [(generation, now, found)]
    return found


def rendered(name: str, build: Callable[[Snapshot], tuple[bytes, str]]) -> Rendered:
    """Return the cached rendering `name`, building it from the snapshot if due."""
    key = f"statuspage:{_generation()}:{name}"
    found = cache.get(key)
    if found is None:
        read = snapshot()
        body, content_type = build(read)
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        # Last-Modified: when this body was first rendered here, so that a
        # changed body is never older than the copy a client holds.
        seen_key = f"statuspage:seen:{name}"
        seen = cache.get(seen_key)
        if seen is None or seen[0] != etag:
            seen = (etag, timezone.now().replace(microsecond=0))
            cache.set(seen_key, seen, timeout=None)
        logo = urlsplit(read.page.logo_url)
        origin = f"{logo.scheme}://{logo.netloc}" if logo.netloc else ""
        found = Rendered(body, content_type, etag, seen[1], origin)
        cache.set(key, found, timeout=settings.VIGIL_STATUS_CACHE_SECONDS)
    return found


def respond(
    request: HttpRequest,
    name: str,
    build: Callable[[Snapshot], tuple[bytes, str]],
) -> HttpResponse:
    """Answer with the cached rendering, or 304 when the client has it."""
    found = rendered(name, build)
    last_modified = found.last_modified.timestamp()
    not_modified = get_conditional_response(
        request, etag=found.etag, last_modified=int(last_modified)
    )
    response = not_modified or HttpResponse(found.body, content_type=found.content_type)
    response["ETag"] = found.etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={settings.VIGIL_STATUS_CACHE_SECONDS}"
    if found.logo_origin and found.content_type.startswith("text/html"):
        # The page's own policy allows its logo's origin, and no other.
        response._csp_update = {"img-src": [found.logo_origin]}  # type: ignore[attr-defined]
    return response
