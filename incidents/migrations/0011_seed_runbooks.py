"""The SOPs' runbooks for common incidents, shared by every team, and the
Responders' rights on runbooks and external contacts.

Each runbook attaches to the incidents of its category. Commands are shown
to the responder as written, with <placeholders> for the names of your own
hosts, services and files; Vigil never runs them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Responders"
EDITED = ["runbook", "runbookstep", "externalcontact"]
PERMISSIONS = [
    *(f"{verb}_{model}" for model in EDITED for verb in ("view", "add", "change", "delete")),
    "view_incidentrunbook",
    "view_incidentrunbookstep",
]

CHECK_RESOURCES = "df -h\nfree -h\ntop -bn1 | head -20"

# name, category, description, steps: (phase, text, commands, required)
RUNBOOKS = [
    (
        "Site down (HTTP 500/503)",
        "site_down",
        "The site does not answer, or answers with server errors.",
        [
            ("investigate", "Check whether the site answers, and with which status code, from outside your network.", "curl -sS -I https://<site>/\ncurl -sS -o /dev/null -w '%{http_code} %{time_total}s\\n' https://<site>/", True),
            ("investigate", "Check recent deployments and configuration changes: a recent deployment is the first suspect (roll it back).", "git log -10 --oneline", True),
            ("investigate", "Verify the application's files against its release (core checksums, installed packages).", "", False),
            ("investigate", "Check that the database answers.", "", True),
            ("investigate", "Read the latest entries of the application's error log.", "tail -n 100 <application error log>", True),
            ("investigate", "Check system resources: disk, memory, load.", CHECK_RESOURCES, True),
            ("fix", "Restart the web server.", "systemctl restart <web server>", False),
            ("fix", "Clear the application's cache.", "", False),
            ("fix", "Disable the plugin, module or feature that fails.", "", False),
            ("fix", "Restore from backup if a recent deployment caused it.", "", False),
            ("fix", "Raise the application's memory limit if it runs out of memory.", "", False),
            ("fix", "If the infrastructure fails, call the hosting provider (emergency line for P0) with the account details ready.", "", False),
            ("verify", "Confirm the site answers 200 again and users can use it.", "curl -sS -I https://<site>/", True),
        ],
    ),
    (
        "Database failure",
        "database",
        "Database errors, connections refused, data not saved or not read.",
        [
            ("investigate", "Test the database connection from the application's host.", "", True),
            ("investigate", "Check the database service.", "systemctl status <database service>", True),
            ("investigate", "Read the database's error log.", "tail -n 100 <database error log>", True),
            ("investigate", "Check free disk space on the database server.", "df -h", True),
            ("investigate", "Check the permissions of the database's files.", "", False),
            ("fix", "Restart the database service.", "systemctl restart <database service>", False),
            ("fix", "Check the database credentials in the application's configuration.", "", False),
            ("fix", "Repair damaged tables with the database's own tool.", "", False),
            ("fix", "Restore the database from backup if it is corrupted.", "", False),
            ("verify", "Confirm data is saved and read again, and no new database errors appear.", "", True),
        ],
    ),
    (
        "Performance degradation",
        "performance",
        "Pages or commands answer slowly or time out.",
        [
            ("investigate", "Check system resources: load, memory, disk.", "top -bn1 | head -20\ndf -h", True),
            ("investigate", "Look for slow or stuck database queries.", "SHOW FULL PROCESSLIST;  -- MySQL/MariaDB\nSELECT pid, now() - query_start AS running, state, query FROM pg_stat_activity WHERE state <> 'idle' ORDER BY running DESC;  -- PostgreSQL", True),
            ("investigate", "Check what was enabled or changed recently (plugins, modules, features) and whether traffic spiked.", "", True),
            ("fix", "Clear the caches.", "", False),
            ("fix", "Optimise the database (analyse, vacuum, optimise tables).", "", False),
            ("fix", "Disable slow plugins or features for now.", "", False),
            ("fix", "Scale resources if traffic spiked.", "", False),
            ("fix", "Turn caching on where it is off.", "", False),
            ("verify", "Confirm response times are back within target on the monitoring.", "", True),
        ],
    ),
    (
        "Failed deployment",
        "failed_deployment",
        "A release broke something or did not complete.",
        [
            ("investigate", "Check what was deployed.", "git log -5 --oneline", True),
            ("investigate", "Run the pre-deployment checks against what is live and read the errors.", "", True),
            ("investigate", "Check the application's status and files against the release.", "", True),
            ("fix", "Roll back to the previous version: a recent deployment is rolled back first.", "git revert <commit>", True),
            ("fix", "Or fix the errors and deploy again.", "", False),
            ("fix", "Check file permissions.", "", False),
            ("fix", "Clear the caches.", "", False),
            ("fix", "Run the database migrations if the release needs them.", "", False),
            ("verify", "Confirm the affected functions work and the error rate is back to normal.", "", True),
        ],
    ),
    (
        "Security incident",
        "security",
        "A suspected or confirmed breach: contain, assess, preserve evidence, eradicate, recover, in this order.",
        [
            ("contain", "Isolate the affected systems: take them off the network or behind maintenance, block the attacker's addresses.", "", True),
            ("contain", "Change all passwords at once, and revoke sessions, API keys and tokens that may be exposed.", "", True),
            ("assess", "Determine the scope of the breach: which systems, accounts and data. Review the access and security logs.", "tail -n 100 <security audit log>\nlast -n 20", True),
            ("assess", "Check for unauthorised changes to code and files.", "git status\ngit diff\nfind <application root> -type f -mtime -1", True),
            ("assess", "Check the user accounts for ones nobody created or rights nobody gave.", "", True),
            ("preserve_evidence", "Save logs and evidence before changing anything further: copy the logs, snapshot the disks, record checksums.", "tar czf evidence-$(date -u +%Y%m%dT%H%M%SZ).tar.gz <log directories>\nsha256sum evidence-*.tar.gz", True),
            ("preserve_evidence", "Record what was found, by whom and when, as notes on this incident.", "", True),
            ("eradicate", "Remove the attacker's access: backdoors, malware, unknown accounts and keys. Run a security scan.", "", True),
            ("eradicate", "Fix the weakness that let them in.", "", True),
            ("recover", "Restore from a clean backup if needed, and verify the systems are secure before putting them back.", "", True),
            ("recover", "Report to the authorities if required, and follow the data privacy procedure for any data breach (who is told, by when).", "", False),
            ("recover", "Watch the logs and monitoring closely for the attacker's return.", "", True),
        ],
    ),
    (
        "Bot offline",
        "bot_offline",
        "The bot does not answer commands or shows as offline.",
        [
            ("investigate", "Check the bot's service status.", "systemctl status <bot service>", True),
            ("investigate", "Read the bot's logs.", "journalctl -u <bot service> -n 200 --no-pager", True),
            ("investigate", "Check system resources.", "top -bn1 | head -20\nfree -h", True),
            ("fix", "Restart the service if needed.", "systemctl restart <bot service>", False),
            ("verify", "Verify the bot is connected to the chat platform: it shows online and answers a command.", "", True),
        ],
    ),
    (
        "API integration failure",
        "api_integration",
        "An external API fails, or data stops syncing with it.",
        [
            ("investigate", "Check that the API key is still valid.", "", True),
            ("investigate", "Review the API's rate limits (429 answers, rate-limit headers).", "", True),
            ("investigate", "Test the API's endpoints by hand.", "curl -sS -i -H 'Authorization: Bearer <token>' https://<api host>/<endpoint>", True),
            ("investigate", "Check network connectivity to the API: DNS, TLS, firewall.", "dig +short <api host>\ncurl -sS -v -o /dev/null https://<api host>/", True),
            ("fix", "Update the API credentials if needed.", "", False),
            ("fix", "Contact the vendor's support with the failing requests and their times.", "", False),
            ("verify", "Confirm calls succeed and the data is in sync again.", "", True),
        ],
    ),
    (
        "Configuration issue",
        "configuration",
        "Configuration errors or invalid settings.",
        [
            ("investigate", "Review the recent configuration changes.", "git log -p -5 -- <configuration directory>", True),
            ("investigate", "Validate the configuration's syntax with each program's own check.", "", True),
            ("investigate", "Check the environment variables the service runs with (mind the secrets when sharing the output).", "", True),
            ("fix", "Restore the last good configuration from backup.", "", False),
            ("fix", "Restart the services that read it.", "systemctl restart <service>", False),
            ("verify", "Confirm the service starts cleanly and works with the restored configuration.", "", True),
        ],
    ),
]


def seed(apps, schema_editor):
    Runbook = apps.get_model("incidents", "Runbook")
    RunbookStep = apps.get_model("incidents", "RunbookStep")
    for name, category, description, steps in RUNBOOKS:
        runbook, created = Runbook.objects.get_or_create(
            name=name,
            team=None,
            defaults={"category": category, "description": description},
        )
        if not created:
            continue
        RunbookStep.objects.bulk_create(
            RunbookStep(
                runbook=runbook,
                position=position,
                phase=phase,
                text=text,
                commands=commands,
                required=required,
            )
            for position, (phase, text, commands, required) in enumerate(steps, 1)
        )


def unseed(apps, schema_editor):
    Runbook = apps.get_model("incidents", "Runbook")
    Runbook.objects.filter(team=None, name__in=[r[0] for r in RUNBOOKS]).delete()


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
    dependencies = [("incidents", "0010_runbooks")]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(grant, revoke),
    ]
