"""Each condition of a payout schedule at its boundary: the date, the profit, the minimum
payout, the trading days, the consistency and the open positions; and the split and the unpaid
profit, exact to the cent."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from propdesk.challenges.catalogue.definition import PayoutSchedule, PayoutTiming
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts.eligibility import History, Standing

D = Decimal
UTC = ZoneInfo("UTC")
PRAGUE = ZoneInfo("Europe/Prague")
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


def schedule(**changes) -> PayoutSchedule:
    made = {
        "timing": PayoutTiming.ON_REQUEST,
        "first_after_days": 14,
        "every_days": 7,
        "min_payout": D("100.00"),
        **changes,
    }
    return PayoutSchedule(**made)


def standing(balance="101000.00", equity=None, moved="0", days=()) -> Standing:
    return Standing(
        balance=D(balance),
        equity=D(equity or balance),
        initial=D("100000"),
        moved=D(moved),
        counted_days=tuple(days),
    )


def history(previous=None, paid_out="0", positions=0, day_profits=None) -> History:
    return History(
        live_start=START,
        previous_request=previous,
        paid_out=D(paid_out),
        open_positions=positions,
        day_profits=day_profits,
    )


def check(plan=None, *, now, stand=None, past=None, zone=UTC):
    return eligibility.evaluate(
        plan or schedule(),
        share_pct=D("80"),
        currency="USD",
        standing=stand or standing(),
        history=past or history(),
        zone=zone,
        now=now,
    )


def met(found, key):
    return {c.key: c.met for c in found.conditions}[key]


def test_the_first_payout_date_is_exactly_first_after_days_after_the_live_start():
    due = START + timedelta(days=14)
    assert check(now=due - timedelta(seconds=1)).eligible is False
    assert met(check(now=due - timedelta(seconds=1)), "date") is False
    assert check(now=due).eligible is True
    assert check(now=due).next_date == due


def test_the_next_payout_comes_every_days_after_the_previous_request():
    previous = START + timedelta(days=20, hours=3)
    past = history(previous=previous, paid_out="500")
    found = check(now=previous + timedelta(days=7), stand=standing("101500.00"), past=past)
    assert found.next_date == previous + timedelta(days=7)
    assert found.eligible is True
    assert check(now=previous + timedelta(days=7, seconds=-1), past=past).eligible is False


def test_fixed_days_open_on_the_next_listed_day_of_the_month_in_the_challenges_zone():
    plan = schedule(timing=PayoutTiming.FIXED_DAYS, every_days=None, fixed_days=(1, 15))
    # Live start 2 March + 14 days = 16 March: the next fixed day is 1 April, local midnight.
    found = check(plan, now=datetime(2026, 3, 31, 21, 59, tzinfo=UTC), zone=PRAGUE)
    assert found.next_date == datetime(2026, 4, 1, 0, 0, tzinfo=PRAGUE)
    assert found.eligible is False  # 23:59 in Prague
    assert check(plan, now=datetime(2026, 3, 31, 22, 0, tzinfo=UTC), zone=PRAGUE).eligible


def test_fixed_days_after_a_payout_skip_to_a_later_day_than_the_previous_request():
    plan = schedule(timing=PayoutTiming.FIXED_DAYS, every_days=None, fixed_days=(15,))
    previous = datetime(2026, 4, 15, 10, 0, tzinfo=UTC)  # asked on the 15th itself
    found = check(plan, now=previous, past=history(previous=previous), zone=UTC)
    assert found.next_date == datetime(2026, 5, 15, tzinfo=UTC)


def test_a_28th_fixed_day_comes_in_february_too():
    plan = schedule(timing=PayoutTiming.FIXED_DAYS, every_days=None, fixed_days=(28,))
    past = History(
        live_start=datetime(2027, 2, 1, tzinfo=UTC), previous_request=None, paid_out=D(0)
    )
    assert eligibility.next_date(plan, past, UTC) == datetime(2027, 2, 28, tzinfo=UTC)


def test_the_minimum_payout_is_on_the_traders_share_and_met_when_equal():
    now = START + timedelta(days=30)
    # 80% of 125.00 is exactly 100.00: met; of 124.99 it is 99.99: not.
    assert met(check(now=now, stand=standing("100125.00")), "min_payout") is True
    found = check(now=now, stand=standing("100124.99"))
    assert met(found, "min_payout") is False
    assert "at least 100.00 USD is paid out" in found.why_not()


def test_no_profit_is_no_payout():
    now = START + timedelta(days=30)
    flat = check(now=now, stand=standing("100000.00"))
    assert (met(flat, "profit"), flat.trader_share) == (False, D("0.00"))
    losing = check(now=now, stand=standing("99000.00"))
    assert losing.profit == D("-1000.00")
    assert losing.trader_share == D("0.00")


def test_the_profit_is_trading_only_the_lower_of_balance_and_equity_less_what_was_paid():
    # Balance 103,000 of which 1,000 the firm deposited; equity 102,500 (a position losing).
    moved = standing("103000.00", equity="102500.00", moved="1000")
    assert eligibility.unpaid_profit(moved, D("0"), "USD") == D("1500.00")
    assert eligibility.unpaid_profit(moved, D("1500.00"), "USD") == D("0.00")


def test_the_split_rounds_the_traders_share_down_and_adds_up_exactly():
    trader, firm = eligibility.split(D("1000.01"), D("80"), "USD")
    assert (trader, firm) == (D("800.00"), D("200.01"))
    trader, firm = eligibility.split(D("333.33"), D("66.67"), "JPY")
    assert trader + firm == D("333.33")


@pytest.mark.parametrize(("counted", "expected"), [(4, False), (5, True)])
def test_trading_days_count_from_the_previous_request_day(counted, expected):
    previous = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    days = [date(2026, 3, 30), date(2026, 3, 31)] + [
        date(2026, 4, 1) + timedelta(days=i) for i in range(counted)
    ]
    found = check(
        schedule(min_trading_days=5),
        now=previous + timedelta(days=8),
        stand=standing(days=days),
        past=history(previous=previous),
    )
    assert met(found, "min_trading_days") is expected
    assert {c.key: c.figure for c in found.conditions}["min_trading_days"] == f"{counted} of 5"


def test_consistency_allows_a_best_day_of_exactly_the_limit():
    plan = schedule(consistency_pct=D("40"))
    now = START + timedelta(days=30)
    at_limit = {date(2026, 3, 20): D("400"), date(2026, 3, 21): D("600")}
    # The period's profit 999: its best day, 401, is 40.14% of it.
    over = {
        date(2026, 3, 20): D("401"),
        date(2026, 3, 21): D("300"),
        date(2026, 3, 22): D("299"),
        date(2026, 3, 23): D("-1"),
    }
    assert met(check(plan, now=now, past=history(day_profits=at_limit)), "consistency") is False
    spread = {date(2026, 3, d): D("250") for d in (20, 21, 22, 23)}
    assert met(check(plan, now=now, past=history(day_profits=spread)), "consistency") is True
    found = check(plan, now=now, past=history(day_profits=over))
    assert met(found, "consistency") is False
    assert "40.14% of 999.00 USD" in found.why_not()
    # 400 of 1,000 is exactly 40%.
    edge = {date(2026, 3, 20): D("400"), date(2026, 3, 21): D("300"), date(2026, 3, 22): D("300")}
    assert met(check(plan, now=now, past=history(day_profits=edge)), "consistency") is True


def test_consistency_unknown_when_the_history_cannot_be_read_is_not_eligible():
    found = check(schedule(consistency_pct=D("40")), now=START + timedelta(days=30))
    assert met(found, "consistency") is None
    assert found.eligible is False


@pytest.mark.parametrize(("positions", "expected"), [(0, True), (1, False), (None, None)])
def test_no_open_positions_when_the_firm_asks_for_it(positions, expected):
    found = check(
        schedule(no_open_positions=True),
        now=START + timedelta(days=30),
        past=history(positions=positions),
    )
    assert met(found, "no_open_positions") is expected
    assert found.eligible is (expected is True)


def test_unused_conditions_are_not_listed():
    keys = [c.key for c in check(now=START + timedelta(days=30)).conditions]
    assert keys == ["date", "profit", "min_payout"]


@pytest.mark.parametrize(
    ("days", "said"),
    [([1], "the 1st"), ([1, 15], "the 1st and 15th"), ([1, 10, 20], "the 1st, 10th and 20th")],
)
def test_fixed_days_are_listed_as_a_sentence_says_them(days, said):
    plan = schedule(timing=PayoutTiming.FIXED_DAYS, fixed_days=tuple(days), first_after_days=7)
    assert eligibility.timing_words(plan) == (
        f"on {said} of the month, from 7 days after the live start"
    )


def test_the_eligibility_answered_writes_its_figures_fixed_point():
    """The 409 `payout_not_eligible`'s `eligibility`: decimal strings as the API's pattern says
    (str(Decimal) would write a tiny share as "1E-8")."""
    found = eligibility.evaluate(
        schedule(),
        share_pct=D("0.00000001"),
        currency="USD",
        standing=standing(),
        history=history(),
        zone=UTC,
        now=START,
    ).to_json()
    assert found["share_pct"] == "0.00000001"
    for key in ("profit", "share_pct", "trader_share", "firm_share"):
        assert "E" not in found[key], key
