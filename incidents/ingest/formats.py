"""The registry of ingest formats: what reads a stored event of each source,
its default severity mapping, where its senders put the integration key and
its URLs.

A new format is a module in incidents/ingest/ (its parser, its reader of
stored events, its default severity mapping, its `key_place` and an
`IngestFormat` named `FORMAT`), its view in views.py (which takes the key
through auth.py's `request_key` with that format), its line below, a choice
in `Integration.Kind` and `AlertEvent.Source` (incidents/models/alerts.py,
with an incidents migration of the choices), and its tests. A sender that
puts the key somewhere new also needs a `KeyPlace` member (signals.py) and
its branch in `request_key`.
"""

from __future__ import annotations

from django.urls import URLPattern, path
from django.utils.module_loading import import_string

from incidents.ingest import alertmanager, generic, pagerduty, vigil
from incidents.ingest.signals import IngestFormat

FORMATS: dict[str, IngestFormat] = {
    format_.kind: format_
    for format_ in (
        pagerduty.FORMAT,
        alertmanager.FORMAT,
        generic.FORMAT,
        vigil.HEARTBEAT,
        vigil.USER_REPORT,
    )
}


def ingest_urls() -> list[URLPattern]:
    """Return the URL patterns of every format, for the site root."""
    return [
        path(route, import_string(view), name=name)
        for format_ in FORMATS.values()
        for route, view, name, _ in format_.routes
    ]


def ingest_url_names(kind: str) -> dict[str, str]:
    """Return what an integration of `kind` calls each of its URLs (as its
    API and admin page show them), with the URL name to reverse."""
    format_ = FORMATS.get(kind)
    return {} if format_ is None else {key: name for _, _, name, key in format_.routes}
