from django.db import migrations, models


def forget_shaped_cells(apps, schema_editor):
    """A shaped cell's counts and histograms become one row, not one in
    each of two tables: drop the old rows and forget the layout the rollups
    were built under, so requests read the incidents until the next refresh
    has rebuilt every cell."""
    apps.get_model("metrics", "RollupShapeCell").objects.all().delete()
    apps.get_model("metrics", "RollupState").objects.update(fingerprint="")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0011_rollup_every_team_shape"),
    ]

    operations = [
        migrations.RunPython(forget_shaped_cells, migrations.RunPython.noop),
        migrations.DeleteModel(name="RollupShapeHistogram"),
        migrations.AddField(
            model_name="rollupshapecell",
            name="histograms",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="rollupshapecell",
            name="totals",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
    ]
