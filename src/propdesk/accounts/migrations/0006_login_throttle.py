"""The login throttle writes down failures only (issue 12): successes go, failures keep their
realm (people or trading accounts) and the known device they came from, and an index on the
time keeps pruning cheap."""

from django.db import migrations, models


def forget_successes_and_old_keys(apps, schema_editor):
    LoginAttempt = apps.get_model("accounts", "LoginAttempt")
    LoginAttempt.objects.filter(succeeded=True).delete()
    # The trading API used to count under "sandbox:<login>:<address>"; those rows would be
    # people's failures now. Throttle state is short-lived: they can go.
    LoginAttempt.objects.filter(email__startswith="sandbox:").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_offered_permissions"),
    ]

    operations = [
        migrations.RunPython(forget_successes_and_old_keys, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="loginattempt",
            name="accounts_lo_email_f06f55_idx",
        ),
        migrations.RemoveIndex(
            model_name="loginattempt",
            name="accounts_lo_ip_4f632b_idx",
        ),
        migrations.RemoveField(
            model_name="loginattempt",
            name="succeeded",
        ),
        migrations.AddField(
            model_name="loginattempt",
            name="device",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="loginattempt",
            name="realm",
            field=models.CharField(default="people", max_length=10),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["realm", "email", "at"], name="login_failures_by_account"),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["realm", "ip", "at"], name="login_failures_by_address"),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["at"], name="login_failures_by_age"),
        ),
    ]
