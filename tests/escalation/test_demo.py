"""The demo data a first run gets: the SOPs' escalation policy on its service."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from escalation.models import EscalationPolicy
from incidents.models import Service


@pytest.mark.django_db
def test_the_demo_service_climbs_the_sops_four_levels():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)  # a second run adds nothing

    policy = EscalationPolicy.objects.get()
    assert Service.objects.get(slug="website").escalation_policy == policy
    levels = [
        (
            level.position,
            level.name,
            level.up_to_severity_id,
            level.page_at_declaration_up_to_id,
        )
        for level in policy.levels.all()
    ]
    assert [(p, up, at) for p, _, up, at in levels] == [
        (1, None, None),
        (2, None, "P1"),
        (3, None, None),
        (4, "P0", "P0"),
    ]
    assert "SOP escalation" in out.getvalue()
