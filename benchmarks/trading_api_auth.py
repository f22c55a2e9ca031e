"""What authenticating a trading-API call costs: HTTP Basic with the verified credentials
remembered, a bearer token, and HTTP Basic checking the password on every call (what every
call paid before issue 12).

    .venv/bin/python benchmarks/trading_api_auth.py [--calls 2000] [--uncached 10]

Runs in one process on a fresh SQLite database in a temporary directory (or on DATABASE_URL
when it is set: use a database you can throw away), with the production password hasher
(Argon2, Django's default costs). Each call is `GET /api/v1/sandbox/quotes` through Django's
test client, so the figures include the whole request; only the authentication differs.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    os.environ.setdefault("PROPDESK_VAR_DIR", tempfile.mkdtemp(prefix="propdesk-bench-"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def rate(label: str, calls: int, call: Callable[[], int]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        status = call()
        assert status == 200, status
    elapsed = time.perf_counter() - started
    per_second = calls / elapsed
    print(f"{label:<44} {per_second:>10.1f} calls/s  ({1000 * elapsed / calls:.2f} ms a call)")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--uncached", type=int, default=10)
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth.hashers import check_password
    from django.test import Client

    from propdesk.platforms.sandbox import accounts as sandbox_accounts
    from propdesk.platforms.sandbox import auth

    account, password = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    http = Client()
    pair = base64.b64encode(f"{account.login}:{password}".encode()).decode()
    basic = {"HTTP_AUTHORIZATION": f"Basic {pair}"}
    issued = http.post(
        "/api/v1/sandbox/token",
        {"login": account.login, "password": password},
        content_type="application/json",
    ).json()["token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issued}"}

    def quotes(headers: dict[str, str]) -> Callable[[], int]:
        return lambda: int(http.get("/api/v1/sandbox/quotes", **headers).status_code)

    def forgetting() -> int:
        auth._proven = auth._Proven()  # every call a stranger: the password is checked again
        return quotes(basic)()

    stored = type(account).objects.get(pk=account.pk).password
    started = time.perf_counter()
    for _ in range(args.uncached):
        assert check_password(password, stored)
    hash_seconds = (time.perf_counter() - started) / args.uncached
    print(f"one password check (Argon2, production costs): {1000 * hash_seconds:.0f} ms")
    quotes(basic)()  # the first Basic call checks the password and remembers it
    cached = rate("HTTP Basic, credentials remembered", args.calls, quotes(basic))
    token = rate("bearer token", args.calls, quotes(bearer))
    uncached = rate("HTTP Basic, password checked every call", args.uncached, forgetting)
    print(f"remembered Basic is {cached / uncached:.0f}x, a token {token / uncached:.0f}x the old")


if __name__ == "__main__":
    main()
