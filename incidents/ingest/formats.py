"""The registry of ingest formats: what reads a stored event of each source,
its default severity mapping and its URLs.

A new format is a module in incidents/ingest/ (its parser, its view in
views.py's style, an `IngestFormat`), its line below, a choice in
`Integration.Kind` and `AlertEvent.Source`, and its tests.
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
        for route, view, name in format_.routes
    ]
