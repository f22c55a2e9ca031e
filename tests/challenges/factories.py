"""Challenges for the tests, built through the real use cases: a definition (the 2-step
challenge), a participation whose stage runs, and the price moves that pass or breach it."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Payout
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import services as participation
from propdesk.platforms.sandbox import accounts, feed, orders, ticks
from propdesk.wallet import services
from tests.support import carry_out_platform_commands

D = Decimal

# --- The catalogue: a challenge definition ------------------------------------------------------

TWO_STEP = {
    "name": "2-Step 100K",
    "currency": "USD",
    "tags": ["2-step"],
    "time_zone": "Europe/Prague",
    "fee": "499.00",
    "payment_ways": ["wallet", "direct"],
    "progression": "automatic",
    "stages": [
        {
            "name": "Challenge",
            "kind": "demo",
            "balance": "100000",
            "leverage": 100,
            "rules": {
                "profit_target_pct": "8",
                "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
                "max_loss": {"pct": "10", "mode": "static"},
                "min_trading_days": 4,
            },
        },
        {
            "name": "Verification",
            "kind": "demo",
            "balance": "100000",
            "leverage": 100,
            "rules": {"profit_target_pct": "5", "max_loss": {"pct": "10", "mode": "static"}},
        },
        {
            "name": "Funded",
            "kind": "live",
            "balance": "100000",
            "leverage": 50,
            "profit_share_pct": "80",
            "rules": {"max_loss": {"pct": "10", "mode": "trailing_eod"}},
        },
    ],
}


def definition(**changes):
    made = copy.deepcopy(TWO_STEP)
    made.update(changes)
    return made


# --- A participation whose stage runs, and the monitor watching it -------------------------------

RULES = {
    "profit_target_pct": "8",
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
    "max_loss": {"pct": "10", "mode": "static"},
}


def running(client, finance, admin, *, stages, **changes):
    services.adjust(
        client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Top up",
        actor=finance,
    )
    made = catalogue.create(definition(stages=stages, **changes), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    joined = participation.start(client, made.pk, payment="wallet")
    carry_out_platform_commands()  # the stage's account is opened after the commit
    return joined, joined.current_attempt()


def stage(kind="demo", **rules):
    made = {"kind": kind, "balance": "100000", "leverage": 100, "rules": {**RULES, **rules}}
    if kind == "live":
        made["profit_share_pct"] = "80"
    return made


def move(price_feed, bid, ask):
    price_feed.step(feed.Tick("EURUSD", D(bid), D(ask)))
    price_feed.flush()


def pass_stage(attempt):
    """+8,880 on 100,000 closed, then the day closes: a stage with an 8% target passes."""
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")
    orders.close_position(account, position.pk)
    monitor.process(server())
    monitor.close_days(timezone.now() + timedelta(days=1))
    carry_out_platform_commands()  # the next stage's account, opened by the worker


def reach_target(attempt):
    """+8,880 on 100,000 closed, the day still open: an 8% target is reached, the stage passes
    at the day's close."""
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.09400", "1.09412")
    orders.close_position(account, position.pk)
    monitor.process(server())
    attempt.refresh_from_db()


