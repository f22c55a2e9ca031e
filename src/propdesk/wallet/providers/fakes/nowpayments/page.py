"""The invoice's hosted page (`invoice_url`, `https://nowpayments.io/payment/?iid=...` at the
real one): the payer picks a coin, is shown the amount and address, and (the fake's stand-in
for a wallet) "sends" the whole amount or any other; then goes back to the shop.

The real page is NOWPayments' own and undocumented beyond that; this one is plain HTML with
no script (labels and ids for the browser tests)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from propdesk.wallet.providers.fakes.nowpayments.basics import (
    COINS,
    ApiError,
    fiat_in_usd,
    number,
    read_amount,
)
from propdesk.wallet.providers.fakes.nowpayments.book import Book

_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    "form{margin:1rem 0}label{display:block;margin:.5rem 0}.note{color:#555}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} - NOWPayments (fake)</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _back(url: str | None, text: str, ident: str) -> str:
    if not url:
        return ""
    return f'<p><a id="{ident}" href="{escape(url)}">{escape(text)}</a></p>'


def render(book: Book, invoice_id: str) -> str:
    invoice = book.invoice(invoice_id)
    price = f"{number(invoice['price_amount'])} {invoice['price_currency'].upper()}"
    head = (
        f'<p>Order <span id="order">{escape(str(invoice["order_id"] or ""))}</span>: '
        f"{escape(str(invoice['order_description'] or ''))}</p>"
        f'<p>Price: <strong id="price">{escape(price)}</strong></p>'
    )
    payment = book.payment_of(invoice_id)
    if payment is None:
        worth = fiat_in_usd(invoice["price_amount"], invoice["price_currency"])
        coins = [
            c
            for c in COINS.values()
            if (invoice["pay_currency"] in (None, c.code)) and worth >= c.min_usd
        ]
        options = "".join(
            f'<option value="{c.code}">{escape(c.name)} ({c.code.upper()})</option>' for c in coins
        )
        return _page(
            "Pay with crypto",
            head
            + f'<form method="post" action="/payment/?iid={escape(invoice_id)}">'
            + '<label for="coin">Coin</label>'
            + f'<select id="coin" name="coin">{options}</select> '
            + '<button type="submit" id="choose">Choose</button></form>'
            + _back(invoice["cancel_url"], "Cancel and go back", "cancel"),
        )
    status = payment["payment_status"]
    coin = payment["pay_currency"].upper()
    if status == "waiting":
        return _page(
            "Send your payment",
            head
            + f'<p>Send <strong id="pay-amount">{number(payment["pay_amount"])}</strong> '
            + f'{coin} to <code id="pay-address">{escape(payment["pay_address"])}</code></p>'
            + f'<form method="post" action="/payment/pay?iid={escape(invoice_id)}">'
            + f'<label for="amount">Amount to send ({coin})</label>'
            + f'<input id="amount" name="amount" value="{number(payment["pay_amount"])}"> '
            + '<button type="submit" id="send">Send</button></form>'
            + '<p class="note">A fake wallet: nothing is sent anywhere.</p>'
            + _back(invoice["cancel_url"], "Cancel and go back", "cancel"),
        )
    paid = f"{number(payment['actually_paid'])} {coin}"
    body = (
        head
        + f'<p>Status: <strong id="status">{escape(status)}</strong></p>'
        + f'<p>Received: <span id="received">{escape(paid)}</span></p>'
    )
    if status == "finished":
        body += _back(invoice["success_url"], "Back to the shop", "back")
    elif status == "partially_paid":
        body += _back(
            invoice["partially_paid_url"] or invoice["success_url"], "Back to the shop", "back"
        )
    else:
        body += _back(invoice["cancel_url"] or invoice["success_url"], "Back to the shop", "back")
    return _page("Payment " + status.replace("_", " "), body)


def submit(book: Book, path: str, invoice_id: str, form: dict[str, Any]) -> None:
    """A form of the page: pick a coin, or send an amount (settled at once)."""
    if path == "/payment":
        book.pick_coin(invoice_id, str(form.get("coin") or ""))
        return
    payment = book.payment_of(invoice_id)
    if payment is None:
        raise ApiError(409, "NO_PAYMENT", "Choose a coin first")
    amount: Decimal = read_amount(form.get("amount"), "amount")
    book.pay(payment, amount, settle=True)
