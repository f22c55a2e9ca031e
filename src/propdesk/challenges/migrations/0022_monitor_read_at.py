from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0021_monitor_events_read"),
    ]

    operations = [
        migrations.AddField(
            model_name="monitorcheckpoint",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
