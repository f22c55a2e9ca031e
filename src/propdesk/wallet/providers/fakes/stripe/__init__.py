"""A faithful fake of Stripe's API (Checkout Sessions, PaymentIntents, Charges, Refunds,
Disputes, webhook endpoints and signed events), for the tests and the demo
(`propdesk fake-vendor stripe --port N`).

It is a vendor's server, not part of propdesk: standard library only, no Django. What it
answers follows Stripe's documentation (read in 2026); each module cites the pages it follows:

- the API's conventions (form-encoded bodies with bracket notation, amounts in the currency's
  smallest unit, errors, authentication, idempotency, the request limit): `forms.py`,
  `errors.py`, `server.py`; https://docs.stripe.com/api , https://docs.stripe.com/currencies
- Checkout Sessions, PaymentIntents, Charges, Refunds, Disputes, the balance, events:
  `book.py`, `after.py`, `routes.py`
- the hosted page and the test cards: `page.py`, `cards.py`; https://docs.stripe.com/testing
- webhooks (the `Stripe-Signature` header, retries, resending): `webhooks.py`

NOT part of Stripe's API, the fake-only controls under `/_fake/` (no key, no limit; JSON):

    POST /_fake/checkout/sessions/{cs}/pay   {"card"?, "email"?}   pay as the customer would
                                             on the hosted page (402 and the card error when
                                             the card is declined)
    POST /_fake/charges/{ch or pi}/dispute   {"reason"?, "amount"?}   the bank opens a dispute
    POST /_fake/disputes/{dp}/close          {"outcome": "won"|"lost"}
    POST /_fake/refunds                      {"payment_intent"|"charge", "amount"?}
                                             a refund made in the Dashboard
    POST /_fake/refunds/{re}/finish          {"outcome"?: "failed"}   a pending refund ends
                                             (card 4000000000007726's start pending)
    GET  /_fake/events                       every event raised, with its deliveries
    POST /_fake/events/{evt}/replay          send it again (a fresh signature), as the
                                             Dashboard's Resend does
    POST /_fake/webhook_endpoint             {"url", "secret"?}   the endpoint that gets every
                                             event (as one is added in the Dashboard)
    POST /_fake/fail                         {"count", "status"?=500, "method"?, "path"?}
                                             the next N API requests are answered so
    POST /_fake/delay                        {"count", "seconds", "method"?, "path"?}
    POST /_fake/down                         {"seconds"}   stop listening for a while
    GET  /_fake/settle                       wait until every due delivery was made
    POST /_fake/reset                        forget every object and event (not endpoints)
"""

from propdesk.wallet.providers.fakes.stripe.server import DEFAULT_SECRET_KEY, FakeStripe
from propdesk.wallet.providers.fakes.stripe.webhooks import header as signature_header

__all__ = ["DEFAULT_SECRET_KEY", "FakeStripe", "signature_header"]
