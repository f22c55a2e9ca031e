"""Match-Trader's account events, taken in by polling the Broker API (v2) and appended to the
account-event log (platforms.eventlog) in the shapes of docs/rules.md.

One pull asks, for the whole server at once: the trading accounts with their finances (paged,
https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/get-trading-accounts) and the
open positions of all of them (in batches of logins). From the difference with what it saw
last it writes:

- `in` deals for positions that appeared (at their open time);
- `out` deals for positions that are gone, from the platform's closed-position history (one
  per position, with its whole volume and its net result, parts included; at its close time);
- a `balance` event for each deposit or withdrawal in the account's ledger (money the firm
  moved, not a trading result: docs/rules.md, "Money moved by the firm"), before the snapshot
  that shows it; never for what the account already held when it was first seen (its opening
  deposit is its first snapshot, as on the sandbox);
- equity snapshots: the first of an account before anything else; then whenever its balance
  moves, whenever its equity makes a new low or high since the last quarter-hour boundary, and
  at each boundary when it moved since the last snapshot (stamped with the moment the value
  arose), as the sandbox does, so that no floor or day's close is missed.

The history is asked for only where it may hold something: an account whose position vanished
or whose balance moved, and every account after a gap (a new ingestor, or a pull that failed),
so that a position opened and closed, or money moved, while nobody looked is taken in too.
Closed positions carry no login (https://app.theneo.io/match-trade/broker-api/trading/trading-data/closed-positions-by-logins-or-groups),
so that history is asked one login at a time; the ledger's entries name theirs (the ledger
stream's do: https://app.theneo.io/match-trade/broker-api/grpc/ledgers/ledgers-by-login), so
the ledger of every account that needs it is asked at once, after the accounts were read (an
operation the balance shows is then listed too).

The ledger may list an operation a moment after the balance shows it (the adapter allows for
it too). A balance operation propdesk made (a platform command: a payout's, a correction's) is
therefore taken from the command as soon as it is done, as the ledger entry it will be (the
command's key, in the entry's comment, names both), and the account whose command was done is
read again even if its balance did not move in that pull: the payout is money moved before the
snapshot that shows it, never a trading loss, and once only when the ledger lists it later.
What the platform's own staff move is known from the ledger alone.

What was seen is kept in the server's ingest cursor, in the transaction that appends the
events, and each event's `source` (`deal:<position>:in|out`, `bal:<login>:<ledger entry>`, or
`bal:<login>:cmd:<command key>` for propdesk's own, `eq:<login>:<time>#<n>`) keeps a repeated
pull from appending anything twice. Of the ledger it keeps the entries its last read returned,
so the next read, which overlaps it, takes in only what is new.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from propdesk.platforms import eventlog
from propdesk.platforms.matchtrader.client import BrokerApi
from propdesk.platforms.models import IngestCursor, PlatformCommand, TradingServer
from propdesk.platforms.protocol import EventWaiter, PlatformError

POLL_INTERVAL = 0.2  # seconds: the shortest time between two pulls (see `pause`)
WINDOW = 15 * 60  # a quarter hour: every time zone's midnight falls on one
RESERVE = 100  # requests of the minute's budget left to the commands
PAGE_SIZE = 1000  # accounts a page (the documented ceiling)
BATCH = 500  # logins an open-positions request
SKEW = timedelta(minutes=1)  # history is asked for with this margin each side
LEDGER = "/v1/trading-accounts/trading-data/ledgers"
# The ledger's money moved in or out of the balance by the firm. Not CREDIT_IN / CREDIT_OUT:
# credit moves the equity but not the balance, which the rules' `balance` event cannot say.
BALANCE_TYPES = ("DEPOSIT", "WITHDRAWAL")

Event = tuple[datetime, int, dict[str, Any], str]  # (time, rank at equal times, payload, source)
_MARKED = re.compile(r"\[propdesk ([^\]\s]+)\]")  # adapter.marker(key), in a comment


def stamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds, as the platform takes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def trading_accounts(api: BrokerApi) -> list[dict[str, Any]]:
    """Every trading account of the server, page by page."""
    found: list[dict[str, Any]] = []
    page = 0
    while True:
        answer = api.get("/v1/trading-accounts", {"page": page, "size": PAGE_SIZE}) or {}
        found += answer.get("content", [])
        page += 1
        if page >= int(answer.get("totalPages") or 0):
            return found


def open_positions(api: BrokerApi, logins: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The open positions of each login, in batches."""
    found: dict[str, list[dict[str, Any]]] = {}
    for batch in _chunks(list(logins), BATCH):
        answer = api.post("/v1/trading-accounts/trading-data/open-positions", {"logins": batch})
        for row in answer or []:
            found[str(row["login"])] = list(row.get("positions") or [])
    return found


