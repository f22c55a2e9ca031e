"""Prop Trading > Dashboard, its money: fees of every kind (first fees, retries, resets) and
their refunds, payouts requested, approved and paid (each on its own day), and the broker's
profit (fees less refunds less profit shares), per challenge and in total, each currency apart;
over the API too, for staff who may see the challenges."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.participation import retries
from propdesk.challenges.payouts import services as payouts
from propdesk.reports import prop_dashboard as dashboard
from propdesk.wallet import services
from tests.api.conftest import Api
from tests.challenges import factories as challenges
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in
from tests.reports.factories import bought, live_stage, payout, refund, reset, undo
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal
PAGE = "/backoffice/prop-trading/dashboard/"
PRAGUE = ZoneInfo("Europe/Prague")  # the firm's time zone in these tests
MONDAY = date(2026, 3, 9)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


def on(n: int, clock: str = "12:00") -> datetime:
    """A moment of day `n` (from Monday) in the firm's time zone."""
    return datetime.combine(day(n), time.fromisoformat(clock), tzinfo=PRAGUE)


def figures(first=None, last=None, challenge=None):
    """The dashboard over days `first` to `last` (numbers from Monday; None: open)."""
    return dashboard.figures(
        None if first is None else day(first),
        None if last is None else day(last),
        challenge.pk if challenge else None,
    )


def offer(admin, **changes):
    made = catalogue.create(definition(**changes), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


@pytest.fixture
def firm(settings, register, set_method, finance, admin):
    """The firm in Prague; two USD challenges (fees 499 and 199) and a EUR one (fee 299);
    a trader with money in both currencies."""
    settings.TIME_ZONE = "Europe/Prague"
    set_method("trader_registration", "automatic")
    trader, _ = register(name="Tess Trader")
    for currency in ("USD", "EUR"):
        services.adjust(
            trader.pk,
            direction="credit",
            amount="10000.00",
            currency=currency,
            comment="Top up",
            actor=finance,
        )
    return {
        "trader": trader,
        "usd": offer(admin),
        "small": offer(admin, name="1-Step 25K", fee="199.00"),
        "eur": offer(admin, name="2-Step 100K EUR", currency="EUR", fee="299.00"),
    }


def funded(firm, challenge="usd", when=None):
    """A live stage of a participation of the challenge bought on `when` (Monday)."""
    return live_stage(bought(firm["trader"], firm[challenge], when=when or on(0, "09:00")))


def lines_of(lines):
    return {(line.challenge_id, line.currency): line for line in lines}


def steps(line):
    return {step: (s.count, s.profit, s.trader_share, s.firm_share) for step, s in line.steps} | {
        "rejected": line.rejected
    }


NONE = (0, D("0.00"), D("0.00"), D("0.00"))
PAYOUT_1000 = (1, D("1000.00"), D("800.00"), D("200.00"))


# --- payouts ---------------------------------------------------------------------------------


def test_each_step_of_a_payout_counts_on_its_own_day(firm):
    stage = funded(firm)
    payout(stage, "1000.00", requested=on(1), decided=on(2), paid=on(3))
    for first, last, expected in [
        (1, 1, {"requested": PAYOUT_1000, "approved": NONE, "paid": NONE}),
        (2, 2, {"requested": NONE, "approved": PAYOUT_1000, "paid": NONE}),
        (3, 3, {"requested": NONE, "approved": NONE, "paid": PAYOUT_1000}),
        (1, 3, {"requested": PAYOUT_1000, "approved": PAYOUT_1000, "paid": PAYOUT_1000}),
    ]:
        shown = figures(first, last)
        [line] = shown.payouts
        assert (line.challenge_id, line.challenge, line.currency) == (
            firm["usd"].pk,
            "2-Step 100K",
            "USD",
        )
        assert steps(line) == expected | {"rejected": 0}
        [total] = shown.payout_totals
        assert (total.challenge_id, steps(total)) == (None, steps(line))
    assert figures(4, 4).payouts == []


def test_a_day_runs_from_midnight_to_midnight_in_the_firms_time_zone(firm):
    late = payout(funded(firm), "1000.00", requested=on(1, "23:59:59.999999"))
    payout(funded(firm), "500.00", requested=on(2, "00:00"))
    # 23:30 UTC on day 1 is already day 2 in Prague.
    utc = payout(
        funded(firm), "250.00", requested=datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("UTC"))
    )
    assert late.requested_at.astimezone(PRAGUE).date() == day(1)
    assert utc.requested_at.astimezone(PRAGUE).date() == day(2)

    def requested(first, last):
        return [(t.requested.count, t.requested.profit) for t in figures(first, last).payout_totals]

    assert requested(1, 1) == [(1, D("1000.00"))]
    assert requested(2, 2) == [(2, D("750.00"))]
    assert requested(None, 1) == [(1, D("1000.00"))]
    assert requested(2, None) == [(2, D("750.00"))]
    assert requested(1, 2) == requested(None, None) == [(3, D("1750.00"))]


