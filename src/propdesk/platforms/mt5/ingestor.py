"""MT5's account events, taken in by polling the Web API and appended to the account-event log
(platforms.eventlog) in the shapes of docs/rules.md, as Match-Trader's are.

One pull asks, for the whole server: the logins of its groups (`/api/user/logins`), their
trade state (`/api/user/account/get_batch`: balance, equity), their open positions
(`/api/position/get_batch`) and their deals since the latest deal time seen (`/api/deal/get_batch`,
less a margin, and every WIDE_EVERY less WIDE, past a summer time's end; on the trade
server's clock, which is not UTC). MT5 keeps every deal with a
ticket that only grows, so each account's events come from its new deals, in ticket order:

- an `in` deal for a position's first deal (at its time);
- the `out` deal of a position once it is no longer open (its closing deals summed: the whole
  volume and the net result, profit, commission and swap, of every part; at the last one's
  time), so a position closed in parts gives one `out`;
- a `balance` event for each balance deal (money the firm moved: docs/rules.md), before the
  snapshot that shows it; never for what the account held when it was first seen (its opening
  deposit is its first snapshot);
- equity snapshots as Match-Trader's ingestor writes them: the first before anything else,
  then whenever the balance moves or the equity makes a new low or high since the last
  quarter-hour boundary, and at each boundary when it moved.

Pulls are paced to the client's request budget as Match-Trader's are: no closer than
POLL_INTERVAL, and far enough apart that pulls costing what the last one did leave RESERVE of
each window's requests to the commands (a payout, a breach's disable); a pull that finds the
budget nearly spent asks nothing. The deals of accounts seen before are read from the last
pull (less SKEW); the whole history only of accounts seen for the first time (their last deal
ticket), so that an account not funded yet does not make every pull read every account's
history.

What was seen is kept in the server's ingest cursor, in the transaction that appends the
events: per account its last deal ticket, its open positions, its closing parts and its
snapshot state. Sources (`deal:<position>:in|out`, `bal:<login>:<deal ticket>`,
`eq:<login>:<time>#<n>`) keep a repeated pull from appending anything twice. A pull that fails
leaves the cursor as it was: the next one reads the same deals again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from propdesk.platforms import eventlog
from propdesk.platforms.models import IngestCursor, TradingServer
from propdesk.platforms.mt5.client import WebApi
from propdesk.platforms.protocol import EventWaiter

POLL_INTERVAL = 0.2  # seconds: the shortest time between two pulls (see `pause`)
RESERVE = 10  # requests of each budget window left to the commands
WINDOW = 15 * 60
BATCH = 100  # logins a request
SKEW = timedelta(minutes=1)
WIDE = timedelta(hours=3)  # read back so far now and then: past a summer time's end
WIDE_EVERY = timedelta(minutes=5)
HORIZON = timedelta(days=2)  # past any trade server's clock (UTC+14 at most)
ACTION_BUY, ACTION_SELL, ACTION_BALANCE = 0, 1, 2
LOTS = Decimal(10000)  # the Web API's volume unit is 1/10000 lot

Event = tuple[datetime, int, dict[str, Any], str]


def moment(msc: Any, seconds: Any = None) -> datetime:
    """A Web API time (`TimeMsc` milliseconds, else `Time` seconds) as a UTC datetime."""
    if msc not in (None, ""):
        return datetime.fromtimestamp(int(msc) / 1000, tz=UTC)
    return datetime.fromtimestamp(int(seconds or 0), tz=UTC)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def positions_of(api: WebApi, logins: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for batch in _chunks(list(logins), BATCH):
        for p in api.get("/api/position/get_batch", {"login": ",".join(batch)}) or []:
            found.setdefault(str(p["Login"]), []).append(p)
    return found


def deals_of(
    api: WebApi, logins: Sequence[str], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for batch in _chunks(list(logins), BATCH):
        query = {
            "login": ",".join(batch),
            "from": int(since.timestamp()),
            "to": int(until.timestamp()) + 1,
        }
        found += api.get("/api/deal/get_batch", query) or []
    return sorted(found, key=lambda d: int(d["Deal"]))


class MT5Ingestor:
    """The one ingestor of an MT5 server (see the module's note)."""

    def __init__(
        self,
        server: TradingServer,
        api: WebApi,
        *,
        interval: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.server = server
        self.api = api
        self.interval = interval  # None: paced to the request budget (`pause`)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last: float | None = None
        self._cost = 0  # the requests of the last pull

    def waiter(self) -> EventWaiter | None:
        return None  # the Web API cannot say when something changed: the caller polls

    def close(self) -> None:
        return None

    def pause(self) -> float:
        """The shortest time between two pulls: the `interval` given, or else at least
        POLL_INTERVAL and long enough that pulls at this pace, each costing what the last one
        did, leave RESERVE of each window's requests to the commands."""
        if self.interval is not None:
            return self.interval
        budget = self.api.budget
        return max(POLL_INTERVAL, self._cost * budget.window / max(budget.limit - RESERVE, 1))

    def pull(self) -> int:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.pause():
            return 0
        if self.api.budget.spare() < RESERVE:
            return 0  # the window's requests are nearly spent: commands go first
        self._last = now
        return self._pull()

    def _mask(self) -> str:
        mapped = self.server.offers or {}
        return ",".join(sorted({mapped.get(g) or g for g in self.server.groups}))

    def _pull(self) -> int:
        known = (
            IngestCursor.objects.filter(server=self.server)
            .values_list("position", flat=True)
            .first()
        ) or {}
        seen: dict[str, Any] = known.get("accounts", {})
        seen_at = self.clock()
        logins = [str(x) for x in (self.api.get("/api/user/logins", {"group": self._mask()}) or [])]
        rows: dict[str, dict[str, Any]] = {}
        for batch in _chunks(logins, BATCH):
            for row in (
                self.api.get("/api/user/account/get_batch", {"login": ",".join(batch)}) or []
            ):
                rows[str(row["Login"])] = row
        positions = positions_of(self.api, list(rows))
        # Accounts seen before: their deals since the last pull. First seen (or no pull kept):
        # the whole history, for the last ticket; of those only, not of every account.
        # Deal times and the history's from/to are the trade server's clock, not UTC (brokers
        # run GMT+2 or +3): the window is the latest deal time seen, on that clock, and has no
        # end but a far one (a new deal's ticket and time are above every one seen).
        first = datetime(2000, 1, 1, tzinfo=UTC)
        polled = known.get("polled")
        # The server's clock steps back an hour when its summer time ends: a deal made in that
        # hour is timed before the latest seen. Every WIDE_EVERY a pull reads WIDE back instead.
        wide = "wide" not in known or seen_at - datetime.fromisoformat(known["wide"]) >= WIDE_EVERY
        if "dt" in known:
            since = datetime.fromtimestamp(int(known["dt"]), tz=UTC) - (WIDE if wide else SKEW)
        else:
            since = datetime.fromisoformat(polled) - SKEW if polled else first
        until = seen_at + HORIZON
        old = [login for login in rows if login in seen and polled]
        fresh = [login for login in rows if login not in old]
        deals: dict[str, list[dict[str, Any]]] = {}
        latest = int(known.get("dt") or 0)
        for asked, start in ((old, since), (fresh, first)):
            for deal in deals_of(self.api, asked, start, until) if asked else []:
                deals.setdefault(str(deal["Login"]), []).append(deal)
                latest = max(latest, int(deal.get("Time") or 0))
        batches = [math.ceil(len(x) / BATCH) for x in (logins, list(rows), old, fresh)]
        self._cost = 1 + sum(batches)
        with eventlog.ingesting(self.server) as cursor:
            if cursor.position != known:
                return 0  # another ingestor moved meanwhile: look again at the next pull
            events: list[tuple[str, dict[str, Any], str]] = []
            after: dict[str, Any] = {}
            for login, row in rows.items():
                if login not in seen and _unfunded(row, positions.get(login)):
                    continue  # opened, its first deposit not made yet: first seen once funded
                planned, after[login] = plan(
                    login,
                    row,
                    positions.get(login, []),
                    deals.get(login, []),
                    seen.get(login),
                    seen_at,
                )
                events += [(login, payload, source) for payload, source in planned]
            appended = eventlog.append(cursor, events)
            cursor.position = {"accounts": after, "polled": seen_at.isoformat()}
            if latest:
                cursor.position["dt"] = latest
            cursor.position["wide"] = seen_at.isoformat() if wide else known["wide"]
        return appended


def _unfunded(row: dict[str, Any], positions: list[dict[str, Any]] | None) -> bool:
    money = (Decimal(str(row.get(k) or 0)) for k in ("Balance", "Equity"))
    return not positions and not any(money)


def _in(pid: str, symbol: str, volume: Decimal) -> dict[str, Any]:
    return {
        "type": "deal",
        "position": pid,
        "entry": "in",
        "symbol": symbol,
        "volume": f"{volume / LOTS:.2f}",
    }


def plan(
    login: str,
    row: dict[str, Any],
    positions: list[dict[str, Any]],
    deals: list[dict[str, Any]],
    before: dict[str, Any] | None,
    seen_at: datetime,
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """One account's new events, in order, and what to remember of it. No I/O."""
    quantum = Decimal(1).scaleb(-int(row.get("CurrencyDigits") or 2))
    balance = Decimal(str(row.get("Balance") or 0)).quantize(quantum)
    equity = Decimal(str(row.get("Equity") or 0)).quantize(quantum)
    window = int(seen_at.timestamp() // WINDOW)
    now_open = {str(p["Position"]): p for p in positions}
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
            "t": seen_at.isoformat(),
            "n": 0,
            "open": {},
            "parts": {},
            "deal": max([int(d["Deal"]) for d in deals], default=0),
        }
        if before is None
        else {**before, "open": dict(before["open"]), "parts": dict(before["parts"])}
    )

    def snapshot(at: datetime, rank: int) -> None:
        state["n"] += 1
        payload = {"type": "equity", "balance": str(balance), "equity": str(equity)}
        events.append((at, rank, payload, f"eq:{login}:{stamp(at)}#{state['n']}"))
        state["e"], state["b"] = str(equity), str(balance)
        lows = [equity] + ([Decimal(state["lo"])] if state["lo"] is not None else [])
        highs = [equity] + ([Decimal(state["hi"])] if state["hi"] is not None else [])
        state["lo"], state["hi"] = str(min(lows)), str(max(highs))

    latest = datetime.fromisoformat(stamp(seen_at).replace("Z", "+00:00"))
    if before is not None:
        for deal in deals:
            ticket = int(deal["Deal"])
            if ticket <= int(state["deal"]):
                continue
            state["deal"] = ticket
            at = moment(deal.get("TimeMsc"), deal.get("Time"))
            action = int(deal.get("Action") or 0)
            if action == ACTION_BALANCE:
                amount = Decimal(str(deal.get("Profit") or 0)).quantize(quantum)
                if amount:
                    payload = {"type": "balance", "amount": str(amount)}
                    events.append((min(at, latest), 1, payload, f"bal:{login}:{ticket}"))
                continue
            if action not in (ACTION_BUY, ACTION_SELL):
                continue  # credit, charges...: not money the rules' events can say
            pid = str(deal.get("PositionID") or "")
            volume = Decimal(str(deal.get("Volume") or 0))
            symbol = str(deal.get("Symbol") or "")
            if str(deal.get("Entry")) == "0":
                if pid not in state["open"]:
                    events.append((at, 0, _in(pid, symbol, volume), f"deal:{pid}:in"))
                    state["open"][pid] = [symbol, str(volume), stamp(at)]
                continue
            net = sum(
                (Decimal(str(deal.get(k) or 0)) for k in ("Profit", "Commission", "Storage")),
                start=Decimal(0),
            )
            held = state["parts"].get(pid, ["0", "0", stamp(at), symbol])
            state["parts"][pid] = [
                str(Decimal(held[0]) + volume),
                str(Decimal(held[1]) + net),
                stamp(at),
                symbol,
            ]
    # Positions open now that no deal announced (first sight, or deals not read): their `in`.
    for pid, position in now_open.items():
        if pid not in state["open"]:
            volume = Decimal(str(position["Volume"]))
            at = moment(position.get("TimeCreateMsc"), position.get("TimeCreate"))
            events.append((at, 0, _in(pid, str(position["Symbol"]), volume), f"deal:{pid}:in"))
            state["open"][pid] = [str(position["Symbol"]), str(volume), stamp(at)]
    # Positions whose closing parts are in and that are no longer open: their one `out`.
    for pid, (volume, net, closed, symbol) in list(state["parts"].items()):
        if pid in now_open:
            continue
        at = datetime.fromisoformat(closed.replace("Z", "+00:00"))
        out = {
            **_in(pid, symbol, Decimal(volume)),
            "entry": "out",
            "profit": str(Decimal(net).quantize(quantum)),
        }
        events.append((at, 1, out, f"deal:{pid}:out"))
        state["open"].pop(pid, None)
        del state["parts"][pid]
    # Equity snapshots (as Match-Trader's ingestor writes them).
    if str(equity) != state["v"] or str(balance) != state["vb"]:
        state["chg"] = stamp(seen_at)
    state["v"], state["vb"] = str(equity), str(balance)
    if before is None:
        snapshot(seen_at, -1)
    elif window != state["w"]:
        if str(equity) != state["e"] or str(balance) != state["b"]:
            snapshot(datetime.fromisoformat(state["chg"].replace("Z", "+00:00")), 2)
        state["lo"] = state["hi"] = str(equity)
    elif (
        str(balance) != state["b"] or equity < Decimal(state["lo"]) or equity > Decimal(state["hi"])
    ):
        snapshot(seen_at, 2)
    state["w"] = window
    start = datetime.fromisoformat(state["t"])
    ordered: list[tuple[dict[str, Any], str]] = []
    for at, _, payload, source in sorted(events, key=lambda e: (max(e[0], start), e[1])):
        start = max(start, at)
        ordered.append(({"t": start.isoformat(), **payload}, source))
    state["t"] = start.isoformat()
    return ordered, state
