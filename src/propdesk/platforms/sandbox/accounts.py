"""The sandbox's trading accounts: opening one, looking it up, letting it log in and trade, and
moving its balance (balance operations), each under the account's row lock with its events.

A balance operation (staff's credit or debit, a platform command's, later a profit-share
payout's: `balance_operation_once` is the one way in) writes, with the money's move and in its
transaction, a `balance` event (`{"t", "type": "balance", "amount"}`, docs/rules.md) and then
the account's equity snapshot, which carries the new balance: the rules move their references by
the amount instead of reading it as a trading result. The deposit that opens an account writes
its snapshot alone (an account's first event is its opening balance)."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from propdesk.core import idempotency
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, quantize
from propdesk.core.validation import FieldErrors
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox.inputs import number, whole_in
from propdesk.platforms.sandbox.models import Account, Deal
from propdesk.platforms.sandbox.stream import emit
from propdesk.platforms.sandbox.valuation import equity_snapshot, state

DEFAULT_SERVER = "Sandbox"
LOGIN_OFFSET = 700_000
MAX_LEVERAGE = 1000
MAX_BALANCE = Decimal("1000000000")


def default_server() -> TradingServer:
    server, _ = TradingServer.objects.get_or_create(
        name=DEFAULT_SERVER,
        defaults={"kind": "sandbox", "demo_groups": ["demo"], "live_groups": ["live"]},
    )
    return server


def create_account(
    server: TradingServer,
    *,
    group: str,
    leverage: Any,
    balance: Any,
    currency: str = "USD",
    comment: str = "",
    key: str | None = None,
) -> tuple[Account, str]:
    """Open an account (and fund it with a balance operation); returns it and its password,
    which is shown once and kept only as a hash. Under a `key` already used, the account it
    opened comes back with a new password (the first one is not kept to be shown again)."""
    if key:
        opened = Account.objects.filter(server=server, creation_key=key).first()
        if opened is not None:
            return opened, _new_password(opened)
    errors = FieldErrors()
    if group not in server.groups:
        errors.add("group", f"Group is one of: {', '.join(server.groups) or '(none set)'}.")
    lev = whole_in(errors, "leverage", leverage, 1, MAX_LEVERAGE)
    if currency not in MINOR_UNITS:
        errors.add("currency", "Unknown currency.")
    amount = number(errors, "balance", balance)
    if amount is not None and not (0 <= amount <= MAX_BALANCE):
        errors.add("balance", f"Balance is between 0 and {MAX_BALANCE}.")
    if (
        amount is not None
        and currency in MINOR_UNITS
        and amount != amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))
    ):
        errors.add("balance", f"{currency} has {MINOR_UNITS[currency]} decimals.")
    errors.raise_if_any()
    assert lev is not None
    assert amount is not None
    password = secrets.token_urlsafe(9)
    with transaction.atomic():
        account = Account.objects.create(
            server=server,
            login=f"new-{secrets.token_hex(8)}",
            password=make_password(password),
            group=group,
            leverage=lev,
            currency=currency,
            balance=Decimal(0),
            comment=comment[:200],
            creation_key=key or None,
        )
        account.login = str(LOGIN_OFFSET + account.pk)
        account.save(update_fields=["login"])
        if amount:
            _balance_operation(
                account, amount, "Initial deposit", reason=Deal.Reason.STAFF, opening=True
            )
        else:
            emit(account, [equity_snapshot(account, timezone.now())])
    return account, password


def _new_password(account: Account) -> str:
    password = secrets.token_urlsafe(9)
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.password = make_password(password)
        locked.save(update_fields=["password"])
    return password


ACCESS_FLAGS = {  # protocol.Access: (login_enabled, trading_enabled, may_close)
    "full": (True, True, True),
    "close_only": (True, False, True),
    "no_trading": (True, False, False),
    "no_login": (False, False, False),
}


def set_access(account: Account, access: str, *, reason: str = "") -> Account:
    """One of protocol.Access's levels, as the sandbox's three switches."""
    login, trading, closing = ACCESS_FLAGS[access]
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.login_enabled, locked.trading_enabled, locked.may_close = login, trading, closing
        locked.disabled_reason = "" if trading else reason[:200]
        locked.save(
            update_fields=["login_enabled", "trading_enabled", "may_close", "disabled_reason"]
        )
    return locked


def lock_account(account_id: int) -> Account:
    """The account's row, locked for the change at hand. FOR NO KEY UPDATE: the feed's
    snapshots, which only point at the row, are not held up by it (nor it by them)."""
    return Account.objects.select_for_update(no_key=True).get(pk=account_id)


def account_by_login(login: str) -> Account:
    account = Account.objects.filter(login=login).first()
    if account is None:
        raise NotFound(f"No sandbox account {login}.")
    return account


def set_login_enabled(account: Account, enabled: bool) -> Account:
    """Let the account log in (the terminal, the trading API) or not; a blocked account's
    terminal sessions end at their next request."""
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.login_enabled = enabled
        locked.save(update_fields=["login_enabled"])
    return locked


def set_trading_enabled(account: Account, enabled: bool, *, reason: str = "") -> Account:
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.trading_enabled = enabled
        locked.disabled_reason = "" if enabled else reason[:200]
        locked.save(update_fields=["trading_enabled", "disabled_reason"])
    return locked


def balance_operation(account: Account, amount: Any, comment: str) -> Deal:
    """Credit (positive) or debit (negative) the balance; a debit may not exceed free margin.
    The account's event stream gets a `balance` event and the snapshot after it."""
    deal, _ = balance_operation_once(account, amount, comment)
    return deal


