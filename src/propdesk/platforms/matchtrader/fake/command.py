"""`propdesk fake-platform match-trader`: the fake Match-Trader as a process of its own, for
the demo and for trying an integration by hand. Runs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from propdesk.platforms.matchtrader.fake.basics import DEFAULT_OFFERS, Offer
from propdesk.platforms.matchtrader.fake.server import (
    DEFAULT_API_KEY,
    RATE_LIMIT,
    FakeMatchTrader,
)


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The `fake-platform` command with its `match-trader` kind; the kinds, for the others."""
    fake = sub.add_parser("fake-platform", help="run a fake of a vendor's trading platform")
    kinds = fake.add_subparsers(dest="fake_platform", required=True)
    mt = kinds.add_parser(
        "match-trader", help="a fake Match-Trader Broker API v2 (runs until stopped)"
    )
    mt.add_argument("--host", default="127.0.0.1")
    mt.add_argument("--port", type=int, required=True)
    mt.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send")
    mt.add_argument("--state", default="", help="a JSON file keeping its books across restarts")
    mt.add_argument(
        "--offer",
        action="append",
        default=[],
        metavar="NAME:GROUP[:CURRENCY[:demo|live[:LEVERAGE]]]",
        help="a pre-configured offer (repeat; default: Challenge 100K and Funded)",
    )
    mt.add_argument("--tick-rate", type=float, default=1.0, help="price steps a second (0: none)")
    mt.add_argument("--rate-limit", type=int, default=RATE_LIMIT, help="requests a minute")
    mt.add_argument("--seed", type=int, default=None, help="the random walk's seed")
    mt.set_defaults(func=run)
    return kinds


def run(ns: argparse.Namespace) -> int:
    try:
        offers = tuple(Offer.parse(text) for text in ns.offer) or DEFAULT_OFFERS
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fake = FakeMatchTrader(
        host=ns.host,
        port=ns.port,
        api_key=ns.api_key,
        offers=offers,
        state_file=ns.state or None,
        tick_rate=ns.tick_rate,
        rate_limit=ns.rate_limit,
        seed=ns.seed,
    )
    try:
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    print(f"fake Match-Trader on {fake.url} (key {ns.api_key!r})", flush=True)
    for offer in offers:
        kind = "demo" if offer.demo else "live"
        print(
            f"  offer {offer.name!r}: group {offer.group}, {offer.currency}, {kind}, "
            f"uuid {offer.uuid}",
            flush=True,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    print("fake Match-Trader: stopped", flush=True)
    return 0