def test_a_rejected_payout_is_counted_as_rejected_and_never_approved_or_paid(firm):
    payout(funded(firm), "1000.00", requested=on(1), decided=on(2), rejected=True)
    payout(funded(firm), "300.00", requested=on(1), decided=on(2))  # approved, not yet paid
    [line] = figures(2, 2).payouts
    assert steps(line) == {
        "requested": NONE,
        "approved": (1, D("300.00"), D("240.00"), D("60.00")),
        "paid": NONE,
        "rejected": 1,
    }
    [line] = figures(1, 1).payouts
    assert (line.requested.count, line.rejected) == (2, 0)


def test_payouts_are_shown_per_challenge_with_a_total_per_currency(firm):
    payout(funded(firm), "1000.00", requested=on(1), decided=on(1), paid=on(1))
    payout(funded(firm, "small"), "100.00", requested=on(1), decided=on(1), paid=on(1))
    payout(funded(firm, "eur"), "2000.00", requested=on(1), share_pct="90")
    shown = figures(1, 1)
    assert [(p.challenge, p.currency) for p in shown.payouts] == [
        ("1-Step 25K", "USD"),
        ("2-Step 100K", "USD"),
        ("2-Step 100K EUR", "EUR"),
    ]
    totals = {t.currency: t for t in shown.payout_totals}
    assert list(totals) == ["EUR", "USD"]
    assert steps(totals["USD"])["paid"] == (2, D("1100.00"), D("880.00"), D("220.00"))
    assert steps(totals["EUR"])["requested"] == (1, D("2000.00"), D("1800.00"), D("200.00"))
    assert steps(totals["EUR"])["paid"] == NONE


# --- the broker's profit ---------------------------------------------------------------------


def test_the_profit_is_the_fees_less_the_refunds_less_the_profit_shares_paid(firm):
    trader = firm["trader"]
    first = bought(trader, firm["usd"], when=on(1))
    refunded = bought(trader, firm["usd"], when=on(1))
    refund(refunded, when=on(1, "18:00"))
    retry = bought(trader, firm["usd"], when=on(1), retry_of=first)
    stage = reset(live_stage(retry), "99.00", when=on(1, "13:00"))
    payout(stage, "1000.00", requested=on(1), decided=on(1), paid=on(1, "20:00"))
    bought(trader, firm["small"], when=on(1))

    shown = figures(1, 1)
    fees = {f.type: f for f in shown.fees}
    assert list(fees) == ["prop_trading_fee", "prop_retry_fee", "prop_reset_fee"]
    assert [
        (f.label, f.paid, f.collected, f.refunds, f.refunded, f.net) for f in fees.values()
    ] == [
        ("Prop Trading Fee", 3, D("1197.00"), 1, D("499.00"), D("698.00")),
        ("Prop Retry Fee", 1, D("499.00"), 0, D("0.00"), D("499.00")),
        ("Prop Reset Fee", 1, D("99.00"), 0, D("0.00"), D("99.00")),
    ]
    profit = lines_of(shown.profit)
    usd = profit[firm["usd"].pk, "USD"]
    assert (usd.fees, usd.refunded, usd.shares_paid, usd.shares_reversed) == (
        D("1596.00"),  # 499 + 499 (the one refunded) + 499 (the retry) + 99 (the reset)
        D("499.00"),
        D("800.00"),
        D("0.00"),
    )
    assert usd.profit == D("1596.00") - D("499.00") - D("800.00") == D("297.00")
    small = profit[firm["small"].pk, "USD"]
    assert (small.fees, small.profit) == (D("199.00"), D("199.00"))
    [total] = shown.profit_totals
    assert (total.challenge_id, total.currency) == (None, "USD")
    assert (total.fees, total.refunded, total.shares_paid, total.profit) == (
        D("1795.00"),
        D("499.00"),
        D("800.00"),
        D("496.00"),
    )
    # Over all dates the figures are read another way (no period to look up): the same.
    whole = figures()
    assert (whole.fees, whole.profit, whole.profit_totals) == (
        shown.fees,
        shown.profit,
        shown.profit_totals,
    )


