"""`propdesk fake-platform mt5`: the fake MT5 Web API as a process of its own, for the demo and
for trying an integration by hand. Runs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from propdesk.platforms.mt5.fake.book import DEFAULT_GROUPS, parse_groups
from propdesk.platforms.mt5.fake.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, FakeMT5


def add_parser(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mt5 = kinds.add_parser("mt5", help="a fake MetaTrader 5 Web API (runs until stopped)")
    mt5.add_argument("--host", default="127.0.0.1")
    mt5.add_argument("--port", type=int, required=True)
    mt5.add_argument("--login", default=DEFAULT_LOGIN, help="the manager's login")
    mt5.add_argument("--password", default=DEFAULT_PASSWORD, help="the manager's password")
    mt5.add_argument("--state", default="", help="a JSON file keeping its books across restarts")
    mt5.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME[:CURRENCY[:LEVERAGE]]",
        help="a group (repeat; default: demo\\challenge and real\\funded)",
    )
    mt5.add_argument("--tick-rate", type=float, default=1.0, help="price steps a second (0: none)")
    mt5.add_argument("--seed", type=int, default=None, help="the random walk's seed")
    mt5.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    try:
        groups = parse_groups(ns.group) or DEFAULT_GROUPS
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fake = FakeMT5(
        host=ns.host,
        port=ns.port,
        login=ns.login,
        password=ns.password,
        groups=groups,
        state_file=ns.state or None,
        tick_rate=ns.tick_rate,
        seed=ns.seed,
    )
    # Before announcing itself: a SIGTERM right after the announcement still saves the state.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    print(f"fake MT5 Web API on {fake.url} (manager {ns.login!r})", flush=True)
    for group in groups:
        print(f"  group {group.name}: {group.currency}, 1:{group.leverage}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    print("fake MT5: stopped", flush=True)
    return 0
