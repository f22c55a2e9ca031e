"""Wallet helpers for the tests: the sandbox payment provider's webhook, delivered as the
provider sends it."""

from __future__ import annotations

import json

from django.test import Client as HttpClient

from propdesk.wallet import sandbox_payments

WEBHOOK = "/webhooks/sandbox-payments/"


def deliver(event, *, signature=None, at=None):
    body = json.dumps(event).encode()
    header = signature if signature is not None else sandbox_payments.sign(body, at=at)
    return HttpClient().post(
        WEBHOOK, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header
    )
