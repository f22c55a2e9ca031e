"""Wallet helpers for the tests: the sandbox payment provider's webhook, delivered as the
provider sends it; where a withdrawal is paid."""

from __future__ import annotations

import json

from django.test import Client as HttpClient

from propdesk.wallet import deposits, sandbox_payments, services

WEBHOOK = "/webhooks/sandbox-payments/"


# A German IBAN (the registry's example) at Commerzbank: a bank destination that passes.
IBAN = "DE89370400440532013000"


def bank_destination(**changes):
    """A bank account's fields as a client gives them (the IBAN in groups, as printed)."""
    return {
        "account_holder": "Jane Doe",
        "account": "DE89 3704 0044 0532 0130 00",
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
        **changes,
    }


# Tether's USDT contract on Tron: a TRC20 address whose checksum holds.
TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


def usdt_method(admin, networks=("TRC20", "ERC20")):
    """An offline method paying withdrawals in USDT on the networks named."""
    return deposits.save_payment_method(
        None,
        name="USDT",
        kind="offline",
        currencies=["USD"],
        min_amount="20",
        max_amount="50000",
        payout_to="crypto",
        networks=list(networks),
        actor=admin,
    )


def fund(client, actor, amount="1000.00", currency="USD"):
    services.adjust(
        client.pk,
        direction="credit",
        amount=amount,
        currency=currency,
        comment="Funding",
        actor=actor,
    )
    return client


def deliver(event, *, signature=None, at=None):
    body = json.dumps(event).encode()
    header = signature if signature is not None else sandbox_payments.sign(body, at=at)
    return HttpClient().post(
        WEBHOOK, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header
    )
