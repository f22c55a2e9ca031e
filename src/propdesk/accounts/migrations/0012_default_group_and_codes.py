"""Every existing client joins the default group ("Standard", made here) and gets a referral
code. (The names challenge definitions already gave as client groups become groups in
challenges' 0024.)"""

import secrets

from django.db import migrations

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def forwards(apps, schema_editor):
    ClientGroup = apps.get_model("accounts", "ClientGroup")
    Client = apps.get_model("accounts", "Client")
    default = ClientGroup.objects.filter(is_default=True).first()
    if default is None:
        default, _ = ClientGroup.objects.get_or_create(
            name="Standard", defaults={"is_default": True, "description": "Every new client"}
        )
    Client.objects.filter(group__isnull=True).update(group=default)
    taken = set(Client.objects.exclude(referral_code=None).values_list("referral_code", flat=True))
    for client in Client.objects.filter(referral_code=None).only("pk"):
        code = ""
        while not code or code in taken:
            code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        taken.add(code)
        Client.objects.filter(pk=client.pk).update(referral_code=code)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0011_client_groups_and_referrals")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