def balance_operation_once(
    account: Account, amount: Any, comment: str, *, idempotency_key: str | None = None
) -> tuple[Deal, bool]:
    """`balance_operation`, and whether it moved money now: a retry under the caller's
    `idempotency_key` returns the first deal (False, and no second event); the same key for
    another amount is refused. What staff's balance operations, the platform commands (the
    adapter's `balance_operation`) and profit-share payouts call."""
    key = (
        None
        if not idempotency_key
        else "balance:" + idempotency.fingerprint(account.pk, idempotency_key)
    )
    errors = FieldErrors()
    value = number(errors, "amount", amount)  # a debit is negative
    if value is not None and (value == 0 or abs(value) > MAX_BALANCE):
        errors.add("amount", "The amount is non-zero and at most a billion.")
    if not comment.strip():
        errors.add("comment", "Say why.")
    errors.raise_if_any()
    assert value is not None
    with transaction.atomic():
        locked = lock_account(account.pk)
        try:
            exact = quantize(value, locked.currency)
        except ValueError:
            raise ValidationFailed(
                fields={"amount": f"{locked.currency} has {MINOR_UNITS[locked.currency]} decimals."}
            ) from None
        asked = idempotency.fingerprint(str(exact))
        earlier = idempotency.replay(key, asked, Deal)
        if earlier is not None:
            return earlier, False
        if value < 0 and -value > state(locked).free_margin:
            raise Conflict("The debit is more than the account's free margin.")
        deal = _balance_operation(locked, value, comment.strip(), reason=Deal.Reason.STAFF)
        if key is not None:
            Deal.objects.filter(pk=deal.pk).update(idempotency_key=key, fingerprint=asked)
        return deal, True


def _balance_operation(
    account: Account, value: Decimal, comment: str, *, reason: str, opening: bool = False
) -> Deal:
    """Move the (locked) account's balance, with its deal and its events: the `balance` event
    (not for the `opening` deposit) and the snapshot that shows the new balance, in that
    order."""
    now = timezone.now()
    amount = quantize(value, account.currency)
    account.balance += amount
    account.save(update_fields=["balance"])
    deal = Deal.objects.create(
        account=account,
        kind=Deal.Kind.BALANCE,
        entry=Deal.Entry.NONE,
        reason=reason,
        profit=amount,
        balance_after=account.balance,
        comment=comment[:200],
        at=now,
    )
    snapshot = equity_snapshot(account, now)
    emit(account, [snapshot] if opening else [balance_payload(amount, now), snapshot])
    return deal


def balance_payload(amount: Decimal, at: datetime) -> dict[str, Any]:
    """The stream's event for money moved in (positive) or out (negative) that is not a
    trading result: `{"t", "type": "balance", "amount": "-5000.00"}` (docs/rules.md)."""
    return {"t": at.isoformat(), "type": "balance", "amount": f"{amount}"}


def history(account: Account, *, limit: int = 500) -> list[Deal]:
    return list(account.deals.order_by("-id")[:limit])
