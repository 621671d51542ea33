"""Responders set up their own teams: services and the escalation policy each
uses, integrations, maintenance windows, deleting a channel, and their own
calendar feed. The API asks for the admin's model permissions on every
write, and these are what a team member did through the API before; the
admin scopes each to the user's teams."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
PERMISSIONS = [
    ("incidents", "add_service"),
    ("incidents", "change_service"),
    ("incidents", "add_integration"),
    ("incidents", "change_integration"),
    ("incidents", "view_maintenancewindow"),
    ("incidents", "add_maintenancewindow"),
    ("incidents", "change_maintenancewindow"),
    ("notifications", "delete_channel"),
    ("escalation", "view_calendarfeed"),
    ("escalation", "add_calendarfeed"),
    ("escalation", "change_calendarfeed"),
]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in PERMISSIONS
    ]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=GROUP)
    group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0003_policy_ack_timeout"),
        ("incidents", "0006_escalation"),
        ("notifications", "0003_delivery_report_due"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