def next_reset(now: datetime, hour: int, minute: int = 0, zone: ZoneInfo | None = None):
    """The first wall time hour:minute in `zone` (Prague) after `now`."""
    local = now.astimezone(zone or PRAGUE)
    reset = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if local >= reset:
        reset = (local + timedelta(days=1)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
    return reset


def server():
    return accounts.default_server()


def breached(client, finance, admin):
    """A stage failed by a real breach: equity 94,880 fell below the daily floor 95,000."""
    joined, attempt = running(client, finance, admin, stages=[stage(), stage("live")])
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    return joined, attempt, account, position, price_feed


# --- A stage's equity curve, drawn ------------------------------------------------------------

# Twelve hours of a stage's curve, one bucket a quarter hour: equity rises from 100,000.00 to
# 101,175.00 by 25.00 a bucket (its bucket's low and high 150.00 either side), the balance
# follows in steps of 500.00.
CURVE_BUCKETS = 48


def curve_of(attempt, *, start: datetime | None = None) -> list[dict[str, str]]:
    """Write CURVE_BUCKETS closed buckets of the stage's curve, as the monitor writes them,
    from `start` (by default 24 hours ago, so the monitor's own open bucket of now comes after
    them); their times, equity and balance as the chart's JSON writes them."""
    from propdesk.challenges.models import CurvePoint
    from propdesk.rules.model import format_time

    first = start or (timezone.now() - timedelta(hours=24)).replace(second=0, microsecond=0)
    first -= timedelta(minutes=first.minute % 5)
    made = []
    for i in range(CURVE_BUCKETS):
        equity = D(100000) + 25 * i
        made.append(
            CurvePoint(
                attempt=attempt,
                t=first + timedelta(minutes=15 * i),
                low=equity - 150,
                high=equity + 150,
                equity=equity,
                balance=D(100000) + 500 * (i // 12),
            )
        )
    CurvePoint.objects.bulk_create(made)
    return [
        {"t": format_time(p.t), "equity": f"{p.equity:.2f}", "balance": f"{p.balance:.2f}"}
        for p in made
    ]


# --- The current stage's figures: a day's trading and the next day reset -------------------------

PRAGUE = ZoneInfo("Europe/Prague")  # the test challenge's time zone


def trading(client, finance, admin, **rules):
    """A participation whose first stage runs (day reset 17:00 Prague, at least 4 days)."""
    rules = {"day_reset": "17:00", "min_trading_days": 4, **rules}
    return running(client, finance, admin, stages=[stage(**rules), stage("live")])


def profit_then_loss(attempt):
    """+2,880 closed, then a position losing 5,120: balance 102,880, equity 97,760."""
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    first = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.08800", "1.08812")
    orders.close_position(account, first.pk)
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    move(feed.Feed(), "1.08300", "1.08312")
    monitor.process(server())
    attempt.refresh_from_db()


def breach(attempt):
    """-5,120 on the day: equity 94,880, under the daily floor of 95,000."""
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    price_feed = feed.Feed()
    monitor.process(server())
    move(price_feed, "1.08000", "1.08012")
    monitor.process(server())
    attempt.refresh_from_db()


def next_reset_17_prague(now: datetime) -> datetime:
    local = now.astimezone(PRAGUE)
    reset = local.replace(hour=17, minute=0, second=0, microsecond=0)
    if local >= reset:
        reset = (local + timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    return reset


# --- A challenge on a remote platform, and a real worker process beside the test -----------------


def on_platform(server, admin, **changes):
    """The 2-step challenge, published, its stages opened on `server` (its first demo group for
    the demo stages, its first live group for the funded one)."""
    made = catalogue.create(definition(platform=server.name, **changes), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def fund(client, finance, amount="1000.00"):
    services.adjust(
        client.pk, direction="credit", amount=amount, currency="USD", comment="Top up",
        actor=finance,
    )  # fmt: skip


@contextlib.contextmanager
def database_shared_with_processes(folder: Path) -> Iterator[dict[str, str]]:
    """The environment for a `propdesk` child process working on this test's database (the
    test must be transactional, so that what it wrote is committed and seen).

    PostgreSQL: the test database itself. SQLite: the test's database lives in memory, which
    no other process can open, so it is copied to a file in `folder` and the test's connection
    works on that file until the block ends (the memory one is kept open meanwhile, unchanged,
    and is the test's again after)."""
    env = {
        **os.environ,
        "PROPDESK_VAR_DIR": str(folder / "var"),
        "PROPDESK_SECRET_KEY": settings.SECRET_KEY,
    }
    if settings.VAULT_KEYS:
        env["PROPDESK_VAULT_KEYS"] = ",".join(settings.VAULT_KEYS)
    given = connection.settings_dict
    if connection.vendor != "sqlite":
        who = quote(given["USER"] or "", safe="")
        if given["PASSWORD"]:
            who += ":" + quote(given["PASSWORD"], safe="")
        where = f"{given['HOST'] or '127.0.0.1'}:{given['PORT'] or 5432}"
        env["DATABASE_URL"] = f"postgres://{who}@{where}/{given['NAME']}"
        yield env
        return
    path = folder / "shared.sqlite3"
    connection.ensure_connection()
    memory = connection.connection
    with contextlib.closing(sqlite3.connect(path)) as copied:
        memory.backup(copied)
    in_memory = given["NAME"]
    connection.connection = None  # the memory database lives on while `memory` is open
    given["NAME"] = str(path)
    try:
        yield {**env, "DATABASE_URL": f"sqlite:///{path}"}
    finally:
        connection.close()
        given["NAME"] = in_memory
        connection.connection = memory


def start_worker(env: dict[str, str], log: Path, **more: str) -> subprocess.Popen[bytes]:
    """`propdesk worker` in a process of its own (its output in `log`), with `more` settings
    in its environment."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "propdesk.cli", "worker", "--interval", "0.2"],
            env={**env, **more},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def eventually(check: Callable[[], object], *, within: float = 30.0, what: str = "") -> None:
    """Wait until `check()` is true, looking every 20 ms; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"still not so after {within:g} s: {what}"
        time.sleep(0.02)


# --- Paid second chances: a challenge with a retry and a reset offer ----------------------------

OFFERS = {"retry": {"fee": "99"}, "reset": {"fee": "49"}}


def with_offers(client, finance, admin, **changes):
    """A participation (499 paid of 1,000) whose demo stage 1 runs, its challenge offering a
    retry for 99 and a reset for 49 unless `changes` say otherwise."""
    return running(client, finance, admin, stages=[stage(), stage("live")], **{**OFFERS, **changes})


def failed_with_offers(client, finance, admin, **changes):
    """The same, its stage 1 failed by a breach (the participation failed)."""
    joined, attempt = with_offers(client, finance, admin, **changes)
    breach(attempt)
    assert attempt.status == "failed"
    joined.refresh_from_db()
    return joined, attempt


def platform_commands(subject, kind=None):
    from propdesk.platforms.models import PlatformCommand

    found = PlatformCommand.objects.filter(subject=subject)
    return list(found.filter(kind=kind) if kind else found)


# --- A funded (live) stage and its payouts -------------------------------------------------------


def funded(client, finance, admin, *, payouts=None, days_ago=30, **changes):
    """A challenge of one live stage (80% profit share), its live step approved and its
    account open, started `days_ago` days ago (so the payout schedule's first date is past)."""
    from propdesk.approvals import services as approvals
    from propdesk.approvals.models import ApprovalRequest
    from propdesk.challenges.models import StageAttempt

    if payouts is not None:
        changes["payouts"] = payouts
    joined, _ = running(client, finance, admin, stages=[stage("live")], **changes)
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    live = joined.current_attempt()
    StageAttempt.objects.filter(pk=live.pk).update(
        started_at=timezone.now() - timedelta(days=days_ago)
    )
    live.refresh_from_db()
    return joined, live


def take_profit(attempt, bid="1.08800"):
    """Buy 10 lots at 1.08512 and close at `bid` (+2,880.00 at 1.08800), then the monitor
    reads it."""
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    ask = str(D(bid) + D("0.00012"))
    move(feed.Feed(), bid, ask)
    orders.close_position(account, position.pk)
    monitor.process(server())
    attempt.refresh_from_db()


def paid_payout(attempt, *, profit="1000.00", share_pct="80.00", status="paid"):
    """A payout of `attempt` (a live stage) as the payouts code leaves it once paid: the row
    only (its ledger entry is the payouts code's business)."""
    profit, share = D(profit), D(share_pct)
    trader_share = (profit * share / 100).quantize(D("0.01"))
    now = timezone.now()
    return Payout.objects.create(
        attempt=attempt,
        client=attempt.participation.client,
        status=status,
        currency="USD",
        profit=profit,
        share_pct=share,
        trader_share=trader_share,
        firm_share=profit - trader_share,
        base_balance=D("100000.00"),
        period_start=attempt.started_at,
        decided_at=now,
        paid_at=now if status == "paid" else None,
    )


# --- Growth: a commission row (the commission helper's use cases fill them for real) --------


def commission(ib, joined, amount, *, status="credited", level=1):
    """`ib`'s commission on the fee of participation `joined`, made directly."""
    from propdesk.challenges.growth.models import Commission, CommissionScheme

    scheme, _ = CommissionScheme.objects.get_or_create(
        name="Test scheme", defaults={"rates": ["10", "3"]}
    )
    return Commission.objects.create(
        participation=joined,
        ib=ib,
        level=level,
        scheme=scheme,
        rate=Decimal("10"),
        base=joined.fee,
        amount=Decimal(amount),
        currency=joined.currency,
        status=status,
    )


# --- Coupons (growth.coupons) -------------------------------------------------------------------


def make_coupon(admin, code="SPRING20", **fields):
    """A coupon saved through the use case: 20% off unless told otherwise."""
    from propdesk.challenges.growth import coupons

    made = {"kind": "percent", "value": "20", **fields}
    return coupons.save_coupon(None, actor=admin, code=code, **made)
