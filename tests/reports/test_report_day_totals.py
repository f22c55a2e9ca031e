"""The report's totals come from day totals the ledger keeps; they must always equal what the
postings themselves add up to, whatever the filter. Pages and the CSV go by (time, id)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from propdesk.cli import main as propdesk
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import quantize
from propdesk.reports import transactions as reports
from propdesk.wallet import ledger, services
from propdesk.wallet.models import DayTotal, Posting

pytestmark = pytest.mark.django_db


def adjust(client, actor, amount, direction="credit", currency="USD", comment="Goodwill"):
    return services.adjust(
        client.pk,
        direction=direction,
        amount=amount,
        currency=currency,
        comment=comment,
        actor=actor,
    )


@pytest.fixture
def mixed_books(active_client, register, finance):
    """Credits and debits in two currencies for two clients; one entry reversed."""
    other, _ = register(name="Zed Other", email="zed@example.com")
    adjust(active_client, finance, "100.00")
    adjust(active_client, finance, "30.25", direction="debit")
    adjust(other, finance, "9.99", currency="EUR")
    undone = adjust(other, finance, "40.00")
    with transaction.atomic():
        ledger.reverse(undone, actor=finance)
    return active_client, other


def summed_directly(filters):
    """The plain way: each filtered posting, turned to the firm's side, added up."""
    found = {}
    for p in reports.transactions(filters).select_related("entry__reverses"):
        amount = reports.firm_side(p)
        n, money_in, money_out = found.get(p.currency, (0, Decimal(0), Decimal(0)))
        found[p.currency] = (
            n + 1,
            money_in + max(amount, Decimal(0)),
            money_out + min(amount, Decimal(0)),
        )
    return [
        (currency, n, quantize(i, currency), quantize(o, currency))
        for currency, (n, i, o) in sorted(found.items())
    ]


def from_day_totals(filters):
    return [(t["currency"], t["count"], t["credits"], t["debits"]) for t in reports.totals(filters)]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"type": "adjustment"},
        {"type": "reversal"},
        {"type": "deposit"},
        {"currency": "EUR"},
        {"status": "completed"},
        {"status": "reversed"},
        {"status": "completed", "type": "adjustment", "currency": "USD"},
        {"client": "zed"},
        {"client": "zed", "status": "reversed"},
    ],
)
def test_totals_from_day_totals_equal_the_postings_sum(mixed_books, filters):
    chosen = reports.Filters(**filters)
    assert from_day_totals(chosen) == summed_directly(chosen)


def test_reversed_and_completed_totals_split_the_whole(mixed_books):
    whole = {t["currency"]: t for t in reports.totals(reports.Filters())}
    undone = {t["currency"]: t for t in reports.totals(reports.Filters(status="reversed"))}
    kept = {t["currency"]: t for t in reports.totals(reports.Filters(status="completed"))}
    assert undone["USD"]["count"] == 1
    # A credit to the client by adjustment is money the firm gives: Out, negative.
    assert undone["USD"]["debits"] == Decimal("-40.00")
    assert kept["USD"]["count"] + undone["USD"]["count"] == whole["USD"]["count"]
    assert kept["USD"]["net"] + undone["USD"]["net"] == whole["USD"]["net"]
    assert "EUR" not in undone  # a currency with nothing reversed has no reversed line


def test_totals_honour_the_date_range(mixed_books):
    today = timezone.localdate()
    assert from_day_totals(reports.Filters(date_from=today, date_to=today)) == summed_directly(
        reports.Filters()
    )
    assert reports.totals(reports.Filters(date_from=today + timedelta(days=1))) == []
    assert reports.totals(reports.Filters(date_to=today - timedelta(days=1))) == []


def test_days_are_the_firms_local_days(active_client, finance, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: the local day is mostly UTC's next
    adjust(active_client, finance, "12.00")
    posting = Posting.objects.get(client=active_client)
    local = timezone.localtime(posting.created_at, timezone.get_default_timezone()).date()
    assert DayTotal.objects.get().day == local
    on_that_day = reports.Filters(date_from=local, date_to=local)
    assert reports.transactions(on_that_day).count() == 1
    assert reports.totals(on_that_day)[0]["count"] == 1
    assert ledger.check() == []


@pytest.mark.books_tampered
def test_ledger_check_names_day_totals_that_drifted_and_rebuild_mends_them(mixed_books, capsys):
    DayTotal.objects.filter(entry_type="adjustment", currency="USD").update(count=99)
    problems = ledger.check()
    assert len(problems) == 1
    assert "day totals" in problems[0]
    assert "rebuild-totals" in problems[0]
    assert propdesk(["ledger", "rebuild-totals"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert ledger.check() == []
    assert from_day_totals(reports.Filters()) == summed_directly(reports.Filters())


@pytest.mark.books_tampered
def test_after_a_time_zone_change_check_asks_for_a_rebuild(active_client, finance, settings):
    adjust(active_client, finance, "12.00")
    posted = Posting.objects.get(client=active_client).created_at
    # A zone whose local day differs from UTC's at this moment: UTC-12 in the UTC morning,
    # UTC+14 from 10:00 UTC.
    settings.TIME_ZONE = "Etc/GMT+12" if posted.hour < 12 else "Etc/GMT-14"
    assert any("rebuild-totals" in p for p in ledger.check())
    ledger.rebuild_day_totals()
    assert ledger.check() == []


def test_postings_of_one_entry_share_a_moment_and_page_apart(active_client, register):
    """Two wallet postings in one entry have the same time; key paging still shows each once."""
    other, _ = register(name="Zed Other", email="zed@example.com")
    with transaction.atomic():
        a = ledger.wallet(active_client, "USD")
        b = ledger.wallet(other, "USD")
        firm = ledger.firm_account("adjustments", "USD", "Adjustments")
        ledger.post("adjustment", [ledger.Line(a, Decimal(10)), ledger.Line(firm, Decimal(-10))])
        ledger.post(
            "adjustment",
            [
                ledger.Line(a, Decimal(-4)),
                ledger.Line(b, Decimal(4)),
            ],
        )
    seen, after = [], None
    while True:
        items, after = reports.page(reports.transactions(reports.Filters()), after=after, size=1)
        seen += [p.pk for p in items]
        if after is None:
            break
    wallet_postings = Posting.objects.filter(client__isnull=False)
    assert sorted(seen) == sorted(wallet_postings.values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == 3
    moments = [Posting.objects.get(pk=pk).created_at for pk in seen]
    assert moments == sorted(moments, reverse=True)


@pytest.mark.parametrize("cursor", ["999999999", "-1", "1" * 30, "١٢"])
def test_a_cursor_that_names_no_wallet_posting_is_refused(mixed_books, cursor):
    with pytest.raises(ValidationFailed) as refused:
        reports.page(reports.transactions(reports.Filters()), after=cursor)
    assert "after" in refused.value.fields


def test_a_firm_postings_id_is_no_cursor(mixed_books):
    firm_posting = Posting.objects.filter(client__isnull=True).first()
    with pytest.raises(ValidationFailed):
        reports.page(reports.transactions(reports.Filters()), after=firm_posting.pk)


def test_csv_in_small_chunks_is_every_row_once_newest_first(mixed_books):
    rows = reports.transactions(reports.Filters())
    lines = list(csv.reader(io.StringIO("".join(reports.csv_lines(rows, chunk=2)))))
    ids = [int(line[0]) for line in lines[1:]]
    expected = list(rows.order_by("-created_at", "-id").values_list("id", flat=True))
    assert ids == expected
    assert len(ids) == 5
