"""Fill the postings' copies of their entry's time and type and their wallet's owner, and sum
the day totals. Posted rows are append-only, so on PostgreSQL the guard is lifted for this one
statement and put back in the same transaction."""

from collections import defaultdict

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from propdesk.core.money import MINOR_UNITS


def fill(apps, schema_editor):
    Posting = apps.get_model("wallet", "Posting")
    JournalEntry = apps.get_model("wallet", "JournalEntry")
    LedgerAccount = apps.get_model("wallet", "LedgerAccount")
    DayTotal = apps.get_model("wallet", "DayTotal")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(
            "ALTER TABLE wallet_posting DISABLE TRIGGER wallet_posting_append_only"
        )
    entry = JournalEntry.objects.filter(pk=OuterRef("entry_id"))
    wallet = LedgerAccount.objects.filter(pk=OuterRef("account_id"), kind="client_wallet")
    Posting.objects.update(
        created_at=Subquery(entry.values("created_at")[:1]),
        entry_type=Subquery(entry.values("type")[:1]),
        client_id=Subquery(wallet.values("client_id")[:1]),
    )
    if postgres:  # check the new foreign keys now: a table with pending checks can't be altered
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(
            "ALTER TABLE wallet_posting ENABLE TRIGGER wallet_posting_append_only"
        )

    reversed_ids = set(
        JournalEntry.objects.filter(reverses__isnull=False).values_list("reverses_id", flat=True)
    )
    zone = timezone.get_default_timezone()
    sums = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # count, credits, debits; reversed part
    rows = Posting.objects.filter(client__isnull=False).values_list(
        "created_at", "entry_type", "currency", "amount", "entry_id"
    )
    for at, kind, currency, amount, entry_id in rows.iterator(chunk_size=5000):
        found = sums[(timezone.localtime(at, zone).date(), kind, currency)]
        minor = int(amount.scaleb(MINOR_UNITS.get(currency, 2)).to_integral_value())
        for offset in (0, 3) if entry_id in reversed_ids else (0,):
            found[offset] += 1
            found[offset + (1 if minor > 0 else 2)] += minor
    names = (
        "count",
        "credits_minor",
        "debits_minor",
        "reversed_count",
        "reversed_credits_minor",
        "reversed_debits_minor",
    )
    DayTotal.objects.bulk_create(
        DayTotal(day=day, entry_type=kind, currency=currency, **dict(zip(names, row, strict=True)))
        for (day, kind, currency), row in sums.items()
    )


def empty(apps, schema_editor):
    apps.get_model("wallet", "DayTotal").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("wallet", "0006_posting_report_columns")]
    operations = [migrations.RunPython(fill, empty)]
