"""Repeat incidents: linked by alert fingerprint, dedup key, root-cause tag
or by hand.

An incident repeats an earlier one of the same team when, within the
look-back (VIGIL_RECURRENCE_LOOKBACK_DAYS before it was detected), both had
an alert of the same integration with the same fingerprint (its dedup key:
Alertmanager's fingerprint, PagerDuty's dedup_key) or group, or
both carry one of the team's root-cause tags. Links are found when an alert
attaches and when tags are set; a responder may add one by hand. Each link
is on the later incident's timeline, and a resolved incident that turns out
to be a repeat is put to the PIR rule again (a repeated P2 needs one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from incidents.exceptions import ReviewError
from incidents.models import (
    Alert,
    Incident,
    IncidentLink,
    RootCauseTag,
    Team,
)
from incidents.services.reviews import review_decide
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import FIELDS_UPDATED, REPEAT_LINKED

Reason = IncidentLink.Reason
Actor = User | None


def _earlier(incident: Incident) -> QuerySet[Incident]:
    """Return the incidents of the same team the look-back reaches."""
    lookback = timedelta(days=settings.VIGIL_RECURRENCE_LOOKBACK_DAYS)
    return (
        Incident.objects.filter(
            service__team=incident.service.team_id,
            detected_at__gte=incident.detected_at - lookback,
            detected_at__lte=incident.detected_at,
            is_drill=incident.is_drill,
        )
        .exclude(pk=incident.pk)
        .exclude(status=Incident.Status.CANCELLED)
    )


def _link(
    incident: Incident,
    earlier: Incident,
    reason: str,
    detail: str,
    *,
    by: Actor,
    via: str,
) -> IncidentLink | None:
    """Record that `incident` repeats `earlier`, once; return the new link."""
    link, created = IncidentLink.objects.get_or_create(
        incident=incident,
        repeats=earlier,
        defaults={"reason": reason, "detail": detail[:255], "created_by": by},
    )
    if not created:
        return None
    label = Reason(reason).label.lower()
    timeline_event_record(
        incident=incident,
        kind=REPEAT_LINKED,
        message=f"Repeat of {earlier.public_id} ({earlier.title}): {label}"
        + (f" — {detail}" if detail else ""),
        by=by,
        via=via,
        data={"repeats": earlier.public_id, "reason": reason, "detail": detail},
    )
    if incident.status == Incident.Status.RESOLVED and incident.severity.pir_on_repeat:
        review_decide(incident=incident, by=by, via=via)
    return link


def incident_repeats_find(
    *, incident: Incident, alert: Alert, via: str = "system"
) -> list[IncidentLink]:
    """Link the incident to earlier ones that had an alert like `alert`."""
    alerts = Alert.objects.filter(
        integration=alert.integration_id, incident__in=_earlier(incident)
    )
    matches = [(Reason.FINGERPRINT, "dedup_key", alert.dedup_key)]
    if alert.group_key:
        matches.append((Reason.ALERT_GROUP, "group_key", alert.group_key))
    found: list[IncidentLink] = []
    for reason, field, value in matches:
        same = alerts.filter(**{field: value}).values("incident_id")
        detail = f"group {value[:12]}" if field == "group_key" else value
        for other in Incident.objects.filter(pk__in=same).order_by("pk"):
            link = _link(incident, other, reason, detail, by=None, via=via)
            if link is not None:
                found.append(link)
    return found


@transaction.atomic
def incident_link_create(
    *,
    incident: Incident,
    repeats: Incident,
    by: Actor,
    note: str = "",
    via: str = "api",
) -> IncidentLink:
    """Link by hand: `incident` repeats the earlier `repeats`."""
    if repeats.pk == incident.pk:
        raise ReviewError("an incident cannot repeat itself", field="repeats")
    if repeats.service.team_id != incident.service.team_id:
        raise ReviewError("link incidents of the same team", field="repeats")
    if repeats.detected_at > incident.detected_at:
        raise ReviewError(
            f"{repeats.public_id} was detected after {incident.public_id}; "
            "link the later incident to the earlier one",
            field="repeats",
        )
    link = _link(incident, repeats, Reason.MANUAL, note.strip(), by=by, via=via)
    if link is None:
        raise ReviewError(
            f"{incident.public_id} is already linked to {repeats.public_id}",
            field="repeats",
        )
    return link


@transaction.atomic
def root_cause_tag_create(
    *, team: Team, name: str, description: str = ""
) -> RootCauseTag:
    """Add a word to the team's root-cause vocabulary."""
    slug = slugify(name)[:64]
    if not slug:
        raise ReviewError("a tag needs a name with letters or digits", field="name")
    if RootCauseTag.objects.filter(team=team, slug=slug).exists():
        raise ReviewError(f"team {team} already has the tag {slug!r}", field="name")
    return RootCauseTag.objects.create(
        team=team, name=name.strip()[:64], slug=slug, description=description
    )


@transaction.atomic
def incident_root_cause_tags_set(
    *, incident: Incident, tags: Iterable[RootCauseTag], by: Actor, via: str = "api"
) -> list[IncidentLink]:
    """Tag the incident's root cause; link it to earlier incidents so tagged."""
    tags = list(tags)
    foreign = [t.slug for t in tags if t.team_id != incident.service.team_id]
    if foreign:
        raise ReviewError(
            f"not tags of team {incident.service.team}: {', '.join(foreign)}",
            field="tags",
        )
    before = set(incident.root_cause_tags.values_list("slug", flat=True))
    incident.root_cause_tags.set(tags)
    after = {t.slug for t in tags}
    if before != after:
        timeline_event_record(
            incident=incident,
            kind=FIELDS_UPDATED,
            message=f"Root-cause tags: {', '.join(sorted(after)) or 'none'}",
            by=by,
            via=via,
            data={"fields": ["root_cause_tags"], "tags": sorted(after)},
        )
    found: list[IncidentLink] = []
    for tag in tags:
        for other in _earlier(incident).filter(root_cause_tags=tag).order_by("pk"):
            link = _link(
                incident, other, Reason.ROOT_CAUSE_TAG, tag.name, by=by, via=via
            )
            if link is not None:
                found.append(link)
    return found
