from django.db import migrations

# The firm's starting roles; an Administrator edits them (and adds others) in the back office.
ROLES = [
    ("Administrator", "Everything, including staff, roles and settings.", True, []),
    (
        "Compliance",
        "Reviews registrations and identity; sees the audit log.",
        False,
        ["approvals.view", "approvals.note", "registrations.review", "clients.view", "audit.view"],
    ),
    (
        "Finance",
        "Reviews money movements.",
        False,
        ["approvals.view", "approvals.note", "clients.view"],
    ),
    (
        "Support",
        "Sees clients and requests; changes nothing.",
        False,
        ["approvals.view", "clients.view"],
    ),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, description, grants_all, permissions in ROLES:
        Role.objects.get_or_create(
            name=name,
            defaults={
                "description": description,
                "grants_all": grants_all,
                "permissions": permissions,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
