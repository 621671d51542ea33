"""Responders manage their own contact methods and rules, their teams'
channels, and read the delivery log (the admin scopes each to them)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
PERMISSIONS = [
    "view_contactmethod",
    "add_contactmethod",
    "change_contactmethod",
    "delete_contactmethod",
    "view_notificationrule",
    "add_notificationrule",
    "change_notificationrule",
    "delete_notificationrule",
    "view_channel",
    "add_channel",
    "change_channel",
    "view_delivery",
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
            content_type__app_label="notifications", codename__in=PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="notifications", codename__in=PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("incidents", "0003_responders_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
