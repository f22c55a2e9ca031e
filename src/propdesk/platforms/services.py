"""The staff's use cases on trading platforms: Settings > Trading platforms > Sandbox
instruments, and the back office's view of sandbox accounts (disable or enable trading, balance
operations). The servers themselves are `platforms.servers`; the outbox's commands
`platforms.commands`.

The sandbox's own use cases (accounts, orders) do the trading work; these functions add what a
staff action needs around them: the permission, the checks a person's input gets, and the audit
record, all in the one transaction."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from propdesk.accounts.models import User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import InvalidTransition, NotFound
from propdesk.core.numbers import NotANumber, read_whole
from propdesk.core.permissions import require_permission
from propdesk.core.templatetags.money import signed_money
from propdesk.core.validation import FieldErrors, clean_text, parse_decimal, search_text
from propdesk.platforms.permissions import PLATFORMS_MANAGE
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import pricing, valuation
from propdesk.platforms.sandbox.models import Account, Deal, Instrument, Position, Quote

REASON_MAX = 200  # what the account keeps (Account.disabled_reason, Deal.comment)
KEY_MAX = 100

# --- Settings > Trading platforms > Sandbox instruments ------------------------------------------

SPREAD_MAX = 100_000  # points
VOLATILITY_MIN, VOLATILITY_MAX = Decimal("0.01"), Decimal("500")  # percent a year
VOLUME_MIN, VOLUME_MAX = Decimal("0.01"), Decimal("1000")  # lots
HOURS_MAX_WINDOWS = 50
EN_DASH, EM_DASH = "\u2013", "\u2014"
_WINDOW = re.compile(
    r"(?P<first>[a-z]+)(?:\s*-\s*(?P<last>[a-z]+))?"
    r"\s+(?P<open>[0-9]{1,2}:[0-9]{2})\s*-\s*(?P<close>[0-9]{1,2}:[0-9]{2})"
)


def find_instruments() -> QuerySet[Instrument]:
    return Instrument.objects.order_by("symbol")


def find_instrument(symbol: str) -> Instrument:
    found = Instrument.objects.filter(symbol=symbol).first()
    if found is None:
        raise NotFound(f"No sandbox instrument {symbol}.")
    return found


def describe_hours(hours: list[dict[str, str]]) -> str:
    """Trading hours for people: "Around the clock", or "Mon-Fri 13:30-20:00 UTC" (with en
    dashes)."""
    if not hours:
        return "Around the clock"
    windows = [
        f"{EN_DASH.join(d.capitalize() for d in w['days'].split('-'))} "
        f"{w['open']}{EN_DASH}{w['close']}"
        for w in hours
    ]
    return f"{', '.join(windows)} UTC"


@dataclass(frozen=True)
class Charged:
    """What the sandbox's synthetic feed quotes for an instrument, in points and in price."""

    spread_points: int
    rollover_points: int
    # ("30 points (0.30)", "90 points (0.90) at the rollover, 21:00-23:00 UTC (x3)")
    spread_lines: tuple[str, ...]
    # ("15% a year", "+-5.65 (0.24%) an hour 07:00-17:00 UTC", ...)
    volatility_lines: tuple[str, ...]

    @property
    def spread(self) -> str:
        return "; ".join(self.spread_lines)

    @property
    def volatility(self) -> str:
        return "; ".join(self.volatility_lines)


def _hours(pair: tuple[int, int]) -> str:
    return f"{pair[0]:02d}:00{EN_DASH}{pair[1]:02d}:00 UTC"


def charged(instrument: Instrument) -> Charged:
    """The spread the feed charges, in and out of the rollover, and its volatility as a
    typical (one standard deviation) move in an hour at the latest mid price."""
    spec = instrument.spec
    normal = instrument.spread_points
    wide = normal * instrument.rollover_spread_multiplier
    spread: tuple[str, ...]
    if wide == normal:
        spread = (f"{normal} points ({spec.price(normal)}), around the clock",)
    else:
        spread = (
            f"{normal} points ({spec.price(normal)})",
            f"{wide} points ({spec.price(wide)}) at the rollover, "
            f"{_hours(pricing.ROLLOVER_HOURS)} (\u00d7{instrument.rollover_spread_multiplier})",
        )
    quote = Quote.objects.filter(instrument=instrument).first()
    price = (quote.bid + quote.ask) / 2 if quote else instrument.start_price
    volatility = [f"{(instrument.volatility * 100).normalize():f}% a year"]
    for part, when in (
        (pricing.BUSY, _hours(pricing.BUSY_HOURS)),
        (pricing.QUIET, "at other times"),
        (pricing.ROLLOVER, "at the rollover"),
    ):
        move = pricing.hourly_move(instrument.volatility, price, part)
        pct = (move / price * 100).quantize(Decimal("0.01"))
        shown = spec.price(round(move.scaleb(spec.digits)))
        volatility.append(f"\u00b1{shown} ({pct}%) an hour {when}")
    return Charged(normal, wide, spread, tuple(volatility))


