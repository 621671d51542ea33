"""The severity matrix (P0-P3, their targets and cadences), as the defaults
an admin can edit."""

from datetime import timedelta

from django.db import migrations

MATRIX = [
    {
        "code": "P0",
        "name": "Critical",
        "rank": 0,
        "ack_target": timedelta(minutes=15),
        "resolve_target": timedelta(hours=1),
        "update_cadence": timedelta(minutes=30),
        "paged_at_declaration": (
            "On-call L1 + team lead (L2) + incident commander (L3); "
            "management (L4) on escalation"
        ),
        "pir_required": True,
        "pir_on_repeat": False,
        "color": "#b91c1c",
    },
    {
        "code": "P1",
        "name": "High",
        "rank": 1,
        "ack_target": timedelta(hours=1),
        "resolve_target": timedelta(hours=4),
        "update_cadence": timedelta(hours=2),
        "paged_at_declaration": "On-call L1 + team lead",
        "pir_required": True,
        "pir_on_repeat": False,
        "color": "#ea580c",
    },
    {
        "code": "P2",
        "name": "Medium",
        "rank": 2,
        "ack_target": timedelta(hours=4),
        "resolve_target": None,
        "update_cadence": timedelta(days=1),
        "paged_at_declaration": "On-call L1",
        "pir_required": False,
        "pir_on_repeat": True,
        "color": "#ca8a04",
    },
    {
        "code": "P3",
        "name": "Low",
        "rank": 3,
        "ack_target": timedelta(hours=24),
        "resolve_target": None,
        "update_cadence": None,
        "paged_at_declaration": "Nobody paged; queued for business hours",
        "pir_required": False,
        "pir_on_repeat": False,
        "color": "#2563eb",
    },
]


def create_matrix(apps, schema_editor):
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    for row in MATRIX:
        SeverityLevel.objects.get_or_create(code=row["code"], defaults=row)


def remove_matrix(apps, schema_editor):
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    SeverityLevel.objects.filter(code__in=[r["code"] for r in MATRIX]).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_matrix, remove_matrix)]
