from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_offered_permissions"),
        ("wallet", "0011_journal_entry_client_memo"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deposit",
            index=models.Index(
                condition=models.Q(("status", "awaiting_payment")),
                fields=["created_at"],
                name="wallet_deposit_unpaid",
            ),
        ),
    ]
