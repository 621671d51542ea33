"""A "Responders" group: what on-call staff need in the admin, nothing more.

Give a user staff status, this group and a team membership, and they can
declare, acknowledge, resolve and edit their teams' incidents.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
PERMISSIONS = [
    "view_incident",
    "add_incident",
    "change_incident",
    "view_timelineevent",
    "view_roleassignment",
    "view_team",
    "view_service",
    "view_severitylevel",
    "view_integration",
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure the
    # ones this group needs exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="incidents", codename__in=PERMISSIONS
        )
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0002_severity_matrix"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
