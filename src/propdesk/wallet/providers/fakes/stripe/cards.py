"""Stripe's documented test cards, and what paying with each does.

  https://docs.stripe.com/testing  (cards by brand; "Declined payments": 4000000000000002
      generic decline, 4000000000009995 insufficient funds, 4000000000009987 lost card,
      4000000000000069 expired card, 4000000000000127 incorrect CVC, 4000000000000119
      processing error, 4242424242424241 incorrect number; "Disputes": 4000000000000259 is
      paid, then disputed as fraudulent)
  https://docs.stripe.com/declines/codes  (the decline codes)

A number the page does not know: when it passes the Luhn check it is declined as Stripe's test
mode declines real cards (`card_declined` / `test_mode_live_card`), else `incorrect_number`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    brand: str
    code: str = ""  # the error code when declined ("" when paid)
    decline_code: str = ""
    message: str = ""
    disputed: str = ""  # a dispute's reason opened right after it is paid
    refunds_pending: bool = False  # its refunds start "pending" (finished by a control)


_DECLINED = "Your card was declined."
CARDS = {
    "4242424242424242": Card("visa"),
    "4000056655665556": Card("visa"),
    "5555555555554444": Card("mastercard"),
    "378282246310005": Card("amex"),
    "4000000000000259": Card("visa", disputed="fraudulent"),
    # https://docs.stripe.com/testing#refunds: "4000000000007726 ... the refund's status begins
    # as pending" (then succeeds); here a control (`/_fake/refunds/{re}/finish`) ends it.
    "4000000000007726": Card("visa", refunds_pending=True),
    "4000000000000002": Card("visa", "card_declined", "generic_decline", _DECLINED),
    "4000000000009995": Card(
        "visa", "card_declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    "4000000000009987": Card("visa", "card_declined", "lost_card", _DECLINED),
    "4000000000000069": Card("visa", "expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": Card(
        "visa", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
    ),
    "4000000000000119": Card(
        "visa",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


def _luhn(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card(number: str) -> Card:
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits in CARDS:
        return CARDS[digits]
    if 12 <= len(digits) <= 19 and _luhn(digits):
        return Card(
            "unknown",
            "card_declined",
            "test_mode_live_card",
            "Your card was declined. Your request was in test mode, but used a non test "
            "card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
        )
    return Card("unknown", "incorrect_number", "", "Your card number is incorrect.")


def last4(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())[-4:]
