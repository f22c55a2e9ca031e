"""`propdesk demo`: migrate, seed the demo firm, and run its processes side by side: the site,
the job worker, the sandbox's price feed, the monitor, the fake Match-Trader server (its books
kept in the demo's var/ directory, beside the SQLite file) and the demo's trader on it.

`python -m propdesk.demo_start trade-on-match-trader` is that last process (see
demo_match_trader: the fake has no trader terminal)."""

from __future__ import annotations

import os
import sys
import time

from propdesk.processes import (
    gunicorn_argv,
    metrics_folder,
    propdesk_argv,
    run_together,
    setup_django,
    unapplied_migrations,
    worker_argv,
)

FAKE_STATE = "fake-match-trader.json"  # in the demo's var/ directory
MT5_STATE = "fake-mt5.json"  # beside it
TRADER = "trade-on-match-trader"


class Progress:
    """Says what the demo's start is doing, one line a step, with the time each took."""

    def __init__(self) -> None:
        self.began = self.mark = time.monotonic()
        self.open = False

    def step(self, text: str) -> None:
        self.done()
        print(f"  {text}\u2026", end="", flush=True)
        self.open, self.mark = True, time.monotonic()

    def done(self) -> None:
        if self.open:
            print(f" done ({time.monotonic() - self.mark:.1f} s)", flush=True)
            self.open = False


DEMO_METRICS_TOKEN = "demo-metrics-token-for-the-demo-2026"


