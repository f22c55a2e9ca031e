"""Audit actions took one naming scheme (`<object>.<verb>`, core.audit.AuditAction). Records
written before are renamed, so the audit log's filter finds old and new rows under one name. A
settings save that was one action for creating and changing is two now: a record with nothing
before it was a creation. The names are written out here, as they were and as they are on the
day of the change, so later renames of the enum do not rewrite history twice."""

from django.db import migrations

# old name -> new name
RENAMED = {
    "jobs.retry": "job.retry",
    "jobs.dismiss": "job.dismiss",
    "settings.approval_method": "approval_policy.update",
    "settings.kyc_policy": "kyc_policy.update",
    "sandbox.instrument": "instrument.update",
    "sandbox.trading_enabled": "trading_account.enable",
    "sandbox.trading_disabled": "trading_account.disable",
    "sandbox.balance": "trading_account.adjust_balance",
    "kyc.document_view": "kyc_document.view",
    "staff.two_factor_reset": "staff.reset_two_factor",
    "two_factor.recovery_codes": "two_factor.regenerate_recovery_codes",
    "two_factor.recovery_code_used": "two_factor.use_recovery_code",
    "challenges.create": "challenge.create",
    "challenges.draft": "challenge.draft",
    "challenges.publish": "challenge.publish",
    "challenges.end": "challenge.end",
    "participant.advance": "stage.advance",
    "participant.reinstate": "stage.reinstate",
    "participant.retry": "stage.retry",
    "participant.cancel": "participation.cancel",
}

# old name -> (new name when created, new name when changed)
SPLIT = {
    "settings.payment_method": ("payment_method.create", "payment_method.update"),
    "settings.trading_server": ("trading_server.create", "trading_server.update"),
    "settings.kyc_form": ("kyc_form.create", "kyc_form.update"),
}


def rename(apps, schema_editor):
    AuditRecord = apps.get_model("core", "AuditRecord")
    for old, new in RENAMED.items():
        AuditRecord.objects.filter(action=old).update(action=new)
    for old, (created, changed) in SPLIT.items():
        AuditRecord.objects.filter(action=old, before__isnull=True).update(action=created)
        AuditRecord.objects.filter(action=old).update(action=changed)


def rename_back(apps, schema_editor):
    AuditRecord = apps.get_model("core", "AuditRecord")
    for old, new in RENAMED.items():
        AuditRecord.objects.filter(action=new).update(action=old)
    for old, names in SPLIT.items():
        AuditRecord.objects.filter(action__in=names).update(action=old)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(rename, rename_back)]
