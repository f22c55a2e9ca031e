from typing import Any

from django.db import migrations, models
from django.db.models import F


def fill_next_due(apps: Any, schema_editor: Any) -> None:
    """A stage saved before weekend cutoffs existed has none: the clock next acts on it at its
    day's end."""
    attempts = apps.get_model("challenges", "StageAttempt")
    attempts.objects.filter(day_end__isnull=False).update(next_due=F("day_end"))


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0016_stage_fillfactor"),
    ]

    operations = [
        migrations.AddField(
            model_name="stageattempt",
            name="next_due",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill_next_due, migrations.RunPython.noop),
    ]
