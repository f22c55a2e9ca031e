"""A faithful fake of NOWPayments' API (invoices, payments, IPNs), for the tests and the demo
(`propdesk fake-vendor nowpayments --port N`).

It is a vendor's server, not part of propdesk: standard library only, no Django, no propdesk
import outside this package. What it answers follows the documentation (read in 2026):

- The API reference (auth with the `x-api-key` header; `GET /v1/status` answering
  `{"message": "OK"}`; the statuses waiting, confirming, confirmed, sending, partially_paid,
  finished, failed, refunded, expired; `GET /v1/payment/{payment_id}` with payment_status,
  pay_amount, actually_paid, price_amount, price_currency, outcome_amount, invoice_id...;
  IPNs to `ipn_callback_url` on each status change, their body that of "get payment status",
  signed in `x-nowpayments-sig` with HMAC-SHA512 of the body's keys sorted, keyed with the
  IPN secret; `GET /v1/min-amount`):
  https://documenter.getpostman.com/view/7907941/2s93JusNJt
  https://documenter.getpostman.com/view/7907941/S1a32n38
  https://www.postman.com/collections/7907941-9f217404-4263-42ad-b6b1-03a3d95b7d22-S1a32n38
  https://zingu.ai/endpoints/nowpayments.io:GET:_v1_payment_payment_id
- Creating an invoice (`POST /v1/invoice`: price_amount, price_currency, pay_currency
  optional, order_id, order_description, ipn_callback_url, success_url, cancel_url,
  partially_paid_url, is_fixed_rate, is_fee_paid_by_user; the answer's id, token_id,
  invoice_url `.../payment/?iid=<id>`, created_at, price_amount as a string):
  https://documenter.getpostman.com/view/7907941/2s93JusNJt (Create invoice)
  https://github.com/nswbmw/nowpayments-node (the answer as the API gives it)
- Setting up IPNs (the IPN secret, the 3000 ms to answer, the sorted body signed):
  https://nowpayments.zendesk.com/hc/en-us/articles/21395546303389-IPN-and-how-to-setup
- The statuses as the help centre explains them (partially paid is final, not refunded):
  https://nowpayments.zendesk.com/hc/en-us/articles/18395434917149-Payment-statuses
- The error body `{"status": false, "statusCode", "code", "message"}`: 403
  INVALID_API_KEY "Invalid api key" for a missing or wrong key, 400 INVALID_REQUEST_PARAMS
  ("success_url must be a valid uri"), AMOUNT_MINIMAL_ERROR, CURRENCY_UNAVAILABLE, and the
  rate limiter's bare nginx 429 page: the reference shows no error bodies; these are as
  integrators quote the API's answers (e.g. https://nearpayments.io/api/error-codes/).

Where the documentation is silent the fake chooses, and says so (book.py): one payment per
invoice; invoices never expire, payments do (by the controls); messages of
AMOUNT_MINIMAL_ERROR, PAYMENT_NOT_FOUND; no automatic IPN retries. Its coins have fixed
rates and minimums (basics.COINS).

NOT part of NOWPayments' API, the fake-only controls under `/_fake/` (no key):

    POST /_fake/pay      {"invoice_id" | "order_id" | "payment_id", "pay_currency"?="btc",
                          "fraction"?="1" | "amount"?, "settle"?=true}
                         coins arrive: the fraction of what was asked (0.5 part, 1.2 more)
                         or an amount in the coin; settled: confirming, confirmed, sending,
                         then finished or partially_paid (an IPN for each)
    POST /_fake/advance  {"payment_id" | ...}   a confirming payment settles
    POST /_fake/redeposit {"payment_id" | ..., "fraction"?="1" | "amount"?}
                         coins sent again to a paid payment's address: a payment of its
                         own with `parent_payment_id`, partially_paid (an IPN)
    POST /_fake/expire   {"payment_id" | ...}   a waiting payment expires (its last IPN)
    POST /_fake/status   {"payment_id" | ..., "status"}   any status, told (failed, refunded)
    GET  /_fake/invoices                        every invoice and its payment
    GET  /_fake/ipns?payment_id=P               every IPN sent: body, signature, answer
    POST /_fake/ipns/replay {"index", "url"?}   send one again, as it was
    POST /_fake/fail     {"count", "status"?=500, "method"?, "path"?}  the next N API requests
    POST /_fake/delay    {"count", "seconds", "method"?, "path"?}      wait, then carry out
    POST /_fake/down     {"seconds"}            stop listening for a while
    POST /_fake/reset                           forget everything
"""

from propdesk.wallet.providers.fakes.nowpayments.basics import sign
from propdesk.wallet.providers.fakes.nowpayments.server import (
    DEFAULT_API_KEY,
    DEFAULT_IPN_SECRET,
    FakeNowPayments,
)

__all__ = ["DEFAULT_API_KEY", "DEFAULT_IPN_SECRET", "FakeNowPayments", "sign"]
