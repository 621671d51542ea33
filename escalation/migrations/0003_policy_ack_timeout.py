"""Escalation policies may let acknowledgements expire (ack_timeout)."""

import datetime
import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('escalation', '0002_responders_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='escalationpolicy',
            name='ack_timeout',
            field=models.DurationField(blank=True, help_text='An incident still only acknowledged this long after its acknowledgement is triggered again, and its escalation restarts (1 minute to 7 days). Empty: acknowledgements do not expire.', null=True, validators=[django.core.validators.MinValueValidator(datetime.timedelta(seconds=60), 'At least 1 minute.'), django.core.validators.MaxValueValidator(datetime.timedelta(days=7), 'At most 7 days.')]),
        ),
    ]
