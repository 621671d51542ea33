"""Acting on an incident from a message: a link, or an SMS reply."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from incidents.models import Incident
from incidents.services.incident import incident_acknowledge, incident_transition
from notifications.exceptions import ActionLinkError
from notifications.models import ActionLink
from notifications.services import (
    action_link_for_reply,
    action_link_get,
    action_link_use,
)

# "ACK 4821", "ack 4821", "RESOLVE 4821", "res 4821"
REPLY = re.compile(r"^\s*(ACK|ACKNOWLEDGE|RES|RESOLVE)\s+(\d{4,8})\s*$", re.I)


@dataclass(frozen=True)
class Response:
    incident: Incident
    action: str


def _act(link: ActionLink, via: str) -> Response:
    action_link_use(link=link, via=via)
    if link.action == ActionLink.Action.ACKNOWLEDGE:
        incident = incident_acknowledge(incident=link.incident, by=link.user, via=via)
    else:
        incident = incident_transition(
            incident=link.incident, to=Incident.Status.RESOLVED, by=link.user, via=via
        )
    return Response(incident=incident, action=link.action)


@transaction.atomic
def incident_respond_by_link(*, token: str) -> Response:
    """Acknowledge or resolve as the link's user; the link is then spent.

    A refused action (already acknowledged, say) leaves the link unspent.
    """
    return _act(action_link_get(token=token), via="link")


def incident_respond_by_sms(*, phone: str, body: str) -> Response:
    """Act on an SMS reply "ACK <code>" or "RESOLVE <code>" from `phone`.

    The code is looked up outside the transaction that acts: a wrong code
    must stay counted when it is refused.
    """
    match = REPLY.match(body)
    if match is None:
        raise ActionLinkError('reply "ACK <code>" or "RESOLVE <code>"')
    word, code = match.groups()
    action = (
        ActionLink.Action.ACKNOWLEDGE
        if word.upper().startswith("ACK")
        else ActionLink.Action.RESOLVE
    )
    link = action_link_for_reply(phone=phone, action=action, code=code)
    with transaction.atomic():
        return _act(link, via="sms")
