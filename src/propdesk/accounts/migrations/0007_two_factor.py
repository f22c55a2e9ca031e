"""Two-factor login: a role may require it; a token remembers whether it was given; the
authenticator and recovery-code devices are django-otp's own tables, seen through proxies."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_login_throttle"),
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.AddField(
            model_name="role",
            name="requires_two_factor",
            field=models.BooleanField(
                default=False, help_text="Staff with this role must log in with a second factor."
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="two_factor",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="Authenticator",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("otp_totp.totpdevice",),
        ),
        migrations.CreateModel(
            name="RecoveryCodes",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("otp_static.staticdevice",),
        ),
    ]