def run(
    *,
    host: str,
    port: int,
    match_trader_port: int,
    mt5_port: int = 8011,
    stripe_port: int = 8020,
    nowpayments_port: int = 8021,
    sumsub_port: int = 8030,
) -> int:
    os.environ.setdefault("PROPDESK_DEMO", "1")
    # Links in emails and the sandbox provider's webhooks go to where the demo serves.
    os.environ.setdefault("PROPDESK_SITE_URL", f"http://{host}:{port}")
    # The demo's /metrics answers this token (an install without one has no /metrics).
    os.environ.setdefault("PROPDESK_METRICS_TOKEN", DEMO_METRICS_TOKEN)
    progress = Progress()
    print("propdesk demo: getting ready", flush=True)
    progress.step("loading propdesk")
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from propdesk import demo_match_trader as mt
    from propdesk import demo_mt5 as mt5
    from propdesk import demo_payments, demo_sumsub
    from propdesk.demo import STAFF, seed_demo, seeded
    from propdesk.demo_growth import banner as growth_banner

    pending = unapplied_migrations()
    if pending:
        progress.step(f"migrating the database ({pending} migrations)")
        call_command("migrate", interactive=False, verbosity=0)
    progress.step("collecting static files")
    call_command("collectstatic", interactive=False, verbosity=0)
    progress.step("checking the demo data")
    fake_url = mt.url_for(match_trader_port)
    fake_state = settings.VAR_DIR / FAKE_STATE
    if not seeded():
        # A new demo firm: the fake's books of an earlier one would hold accounts it never opened.
        fake_state.unlink(missing_ok=True)
        fake_state.with_name(MT5_STATE).unlink(missing_ok=True)
        demo_payments.forget_books(settings.VAR_DIR)
    logins = seed_demo(
        step=lambda text: progress.step(f"seeding: {text}"), match_trader_url=fake_url
    )
    mt.point_at(fake_url, STAFF[0][0])
    mt5_url = mt5.url_for(mt5_port)
    mt5.ensure_server(STAFF[0][0], mt5_url)
    sumsub_url = demo_sumsub.url_for(sumsub_port)
    demo_sumsub.set_up(sumsub_url, STAFF[0][0])
    stripe_url = demo_payments.url_for(stripe_port)
    nowpayments_url = demo_payments.url_for(nowpayments_port)
    demo_payments.set_up(STAFF[0][0], stripe_url=stripe_url, nowpayments_url=nowpayments_url)
    progress.done()
    print(f"  ready in {time.monotonic() - progress.began:.1f} s", flush=True)
    url = f"http://{host}:{port}"
    print(f"\npropdesk demo at {url}")
    print(f"  client portal: {url}/portal/   back office: {url}/backoffice/")
    print("  demo staff logins (email / password / role):")
    for email, password, role in logins.staff:
        print(f"    {email:32} {password:20} {role}")
    print("  demo client logins:")
    for email, password, state in logins.clients:
        print(f"    {email:32} {password:20} {state}")
    print("\n".join(growth_banner(url)))
    print(f"  sandbox trading accounts ({url}/terminal/ and the trading API):")
    for login, password, note in logins.trading:
        print(f"    {login:32} {password:20} {note}")
    print(f"  fake Match-Trader server (Broker API v2) at {fake_url}, API key {mt.API_KEY}:")
    print(
        f"    {mt.TRADER_EMAIL} trades {mt.CHALLENGE_NAME!r} there (the demo opens his "
        "positions; prices walk by themselves)"
    )
    print(f"    its API:      curl -H 'Authorization: Bearer {mt.API_KEY}' {fake_url}/v1/offers")
    print(
        f"    a price now:  curl -X POST {fake_url}/_fake/price "
        """-d '{"symbol": "XAUUSD", "bid": "2300"}'   (docs/match-trader.md)"""
    )
    print(
        f"  fake MetaTrader 5 (Web API) at {mt5_url}, manager {mt5.MANAGER_LOGIN} / "
        f"{mt5.MANAGER_PASSWORD}: the trading server {mt5.SERVER_NAME!r} (docs/mt5.md)"
    )
    print("\n".join(demo_sumsub.banner(sumsub_url)))
    print("\n".join(demo_payments.banner(stripe_url, nowpayments_url)))
    print(f"  health: {url}/healthz  {url}/readyz   metrics (docs/observability.md):")
    token = os.environ["PROPDESK_METRICS_TOKEN"]
    print(f"    curl -H 'Authorization: Bearer {token}' {url}/metrics")
    print("Press Ctrl-C to stop.\n", flush=True)
    with metrics_folder():  # its two site workers count their requests together
        return run_together(
            [
                gunicorn_argv(host, port, 2),
                worker_argv(),
                propdesk_argv("sandbox", "feed", "--rate", "10"),
                propdesk_argv("monitor"),
                propdesk_argv(
                    "fake-platform",
                    "match-trader",
                    "--port",
                    str(match_trader_port),
                    "--api-key",
                    mt.API_KEY,
                    "--state",
                    str(fake_state),
                ),
                propdesk_argv(
                    "fake-platform",
                    "mt5",
                    "--port",
                    str(mt5_port),
                    "--login",
                    mt5.MANAGER_LOGIN,
                    "--password",
                    mt5.MANAGER_PASSWORD,
                    "--state",
                    str(fake_state.with_name(MT5_STATE)),
                ),
                [sys.executable, "-m", "propdesk.demo_start", TRADER],
                demo_sumsub.process(sumsub_port, url),
                *demo_payments.processes(
                    stripe_port=stripe_port,
                    nowpayments_port=nowpayments_port,
                    site_url=url,
                    var_dir=settings.VAR_DIR,
                ),
            ]
        )


def trade_on_match_trader() -> int:
    """The demo's trader on the fake Match-Trader server, until told to stop."""
    import signal
    import threading

    os.environ.setdefault("PROPDESK_DEMO", "1")
    setup_django()
    from propdesk import demo_match_trader as mt

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        mt.trade_when_open(stop)
        stop.wait()  # done: it stays, as the demo stops everything once one of its processes ends
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != [TRADER]:
        print(f"usage: python -m propdesk.demo_start {TRADER}", file=sys.stderr)
        sys.exit(2)
    sys.exit(trade_on_match_trader())