def test_a_refund_made_later_subtracts_on_its_own_day_whenever_the_fee_was_paid(firm):
    trader = firm["trader"]
    joined = bought(trader, firm["usd"], when=on(1))
    stage = reset(live_stage(joined), "99.00", when=on(1))
    refund(joined, when=on(5))
    undo(stage.reset_fee_entry, when=on(5))

    [paid_day] = figures(1, 1).profit
    assert (paid_day.fees, paid_day.refunded, paid_day.profit) == (D("598.00"), D("0"), D("598.00"))
    later = figures(5, 5)
    [refund_day] = later.profit
    assert (refund_day.fees, refund_day.refunded, refund_day.profit) == (
        D("0"),
        D("598.00"),
        D("-598.00"),
    )
    assert [(f.type, f.paid, f.refunds, f.refunded) for f in later.fees] == [
        ("prop_trading_fee", 0, 1, D("499.00")),
        ("prop_reset_fee", 0, 1, D("99.00")),
    ]
    [whole] = figures().profit_totals
    assert (whole.fees, whole.refunded, whole.profit) == (D("598.00"), D("598.00"), D("0.00"))


def test_a_profit_share_taken_back_adds_back_on_the_day_it_is_reversed(firm):
    paid = payout(funded(firm), "1000.00", requested=on(1), decided=on(1), paid=on(2))
    undo(paid.entry, when=on(4))
    [pay_day] = figures(2, 2).profit
    assert (pay_day.shares_paid, pay_day.shares_reversed, pay_day.profit) == (
        D("800.00"),
        D("0"),
        D("-800.00"),
    )
    [reversal_day] = figures(4, 4).profit
    assert (reversal_day.shares_paid, reversal_day.shares_reversed, reversal_day.shares) == (
        D("0"),
        D("800.00"),
        D("-800.00"),
    )
    assert reversal_day.profit == D("800.00")
    everything = lines_of(figures().profit)[firm["usd"].pk, "USD"]
    assert everything.shares == D("0.00")
    assert everything.profit == D("499.00")  # the fee alone
    assert figures(4, 4).payouts == []  # the payout was paid on day 2, and stays paid


def test_currencies_are_never_added_together(firm):
    trader = firm["trader"]
    bought(trader, firm["usd"], when=on(1))
    eur = live_stage(bought(trader, firm["eur"], when=on(1)))
    payout(eur, "1000.00", requested=on(1), decided=on(1), paid=on(1))
    shown = figures(1, 1)
    assert [(f.currency, f.collected) for f in shown.fees] == [
        ("EUR", D("299.00")),
        ("USD", D("499.00")),
    ]
    totals = {t.currency: t for t in shown.profit_totals}
    assert (totals["EUR"].fees, totals["EUR"].shares_paid, totals["EUR"].profit) == (
        D("299.00"),
        D("800.00"),
        D("-501.00"),
    )
    assert (totals["USD"].fees, totals["USD"].shares_paid, totals["USD"].profit) == (
        D("499.00"),
        D("0"),
        D("499.00"),
    )
    assert [(t.currency, t.paid.trader_share) for t in shown.payout_totals] == [
        ("EUR", D("800.00"))
    ]


