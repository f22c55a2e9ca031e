"""The hosted Checkout page at a session's `url`: the customer sees what they pay and enters a
card (Stripe's test cards, see `cards.py`); paid, they are sent to the session's `success_url`
with `{CHECKOUT_SESSION_ID}` replaced by the session's id; "Back" sends them to `cancel_url`.

  https://docs.stripe.com/payments/checkout/how-checkout-works
  https://docs.stripe.com/payments/checkout/custom-success-page  (the {CHECKOUT_SESSION_ID}
      template variable)

Stripe's real page is its own; this one has only what a test needs: the amount, the
description, the email, a card number field (named `cardnumber`), Pay, and the decline's
message when a card is declined (the session stays open to try another card).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from propdesk.wallet.providers.fakes.stripe.book import THREE_DECIMAL, ZERO_DECIMAL
from propdesk.wallet.providers.fakes.stripe.errors import StripeError

if TYPE_CHECKING:
    from propdesk.wallet.providers.fakes.stripe.server import FakeStripe

_STYLE = (
    "body{font-family:sans-serif;max-width:28rem;margin:3rem auto;color:#222}"
    "label,input,button{display:block;width:100%;margin:.4rem 0;font-size:1rem}"
    "input{padding:.5rem}button{padding:.6rem;background:#635bff;color:#fff;border:0}"
    ".error{color:#b00020}.amount{font-size:2rem}"
)


def _money(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    unit = 1000 if currency in THREE_DECIMAL else 100
    places = 3 if currency in THREE_DECIMAL else 2
    return f"{amount // unit}.{amount % unit:0{places}d} {currency.upper()}"


def _document(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def answer(fake: FakeStripe, method: str, path: str, raw: bytes) -> tuple[int, str, str]:
    """(status, html, redirect location)."""
    ident = path.removeprefix("/c/pay/")
    try:
        session = fake.book.get("checkout.session", ident, "session")
    except StripeError:
        return (
            404,
            _document(
                "Not found",
                "<h1>Something went wrong</h1>"
                "<p>The page you were looking for could not be found.</p>",
            ),
            "",
        )
    error = ""
    if method == "POST":
        form = parse_qs(raw.decode("utf-8", "replace"))
        number = (form.get("cardnumber") or [""])[0]
        email = (form.get("email") or [""])[0]
        try:
            fake.book.pay(ident, number, email)
            fake.book.save()
        except StripeError as declined:
            error = declined.message
        else:
            target = session["success_url"] or ""
            if target:
                return 303, "", target.replace("{CHECKOUT_SESSION_ID}", ident)
    if session["status"] == "complete":
        return 200, _document("Paid", "<h1>Thanks for your payment</h1>"), ""
    if session["status"] == "expired":
        back = session["cancel_url"]
        link = f"<p><a href='{html.escape(back)}'>Back</a></p>" if back else ""
        return 200, _document("Expired", f"<h1>This checkout session has expired</h1>{link}"), ""
    items = fake.book.line_items.get(ident, [])
    description = ", ".join(i["name"] for i in items)
    cancel = session["cancel_url"]
    body = (
        f"<h1>{html.escape(description)}</h1>"
        f"<p class='amount'>{_money(session['amount_total'], session['currency'])}</p>"
        + (f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else "")
        + f"<form method='post' action='/c/pay/{html.escape(ident)}'>"
        f"<label for='email'>Email</label><input id='email' name='email' type='email' "
        f"value='{html.escape(session['customer_email'] or '')}'>"
        "<label for='cardnumber'>Card number</label>"
        "<input id='cardnumber' name='cardnumber' inputmode='numeric' "
        "placeholder='4242 4242 4242 4242' autocomplete='cc-number'>"
        "<label for='exp'>Expiry</label><input id='exp' name='exp' placeholder='MM / YY'>"
        "<label for='cvc'>CVC</label><input id='cvc' name='cvc' placeholder='CVC'>"
        "<button type='submit'>Pay</button></form>"
        + (f"<p><a href='{html.escape(cancel)}'>Back</a></p>" if cancel else "")
    )
    return (402 if error else 200), _document("Checkout", body), ""
