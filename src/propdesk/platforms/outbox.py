"""The platform outbox: what propdesk asks of a trading platform is written as a command row in
the business transaction that decided it, and carried out after that transaction commits.

A remote platform cannot join our transaction. Calling it inside one would leave an orphan
account after a rollback, and hold our row locks across the network. So a use case only
*writes* the command (`open_account`, `set_access`, `balance`, `close_positions`): a rollback
takes the command back with everything else, and a commit makes it certain to run.

Runners (`run_due`: the worker's sweep, and the monitor right after a batch that acted) carry
commands out:

- **once**: each command has an idempotency key that goes to the platform, which gives back
  the first result for a key it has seen. A runner claims a command for `LEASE` seconds
  before the call; a runner killed mid-call loses the claim, and the next one repeats the call
  under the same key, so the platform does the thing once.
- **in order per account**: commands with the same `subject` run in the order written; one
  waits while an earlier one of its subject is not done.
- **retried on transient faults** (a timeout, a 5xx, a rate limit, the platform away) with a
  growing back-off, without end: a platform that comes back gets its commands.
- **stopped on refusals** (the platform said no): the command is `failed` and so is every later
  command of its subject, until staff retry it or cancel it (Trading > Platform commands).

A caller that must learn the result (the opened account's login and password) names a `then`
hook registered here by its app (`on_done`); it runs in the transaction that records the
command as done, so the result is kept exactly when the command is. The same name may have a
hook for a command given up (`on_cancelled`: staff cancelled it, or its account was never
opened), run in the transaction that cancels it: what waited for the result learns that it
will never come.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.utils import OperationalError
from django.utils import timezone

from propdesk.core.errors import DomainError
from propdesk.core.status import move_status
from propdesk.platforms import adapters
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.protocol import Access, AccountOwner, Credentials, PlatformError

logger = logging.getLogger(__name__)

Kind = PlatformCommand.Kind
Status = PlatformCommand.Status

# What the monitor carries out itself right after a batch: quick, and what a breach needs now.
QUICK = (Kind.SET_ACCESS, Kind.CLOSE_POSITIONS)
BACKOFF = (1, 2, 5, 10, 30, 60, 120, 300)  # seconds before the 1st, 2nd, ... retry; then 300


def lease() -> float:
    """Seconds a runner holds a command it took: longer than any platform call may take."""
    return float(getattr(settings, "PLATFORM_COMMAND_LEASE", 60))


# --- what a finished command tells its caller ----------------------------------------------------

Hook = Callable[[PlatformCommand, Credentials | None], None]
_HOOKS: dict[str, Hook] = {}
_CANCELLED: dict[str, Callable[[PlatformCommand], None]] = {}
# How a command begins its error when the platform did it but its hook failed: it is retried
# (the platform gives back what it did), never cancelled.
RECORDING_FAILED = "Done on the platform, but recording it failed"


def on_done(name: str, hook: Hook) -> None:
    """Register what a command written with `then=name` does when it is done: called in the
    transaction that records it, with the command (its `result`, `login`) and, for an opened
    account, its credentials (the password is given only to the hook, never stored here)."""
    _HOOKS[name] = hook


def on_cancelled(name: str, hook: Callable[[PlatformCommand], None]) -> None:
    """Register what a command written with `then=name` does when it is given up (cancelled
    by staff, or its account never opened): called in the transaction that cancels it."""
    _CANCELLED[name] = hook


def told_when_given_up(command: PlatformCommand) -> bool:
    """Whether the command's caller learns that it was given up (`on_cancelled`)."""
    return bool(command.then) and command.then in _CANCELLED


def given_up(command: PlatformCommand) -> None:
    """The command was cancelled (in the caller's transaction): its `then` learns it."""
    hook = _CANCELLED.get(command.then) if command.then else None
    if hook is not None:
        hook(command)


# --- writing commands (in the caller's transaction) ----------------------------------------------


def _write(
    server: TradingServer,
    kind: str,
    *,
    subject: str,
    payload: dict[str, Any],
    key: str | None = None,
    login: str = "",
    then: str = "",
) -> PlatformCommand:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("platform commands are written inside the deciding transaction")
    if then and then not in _HOOKS:
        raise ValueError(f"no hook {then!r} is registered with the outbox")
    written, _ = PlatformCommand.objects.get_or_create(
        key=key or f"{kind}:{uuid.uuid4().hex}",
        defaults={
            "server": server,
            "subject": subject,
            "kind": kind,
            "payload": payload,
            "login": login or _known_login(server, subject),
            "then": then,
        },
    )
    return written


