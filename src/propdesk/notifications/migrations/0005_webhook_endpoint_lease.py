from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_webhook_body"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="lease_token",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="leased_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
