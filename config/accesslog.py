"""Access logs without secrets.

Three kinds of secret travel in URLs: an integration key sent as `?token=`
by a sender that cannot set headers (never to be logged), the token of a
calendar feed, and the token of an acknowledge/resolve link in a page
(`/respond/<token>/`, which acts as the person paged) or of a
contact-method test's confirm link (`/contact-test/<token>/`); the last
ones are their paths. gunicorn (config/gunicorn.py)
and uvicorn (config/asgi.py) log every request's URL; both pass it through
`redact()` first. Django logs the path of every 4xx and 5xx answer
("Not Found: <path>"); settings.LOGGING passes those through
`RedactRequestPaths`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
# The query parameter that carries an ingest key: the ingest views read it,
# access logs hide it.
KEY_PARAMETER = "token"
# Calendar feeds: escalation/urls.py, ical_urlpatterns.
_FEED = re.compile(r"^(/ical/(?:schedules|users)/)[^/?]+(\.ics)$")
# Acknowledge/resolve links and contact-test confirm links: config/urls.py,
# "respond" and "contact-test-confirm". The token is signed
# data (URL-safe base64 and colons), so it ends at the first character that
# cannot be part of it, wherever the path is quoted (a log line, a JSON body,
# whose encoder may have escaped the slashes).
_RESPOND = re.compile(r"(\\?/(?:respond|contact-test)\\?/)[A-Za-z0-9_.:%-]+")


def redact(target: str) -> str:
    """Return a request target (path and query) with its secrets replaced."""
    path, mark, query = target.partition("?")
    return redact_path(path) + mark + redact_query(query)


def redact_path(path: str) -> str:
    return redact_links(_FEED.sub(rf"\g<1>{REDACTED}\g<2>", path))


def redact_links(text: str) -> str:
    """Return `text` with the token of every acknowledge/resolve or confirm
    link in it (a path, a full URL, a message body) replaced."""
    return _RESPOND.sub(rf"\g<1>{REDACTED}", text)


def redact_query(query: str) -> str:
    """Replace the value of every `token` parameter, however its name is
    encoded (Django decodes `tok%65n=` to `token` too)."""
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name) == KEY_PARAMETER:
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


class RedactUvicornAccess(logging.Filter):
    """For the `uvicorn.access` logger, whose arguments are (client, method,
    path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


class RedactRequestPaths(logging.Filter):
    """For the `django.request` logger, whose arguments are (reason, path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
