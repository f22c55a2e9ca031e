"""Room in each page of the stages' table for its rows' next versions (PostgreSQL's fillfactor):
the monitor rewrites a running stage's state every second or so, and an update that finds room
in its page is a HOT one, which touches none of the table's indexes (benchmarks/
breach_latency.py measured a checkpoint's write of a stage from 53 to 38 µs). Rows written
before keep their pages until they are next updated or the table is rewritten."""

from django.db import migrations


def fillfactor(percent: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE challenges_stageattempt SET (fillfactor = {int(percent)})"
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [("challenges", "0015_monitor_checkpoints")]

    operations = [migrations.RunPython(fillfactor(40), fillfactor(100))]
