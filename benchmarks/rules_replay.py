"""How fast the rule evaluator and `propdesk rules replay` are.

    .venv/bin/python benchmarks/rules_replay.py [--events N]

Prints the evaluator's events/s on pre-parsed events (one account, equity snapshots with deals
mixed in), the end-to-end replay's events/s on an N-line file, and the ratio of the replay's time
to a loop that only parses the same file with `json.loads`. Aims: >= 500,000 events/s for the
evaluator on one core; replay within 2x of the parse-only loop. Each figure is the best of a few
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

from propdesk.rules import Evaluator, Rules, parse_line
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


def write_events(path: Path, count: int) -> None:
    """`count` lines: snapshots every 5 s drifting around the initial balance, a deal in 20."""
    rng = random.Random(5)
    t = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    step = timedelta(seconds=5)
    balance = 100000 * 100  # cents
    open_position: str | None = None
    serial = 0
    with path.open("w") as out:
        for n in range(count):
            t += step
            stamp = t.isoformat()
            if n % 20 == 19:
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
            balance += (100000 * 100 - balance) // 50
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

    with tempfile.TemporaryDirectory() as tmp:
        rules_path = Path(tmp) / "rules.json"
        rules_path.write_text(json.dumps(RULES))
        events_path = Path(tmp) / "events.jsonl"
        write_events(events_path, count)

        with events_path.open() as lines:
            events = [parse_line(line) for line in lines]

        def evaluate() -> None:
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
        replay_s = best_of(args.runs, replay)
        parse_s = best_of(args.runs, parse_only)

    print(f"events: {count:,} (one account; {count // 20:,} deals mixed in)")
    print(f"evaluator (pre-parsed events): {count / evaluator_s:12,.0f} events/s")
    print(f"rules replay (end to end):     {count / replay_s:12,.0f} events/s")
    print(f"parse-only loop (json.loads):  {count / parse_s:12,.0f} events/s")
    print(f"replay time / parse-only time: {replay_s / parse_s:12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