def open_account(
    server: TradingServer,
    *,
    subject: str,
    group: str,
    leverage: int,
    balance: Decimal,
    currency: str,
    owner: AccountOwner | None = None,
    comment: str = "",
    then: str = "",
) -> PlatformCommand:
    """Open the subject's account (once: its key is the subject's)."""
    payload = {
        "group": group,
        "leverage": leverage,
        "balance": str(balance),
        "currency": currency,
        "comment": comment,
        "owner": None if owner is None else vars(owner).copy(),
    }
    return _write(
        server,
        Kind.OPEN_ACCOUNT,
        subject=subject,
        payload=payload,
        key=f"open:{subject}",
        then=then,
    )


def set_access(
    server: TradingServer, *, subject: str, access: Access, reason: str = "", login: str = ""
) -> PlatformCommand:
    return _write(
        server,
        Kind.SET_ACCESS,
        subject=subject,
        payload={"access": Access(access).value, "reason": reason[:200]},
        login=login,
    )


def balance(
    server: TradingServer,
    *,
    subject: str,
    amount: Decimal,
    comment: str,
    key: str,
    login: str = "",
    then: str = "",
) -> PlatformCommand:
    """Move the account's balance; `key` says which business event this is (the same key
    written twice is one command, one payment)."""
    return _write(
        server,
        Kind.BALANCE,
        subject=subject,
        payload={"amount": str(amount), "comment": comment[:200]},
        key=f"balance:{key}",
        login=login,
        then=then,
    )


def close_positions(
    server: TradingServer, *, subject: str, reason: str = "", login: str = ""
) -> PlatformCommand:
    return _write(
        server, Kind.CLOSE_POSITIONS, subject=subject, payload={"reason": reason[:200]}, login=login
    )


def _known_login(server: TradingServer, subject: str) -> str:
    opened = (
        PlatformCommand.objects.filter(server=server, subject=subject, kind=Kind.OPEN_ACCOUNT)
        .exclude(login="")
        .values_list("login", flat=True)
        .first()
    )
    return opened or ""


# --- what is waiting -----------------------------------------------------------------------------


def pending(subject: str, *, server: TradingServer | None = None) -> bool:
    """Whether any command of the subject is not done yet (pending or failed)."""
    found = PlatformCommand.objects.filter(
        subject=subject, status__in=(Status.PENDING, Status.FAILED)
    )
    if server is not None:
        found = found.filter(server=server)
    return found.exists()


def due(now: datetime | None = None) -> Any:
    """The commands a runner may carry out now: pending, not waiting for a retry, not held by
    another runner, and first of their subject still to do (so that a subject stopped behind
    a refusal never crowds the others out of a runner's turn)."""
    moment = now or timezone.now()
    earlier = PlatformCommand.objects.filter(
        server_id=OuterRef("server_id"), subject=OuterRef("subject"), id__lt=OuterRef("id")
    )
    # An access change or a closing never waits behind a refused balance operation (nor an
    # older access change): a breach's or a suspension's must reach the platform. Everything
    # waits behind what is pending, and behind an opening not done.
    return (
        PlatformCommand.objects.filter(
            Q(next_try_at__isnull=True) | Q(next_try_at__lte=moment),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=moment),
            status=Status.PENDING,
        )
        .exclude(Exists(earlier.filter(status=Status.PENDING)))
        .exclude(Exists(earlier.filter(status=Status.FAILED, kind=Kind.OPEN_ACCOUNT)))
        .exclude(~Q(kind__in=QUICK), Exists(earlier.filter(status=Status.FAILED)))
        .order_by("id")
    )


def holds_up(earlier: PlatformCommand, later: PlatformCommand) -> bool:
    """Whether `earlier`, not done, keeps `later` (of the same subject) from running: what is
    pending holds up everything after it, a failed opening too; a failed command of another
    kind holds up all but access changes and closings (`due`'s rule)."""
    if earlier.status == Status.PENDING:
        return True
    if earlier.status != Status.FAILED:
        return False
    return earlier.kind == Kind.OPEN_ACCOUNT or later.kind not in QUICK


# --- carrying them out (never inside a transaction of ours) ---------------------------------------


def mark() -> int:
    """The newest command's id: `run_due(since=mark())` later takes only those written after."""
    return PlatformCommand.objects.order_by("-id").values_list("id", flat=True).first() or 0


