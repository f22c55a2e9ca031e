"""The client groups challenge definitions named (a free text nothing matched until now)
become real groups, so the definitions refer to groups that exist."""

from django.db import migrations


def forwards(apps, schema_editor):
    ClientGroup = apps.get_model("accounts", "ClientGroup")
    ChallengeVersion = apps.get_model("challenges", "ChallengeVersion")
    names = set()
    for definition in ChallengeVersion.objects.values_list("definition", flat=True):
        for name in (definition or {}).get("client_groups") or []:
            if isinstance(name, str) and name.strip():
                names.add(name.strip()[:60])
    for name in sorted(names):
        if not ClientGroup.objects.filter(name__iexact=name).exists():
            ClientGroup.objects.create(name=name, description="Named by a challenge")


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0023_growth"),
        ("accounts", "0012_default_group_and_codes"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
