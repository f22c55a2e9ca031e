"""The demo's online payments: the fake Stripe and the fake NOWPayments run beside the site
(`propdesk fake-vendor stripe|nowpayments`, their books in the demo's var/ directory), each
sending its webhooks to the demo site (`/webhooks/payments/<kind>/`), both set up as staff would
on Settings > Payment providers (enabled, the fakes' keys sealed, the API base URL the fake's),
and two payment methods a client deposits with or buys a challenge with directly:
"Card (Stripe)" and "Crypto (NOWPayments)" (docs/stripe.md, docs/crypto-payments.md)."""

from __future__ import annotations

from pathlib import Path

from propdesk.accounts.models import User
from propdesk.processes import propdesk_argv
from propdesk.wallet import deposits, provider_settings
from propdesk.wallet.models import PaymentMethod
from propdesk.wallet.providers import registry
from propdesk.wallet.providers.fakes.nowpayments import DEFAULT_API_KEY, DEFAULT_IPN_SECRET
from propdesk.wallet.providers.fakes.stripe import DEFAULT_SECRET_KEY

STRIPE_PORT = 8020
NOWPAYMENTS_PORT = 8021
STRIPE_STATE = "fake-stripe.json"  # in the demo's var/ directory
NOWPAYMENTS_STATE = "fake-nowpayments.json"
# The signing secret of the endpoint the fake Stripe sends every event to (the one a firm
# reveals in Stripe's Dashboard); the fake is started with it.
STRIPE_WEBHOOK_SECRET = "whsec_propdesk_demo_2026"
TEST_CARD = "4242 4242 4242 4242"
CURRENCIES = ["USD"]  # the demo's challenges are priced in USD
CARD = "Card (Stripe)"
CRYPTO = "Crypto (NOWPayments)"


def url_for(port: int) -> str:
    """A fake's address: on this machine, whatever address the site is served on."""
    return f"http://127.0.0.1:{port}"


def forget_books(var_dir: Path) -> None:
    """A new demo firm: the fakes' books of an earlier one hold payments it never started."""
    for name in (STRIPE_STATE, NOWPAYMENTS_STATE):
        (var_dir / name).unlink(missing_ok=True)


def set_up(admin_email: str, *, stripe_url: str, nowpayments_url: str) -> None:
    """Both providers enabled on their fakes (again when the demo starts with a fake on another
    port), and the two payment methods made once; nothing without the demo's staff."""
    admin = User.objects.filter(email=admin_email).first()
    if admin is None:
        return
    _provider(
        "stripe",
        admin,
        "api_base",
        stripe_url,
        {"secret_key": DEFAULT_SECRET_KEY, "webhook_secret": STRIPE_WEBHOOK_SECRET},
    )
    _provider(
        "nowpayments",
        admin,
        "api_url",
        nowpayments_url,
        {"api_key": DEFAULT_API_KEY, "ipn_secret": DEFAULT_IPN_SECRET},
    )
    _method(
        admin,
        CARD,
        "stripe",
        min_amount="10",
        max_amount="5000",
        instructions=f"The fake Stripe's checkout: pay with the test card {TEST_CARD} (any "
        "expiry and CVC); no real money moves.",
    )
    _method(
        admin,
        CRYPTO,
        "nowpayments",
        min_amount="20",
        max_amount="50000",
        instructions="The fake NOWPayments' invoice: pick a coin, then Send the amount shown "
        "(or less, to see a partial payment); no coins move.",
    )


def _provider(kind: str, admin: User, url_key: str, url: str, secrets: dict[str, str]) -> None:
    account = registry.account(kind)
    if account.enabled and (account.values or {}).get(url_key) == url:
        return
    provider_settings.save(kind, enabled=True, given={url_key: url, **secrets}, actor=admin)


def _method(
    admin: User, name: str, provider: str, *, min_amount: str, max_amount: str, instructions: str
) -> None:
    if PaymentMethod.objects.filter(name=name).exists():
        return  # as staff left it
    deposits.save_payment_method(
        None,
        name=name,
        kind="online",
        provider=provider,
        currencies=CURRENCIES,
        min_amount=min_amount,
        max_amount=max_amount,
        instructions=instructions,
        actor=admin,
    )


def processes(
    *, stripe_port: int, nowpayments_port: int, site_url: str, var_dir: Path
) -> list[list[str]]:
    """The two fakes' commands: the fake Stripe sends every event, signed, to the site's
    endpoint; NOWPayments is given the site's address with each invoice."""
    return [
        propdesk_argv(
            "fake-vendor",
            "stripe",
            "--port",
            str(stripe_port),
            "--webhook-url",
            f"{site_url}/webhooks/payments/stripe/",
            "--webhook-secret",
            STRIPE_WEBHOOK_SECRET,
            "--state",
            str(var_dir / STRIPE_STATE),
        ),
        propdesk_argv(
            "fake-vendor",
            "nowpayments",
            "--port",
            str(nowpayments_port),
            "--state",
            str(var_dir / NOWPAYMENTS_STATE),
        ),
    ]


def banner(stripe_url: str, nowpayments_url: str) -> list[str]:
    return [
        f"  fake Stripe at {stripe_url}, secret key {DEFAULT_SECRET_KEY} (docs/stripe.md):",
        f"    deposit or buy a challenge with {CARD!r}; on the fake's checkout pay with the test",
        f"    card {TEST_CARD} (4000 0000 0000 0002 is declined, 4000 0000 0000 0259 disputed)",
        f"    its events: curl {stripe_url}/_fake/events",
        f"  fake NOWPayments at {nowpayments_url}, API key {DEFAULT_API_KEY} "
        "(docs/crypto-payments.md):",
        f"    pay with {CRYPTO!r}; on the fake's invoice page choose a coin, then Send the",
        "    amount shown (or less: a partial payment)",
        f"    its IPNs: curl {nowpayments_url}/_fake/ipns",
    ]
