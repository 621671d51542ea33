"""The scenario library of the SOPs' drills: site down, database failure,
security breach, failed deployment, performance crisis, bot offline; and
responders run their teams' drills and keep their drill schedules (the
library itself is the administrators')."""

from datetime import timedelta

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
PERMISSIONS = [
    "view_drillscenario",
    "view_drill",
    "add_drill",
    "change_drill",
    "view_drillschedule",
    "add_drillschedule",
    "change_drillschedule",
    "delete_drillschedule",
]

EXPECTED = ["acknowledge", "commander", "updates", "checklist", "resolve"]


def _alertmanager(name: str, labels: dict[str, str], summary: str) -> dict:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "status": "firing",
        "receiver": "vigil",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name, **labels},
        "commonAnnotations": {"summary": summary},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, **labels},
                "annotations": {"summary": summary},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
            }
        ],
    }


def _pagerduty(summary: str, source: str, component: str) -> dict:
    return {
        "event_action": "trigger",
        "payload": {
            "summary": summary,
            "source": source,
            "severity": "critical",
            "component": component,
        },
    }


SCENARIOS = [
    {
        "slug": "site-down",
        "name": "Site down",
        "severity_id": "P0",
        "category": "site_down",
        "alert_format": "alertmanager",
        "alert": _alertmanager(
            "SiteDown",
            {"instance": "www:443", "job": "blackbox", "severity": "critical"},
            "The site answers HTTP 503 to every request",
        ),
        "description": "The public site answers 500/503 to everybody: check the "
        "web server, the database, the error logs and the last deployment.",
        "time_box": timedelta(hours=1),
    },
    {
        "slug": "database-failure",
        "name": "Database failure",
        "severity_id": "P1",
        "category": "database",
        "alert_format": "alertmanager",
        "alert": _alertmanager(
            "DatabaseDown",
            {"instance": "db:5432", "job": "postgres", "severity": "critical"},
            "The database refuses connections",
        ),
        "description": "The application cannot reach its database: check the "
        "database service, its logs, its disk space and the credentials.",
        "time_box": timedelta(hours=1),
    },
    {
        "slug": "security-breach",
        "name": "Security breach",
        "severity_id": "P0",
        "category": "security",
        "alert_format": "pagerduty",
        "alert": _pagerduty(
            "Unauthorized administrator account created on the production site",
            "audit-log",
            "auth",
        ),
        "description": "Contain, assess, preserve the evidence, eradicate the "
        "attacker's access and recover to a secure state.",
        "time_box": timedelta(hours=2),
    },
    {
        "slug": "failed-deployment",
        "name": "Failed deployment",
        "severity_id": "P1",
        "category": "failed_deployment",
        "alert_format": "pagerduty",
        "alert": _pagerduty(
            "Error rate above 20% since the last deployment",
            "deploy-pipeline",
            "web",
        ),
        "description": "The release just deployed fails: decide between a "
        "rollback and a fix, and verify the site afterwards.",
        "time_box": timedelta(hours=1),
    },
    {
        "slug": "performance-crisis",
        "name": "Performance crisis",
        "severity_id": "P2",
        "category": "performance",
        "alert_format": "alertmanager",
        "alert": _alertmanager(
            "HighLatency",
            {"instance": "www:443", "job": "web", "severity": "warning"},
            "95th percentile response time above 5 s for 10 minutes",
        ),
        "description": "Pages load slowly for everybody: find the slow queries "
        "or plugins, clear caches, scale if it is traffic.",
        "time_box": timedelta(hours=1),
    },
    {
        "slug": "bot-offline",
        "name": "Bot offline",
        "severity_id": "P2",
        "category": "bot_offline",
        "alert_format": "alertmanager",
        "alert": _alertmanager(
            "BotOffline",
            {"instance": "bot:8080", "job": "bot", "severity": "warning"},
            "The bot shows as offline and answers no commands",
        ),
        "description": "The bot does not answer: check its service, its logs "
        "and the system's resources, restart it and verify its connection.",
        "time_box": timedelta(minutes=45),
    },
]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(
        content_type__app_label="escalation", codename__in=PERMISSIONS
    )


def seed(apps, schema_editor):
    DrillScenario = apps.get_model("escalation", "DrillScenario")
    for fields in SCENARIOS:
        DrillScenario.objects.update_or_create(
            slug=fields["slug"], defaults={**fields, "expected": EXPECTED}
        )
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=GROUP)
    group.permissions.add(*_permissions(apps))


def unseed(apps, schema_editor):
    DrillScenario = apps.get_model("escalation", "DrillScenario")
    DrillScenario.objects.filter(slug__in=[s["slug"] for s in SCENARIOS]).delete()
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0006_drills"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
