"""The SOPs' escalation policy, for demo data and a first run."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from escalation.models import EscalationPolicy, EscalationTarget
from escalation.services.policies import (
    escalation_policy_create,
    service_set_escalation_policy,
)
from incidents.models import Service, Team
from incidents.selectors import severity_list

DEMO_POLICY_NAME = "SOP escalation"


def _user(user: User) -> list[dict[str, object]]:
    return [{"kind": EscalationTarget.Kind.USER, "user": user}]


@transaction.atomic
def demo_escalation_policy_create(
    *,
    team: Team,
    service: Service,
    engineer: User,
    lead: User,
    commander: User,
    manager: User,
) -> EscalationPolicy:
    """Create the SOPs' four-level policy for `service` and attach it.

    L1 the on-call engineer; L2 the team lead, paged at declaration for
    P0/P1; L3 the incident commander; L4 management, for P0 only and paged
    at declaration for P0. Each level waits the severity's ack target. The
    users must be members of `team`; one person may fill several levels. A
    policy of that name already in the team is attached as it is.
    """
    policy = EscalationPolicy.objects.filter(team=team, name=DEMO_POLICY_NAME).first()
    if policy is None:
        p0, p1 = severity_list().get(code="P0"), severity_list().get(code="P1")
        policy = escalation_policy_create(
            name=DEMO_POLICY_NAME,
            team=team,
            description="The SOPs' levels: engineer, team lead, IC, management.",
            levels=[
                {"name": "On-call engineer", "targets": _user(engineer)},
                {
                    "name": "Team lead",
                    "page_at_declaration_up_to": p1,
                    "targets": _user(lead),
                },
                {"name": "Incident commander", "targets": _user(commander)},
                {
                    "name": "Management",
                    "up_to_severity": p0,
                    "page_at_declaration_up_to": p0,
                    "targets": _user(manager),
                },
            ],
        )
    service_set_escalation_policy(service=service, policy=policy)
    return policy
