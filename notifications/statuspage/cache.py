"""The status page is read far more than it changes, hardest while it is down.

Every public response (page, JSON, feeds) is rendered once and kept in the
`statuspage` cache, which the web processes of a host share (files under the
var dir). A copy is due for a rebuild once it is `VIGIL_STATUS_CACHE_SECONDS`
old, or once what the page shows changed (an incident, a status update, a
service, a maintenance window, the branding: each starts a new generation).
Then exactly one process rebuilds it, holding a short lock in the shared cache
(`cache.add`), while every other process goes on serving the copy it has: no
crowd of processes reading a million incidents at once. A copy is served
stale only for as long as that one rebuild takes (and the lock, if its holder
dies, lasts `LOCK_SECONDS`). The process that made a change rebuilds at its
next request, so it sees the change at once; processes on other hosts (or a
change made by a bulk update, which sends no signal) within the period.

Each body carries an ETag (its hash) and a Last-Modified (when that body was
first rendered), so that a client asking again with If-None-Match or
If-Modified-Since gets a 304 and no body.
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
# How long a rebuild's lock lasts if its holder dies before it lets it go:
# the longest a copy is served stale when no rebuild finishes.
LOCK_SECONDS = 3
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


def rebuild_lock(name: str) -> str:
    """The shared cache key held by the process rebuilding rendering `name`."""
    return f"statuspage:lock:{name}"


def _build(name: str, build: Callable[[Snapshot], tuple[bytes, str]]) -> Rendered:
    read = snapshot()
    body, content_type = build(read)
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    # Last-Modified: when this body was first rendered, so that a changed
    # body is never older than the copy a client holds.
    seen_key = f"statuspage:seen:{name}"
    seen = cache.get(seen_key)
    if seen is None or seen[0] != etag:
        seen = (etag, timezone.now().replace(microsecond=0))
        cache.set(seen_key, seen, timeout=None)
    logo = urlsplit(read.page.logo_url)
    origin = f"{logo.scheme}://{logo.netloc}" if logo.netloc else ""
    return Rendered(body, content_type, etag, seen[1], origin)


def rendered(name: str, build: Callable[[Snapshot], tuple[bytes, str]]) -> Rendered:
    """Return the rendering `name`: the shared copy, rebuilt by one process if due.

    The copy is kept as (generation, built at, rendering) without expiry; it
    is due when its generation is not the current one or its period is over.
    Whoever takes the lock rebuilds it; the others serve the copy they found.
    Only with no copy at all does a process build one without the lock.
    """
    key, lock = f"statuspage:copy:{name}", rebuild_lock(name)
    generation = _generation()
    found = cache.get(key)
    if found is not None:
        made_in, built_at, copy = found
        age = time.time() - built_at
        if made_in == generation and age < settings.VIGIL_STATUS_CACHE_SECONDS:
            return copy
        if not cache.add(lock, 1, timeout=LOCK_SECONDS):
            return copy  # another process is rebuilding it
    try:
        copy = _build(name, build)
        cache.set(key, (generation, time.time(), copy), timeout=None)
    finally:
        if found is not None:
            cache.delete(lock)
    return copy


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