def hours_text(hours: list[dict[str, str]]) -> str:
    """Trading hours as the edit form writes them: one window a line, `mon-fri 00:00-24:00`."""
    return "\n".join(f"{w['days']} {w['open']}-{w['close']}" for w in hours)


def instrument_snapshot(instrument: Instrument) -> dict[str, Any]:
    return audit.snapshot(
        instrument,
        [
            "description",
            "spread_points",
            "rollover_spread_multiplier",
            "volatility",
            "min_volume",
            "max_volume",
            "volume_step",
            "trading_hours",
            "enabled",
        ],
    )


def save_instrument(
    symbol: str,
    *,
    description: Any,
    spread_points: Any,
    min_volume: Any,
    max_volume: Any,
    volume_step: Any,
    trading_hours: Any,
    enabled: bool = True,
    rollover_spread_multiplier: Any = None,
    volatility_pct: Any = None,
    actor: User,
) -> Instrument:
    """Change what a firm tunes on a sandbox instrument: its description, spread, volume
    limits, trading hours (one window a line, or the stored list; empty: around the clock),
    whether it trades, and for the synthetic price feed the rollover's spread multiplier and the
    yearly volatility in percent (None: unchanged). The symbol, digits, contract size and
    currencies stay: open positions are valued by them. Orders see the change at once; a
    running price feed within a few seconds."""
    require_permission(actor, PLATFORMS_MANAGE)
    errors = FieldErrors()
    text = clean_text(
        errors, "description", description, label="Description", max_length=100, required=False
    )
    spread = _whole(errors, "spread_points", spread_points, label="Spread", high=SPREAD_MAX)
    multiplier = volatility = None
    if rollover_spread_multiplier is not None:
        try:
            multiplier = read_whole(
                rollover_spread_multiplier, low=1, high=pricing.ROLLOVER_MULTIPLIER_MAX
            )
        except NotANumber:
            errors.add(
                "rollover_spread_multiplier",
                "The rollover multiplier is a whole number from 1 (no widening) "
                f"to {pricing.ROLLOVER_MULTIPLIER_MAX}.",
            )
    if volatility_pct is not None:
        pct = parse_decimal(errors, "volatility_pct", volatility_pct, label="Volatility", places=2)
        if pct is not None and not VOLATILITY_MIN <= pct <= VOLATILITY_MAX:
            errors.add(
                "volatility_pct",
                f"Volatility is from {VOLATILITY_MIN} to {VOLATILITY_MAX} percent a year.",
            )
        elif pct is not None:
            volatility = pct / 100
    low = _lots(errors, "min_volume", min_volume, label="Minimum volume")
    high = _lots(errors, "max_volume", max_volume, label="Maximum volume")
    step = _lots(errors, "volume_step", volume_step, label="Volume step")
    if low is not None and high is not None and low > high:
        errors.add("max_volume", "The maximum volume is below the minimum.")
    if step is not None:
        for field, lots, label in (("min_volume", low, "minimum"), ("max_volume", high, "maximum")):
            if lots is not None and lots % step:
                errors.add(field, f"The {label} volume is a multiple of the volume step ({step}).")
    windows = _trading_hours(errors, "trading_hours", trading_hours)
    errors.raise_if_any()
    assert spread is not None
    assert low is not None
    assert high is not None
    assert step is not None
    with transaction.atomic():
        instrument = Instrument.objects.select_for_update().filter(symbol=symbol).first()
        if instrument is None:
            raise NotFound(f"No sandbox instrument {symbol}.")
        before = instrument_snapshot(instrument)
        instrument.description, instrument.spread_points = text, spread
        instrument.min_volume, instrument.max_volume, instrument.volume_step = low, high, step
        instrument.trading_hours, instrument.enabled = windows, bool(enabled)
        if multiplier is not None:
            instrument.rollover_spread_multiplier = multiplier
        if volatility is not None:
            instrument.volatility = volatility
        instrument.save()
        audit.record(
            actor=actor,
            action=AuditAction.INSTRUMENT_UPDATE,
            object_type="sandbox_instrument",
            object_id=instrument.symbol,
            summary=f"Sandbox instrument {instrument.symbol} changed",
            before=before,
            after=instrument_snapshot(instrument),
        )
    return instrument


