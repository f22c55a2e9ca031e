"""How fast the rule evaluator and `propdesk rules replay` are.

    .venv/bin/python benchmarks/rules_replay.py [--events N]

Prints the evaluator's events/s on pre-parsed events (one account, equity snapshots with deals
mixed in), the end-to-end replay's events/s on an N-line file, and the ratio of the replay's time
to a loop that only parses the same file with `json.loads`; then the evaluator's events/s again
under a version-2 rule set (weekend cutoffs, a day-peak daily limit, open position and lot
limits, trading days opened and closed with a least profit, a lock offset) on events with
volumes and a balance event every 20,000 lines, books flat over each weekend. Aims: >= 2,000,000
events/s for the evaluator on one core under either rule set; replay within 2x of the parse-only
loop. Each figure is the best of a few
runs; the whole script takes well under two minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from propdesk.rules import Evaluator, Event, Rules, parse_line
from propdesk.rules.replay import main as replay_main

RULES = {
    "initial_balance": "100000.00",
    "timezone": "Europe/Prague",
    "day_reset": "00:00",
    "profit_target_pct": "50",
    "max_daily_loss": {"pct": "5", "basis": "prev_day_max_balance_equity", "action": "pause"},
    "max_loss": {"pct": "10", "mode": "trailing_intraday", "lock_at_initial": True},
    "max_loss_per_trade_pct": "3",
    "min_trading_days": 3,
    "trading_period_days": 365,
    "inactivity_days": 30,
    "best_day_max_pct": "40",
}

RULES_V2 = {
    **RULES,
    "max_daily_loss": {"pct": "5", "basis": "day_peak_equity", "action": "pause"},
    "max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "100"},
    "trading_day": {"counts": "opened_and_closed", "min_profit_pct": "0.1"},
    "max_open_positions": 5,
    "max_open_volume": "10",
    "weekend_close": {"day": "friday", "time": "21:00"},
}


def weekend(t: datetime) -> bool:
    """From Friday 19:00 UTC to Sunday's end: no position is held (the v2 cutoff is Friday
    21:00 in Prague, 19:00 or 20:00 UTC)."""
    return (t.weekday() == 4 and t.hour >= 19) or t.weekday() >= 5


def write_events(path: Path, count: int, *, v2: bool = False) -> None:
    """`count` lines: snapshots every 5 s drifting around the initial balance, a deal in 20;
    with `v2`, flat books over weekends and a balance event in 20,000."""
    rng = random.Random(5)
    t = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    step = timedelta(seconds=5)
    balance = home = 100000 * 100  # cents; the balance drifts back home
    open_position: str | None = None
    serial = 0
    with path.open("w") as out:
        for n in range(count):
            t += step
            stamp = t.isoformat()
            if v2 and n % 20_000 == 10_000:
                amount = 500 if (n // 20_000) % 2 == 0 else -500
                balance += amount * 100
                home += amount * 100
                move = {"t": stamp, "type": "balance", "amount": f"{amount}.00"}
                out.write(json.dumps(move) + "\n")
                continue
            if n % 20 == 19 and not (v2 and weekend(t) and open_position is None):
                if open_position is None:
                    serial += 1
                    open_position = f"p{serial}"
                    deal = {"t": stamp, "type": "deal", "position": open_position, "entry": "in"}
                    deal.update(symbol="EURUSD", volume="1.00")
                else:
                    profit = rng.randint(-20000, 20000)
                    balance += profit
                    deal = {"t": stamp, "type": "deal", "position": open_position}
                    deal.update(entry="out", symbol="EURUSD", volume="1.00")
                    deal["profit"] = f"{profit / 100:.2f}"
                    open_position = None
                out.write(json.dumps(deal) + "\n")
                continue
            # Pull the balance back towards the start so no floor is ever reached.
            balance += (home - balance) // 50
            floating = rng.randint(-50000, 50000) if open_position else 0
            snap = {
                "t": stamp,
                "type": "equity",
                "balance": f"{balance / 100:.2f}",
                "equity": f"{(balance + floating) / 100:.2f}",
            }
            out.write(json.dumps(snap) + "\n")


def best_of(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    count = args.events
    rules = Rules.parse(json.loads(json.dumps(RULES), parse_float=Decimal))
    rules_v2 = Rules.parse(json.loads(json.dumps(RULES_V2), parse_float=Decimal))

    with tempfile.TemporaryDirectory() as tmp:
        rules_path = Path(tmp) / "rules.json"
        rules_path.write_text(json.dumps(RULES))
        events_path = Path(tmp) / "events.jsonl"
        write_events(events_path, count)

        with events_path.open() as lines:
            events = [parse_line(line) for line in lines]
        events_v2_path = Path(tmp) / "events_v2.jsonl"
        write_events(events_v2_path, count, v2=True)
        with events_v2_path.open() as lines:
            events_v2 = [parse_line(line) for line in lines]

        def evaluate(rules: Rules = rules, events: list[Event] = events) -> None:
            evaluator = Evaluator(rules)
            feed = evaluator.feed
            for event in events:
                feed(event)
            assert evaluator.status == "in_progress", evaluator.verdict()

        def replay() -> None:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = replay_main([str(rules_path), str(events_path)])
            assert code == 0, out.getvalue()
            assert '"in_progress"' in out.getvalue(), out.getvalue()

        def parse_only() -> None:
            loads = json.loads
            with events_path.open() as lines:
                for line in lines:
                    loads(line)

        evaluator_s = best_of(args.runs, evaluate)
        evaluator_v2_s = best_of(args.runs, lambda: evaluate(rules_v2, events_v2))
        replay_s = best_of(args.runs, replay)
        parse_s = best_of(args.runs, parse_only)

    print(f"events: {count:,} (one account; {count // 20:,} deals mixed in)")
    print(f"evaluator (pre-parsed events): {count / evaluator_s:12,.0f} events/s")
    print(f"rules replay (end to end):     {count / replay_s:12,.0f} events/s")
    print(f"parse-only loop (json.loads):  {count / parse_s:12,.0f} events/s")
    print(f"replay time / parse-only time: {replay_s / parse_s:12.2f}x")
    print(f"evaluator, version-2 rules:    {count / evaluator_v2_s:12,.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