def run_due(
    *,
    now: Callable[[], datetime] = timezone.now,
    limit: int = 200,
    ids: Iterable[int] = (),
    since: int | None = None,
    kinds: Iterable[str] = (),
) -> int:
    """Carry out the commands due now (only `ids`, those written after `since`, of `kinds`,
    when given), each once its subject's earlier ones are done; returns how many were done.
    A command done lets the next of its subject run in the same turn (rounds until none)."""
    wanted, only = list(ids), list(kinds)
    done = tried = 0
    away: set[int] = set()
    while tried < limit:
        chosen = due(now())
        if wanted:
            chosen = chosen.filter(pk__in=wanted)
        if since is not None:
            chosen = chosen.filter(pk__gt=since)
        if only:
            chosen = chosen.filter(kind__in=only)
        if away:
            chosen = chosen.exclude(server_id__in=away)
        ran, took = _round(chosen[: limit - tried], now, away)
        done, tried = done + ran, tried + took
        if not took:  # nothing more is due (a command tried once is not due again this turn)
            break
    return done


def _round(chosen: Any, now: Callable[[], datetime], away: set[int]) -> tuple[int, int]:
    """One pass over the commands due (a snapshot); returns how many were done and tried."""
    done = tried = 0
    blocked: set[tuple[int, str]] = set()
    # `away`: servers that just failed transiently; their other commands wait for the next turn
    for command in chosen.select_related("server"):
        turn = (command.server_id, command.subject)
        if command.server_id in away or turn in blocked:
            blocked.add(turn)
            continue
        if not _claim(command, now()):
            blocked.add(turn)
            continue
        tried += 1
        if carry_out(command, now=now):
            done += 1
            continue
        blocked.add(turn)
        if command.status == Status.PENDING:  # a timeout, say: its platform's other commands
            away.add(command.server_id)  # would each wait as long, holding up the worker
    return done, tried


def sweep() -> int:
    """The worker's housekeeping turn (platforms.apps registers it)."""
    return run_due()


def _claim(command: PlatformCommand, moment: datetime) -> bool:
    """Take the command for `lease()` seconds, unless another runner has it (one UPDATE: two
    runners never both take it)."""
    until = moment + timedelta(seconds=lease())
    taken = (
        PlatformCommand.objects.filter(pk=command.pk, status=Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=moment))
        .update(claimed_until=until, attempts=command.attempts + 1)
    )
    if taken:
        command.claimed_until, command.attempts = until, command.attempts + 1
    return bool(taken)


class _Holding:
    """Keeps a runner's claim alive while its call runs: an opening may make several calls,
    each up to its timeout, longer together than the lease. The claim is renewed every third
    of the lease, so only a runner that died (or lost its database) loses it, and no second
    runner repeats a call still in flight."""

    def __init__(self, command: PlatformCommand) -> None:
        self.command = command
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, daemon=True)

    def __enter__(self) -> _Holding:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _renew(self) -> None:
        try:
            while not self.stop.wait(lease() / 3):
                until = timezone.now() + timedelta(seconds=lease())
                try:
                    held = PlatformCommand.objects.filter(
                        pk=self.command.pk, claimed_until=self.command.claimed_until
                    ).update(claimed_until=until)
                except Exception:  # the database busy or away for a moment: next time
                    logger.warning("platform command %s: claim not renewed", self.command.pk)
                    connections.close_all()
                    continue
                if not held:
                    return  # taken over after all: the outcome of this call is dropped
                self.command.claimed_until = until
        finally:
            connections.close_all()


def carry_out(command: PlatformCommand, *, now: Callable[[], datetime] = timezone.now) -> bool:
    """Make the command's call to its platform and record what came of it; True when done."""
    credentials: Credentials | None = None
    try:
        login = command.login or _known_login(command.server, command.subject)
        if command.kind != Kind.OPEN_ACCOUNT and not login:
            if not _opening_may_come(command):
                _never(command, now=now())
                return False
            raise PlatformError(
                "The account is not open yet (its opening command is not done).", transient=True
            )
        with _Holding(command):
            result, credentials = _call(command, login)
    except PlatformError as exc:
        _failed(command, str(exc), exc.answer, transient=exc.transient, now=now())
        return False
    except OperationalError as exc:  # the sandbox's database busy or away: try again
        _failed(command, f"{type(exc).__name__}: {exc}", "", transient=True, now=now())
        return False
    except DomainError as exc:  # the sandbox refused, as a remote platform's 4xx
        _failed(command, exc.message, exc.code, transient=False, now=now())
        return False
    except Exception as exc:  # a fault of ours: not worth hammering the platform; staff see it
        logger.exception("platform command %s failed", command.pk)
        _failed(command, f"{type(exc).__name__}: {exc}", "", transient=False, now=now())
        return False
    try:
        return _done(command, result, credentials, now=now())
    except Exception as exc:  # e.g. the caller's hook: the platform did it, propdesk did not
        logger.exception("platform command %s: its outcome could not be recorded", command.pk)
        _failed(
            command,
            f"{RECORDING_FAILED} ({type(exc).__name__}: {exc}); "
            "retry it (the platform gives back what it did).",
            "",
            transient=False,
            now=now(),
        )
        return False