def _whole(errors: FieldErrors, field: str, raw: Any, *, label: str, high: int) -> int | None:
    try:
        return read_whole(raw, low=0, high=high)
    except NotANumber:
        errors.add(field, f"{label} is a whole number of points, from 0 to {high}.")
        return None


def _lots(errors: FieldErrors, field: str, raw: Any, *, label: str) -> Decimal | None:
    lots = parse_decimal(errors, field, raw, label=label, places=2)
    if lots is None:
        return None
    if not VOLUME_MIN <= lots <= VOLUME_MAX:
        errors.add(field, f"{label} is from {VOLUME_MIN} to {VOLUME_MAX} lots.")
        return None
    return lots.quantize(VOLUME_MIN)


def _trading_hours(errors: FieldErrors, field: str, raw: Any) -> list[dict[str, str]]:
    """Weekly windows in UTC from text, one a line (`mon-fri 00:00-24:00`, `sat 08:00-12:00`),
    or from the stored list form; the message names the first bad line (or window)."""
    if isinstance(raw, list):
        if any(not isinstance(w, dict) or set(w) != {"days", "open", "close"} for w in raw):
            errors.add(field, 'Each window is {"days": "mon-fri", "open": "HH:MM", "close": ...}.')
            return []
        lines = [f"{w['days']} {w['open']}-{w['close']}" for w in raw]
        label = "Window"
    else:
        text = clean_text(
            errors,
            field,
            raw,
            label="Trading hours",
            max_length=2000,
            required=False,
            multiline=True,
        )
        if field in errors:
            return []
        lines, label = text.split("\n"), "Line"
    windows: list[dict[str, str]] = []
    for number, line in enumerate((line.strip() for line in lines), start=1):
        if not line:
            continue
        try:
            windows.append(_window(line))
        except ValueError as exc:
            shown = line if len(line) <= 40 else f"{line[:40]}…"
            errors.add(field, f"{label} {number} ({shown}): {exc}")
            return []
    if len(windows) > HOURS_MAX_WINDOWS:
        errors.add(field, f"At most {HOURS_MAX_WINDOWS} windows.")
        return []
    try:
        return pricing.check_hours(windows)
    except ValueError as exc:  # a second guard: what the sandbox itself accepts
        errors.add(field, f"Trading hours: {exc}.")
        return []


def _window(line: str) -> dict[str, str]:
    found = _WINDOW.fullmatch(line.lower().replace(EN_DASH, "-").replace(EM_DASH, "-"))
    if found is None:
        raise ValueError(
            "write a window as days and UTC times, e.g. mon-fri 00:00-24:00 or sat 08:00-12:00."
        )
    days = [d for d in (found["first"], found["last"]) if d]
    for day in days:
        if day not in pricing.DAYS:
            raise ValueError(f"{day} is not a day; use {', '.join(pricing.DAYS)}.")
    opens, closes = _time_of_day(found["open"]), _time_of_day(found["close"])
    if opens >= closes:
        raise ValueError(
            f"the window opens at {opens} and closes at {closes}; it must open before it closes "
            "(a window past midnight is two lines)."
        )
    return {"days": "-".join(dict.fromkeys(days)), "open": opens, "close": closes}


def _time_of_day(text: str) -> str:
    hours, _, minutes = text.partition(":")
    if int(minutes) > 59 or int(hours) * 60 + int(minutes) > 24 * 60:
        raise ValueError(f"{text} is not a time of day (00:00 to 24:00).")
    return f"{int(hours):02d}:{minutes}"


# --- Trading accounts ----------------------------------------------------------------------------


def find_accounts(query: Any = "") -> QuerySet[Account]:
    """Sandbox accounts, newest first; a search matches logins that start with the text."""
    rows = Account.objects.select_related("server").order_by("-id")
    text = search_text(query, max_length=20)
    if text:
        rows = rows.filter(login__startswith=text)
    return rows


@dataclass(frozen=True)
class AccountRow:
    account: Account
    equity: Decimal


def with_equity(accounts: Iterable[Account]) -> list[AccountRow]:
    """A page of accounts with their equity, from one read of the quotes and of the positions."""
    page = list(accounts)
    quotes = valuation.latest_quotes()
    open_by_account: dict[int, list[Position]] = defaultdict(list)
    for position in (
        Position.objects.filter(account__in=page, closed_at__isnull=True)
        .select_related("instrument")
        .order_by("id")
    ):
        open_by_account[position.account_id].append(position)
    return [AccountRow(a, valuation.value(a, open_by_account[a.pk], quotes).equity) for a in page]


