from django.db import migrations


def rebuild_rollups(apps, schema_editor):
    """Shaped histograms pack a (bucket, count) pair in three bytes, not six,
    and days and weeks gain cells by category: forget the layout the rollups were
    built under, so requests read the incidents until the next refresh has
    rebuilt every cell."""
    apps.get_model("metrics", "RollupState").objects.update(fingerprint="")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0008_rollup_shapes"),
    ]

    operations = [
        migrations.RunPython(rebuild_rollups, migrations.RunPython.noop),
    ]
