"""Responders keep their teams' escalation policies and on-call schedules,
read escalations, and use the manual controls (escalate, reassign, add a
responder: `change_escalation`). The admin scopes each to their teams."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
EDITED = [
    "escalationpolicy",
    "escalationlevel",
    "escalationtarget",
    "schedule",
    "layer",
    "layermember",
    "restriction",
    "override",
]
PERMISSIONS = [
    *(f"{verb}_{model}" for model in EDITED for verb in ("view", "add", "change", "delete")),
    "view_escalation",
    "change_escalation",
    "view_escalationstep",
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="escalation", codename__in=PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="escalation", codename__in=PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0001_initial"),
        ("incidents", "0003_responders_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
