"""The security response: who sees a restricted incident, and its evidence.

An incident's commander, a lead or manager of its team, or a superuser may
restrict it to named responders: the rest of the team then sees that it
exists (id, severity, status) and nothing else. Restricting names the one
who restricts and the current role holders; anyone given a role later is
named too. Evidence records and custody transfers are appended, never
changed; each is one timeline event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.exceptions import IncidentError, OverrideRefusedError
from incidents.models import (
    CustodyTransfer,
    EvidenceRecord,
    Incident,
    RoleAssignment,
)
from incidents.selectors import user_is_member
from incidents.services.checklists import incident_may_override
from incidents.services.incident import locked
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import (
    CUSTODY_TRANSFERRED,
    EVIDENCE_RECORDED,
    VISIBILITY_CHANGED,
)

Actor = User | None
HEX_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}


def _names(users: Iterable[User]) -> list[str]:
    return sorted(u.get_username() for u in users)


@transaction.atomic
def incident_set_visibility(
    *,
    incident: Incident,
    restricted: bool,
    responders: Iterable[User] = (),
    by: Actor,
    via: str = "api",
    reason: str = "",
    replace: bool = False,
) -> Incident:
    """Restrict the incident to named responders (adding `responders` to
    them; with `replace`, naming exactly them, the role holders and `by`),
    or open it to its whole team again."""
    incident = locked(incident)
    if not incident_may_override(incident=incident, user=by):
        raise OverrideRefusedError(
            "only the incident commander, a team lead or an administrator may "
            "change who sees an incident"
        )
    team = incident.service.team
    responders = list(responders)
    strangers = [
        u
        for u in responders
        if not u.is_active or not user_is_member(user=u, team=team)
    ]
    if strangers:
        raise IncidentError(
            f"{', '.join(_names(strangers))} is not an active member of team {team}",
            field="responders",
        )
    before = set(incident.named_responders.all())
    named = set() if replace else set(before)
    if restricted:
        holders = User.objects.filter(
            pk__in=RoleAssignment.objects.filter(incident=incident).values("user_id")
        )
        named |= {*responders, *holders, *([by] if by is not None else [])}
    else:
        named |= before  # kept for a later restriction; they see it anyway
    added, removed = named - before, before - named
    if restricted == incident.restricted and not added and not removed:
        return incident
    incident.restricted = restricted
    incident.save(update_fields=["restricted", "updated_at"])
    incident.named_responders.add(*added)
    incident.named_responders.remove(*removed)
    if restricted:
        message = "Visibility restricted to named responders: " + ", ".join(
            _names(named)
        )
    else:
        message = "Visibility opened to the whole team"
    if reason.strip():
        message += f" — {reason.strip()}"
    timeline_event_record(
        incident=incident,
        kind=VISIBILITY_CHANGED,
        message=message,
        by=by,
        via=via,
        data={
            "restricted": restricted,
            "added": _names(added),
            "removed": _names(removed),
            "reason": reason.strip(),
        },
    )
    return incident


@transaction.atomic
def evidence_record_add(
    *,
    incident: Incident,
    what: str,
    location: str,
    hash: str,
    collected_by: str,
    collected_at: datetime | None = None,
    hash_algorithm: str = EvidenceRecord.HashAlgorithm.SHA256,
    by: Actor,
    via: str = "api",
) -> EvidenceRecord:
    """Append a piece of evidence to the incident's chain of custody."""
    now = timezone.now()
    collected_at = collected_at or now
    if collected_at > now:
        raise IncidentError(
            "collected_at cannot be in the future", field="collected_at"
        )
    if hash_algorithm not in EvidenceRecord.HashAlgorithm.values:
        raise IncidentError(
            f"{hash_algorithm!r} is not a hash algorithm", field="hash_algorithm"
        )
    digits = HEX_DIGITS[hash_algorithm]
    if not re.fullmatch(rf"[0-9a-fA-F]{{{digits}}}", hash):
        raise IncidentError(
            f"a {hash_algorithm} hash is {digits} hexadecimal digits", field="hash"
        )
    fields = {"what": what, "location": location, "collected_by": collected_by}
    for name, value in fields.items():
        if not value.strip():
            raise IncidentError(f"evidence needs {name.replace('_', ' ')}", field=name)
    record = EvidenceRecord.objects.create(
        incident=incident,
        what=what.strip(),
        location=location.strip(),
        hash_algorithm=hash_algorithm,
        hash=hash.lower(),
        collected_by=collected_by.strip(),
        collected_at=collected_at,
        recorded_by=by,
        recorded_at=now,
    )
    timeline_event_record(
        incident=incident,
        kind=EVIDENCE_RECORDED,
        message=f"Evidence E{record.pk} recorded: {record.what[:120]} "
        f"({record.hash_algorithm} {record.hash}), collected by "
        f"{record.collected_by}, kept at {record.location}",
        by=by,
        via=via,
        at=now,
        data={
            "evidence": record.pk,
            "hash": record.hash,
            "hash_algorithm": record.hash_algorithm,
            "collected_by": record.collected_by,
            "collected_at": collected_at.isoformat(),
            "location": record.location,
        },
    )
    return record


@transaction.atomic
def custody_transfer_add(
    *,
    evidence: EvidenceRecord,
    to_holder: str,
    from_holder: str = "",
    location: str = "",
    reason: str = "",
    transferred_at: datetime | None = None,
    by: Actor,
    via: str = "api",
) -> CustodyTransfer:
    """Append a hand-over of `evidence`; the giver defaults to the last holder."""
    now = timezone.now()
    transferred_at = transferred_at or now
    if transferred_at > now:
        raise IncidentError(
            "transferred_at cannot be in the future", field="transferred_at"
        )
    if not to_holder.strip():
        raise IncidentError("a transfer needs who receives it", field="to_holder")
    last = evidence.transfers.order_by("-transferred_at", "-id").first()
    holder = last.to_holder if last is not None else evidence.collected_by
    transfer = CustodyTransfer.objects.create(
        evidence=evidence,
        from_holder=from_holder.strip() or holder,
        to_holder=to_holder.strip(),
        location=location.strip(),
        reason=reason.strip(),
        transferred_at=transferred_at,
        recorded_by=by,
        recorded_at=now,
    )
    where = f", kept at {transfer.location}" if transfer.location else ""
    timeline_event_record(
        incident=evidence.incident,
        kind=CUSTODY_TRANSFERRED,
        message=f"Evidence E{evidence.pk} handed over: {transfer.from_holder} → "
        f"{transfer.to_holder}{where}",
        by=by,
        via=via,
        at=now,
        data={
            "evidence": evidence.pk,
            "transfer": transfer.pk,
            "from": transfer.from_holder,
            "to": transfer.to_holder,
            "location": transfer.location,
            "reason": transfer.reason,
        },
    )
    return transfer
