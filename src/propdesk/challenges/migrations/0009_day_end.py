from typing import Any

from django.db import migrations, models


def fill_day_ends(apps: Any, schema_editor: Any) -> None:
    """Running stages learn when their day ends, so that the monitor closes it."""
    from propdesk.rules.evaluator import Evaluator
    from propdesk.rules.model import Rules

    attempts = apps.get_model("challenges", "StageAttempt")
    running = attempts.objects.filter(status="in_progress", evaluator_state__isnull=False)
    for attempt in running.select_related("participation__version").iterator():
        given = attempt.participation.version.definition["stages"][attempt.stage]["rules"]
        if attempt.kind == "live":
            given = {**given, "min_trading_days": 10**9}
        try:
            evaluator = Evaluator.from_state(Rules.parse(given), attempt.evaluator_state)
        except (ValueError, KeyError, TypeError):
            continue  # a state the monitor set aside: staff retry it
        attempts.objects.filter(pk=attempt.pk).update(day_end=evaluator.day_end)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0008_list_indexes"),
        ("platforms", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="stageattempt",
            name="day_end",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="stageattempt",
            index=models.Index(fields=["status", "day_end"], name="attempt_status_day_end"),
        ),
        migrations.RunPython(fill_day_ends, migrations.RunPython.noop),
    ]