def test_the_challenge_filter_keeps_payouts_and_profit_to_that_challenge(firm):
    payout(funded(firm), "1000.00", requested=on(1), decided=on(1), paid=on(1))
    payout(funded(firm, "eur"), "2000.00", requested=on(1))
    usd = figures(challenge=firm["usd"])
    assert [(p.challenge_id, p.currency) for p in usd.payouts] == [(firm["usd"].pk, "USD")]
    assert [(t.currency, t.paid.count) for t in usd.payout_totals] == [("USD", 1)]
    assert [(p.challenge_id, p.profit) for p in usd.profit] == [(firm["usd"].pk, D("-301.00"))]
    eur = figures(challenge=firm["eur"])
    assert [(t.currency, t.requested.profit) for t in eur.payout_totals] == [("EUR", D("2000.00"))]
    assert [(p.currency, p.profit) for p in eur.profit_totals] == [("EUR", D("299.00"))]
    assert figures(challenge=firm["small"]).payouts == []


def test_the_figures_read_what_the_payout_retry_and_reset_use_cases_write(
    active_client, finance, admin
):
    failed, _ = challenges.failed_with_offers(active_client, finance, admin)  # 499; 99; 49
    retried = retries.retry(active_client, failed.pk)
    carry_out_platform_commands()
    retries.reset(active_client, retried.pk)
    _, live = challenges.funded(active_client, finance, admin)  # 499
    challenges.take_profit(live)  # +2,880.00
    asked = payouts.request_payout(active_client, live.participation_id)
    request = ApprovalRequest.objects.get(type_key=payouts.PAYOUT, payload__payout_id=asked.pk)
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()  # the balance operation; the Profit Share entry
    asked.refresh_from_db()
    assert asked.status == "paid"
    today = timezone.localdate()
    shown = dashboard.figures(today - timedelta(days=1), today, None)  # a midnight between
    assert [(f.type, f.paid, f.collected) for f in shown.fees] == [
        ("prop_trading_fee", 2, D("998.00")),
        ("prop_retry_fee", 1, D("99.00")),
        ("prop_reset_fee", 1, D("49.00")),
    ]
    profit = lines_of(shown.profit)
    offers = profit[failed.challenge_id, "USD"]
    assert (offers.fees, offers.shares_paid, offers.profit) == (D("647.00"), D("0.00"), D("647.00"))
    paying = profit[live.participation.challenge_id, "USD"]
    assert (paying.fees, paying.shares_paid, paying.profit) == (
        D("499.00"),
        D("2304.00"),
        D("-1805.00"),
    )
    [line] = shown.payouts
    assert steps(line) == {
        step: (1, D("2880.00"), D("2304.00"), D("576.00"))
        for step in ("requested", "approved", "paid")
    } | {"rejected": 0}
    [total] = shown.profit_totals
    assert total.profit == D("1146.00") - D("2304.00")


def test_the_figures_with_payouts_still_take_a_fixed_number_of_queries(
    firm, django_assert_max_num_queries
):
    for n in range(3):
        payout(funded(firm), "1000.00", requested=on(n), decided=on(n), paid=on(n))
    with django_assert_max_num_queries(11):  # 11th: the coupons' discounts
        figures()


# --- the page and the API --------------------------------------------------------------------


@pytest.fixture
def month(firm):
    paid = payout(funded(firm), "1000.00", requested=on(1), decided=on(2), paid=on(3))
    undo(paid.entry, when=on(4))
    payout(funded(firm, "eur"), "500.00", requested=on(2), decided=on(2), rejected=True)
    return firm


def test_the_page_shows_the_payouts_and_the_brokers_profit(month, admin):
    html = unescape(logged_in(admin).get(PAGE, {"date_from": str(day(0))}).content.decode())
    usd = month["usd"].pk
    assert f'<tbody data-challenge="{usd}" data-currency="USD">' in html
    assert '<tr data-step="paid">' in html
    assert 'data-trader="800.00"' in html
    assert 'data-firm="200.00"' in html
    assert '<tr data-step="rejected"><td>Rejected</td><td data-count="1">' in html
    assert f'<tr data-challenge="{usd}" data-currency="USD">' in html
    # 499 in fees, 800 paid and 800 taken back.
    assert 'data-shares="800.00"' in html
    assert 'data-reversed="800.00"' in html
    assert 'data-profit="499.00"' in html
    assert 'data-profit="299.00"' in html  # EUR, apart
    assert "Prop Trading Fee" in html
    assert "type=prop_trading_fee&currency=EUR&date_from=2026-03-09" in html


