"""Responders see their teams' alerts and alert events as received, and
keep their services' maintenance windows: what they need during an incident
without a superuser."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
PERMISSIONS = [
    "view_alert",
    "view_alertevent",
    "view_maintenancewindow",
    "add_maintenancewindow",
    "change_maintenancewindow",
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
            content_type__app_label="incidents", codename__in=PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="incidents", codename__in=PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0014_timeline_kinds_registered_by_apps")]
    operations = [migrations.RunPython(grant, revoke)]
