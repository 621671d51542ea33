"""The demo data a first run gets: the SOPs' escalation policy on its service."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from escalation.models import EscalationPolicy
from incidents.models import Service
from notifications.models import ContactMethod, Delivery
from notifications.services.contacts import OUTBOX_BACKEND
from tests.factories import declare


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


@pytest.mark.django_db
def test_with_mail_written_to_the_outbox_the_demo_admin_is_paged_there(
    settings, tmp_path
):
    settings.EMAIL_BACKEND = OUTBOX_BACKEND
    settings.EMAIL_FILE_PATH = tmp_path
    out = StringIO()
    call_command("seed_demo", stdout=out)

    method = ContactMethod.objects.get(user__username="admin")
    assert (method.kind, method.address) == ("email", "admin@example.com")
    assert method.verified_at is not None
    assert f"e-mailed to admin@example.com: files under {tmp_path}/" in out.getvalue()
    incident = declare(Service.objects.get(slug="website"), "P1")
    pages = Delivery.objects.filter(incident=incident, purpose="page")
    assert pages.filter(contact_method=method).exists()


@pytest.mark.django_db
def test_with_mail_sent_for_real_the_demo_admin_verifies_an_address_first(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert not ContactMethod.objects.exists()
    assert "add and verify a contact method to receive them" in out.getvalue()
