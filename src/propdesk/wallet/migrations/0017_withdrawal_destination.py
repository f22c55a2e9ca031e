"""Where a withdrawal is paid: a payment method's `payout_to` (and a crypto one's networks), and
the destination kept with each withdrawal.

A bank-transfer (offline) method already paid its withdrawals by bank, so it pays to a bank
account; an online one (a card provider) pays none until staff say where (Settings > Payment
methods). Withdrawals asked before keep an empty destination: "not recorded"."""

from django.db import migrations, models


def offline_methods_pay_to_banks(apps, schema_editor):
    PaymentMethod = apps.get_model("wallet", "PaymentMethod")
    PaymentMethod.objects.filter(kind="offline").update(payout_to="bank")


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0016_profit_share_retry_reset_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentmethod",
            name="networks",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="paymentmethod",
            name="payout_to",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not for withdrawals"),
                    ("bank", "Bank account"),
                    ("crypto", "Crypto wallet"),
                ],
                default="",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="withdrawal",
            name="destination",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(offline_methods_pay_to_banks, migrations.RunPython.noop),
    ]