def accounts_by_login(logins: Iterable[str]) -> dict[str, Account]:
    """The sandbox accounts among `logins`, by login (one query)."""
    return {a.login: a for a in Account.objects.select_related("server").filter(login__in=logins)}


def find_account(login: str) -> Account:
    found = Account.objects.select_related("server").filter(login=login).first()
    if found is None:
        raise NotFound(f"No trading account {login}.")
    return found


def price_digits() -> dict[str, int]:
    """How many decimals each instrument's prices are shown with."""
    return dict(Instrument.objects.values_list("symbol", "digits"))


def deal_history(account: Account) -> QuerySet[Deal]:
    """The account's deals, newest first (to page through)."""
    return account.deals.order_by("-id")


def _account_snapshot(account: Account) -> dict[str, Any]:
    return audit.snapshot(account, ["login", "trading_enabled", "disabled_reason", "balance"])


def set_trading(login: str, *, enabled: bool, reason: Any = "", actor: User) -> Account:
    """Disable trading (the reason is required, and kept on the account) or enable it again.
    Open positions stay open either way; a disabled account cannot place orders."""
    require_permission(actor, PLATFORMS_MANAGE)
    errors = FieldErrors()
    text = clean_text(
        errors, "reason", reason, label="Reason", max_length=REASON_MAX, required=not enabled
    )
    errors.raise_if_any("Say why trading is disabled." if not enabled else None)
    with transaction.atomic():
        locked = Account.objects.select_for_update(no_key=True).filter(login=login).first()
        if locked is None:
            raise NotFound(f"No trading account {login}.")
        if locked.trading_enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise InvalidTransition(f"Trading on account {login} is already {state}.")
        before = _account_snapshot(locked)
        changed = sandbox_accounts.set_trading_enabled(locked, enabled, reason=text)
        audit.record(
            actor=actor,
            action=(
                AuditAction.TRADING_ACCOUNT_ENABLE
                if enabled
                else AuditAction.TRADING_ACCOUNT_DISABLE
            ),
            object_type="sandbox_account",
            object_id=login,
            summary=f"Trading on {login} {'enabled' if enabled else 'disabled'}"
            + (f": {text}" if text else ""),
            before=before,
            after={**_account_snapshot(changed), "reason": text},
        )
    return changed


def balance_operation(
    login: str, *, amount: Any, comment: Any, actor: User, idempotency_key: Any = None
) -> Deal:
    """Credit (a positive amount) or debit (a negative one) a trading account's balance.

    A debit may not take more than the free margin. The same idempotency key (one per rendered
    form) returns the first deal: a double click or a resubmitted page moves the money once.
    """
    require_permission(actor, PLATFORMS_MANAGE)
    errors = FieldErrors()
    text = clean_text(errors, "comment", comment, label="Comment", max_length=REASON_MAX)
    if amount is not None and not isinstance(amount, str | int | Decimal):
        errors.add("amount", 'A number written as text, e.g. "-250.00".')
    key = _idempotency_key(errors, idempotency_key)
    errors.raise_if_any()
    with transaction.atomic():
        locked = Account.objects.select_for_update(no_key=True).filter(login=login).first()
        if locked is None:
            raise NotFound(f"No trading account {login}.")
        scoped = f"staff:{actor.pk}:{key}" if key is not None else None
        deal, moved = sandbox_accounts.balance_operation_once(
            locked, amount, text, idempotency_key=scoped
        )
        if not moved:
            return deal  # a retry: the first submission's deal, recorded once
        audit.record(
            actor=actor,
            action=AuditAction.TRADING_ACCOUNT_ADJUST_BALANCE,
            object_type="sandbox_account",
            object_id=login,
            summary=f"Balance operation on {login}: "
            f"{signed_money(deal.profit, locked.currency)} {locked.currency}: {text}",
            before={"balance": str(deal.balance_after - deal.profit)},
            after={
                "balance": str(deal.balance_after),
                "amount": str(deal.profit),
                "comment": text,
                "deal": deal.pk,
                "idempotency_key": key,
            },
        )
    return deal


def _idempotency_key(errors: FieldErrors, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > KEY_MAX or not raw.isprintable():
        errors.add("idempotency_key", f"At most {KEY_MAX} printable characters.")
        return None
    return raw