def test_the_page_says_when_there_is_no_payout_and_no_profit(firm, admin):
    html = logged_in(admin).get(PAGE, {"date_from": "2020-01-01", "date_to": "2020-01-31"})
    text = html.content.decode()
    assert "No payout requested, decided or paid in this period." in text
    assert "No fee and no profit share in this period." in text


@pytest.fixture
def staff_api(support):
    api = Api()
    token = api.token(support.email, PASSWORD)
    return lambda query="": api.call("GET", f"/reports/prop-dashboard{query}", token=token)


def test_the_api_returns_the_dashboard_with_its_payouts_and_profit(month, staff_api):
    response = staff_api(f"?date_from={day(0)}&date_to={day(6)}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["date_from"], data["date_to"], data["challenge_id"]) == (
        "2026-03-09",
        "2026-03-15",
        None,
    )
    usd = month["usd"].pk
    [line] = [p for p in data["payouts"] if p["currency"] == "USD"]
    assert line["challenge_id"] == usd
    assert line["paid"] == {
        "count": 1,
        "profit": "1000.00",
        "trader_share": "800.00",
        "firm_share": "200.00",
    }
    assert {t["currency"]: t["rejected"] for t in data["payout_totals"]} == {"EUR": 1, "USD": 0}
    assert [t["challenge_id"] for t in data["payout_totals"]] == [None, None]
    profit = {p["currency"]: p for p in data["profit_totals"]}
    assert profit["USD"] == {
        "challenge_id": None,
        "challenge": "All challenges",
        "currency": "USD",
        "fees": "499.00",
        "refunded": "0.00",
        "shares_paid": "800.00",
        "shares_reversed": "800.00",
        "profit": "499.00",
    }
    assert profit["EUR"]["profit"] == "299.00"
    assert [(f["currency"], f["type"], f["net"]) for f in data["fees"]] == [
        ("EUR", "prop_trading_fee", "299.00"),
        ("USD", "prop_trading_fee", "499.00"),
    ]
    assert data["participants"] == 2
    assert {s["status"]: s["count"] for s in data["statuses"]}["active"] == 2
    one = staff_api(f"?challenge={month['eur'].pk}").json()
    assert [p["currency"] for p in one["profit"]] == ["EUR"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?date_from=20260101", "date_from", "Must be a date written YYYY-MM-DD."),
        ("?date_to=2026-02-30", "date_to", "Must be a date written YYYY-MM-DD."),
        ("?date_from=2026-03-02&date_to=2026-03-01", "date_to", "The end is before the start."),
        ("?challenge=abc", "challenge", "Must be a whole number written with the digits 0-9."),
        ("?challenge=0", "challenge", "greater than or equal to 1"),
        ("?challenge=999999", "challenge", "No such challenge."),
        ("?challenge=" + "9" * 40, "challenge", "Too large."),
        ("?challenge=%00", "challenge", "The character NUL"),
        ("?challenge=%D9%A1", "challenge", "Must be a whole number"),  # an Arabic-Indic 1
        ("?date_from=%EF%BC%92026-01-01", "date_from", "Must be a date"),  # a full-width 2
    ],
)
def test_bad_filters_over_the_api_are_named(firm, staff_api, query, field, message):
    response = staff_api(query)
    assert response.status_code == 422, response.content
    assert message in response.json()["fields"][field]


def test_a_staff_role_without_the_challenges_permission_is_refused(firm, admin):
    accounts.save_role(
        None, name="Cashier", description="", permission_codes=["wallet.view"], actor=admin
    )
    cashier = accounts.create_staff_user(
        email="cashier@firm.test",
        name="Cashier",
        role_name="Cashier",
        password=PASSWORD,
        actor=admin,
    )
    api = Api()
    refused = api.call("GET", "/reports/prop-dashboard", token=api.token(cashier.email, PASSWORD))
    assert refused.status_code == 403
    assert "See the challenge catalogue and participants" in refused.json()["message"]
    assert logged_in(cashier).get(PAGE).status_code == 403


def test_clients_and_strangers_are_kept_out_of_the_api(firm):
    api = Api()
    assert api.call("GET", "/reports/prop-dashboard").status_code == 401
    token = api.token(firm["trader"].user.email, PASSWORD)
    assert api.call("GET", "/reports/prop-dashboard", token=token).status_code == 403
