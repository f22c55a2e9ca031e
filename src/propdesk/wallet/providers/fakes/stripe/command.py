"""`propdesk fake-vendor stripe`: the fake Stripe as a process of its own, for the demo and for
trying an integration by hand. Runs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from propdesk.wallet.providers.fakes.stripe.server import (
    DEFAULT_SECRET_KEY,
    RATE_LIMIT,
    FakeStripe,
)


def add_parser(vendors: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fake = vendors.add_parser("stripe", help="a fake of Stripe's API (runs until stopped)")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, required=True)
    fake.add_argument("--state", default="", help="a JSON file keeping its objects across restarts")
    fake.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="the key clients must send")
    fake.add_argument(
        "--webhook-url", default="", help="the endpoint that gets every event, signed"
    )
    fake.add_argument(
        "--webhook-secret", default="", help="that endpoint's signing secret (whsec_...)"
    )
    fake.add_argument("--public-url", default="", help="its address as browsers reach it")
    fake.add_argument("--rate-limit", type=int, default=RATE_LIMIT, help="requests a second")
    fake.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    fake = FakeStripe(
        host=ns.host,
        port=ns.port,
        secret_key=ns.secret_key,
        webhook_url=ns.webhook_url,
        webhook_secret=ns.webhook_secret,
        state_file=ns.state or None,
        rate_limit=ns.rate_limit,
        public_url=ns.public_url,
    )
    try:
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    print(f"fake Stripe on {fake.url} (secret key {ns.secret_key!r})", flush=True)
    endpoint = fake.book.objects.get("we_configured")
    if endpoint is not None:
        print(f"  events to {endpoint['url']}, signed with {endpoint['secret']!r}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    print("fake Stripe: stopped", flush=True)
    return 0
