"""Postings carry their entry's time and type and their wallet's owner; day totals.

Three steps: the columns arrive empty (0006), are filled from the entries and accounts
(0007), then become required and indexed (0008)."""

import django.db.models.deletion
from django.db import migrations, models

TYPES = [
    ("deposit", "Deposit"),
    ("withdrawal", "Withdrawal"),
    ("withdrawal_hold", "Withdrawal held"),
    ("withdrawal_release", "Withdrawal released"),
    ("adjustment", "Adjustment"),
    ("reversal", "Reversal"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_client_kyc_status"),
        ("wallet", "0005_online_payments"),
    ]

    operations = [
        migrations.AddField(
            model_name="posting",
            name="created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="posting",
            name="entry_type",
            field=models.CharField(choices=TYPES, default="", max_length=30),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="posting",
            name="client",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.client",
            ),
        ),
        migrations.CreateModel(
            name="DayTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("entry_type", models.CharField(choices=TYPES, max_length=30)),
                ("currency", models.CharField(max_length=3)),
                ("count", models.BigIntegerField(default=0)),
                ("credits_minor", models.BigIntegerField(default=0)),
                ("debits_minor", models.BigIntegerField(default=0)),
                ("reversed_count", models.BigIntegerField(default=0)),
                ("reversed_credits_minor", models.BigIntegerField(default=0)),
                ("reversed_debits_minor", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "entry_type", "currency"), name="wallet_day_total_once"
                    )
                ],
            },
        ),
    ]
