"""The status page is read far more than it changes, hardest while it is down.

Every public response (page, JSON, feeds) is rendered once and kept in the
`statuspage` cache, which the web processes of a host share (files under the
var dir), and in each process's memory, from which it is served. A copy is
due for a rebuild once it is `VIGIL_STATUS_CACHE_SECONDS` old, or once what
the page shows changed (a public incident, a public status update, a
service, a maintenance window, the branding: each starts a new generation;
statuspage.receivers says which changes do). A due copy whose sources show
no change (`status_version`: a few aggregate queries, no rendering) is kept
as it is and only its period renewed, for up to `REFRESH_SECONDS`; then it
is rendered again, for what moves with the clock (today's uptime) and what
no saved row shows (a bulk update). A process reads the shared generation at
most every `CHECK_SECONDS`, so a request usually touches no file. When its
copy is due, it takes the shared copy if that one is current; otherwise
exactly one process rebuilds, holding a short lock in the shared cache
(`cache.add`), while every other process goes on serving the copy it has: no
crowd of processes reading a million incidents at once. The one that
rebuilds a copy of another generation does so in the request, which then
answers with the change; one whose period merely ran out is renewed in a
thread (usually only a version check), the request answered with the copy it
has. A copy is served stale only for as long as one rebuild takes (and the
lock, if its holder dies, lasts `LOCK_SECONDS`). The process that made a
change rebuilds in its next request, so it sees the change at once; other
processes within `CHECK_SECONDS` and one rebuild, and every process, for a
change that sends no signal here (another host's, or a bulk update), within
the period and `CHECK_SECONDS`.

Each body carries an ETag (its hash) and a Last-Modified (when that body was
first rendered), so that a client asking again with If-None-Match or
If-Modified-Since gets a 304 and no body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from notifications.statuspage.selectors import (
    Snapshot,
    status_snapshot,
    status_version,
)

logger = logging.getLogger(__name__)
GENERATION = "statuspage:generation"
# How long a rebuild's lock lasts if its holder dies before it lets it go:
# the longest a copy is served stale when no rebuild finishes.
LOCK_SECONDS = 3
# How often a process reads the shared generation to learn of another's change.
CHECK_SECONDS = 0.5
# The longest a rendering is kept while its sources show no change.
REFRESH_SECONDS = 60
cache = caches["statuspage"]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    logo_origin: str  # the branding's logo's origin, which the page may load


Version = tuple[object, ...]
# This process's snapshot: (generation, version, read at, snapshot). Kept in
# memory, not in the cache: the renderings built from it are what processes
# share.
_snapshot: list[tuple[int, Version, float, Snapshot]] = []


def invalidate(**_: Any) -> None:
    """Start a new generation: what is cached now is not served again."""
    _snapshot.clear()
    _changes[0] += 1
    for copy in _copies.values():
        copy.owed = True
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there (yet, or any more)
        cache.set(GENERATION, 1, timeout=None)


def _generation() -> int:
    return int(cache.get(GENERATION) or 0)


def snapshot(version: Version) -> Snapshot:
    """Return the snapshot of this generation and version, read once per
    cache period."""
    generation, now = _generation(), time.time()
    if _snapshot:
        made_in, read_version, read_at, found = _snapshot[0]
        fresh = 0 <= now - read_at < settings.VIGIL_STATUS_CACHE_SECONDS
        if made_in == generation and read_version == version and fresh:
            return found
    found = status_snapshot()
    _snapshot[:] = [(generation, version, now, found)]
    return found


def shared_key(name: str) -> str:
    """The shared cache key of rendering `name`: (generation, built at, the
    rendering, its sources' version, rendered at). Named apart from the
    earlier three-part entries, which a cache directory may still hold."""
    return f"statuspage:rendering:{name}"


def rebuild_lock(name: str) -> str:
    """The shared cache key held by the process rebuilding rendering `name`."""
    return f"statuspage:lock:{name}"


def _build(
    name: str, build: Callable[[Snapshot], tuple[bytes, str]], version: Version
) -> Rendered:
    read = snapshot(version)
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


@dataclass
class _Copy:
    """This process's copy of one rendering."""

    generation: int
    built_at: float  # time.time(), comparable between processes
    rendering: Rendered
    checked_at: float  # when the shared generation was last read for it
    version: Version  # its sources' version when it was last renewed
    rendered_at: float  # when its body was rendered (time.time())
    owed: bool = False  # this process changed what the page shows since

    def current(self, generation: int, now: float) -> bool:
        age = now - self.built_at
        return (
            self.generation == generation
            and 0 <= age < settings.VIGIL_STATUS_CACHE_SECONDS
        )

    def keeps(self, generation: int, version: Version, now: float) -> bool:
        """Whether renewing it may keep its body: nothing it was made from
        changed, and it was rendered within `REFRESH_SECONDS`."""
        return (
            not self.owed
            and self.generation == generation
            and self.version == version
            and 0 <= now - self.rendered_at < REFRESH_SECONDS
        )


_copies: dict[str, _Copy] = {}
# invalidate() calls in this process so far: a copy whose build began before
# the last of them is owed a rebuild.
_changes = [0]


def _store(
    name: str, build: Callable[[Snapshot], tuple[bytes, str]], generation: int
) -> Rendered:
    changes = _changes[0]
    version = status_version(now=timezone.now())
    kept = _copies.get(name)
    if kept is not None and kept.keeps(generation, version, time.time()):
        copy, rendered_at = kept.rendering, kept.rendered_at
    else:
        copy, rendered_at = _build(name, build, version), time.time()
    built_at = time.time()
    cache.set(
        shared_key(name),
        (generation, built_at, copy, version, rendered_at),
        timeout=None,
    )
    _copies[name] = _Copy(
        generation,
        built_at,
        copy,
        built_at,
        version,
        rendered_at,
        owed=changes != _changes[0],
    )
    return copy


def _rebuild_in_background(
    name: str, build: Callable[[Snapshot], tuple[bytes, str]], generation: int
) -> None:
    try:
        _store(name, build, generation)
    except Exception:  # a thread's error reaches no handler: log it, serve the old copy
        logger.exception("status page: rebuilding %r failed; its copy stays", name)
    finally:
        cache.delete(rebuild_lock(name))
        connections.close_all()  # this thread's own connections


def rendered(name: str, build: Callable[[Snapshot], tuple[bytes, str]]) -> Rendered:
    """Return the rendering `name`, from this process's copy when it can.

    The shared generation is read at most every `CHECK_SECONDS`. A copy that
    is due (another generation, or its period over) is replaced by the shared
    copy if that one is current; otherwise whoever takes the lock rebuilds,
    the others serve the copy they have. A copy of another generation (a
    change that shows on the page was made since) is rebuilt by the request
    that takes the lock, so that it answers with the change, as is one with
    no copy at all (built without the lock), right after this process's own
    change, or inside a transaction (another connection would not see what
    it wrote). A copy whose period merely ran out is renewed in a thread
    (usually a version check, no rendering), the request answered with the
    copy there is.
    """
    now = time.time()
    local = _copies.get(name)
    recent = local is not None and 0 <= now - local.checked_at < CHECK_SECONDS
    if local is not None and recent and not local.owed:
        return local.rendering
    generation = _generation()
    if local is not None and not local.owed:
        local.checked_at = now
        if local.current(generation, now):
            return local.rendering
    if local is None or not local.owed:
        shared = cache.get(shared_key(name))
        if shared is not None and (local is None or shared[1] > local.built_at):
            made_in, built_at, copy, version, rendered_at = shared
            local = _copies[name] = _Copy(
                made_in, built_at, copy, now, version, rendered_at
            )
            if local.current(generation, now):
                return local.rendering
    if local is None:
        return _store(name, build, generation)
    lock = rebuild_lock(name)
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        return local.rendering  # another process is rebuilding it
    if local.owed or local.generation != generation or connection.in_atomic_block:
        try:
            return _store(name, build, generation)
        finally:
            cache.delete(lock)
    threading.Thread(
        target=_rebuild_in_background,
        args=(name, build, generation),
        name=f"statuspage-rebuild-{name}",
        daemon=True,
    ).start()
    return local.rendering


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
