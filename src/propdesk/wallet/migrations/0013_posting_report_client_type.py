from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0012_deposit_unpaid_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="posting",
            name="wallet_posting_report_client",
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                condition=models.Q(("client__isnull", False)),
                fields=["client", "created_at", "id"],
                include=("currency", "amount", "entry_type"),
                name="wallet_posting_report_client",
            ),
        ),
    ]
