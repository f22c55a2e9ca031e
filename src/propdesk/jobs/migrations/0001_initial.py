import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkerProcess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("worker_id", models.CharField(max_length=64, unique=True)),
                ("hostname", models.CharField(blank=True, max_length=255)),
                ("pid", models.PositiveIntegerField(blank=True, null=True)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("seen_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name="Attempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                ("worker_id", models.CharField(blank=True, max_length=64)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField()),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("failed", "Failed"),
                            ("abandoned", "Abandoned (the worker stopped)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("error_class", models.CharField(blank=True, max_length=200)),
                ("message", models.CharField(blank=True, max_length=500)),
                ("traceback", models.TextField(blank=True)),
                ("retry_at", models.DateTimeField(blank=True, null=True)),
                (
                    "result",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempts",
                        to="django_tasks_database.dbtaskresult",
                    ),
                ),
            ],
            options={
                "ordering": ["result", "number", "id"],
                "indexes": [
                    models.Index(fields=["result", "number"], name="jobs_attemp_result__62001d_idx")
                ],
            },
        ),
        # The reaper looks for RUNNING jobs, the menu counts FAILED ones: both few among
        # many finished jobs, so a partial index on the queue table (django-tasks') serves them.
        migrations.RunSQL(
            "CREATE INDEX jobs_dbtaskresult_unfinished ON django_tasks_database_dbtaskresult "
            "(status, started_at) WHERE status IN ('RUNNING', 'FAILED')",
            "DROP INDEX jobs_dbtaskresult_unfinished",
        ),
    ]
