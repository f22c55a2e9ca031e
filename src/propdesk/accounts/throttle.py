"""Login throttling: slow down repeated failures, never the people who know their password.

Only real failures are written down (a wrong password or an unknown account), after the
password check; a success writes nothing, and an attempt refused by a limit writes nothing and
checks no password. Failures are rows in the database, so every server process sees the same
tally. Each limit is a back-off, not a lock-out: past it, the next attempt waits
`LOGIN_THROTTLE_BACKOFF_SECONDS`, doubled for every further failure (at most the window), counted
from the last failure; failures older than the window no longer count.

    (a) per account and address: LOGIN_THROTTLE_MAX_FAILURES (5)
    (b) per address:             LOGIN_THROTTLE_MAX_FAILURES_PER_IP (30)
    (c) per account, from anywhere (distributed guessing): LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT
        (20); waived for an account with a second factor, and not applied to trading accounts
        (see `Attempt.account_limit`)

A known device (a browser that logged into this account before: `accounts.devices`) is held
only to the failures made with that device, against limit (a): guessers elsewhere, or behind
the same proxy, cannot slow its owner down.

Checks for one account run one at a time (a PostgreSQL advisory lock; a process lock on
SQLite), so parallel wrong guesses see each other's failures: at most the limit of them reach a
password check, however many arrive at once. Parallel right passwords wait their turn instead of
being refused.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import ngettext

from propdesk.accounts.models import LoginAttempt
from propdesk.core.errors import Throttled

T = TypeVar("T")

PEOPLE = "people"
TRADING = "trading"

# The advisory-lock class of the login throttle (two-key locks never meet one-key ones, such as
# the monitor's): "logn".
_LOCK_CLASS = 0x6C6F676E
_PROCESS_LOCKS = [threading.Lock() for _ in range(64)]
_prune_lock = threading.Lock()
_pruned_at = -math.inf


@dataclass(frozen=True)
class Attempt:
    """Someone trying to log into `account` (an email, lower-cased; a trading account's login)
    from address `ip`."""

    account: str
    ip: str | None
    # People's logins and trading accounts' are counted apart: a trader's bot with a stale
    # password does not slow down the staff who share its address, nor the other way round.
    realm: str = PEOPLE
    # The id of the known device the browser presented for this account ("" for none).
    device: str = ""
    # The account has a second factor: a guessed password alone opens nothing, so guesses from
    # everywhere (c) need not slow its owner down.
    second_factor: bool = False
    # Limit (c). Trading accounts go without it: their passwords are generated (72 random
    # bits), so distributed guessing is hopeless, while the limit would let anyone stall a bot.
    account_limit: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip", address_bucket(self.ip))


def address_bucket(ip: str | None) -> str | None:
    """The address an attempt is counted against: an IPv4 address as it is, an IPv6 one by its
    /64 network (one subscriber's, which holds more addresses than anyone could try)."""
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def guarded(
    attempt: Attempt,
    verify: Callable[[], T | None],
    *,
    verified: Callable[[], T | None] | None = None,
) -> T | None:
    """Run `verify` (the password check: what it opens, or None for wrong credentials) under
    the throttle. Raises `Throttled`, without running it, while the attempt must wait; a None
    is written down as a failure. `verified` is asked before `verify`, once this attempt's turn
    has come: a parallel call may just have proved these very credentials (the trading API
    remembers them), and proved credentials need no second hash."""
    with _one_at_a_time(attempt):
        check(attempt)
        if verified is not None and (known := verified()) is not None:
            return known
        result = verify()
        if result is None:
            LoginAttempt.objects.create(
                realm=attempt.realm,
                email=attempt.account[:254],
                ip=attempt.ip,
                device=attempt.device[:32],
            )
    if result is None:
        _prune_if_due()
    return result


def check(attempt: Attempt) -> None:
    """Refuse (`Throttled`, with `retry_after` seconds) an attempt that must wait."""
    limits = _limits(attempt)
    now = timezone.now()
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    tally: dict[str, Any] = {}
    for name, match, _limit in limits:
        tally[f"{name}_failures"] = Count("pk", filter=match)
        tally[f"{name}_last"] = Max("at", filter=match)
    recent = LoginAttempt.objects.filter(at__gt=now - timedelta(seconds=window))
    counted = recent.filter(reduce(or_, (match for _, match, _ in limits))).aggregate(**tally)
    wait = max(
        _wait(counted[f"{name}_failures"], counted[f"{name}_last"], limit, now)
        for name, _, limit in limits
    )
    if wait > 0:
        seconds = math.ceil(wait)
        message = ngettext(
            "Too many failed logins. Try again in %(seconds)d second.",
            "Too many failed logins. Try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
        raise Throttled(message, extra={"retry_after": seconds})


def count_request(
    realm: str,
    account: str,
    ip: str | None,
    *,
    per_account: int,
    per_ip: int,
    device: str = "",
) -> None:
    """Let a request that sends something (a password-reset or verification email) through,
    and write it down; refuse it (`Throttled`) once `per_account` requests for this account, or
    `per_ip` from this address, were let through in the window. These rows are counted in their
    own `realm`, never with failed logins: asking for emails cannot slow anyone's login. The
    account need not exist: the count, and so the answer, is the same whether it does or not.

    A known device of the account (`device`, as for logins) is held only to its own requests,
    against `per_account`: strangers asking for the account's links, from anywhere, cannot use
    up its owner's quota."""
    attempt = Attempt(account=account, ip=ip, realm=realm, device=device)
    now = timezone.now()
    since = now - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    with _one_at_a_time(attempt):
        recent = LoginAttempt.objects.filter(realm=realm, at__gt=since)
        mine = Q(email=attempt.account[:254])
        limits = [(mine & Q(device=attempt.device[:32]) if attempt.device else mine, per_account)]
        if attempt.ip is not None and not attempt.device:
            limits.append((Q(ip=attempt.ip), per_ip))
        for match, limit in limits:
            counted = recent.filter(match).order_by("-at").values_list("at", flat=True)
            times = list(counted[: max(limit, 1)])
            if len(times) >= max(limit, 1):
                # Free again once the oldest of the last `limit` leaves the window.
                window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
                wait = max(1, math.ceil((times[-1] - since).total_seconds()))
                seconds = min(wait, window)
                message = ngettext(
                    "Too many requests. Try again in %(seconds)d second.",
                    "Too many requests. Try again in %(seconds)d seconds.",
                    seconds,
                ) % {"seconds": seconds}
                raise Throttled(message, extra={"retry_after": seconds})
        LoginAttempt.objects.create(
            realm=realm,
            email=attempt.account[:254],
            ip=attempt.ip,
            device=attempt.device[:32],
            at=now,
        )
    _prune_if_due()


def prune() -> int:
    """Delete the failures that no longer count (older than the window); how many went."""
    cutoff = timezone.now() - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    deleted, _ = LoginAttempt.objects.filter(at__lte=cutoff).delete()
    return deleted


def _limits(attempt: Attempt) -> list[tuple[str, Q, int]]:
    mine = Q(realm=attempt.realm, email=attempt.account[:254])
    pair_limit = settings.LOGIN_THROTTLE_MAX_FAILURES
    if attempt.device:
        return [("device", mine & Q(device=attempt.device[:32]), pair_limit)]
    limits = [("pair", mine & Q(ip=attempt.ip), pair_limit)]
    if attempt.ip is not None:
        address = Q(realm=attempt.realm, ip=attempt.ip)
        limits.append(("address", address, settings.LOGIN_THROTTLE_MAX_FAILURES_PER_IP))
    if attempt.account_limit and not attempt.second_factor:
        limits.append(("account", mine, settings.LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT))
    return limits


def _wait(failures: int, last: datetime | None, limit: int, now: datetime) -> float:
    """Seconds still to wait: none below the limit; then the back-off, doubled for every
    failure past the limit, at most the window, from the last failure."""
    if last is None or failures < max(limit, 1):
        return 0.0
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    doublings = min(failures - limit, 32)
    delay = min(settings.LOGIN_THROTTLE_BACKOFF_SECONDS * 2**doublings, window)
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


@contextmanager
def _one_at_a_time(attempt: Attempt) -> Iterator[None]:
    """Hold the account's turn. On PostgreSQL a transaction-scoped advisory lock, shared by
    every process (the failure written inside is committed before the next one looks); on
    SQLite, a demo's single machine, a lock in this process (a transaction would take SQLite's
    one write lock for the length of a password hash)."""
    digest = hashlib.blake2b(f"{attempt.realm}:{attempt.account}".encode(), digest_size=4)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, key])
            yield
    else:
        with _PROCESS_LOCKS[key % len(_PROCESS_LOCKS)]:
            yield


def _prune_if_due() -> None:
    """Prune at most once every LOGIN_THROTTLE_PRUNE_SECONDS per process, and only when a
    failure was just written (successes never pay for it): the table holds about one window
    of failures."""
    global _pruned_at
    now = time.monotonic()
    with _prune_lock:
        if now - _pruned_at < settings.LOGIN_THROTTLE_PRUNE_SECONDS:
            return
        _pruned_at = now
    prune()