def closed_positions(
    api: BrokerApi, login: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    answer = api.post(
        "/v1/trading-accounts/trading-data/closed-positions",
        {"logins": [login], "from": stamp(since), "to": stamp(until)},
    )
    return list((answer or {}).get("closedPositions", []))


def ledger_entries(
    api: BrokerApi,
    logins: Sequence[str],
    types: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The ledger entries of each login (of `types`, between `since` and `until` when given),
    in batches of logins (https://app.theneo.io/match-trade/broker-api/trading/trading-data/ledgers-by-logins-or-groups)."""
    found: dict[str, list[dict[str, Any]]] = {str(login): [] for login in logins}
    for batch in _chunks([str(login) for login in logins], BATCH):
        body: dict[str, Any] = {"logins": batch, "types": list(types)}
        if since is not None:
            body["from"] = stamp(since)
        if until is not None:
            body["to"] = stamp(until)
        for login, entry in _entries(api.post(LEDGER, body), batch):
            found.setdefault(login, []).append(entry)
    return found


def _entries(answer: Any, asked: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each entry of a ledger answer with its login: `{"operations": [...]}`, each entry naming
    its login (as the ledger stream's do), or one `{"login", "operations"}` per login (as the
    older REST page lists the answer's attributes); both are read."""
    groups = answer if isinstance(answer, list) else [answer or {}]
    for group in groups:
        for entry in (group or {}).get("operations") or []:
            login = (
                entry.get("login") or group.get("login") or (asked[0] if len(asked) == 1 else "")
            )
            if not login or not entry.get("time"):
                raise PlatformError(
                    "Match-Trader's ledger answered an entry without its login or its time.",
                    transient=False,
                    answer=str(entry)[:2000],
                )
            yield str(login), entry


def marked(comment: Any) -> str | None:
    """The key of the platform command whose work a ledger entry is (`adapter.marker` in its
    comment), if any."""
    found = _MARKED.search(str(comment or ""))
    return found.group(1) if found else None


def own_operations(server: TradingServer, since: datetime) -> dict[str, list[dict[str, Any]]]:
    """The balance operations propdesk's commands did on the server's accounts since `since`,
    per login, as the ledger entries they are (the ledger may not list them yet)."""
    found: dict[str, list[dict[str, Any]]] = {}
    done = PlatformCommand.objects.filter(
        kind=PlatformCommand.Kind.BALANCE,
        done_at__gte=since,
        server=server,
        status=PlatformCommand.Status.DONE,
    ).exclude(login="")
    for login, key, payload, done_at in done.values_list("login", "key", "payload", "done_at"):
        if done_at is None:  # (never: done_at__gte)
            continue
        amount = Decimal(str(payload.get("amount") or 0))
        found.setdefault(login, []).append(
            {
                "type": "WITHDRAWAL" if amount < 0 else "DEPOSIT",
                "profit": str(abs(amount)),
                "time": stamp(done_at),
                "comment": f"[propdesk {key}]",
            }
        )
    return found


class MatchTraderIngestor:
    """The one ingestor of a Match-Trader server (see the module's note)."""

    def __init__(
        self,
        server: TradingServer,
        api: BrokerApi,
        *,
        interval: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.server = server
        self.api = api
        self.interval = interval  # None: paced to the request budget (`pause`)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last: float | None = None
        self._gap = True  # a new ingestor reconciles from the history first
        self._cost = 0  # the requests of the last pull's pages and batches (history apart)

    def waiter(self) -> EventWaiter | None:
        return None  # the Broker API cannot say when something changed: the caller polls

    def close(self) -> None:
        return None

    def pause(self) -> float:
        """The shortest time between two pulls: the `interval` given, or else at least
        POLL_INTERVAL and long enough that pulls at this pace, each costing what the last one's
        pages and batches did, spend no more of the minute's requests than the budget leaves
        beside the commands' reserve. Faster, the pulls would spend the minute in its first
        half and then stop until the window slides: a breach then waited up to 25 s to be
        seen, with 1,000 accounts (benchmarks/match_trader_breach_latency.py)."""
        if self.interval is not None:
            return self.interval
        budget = self.api.budget
        return max(POLL_INTERVAL, self._cost * budget.window / max(budget.limit - RESERVE, 1))

    def pull(self) -> int:
        moment = time.monotonic()
        if self._last is not None and moment - self._last < self.pause():
            return 0
        if self.api.budget.spare() < RESERVE:
            return 0  # the minute's requests are nearly spent: commands go first
        self._last = moment
        try:
            appended = self._pull()
        except PlatformError:
            self._gap = True  # whatever happened meanwhile is found in the history next time
            raise
        return appended

    def _pull(self) -> int:
        known = (
            IngestCursor.objects.filter(server=self.server)
            .values_list("position", flat=True)
            .first()
        ) or {}
        seen: dict[str, Any] = known.get("accounts", {})
        # Remote calls first, outside any transaction of ours.
        seen_at = self.clock()
        rows = trading_accounts(self.api)
        logins = [str(row["login"]) for row in rows]
        positions = open_positions(self.api, logins)
        self._cost = max(1, math.ceil(len(rows) / PAGE_SIZE)) + math.ceil(len(logins) / BATCH)
        history: dict[str, list[dict[str, Any]]] = {}
        # After a gap every known account's history is read, but a few at a time beside the
        # changed ones (`RECONCILE_EACH_PULL`): all at once (1,000 accounts are twice the
        # minute's request limit) would never finish, and nothing would be watched meanwhile.
        owed = list(known.get("reconcile", [])) if not self._gap else list(seen)
        now_owed = set(owed[:RECONCILE_EACH_PULL])
        # propdesk's balance operations done since the last pull (less SKEW): their accounts
        # are read again, whether or not the balance moved in this pull (it may have shown the
        # operation already in the last one, before the command was recorded as done).
        polled = _time(known["polled"]) if "polled" in known else seen_at
        ours = own_operations(self.server, polled - SKEW)
        for row in rows:
            login = str(row["login"])
            before = seen.get(login)
            if before is None:
                continue
            changed = self._worth_asking(before, row, positions.get(login, []))
            done = {_operation_id(op) for op in ours.get(login, [])}
            if not done <= set(before.get("ops", [])):
                changed = True
            if not changed and login not in now_owed:
                continue
            since = min([_time(before["h"])] + [_time(p[2]) for p in before["open"].values()])
            history[login] = closed_positions(self.api, login, since - SKEW, seen_at + SKEW)
        # The ledger of the accounts whose history is read (money moved by the firm), and of
        # those seen for the first time (what they already hold is not a move), all at once.
        fresh = [
            str(row["login"])
            for row in rows
            if str(row["login"]) not in seen
            and not _unfunded(row, positions.get(str(row["login"])))
        ]
        wanted = {login: _time(seen[login]["h"]) - SKEW for login in history}
        wanted.update({login: seen_at - SKEW for login in fresh})
        operations = (
            ledger_entries(
                self.api, list(wanted), BALANCE_TYPES, min(wanted.values()), seen_at + SKEW
            )
            if wanted
            else {}
        )
        if wanted:  # and the commands' operations, listed in the ledger or not yet
            for login, made in own_operations(self.server, min(wanted.values())).items():
                if login in wanted:
                    operations.setdefault(login, []).extend(made)
        # The pacing counts the histories and ledgers read too.
        self._cost += len(history) + math.ceil(len(wanted) / BATCH)
        with eventlog.ingesting(self.server) as cursor:
            if cursor.position != known:
                return 0  # another ingestor moved meanwhile: look again at the next pull
            events: list[tuple[str, dict[str, Any], str]] = []
            after: dict[str, Any] = {}
            for row in rows:
                login = str(row["login"])
                if login not in seen and _unfunded(row, positions.get(login)):
                    # Opened, its first deposit not made yet: a snapshot of nothing would read
                    # as a total loss. It is first seen once funded.
                    continue
                planned, after[login] = plan(
                    login,
                    row,
                    positions.get(login, []),
                    seen.get(login),
                    history.get(login),
                    seen_at,
                    operations.get(login) if login in wanted else None,
                )
                events += [(login, payload, source) for payload, source in planned]
            appended = eventlog.append(cursor, events)
            still_owed = [login for login in owed[RECONCILE_EACH_PULL:] if login in after]
            cursor.position = {"accounts": after, "polled": stamp(seen_at)}
            if still_owed:
                cursor.position["reconcile"] = still_owed
        self._gap = False
        return appended

    def _worth_asking(
        self, before: dict[str, Any], row: dict[str, Any], positions: list[dict[str, Any]]
    ) -> bool:
        """Whether the history may hold what the open positions and finances do not show: a
        position gone, or the balance moved (a trade opened and closed meanwhile)."""
        vanished = set(before["open"]) - {str(p["id"]) for p in positions}
        balance = Decimal(str((row.get("financeInfo") or {}).get("balance") or 0))
        return bool(vanished) or balance != Decimal(before["vb"])


RECONCILE_EACH_PULL = 25  # accounts whose history a pull reads after a gap, beside the changed


def _unfunded(row: dict[str, Any], positions: list[dict[str, Any]] | None) -> bool:
    finance = row.get("financeInfo") or {}
    money = (Decimal(str(finance.get(k) or 0)) for k in ("balance", "equity"))
    return not positions and not any(money)


def plan(
    login: str,
    row: dict[str, Any],
    positions: list[dict[str, Any]],
    before: dict[str, Any] | None,
    history: list[dict[str, Any]] | None,
    seen_at: datetime,
    operations: list[dict[str, Any]] | None = None,
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """One account's new events, in order, and what to remember of it. No I/O.

    `history` (its closed positions) and `operations` (its ledger's deposits and withdrawals)
    are None when they were not read this pull. The ledger is read from the account's `h`
    (when its history was last read) less SKEW, or, the first time it is seen, from `seen_at`
    less SKEW; entries older than that are left out here too (a read of several accounts at
    once reaches as far back as the earliest of them)."""
    finance = row.get("financeInfo") or {}
    quantum = Decimal(1).scaleb(-int(finance.get("currencyPrecision", 2)))
    balance = Decimal(str(finance.get("balance") or 0)).quantize(quantum)
    equity = Decimal(str(finance.get("equity") or 0)).quantize(quantum)
    window = int(seen_at.timestamp() // WINDOW)
    now_open = {str(p["id"]): p for p in positions}
    events: list[Event] = []
    state: dict[str, Any] = (
        {
            "e": None,
            "b": None,
            "lo": None,
            "hi": None,
            "w": window,
            "vb": str(balance),
            "v": str(equity),
            "chg": stamp(seen_at),
            # The moment itself, not its milliseconds (`stamp`): the first snapshot, at
            # `seen_at`, must sort before the deals of positions opened earlier.
            "t": seen_at.isoformat(),
            "n": 0,
            "open": {},
            "h": stamp(seen_at),
        }
        if before is None
        else {**before, "open": dict(before["open"])}
    )

    def snapshot(at: datetime, rank: int) -> None:
        state["n"] += 1
        payload = {"type": "equity", "balance": str(balance), "equity": str(equity)}
        events.append((at, rank, payload, f"eq:{login}:{stamp(at)}#{state['n']}"))
        state["e"], state["b"] = str(equity), str(balance)
        lows = [equity] + ([Decimal(state["lo"])] if state["lo"] is not None else [])
        highs = [equity] + ([Decimal(state["hi"])] if state["hi"] is not None else [])
        state["lo"], state["hi"] = str(min(lows)), str(max(highs))

    # Money moved by the firm, from the ledger: a `balance` event for each operation not in
    # the last read (which this one overlaps). What the ledger holds when the account is first
    # seen is in its first snapshot already (its opening deposit): kept, not written. So is
    # what it holds at the first read by an ingestor whose cursor kept no ledger (older ones).
    if operations is not None:
        since = _time(state["h"]) - SKEW
        listed: dict[str, dict[str, Any]] = {}
        # The ledger's entries first (their time is the platform's), oldest first: the first
        # entry of a command's key is the same event in every read, a command's own the last.
        for op in sorted(operations, key=lambda op: (not _given(op), _time(op["time"]))):
            if _time(op["time"]) < since:
                continue
            key = _operation_id(op)
            first = listed.get(key)
            if first is not None and _given(first) and _given(op) not in ("", _given(first)):
                key = _given(op)  # another entry under one command's key: moved again
            listed.setdefault(key, op)
        if before is not None and "ops" in before:
            # Never after the moment the snapshot of this pull is stamped with (its
            # milliseconds): an operation listed is in the balance the accounts showed.
            latest = _time(stamp(seen_at))
            known = set(before["ops"])
            for key, op in listed.items():
                amount = _moved(op).quantize(quantum)
                if key in known or (_given(op) or key) in known or not amount:
                    continue  # (an entry of ours, kept by its ledger id before)
                payload = {"type": "balance", "amount": str(amount)}
                at = min(_time(op["time"]), latest)
                events.append((at, 1, payload, f"bal:{login}:{key}"))
        state["ops"] = sorted(listed)
    # Finished positions, from the history: each part of a position is a record of its own.
    if history is not None:
        finished: dict[str, list[dict[str, Any]]] = {}
        for part in history:
            finished.setdefault(str(part["id"]), []).append(part)
        for pid, parts in finished.items():
            if pid in now_open:
                continue  # a part closed, the rest still open: its `out` comes with its end
            first = parts[0]
            volume = sum((Decimal(str(p["volume"])) for p in parts), start=Decimal(0))
            profit = sum((Decimal(str(p.get("netProfit") or 0)) for p in parts), start=Decimal(0))
            closed_at = max(_time(p["closeTime"]) for p in parts)
            if pid not in state["open"]:  # opened and closed while nobody looked
                events.append(
                    (_time(first["openTime"]), 0, _deal(pid, first, volume), f"deal:{pid}:in")
                )
            out = {
                **_deal(pid, first, volume),
                "entry": "out",
                "profit": str(profit.quantize(quantum)),
            }
            events.append((closed_at, 1, out, f"deal:{pid}:out"))
            state["open"].pop(pid, None)
        state["h"] = stamp(seen_at)
    # Positions that appeared.
    for pid, position in now_open.items():
        if pid not in state["open"]:
            volume = Decimal(str(position["volume"]))
            events.append(
                (_time(position["openTime"]), 0, _deal(pid, position, volume), f"deal:{pid}:in")
            )
        state["open"][pid] = [
            str(position["symbol"]),
            str(position["volume"]),
            str(position["openTime"]),
        ]
    # Equity snapshots (see the module's note); the value's moment is tracked between pulls.
    if str(equity) != state["v"] or str(balance) != state["vb"]:
        state["chg"] = stamp(seen_at)
    state["v"], state["vb"] = str(equity), str(balance)
    if before is None:
        snapshot(seen_at, -1)
    elif window != state["w"]:
        if str(equity) != state["e"] or str(balance) != state["b"]:
            snapshot(_time(state["chg"]), 2)
        state["lo"] = state["hi"] = str(equity)
    elif (
        str(balance) != state["b"] or equity < Decimal(state["lo"]) or equity > Decimal(state["hi"])
    ):
        snapshot(seen_at, 2)
    state["w"] = window
    # In time order; an account's events never go back in time: one timed before the latest
    # already written is stamped with that time (as the sandbox's stream does), and at equal
    # times deals come before the snapshot that shows them (an account's first snapshot first).
    start = _time(state["t"])
    ordered: list[tuple[dict[str, Any], str]] = []
    for at, _, payload, source in sorted(events, key=lambda e: (max(e[0], start), e[1])):
        start = max(start, at)
        ordered.append(({"t": start.isoformat(), **payload}, source))
    state["t"] = start.isoformat()
    return ordered, state


def _given(op: dict[str, Any]) -> str:
    """The platform's own id of a ledger entry ("" for a command's, not listed yet)."""
    return str(op.get("id") or op.get("uid") or "")


def _operation_id(op: dict[str, Any]) -> str:
    """A ledger entry's id: the key of the command of propdesk's that made it (the same for
    the command and the entry, whichever is read first), else the platform's id (or, should an
    entry have none, what tells it from the others)."""
    command = marked(op.get("comment"))
    if command is not None:
        return f"cmd:{command}"
    given = _given(op)
    if given:
        return given
    return f"{op.get('type')}@{op.get('time')}:{op.get('profit')}"


def _moved(op: dict[str, Any]) -> Decimal:
    """The signed amount of a deposit (in) or withdrawal (out), whatever sign the entry's
    `profit` carries."""
    amount = abs(Decimal(str(op.get("profit") or 0)))
    return -amount if str(op.get("type")) == "WITHDRAWAL" else amount


def _deal(pid: str, position: dict[str, Any], volume: Decimal) -> dict[str, Any]:
    return {
        "type": "deal",
        "position": pid,
        "entry": "in",
        "symbol": str(position.get("symbol", "")),
        "volume": f"{volume:.2f}",
    }
