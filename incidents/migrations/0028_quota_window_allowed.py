from django.db import migrations, models


class Migration(migrations.Migration):
    """The database refuses a minute's count past the quota.

    A minute already counted keeps no limit for what is left of it (its row
    is gone by the next minute's first new alert).
    """

    dependencies = [
        ('incidents', '0027_incident_summary_covering_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='ingestquotawindow',
            name='allowed',
            field=models.PositiveIntegerField(default=2147483647),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name='ingestquotawindow',
            constraint=models.CheckConstraint(condition=models.Q(('new_alerts__lte', models.F('allowed'))), name='quota_window_within_allowed'),
        ),
    ]
