"""The Prop Trading Dashboard counts a payout's decision and payment each on its own day: an
index on each time, as `requested_at` has (with the status) since 0018."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0018_payouts_certificates_retry_reset"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="payout",
            index=models.Index(fields=["decided_at"], name="payout_decided_at"),
        ),
        migrations.AddIndex(
            model_name="payout",
            index=models.Index(fields=["paid_at"], name="payout_paid_at"),
        ),
    ]
