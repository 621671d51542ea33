"""The status page's incidents as Atom and RSS feeds (Django's feed generator).

One entry per public incident of the last 90 days, newest first, whose
content is its public status updates, newest first; an entry's updated time
moves with each update, so feed readers show it again.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import feedgenerator, timezone

from notifications.statuspage.api import page_url
from notifications.statuspage.selectors import LISTED, PublicIncident, Snapshot


def _when(value: datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"


def _content(incident: PublicIncident) -> str:
    lines = [
        f"{_when(u.created_at)} — {u.status.title()}: {u.body}"
        for u in incident.updates
    ]
    if not lines:
        lines = [f"{incident.status.title()} since {_when(incident.started_at)}"]
    return "\n\n".join(lines)


def _feed(
    snapshot: Snapshot, generator: type[feedgenerator.SyndicationFeed]
) -> tuple[bytes, str]:
    url = page_url()
    atom = generator is feedgenerator.Atom1Feed
    feed = generator(
        title=snapshot.page.name,
        link=url,
        description=f"Incidents and status updates of {snapshot.page.name}",
        language="en",
        feed_url=url + ("feed.atom" if atom else "feed.rss"),
    )
    for incident in snapshot.incidents[:LISTED]:
        feed.add_item(
            title=incident.name,
            link=f"{url}#incident-{incident.id}",
            description=_content(incident),
            unique_id=f"{url}#incident-{incident.id}",
            unique_id_is_permalink=False,
            pubdate=incident.created_at,
            updateddate=incident.updated_at,
            categories=[incident.status, *(c.name for c in incident.components)],
        )
    content_type = "application/atom+xml" if atom else "application/rss+xml"
    return feed.writeString("utf-8").encode(), f"{content_type}; charset=utf-8"


def atom_feed(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return the Atom feed."""
    return _feed(snapshot, feedgenerator.Atom1Feed)


def rss_feed(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return the RSS 2.0 feed."""
    return _feed(snapshot, feedgenerator.Rss201rev2Feed)
