"""`propdesk fake-vendor sumsub`: the fake SumSub as a process of its own, for the demo and for
trying an integration by hand. Runs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from propdesk.onboarding.vendors.fakes.sumsub.server import (
    DEFAULT_APP_TOKEN,
    DEFAULT_LEVEL,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    DIGESTS,
    FakeSumsub,
)


def add_parser(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sumsub = kinds.add_parser("sumsub", help="a fake SumSub (API, WebSDK page, webhooks)")
    sumsub.add_argument("--host", default="127.0.0.1")
    sumsub.add_argument("--port", type=int, required=True)
    sumsub.add_argument("--app-token", default=DEFAULT_APP_TOKEN)
    sumsub.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    sumsub.add_argument("--webhook-url", default="", help="where its webhooks go (none: kept)")
    sumsub.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    sumsub.add_argument("--digest-alg", default="HMAC_SHA256_HEX", choices=sorted(DIGESTS))
    sumsub.add_argument(
        "--level", action="append", default=[], help=f"a level name (default {DEFAULT_LEVEL})"
    )
    sumsub.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    fake = FakeSumsub(
        host=ns.host,
        port=ns.port,
        app_token=ns.app_token,
        secret_key=ns.secret_key,
        webhook_url=ns.webhook_url,
        webhook_secret=ns.webhook_secret,
        digest_alg=ns.digest_alg,
        levels=tuple(ns.level) or (DEFAULT_LEVEL,),
    )
    try:
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    print(f"fake SumSub on {fake.url} (app token {ns.app_token!r})", flush=True)
    print(f"  webhooks to {ns.webhook_url or '(nowhere: see /_fake/webhooks)'}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    print("fake SumSub: stopped", flush=True)
    return 0
