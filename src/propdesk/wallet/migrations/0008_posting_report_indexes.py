from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wallet", "0007_fill_posting_report_columns")]

    operations = [
        migrations.AlterField(
            model_name="posting",
            name="created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                condition=models.Q(("client__isnull", False)),
                fields=["created_at", "id"],
                name="wallet_posting_report",
            ),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                condition=models.Q(("client__isnull", False)),
                fields=["entry_type", "created_at", "id"],
                name="wallet_posting_report_type",
            ),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(
                condition=models.Q(("client__isnull", False)),
                fields=["client", "created_at", "id"],
                include=["currency", "amount"],
                name="wallet_posting_report_client",
            ),
        ),
    ]
