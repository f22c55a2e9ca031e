from django.db import migrations, models
from django.db.models import F


def older_ones_are_seen(apps, schema_editor):
    """The notifications from before the pop-up do not pop up: they count as seen when made
    (and the client still finds the unread ones on the notifications page)."""
    Notification = apps.get_model("notifications", "Notification")
    Notification.objects.filter(seen_at__isnull=True).update(seen_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_events_templates_webhooks")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="seen_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(older_ones_are_seen, migrations.RunPython.noop),
    ]
