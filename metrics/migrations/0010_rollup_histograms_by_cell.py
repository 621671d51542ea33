from django.db import migrations, models


def forget_shaped_histograms(apps, schema_editor):
    """A shaped cell's histograms of every measure become one row, not one
    a measure: drop the old rows and forget the layout the rollups were
    built under, so requests read the incidents until the next refresh has
    rebuilt every cell."""
    apps.get_model("metrics", "RollupShapeHistogram").objects.all().delete()
    apps.get_model("metrics", "RollupState").objects.update(fingerprint="")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0009_rollup_histograms_narrower"),
    ]

    operations = [
        migrations.RunPython(forget_shaped_histograms, migrations.RunPython.noop),
        migrations.RemoveField(model_name="rollupshapehistogram", name="measure"),
        migrations.RemoveField(model_name="rollupshapehistogram", name="histogram"),
        migrations.RemoveField(model_name="rollupshapehistogram", name="total"),
        migrations.AddField(
            model_name="rollupshapehistogram",
            name="histograms",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="rollupshapehistogram",
            name="totals",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
    ]
