"""`propdesk fake-vendor nowpayments`: the fake NOWPayments as a process of its own, for the
demo and for trying an integration by hand. Runs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from propdesk.wallet.providers.fakes.nowpayments.server import (
    DEFAULT_API_KEY,
    DEFAULT_IPN_SECRET,
    FakeNowPayments,
)


def add_parser(vendors: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fake = vendors.add_parser(
        "nowpayments", help="a fake NOWPayments API (invoices, IPNs; runs until stopped)"
    )
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, required=True)
    fake.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send")
    fake.add_argument("--ipn-secret", default=DEFAULT_IPN_SECRET, help="signs the IPNs")
    fake.add_argument("--state", default="", help="a JSON file keeping its books")
    fake.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    fake = FakeNowPayments(
        host=ns.host,
        port=ns.port,
        api_key=ns.api_key,
        ipn_secret=ns.ipn_secret,
        state_file=ns.state or None,
    )
    try:
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    print(
        f"fake NOWPayments on {fake.url} (API key {ns.api_key!r}, IPN secret {ns.ipn_secret!r})",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    print("fake NOWPayments: stopped", flush=True)
    return 0