def _opening_may_come(command: PlatformCommand) -> bool:
    """Whether the subject's account may still be opened (its opening pending or failed)."""
    return PlatformCommand.objects.filter(
        server_id=command.server_id,
        subject=command.subject,
        kind=Kind.OPEN_ACCOUNT,
        status__in=(Status.PENDING, Status.FAILED),
    ).exists()


def _never(command: PlatformCommand, *, now: datetime) -> None:
    """A command for an account that will never be opened (its opening was cancelled)."""
    with transaction.atomic():
        row = _mine(command)
        if row is None:
            return
        move_status(row, Status.CANCELLED, PlatformCommand.TRANSITIONS, what="platform command")
        row.error = "Its account was never opened (its opening was cancelled)."
        row.claimed_until, row.done_at = None, now
        row.save()
        given_up(row)
    command.status = row.status


def _call(command: PlatformCommand, login: str) -> tuple[dict[str, Any], Credentials | None]:
    platform = adapters.platform(command.server)
    given = command.payload
    if command.kind == Kind.OPEN_ACCOUNT:
        owner = given.get("owner")
        credentials = platform.create_account(
            group=given["group"],
            leverage=int(given["leverage"]),
            balance=Decimal(given["balance"]),
            currency=given["currency"],
            key=command.key,
            owner=None if owner is None else AccountOwner(**owner),
            comment=given.get("comment", ""),
        )
        return {"login": credentials.login, "server": credentials.server}, credentials
    if command.kind == Kind.SET_ACCESS:
        platform.set_access(login, Access(given["access"]), reason=given.get("reason", ""))
        return {"access": given["access"]}, None
    if command.kind == Kind.BALANCE:
        deal = platform.balance_operation(
            login, Decimal(given["amount"]), given["comment"], key=command.key
        )
        return {"deal": deal.deal}, None
    if command.kind == Kind.CLOSE_POSITIONS:
        return {"closed": platform.close_positions(login, reason=given.get("reason", ""))}, None
    raise ValueError(f"unknown platform command {command.kind!r}")


def _mine(command: PlatformCommand) -> PlatformCommand | None:
    """The command's row, locked, if this runner still holds it (else another took it over
    after the lease: its outcome stands)."""
    return (
        PlatformCommand.objects.select_for_update()
        .filter(pk=command.pk, status=Status.PENDING, claimed_until=command.claimed_until)
        .first()
    )


def _done(
    command: PlatformCommand,
    result: dict[str, Any],
    credentials: Credentials | None,
    *,
    now: datetime,
) -> bool:
    with transaction.atomic():
        row = _mine(command)
        if row is None:
            logger.warning(
                "platform command %s: lost its claim; its outcome is dropped", command.pk
            )
            return False
        move_status(row, Status.DONE, PlatformCommand.TRANSITIONS, what="platform command")
        row.result, row.done_at, row.claimed_until = result, now, None
        row.error = ""
        if credentials is not None:
            row.login = credentials.login
            PlatformCommand.objects.filter(
                server_id=row.server_id, subject=row.subject, login=""
            ).update(login=credentials.login)
        row.save()
        if row.then:
            _HOOKS[row.then](row, credentials)
    logger.info("platform command done", extra=_fields(row))
    command.status, command.result, command.login = row.status, row.result, row.login
    return True


def _fields(row: PlatformCommand, **more: Any) -> dict[str, Any]:
    """A command's log fields (docs/logging.md): never its payload, which may hold a name."""
    return {
        "command": row.pk,
        "kind": row.kind,
        "server": row.server_id,
        "login": row.login or "-",
        "attempts": row.attempts,
        **more,
    }


def _failed(
    command: PlatformCommand, message: str, answer: str, *, transient: bool, now: datetime
) -> None:
    with transaction.atomic():
        row = _mine(command)
        if row is None:
            return
        row.error, row.answer, row.claimed_until = message[:500], answer, None
        if transient:
            wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1] if row.attempts else BACKOFF[0]
            row.next_try_at = now + timedelta(seconds=wait)
            logger.warning(
                "platform command failed, again in %ss: %s",
                wait,
                message,
                extra=_fields(row, retry_at=row.next_try_at.isoformat()),
            )
        else:
            move_status(row, Status.FAILED, PlatformCommand.TRANSITIONS, what="platform command")
            logger.error("platform command refused: %s", message, extra=_fields(row))
        row.save()
    command.status = row.status
