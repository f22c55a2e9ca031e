"""A challenge's money offers beside its stages, checked: the live stages' payout schedule, the
paid retry of a failed participation and the paid reset of a running stage.

Each is optional and kept only when given (catalogue.definition). A challenge with a live stage
and no schedule pays on `DEFAULT_SCHEDULE`; every fault is named by its path (`payouts.min_payout`)
like the rest of the definition's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from propdesk.challenges.catalogue.definition import (
    PayoutSchedule,
    PayoutTiming,
    ResetOffer,
    RetryOffer,
)
from propdesk.core.money import parse_amount, quantize
from propdesk.core.numbers import NotANumber, read_decimal, read_whole
from propdesk.core.validation import FieldErrors

MAX_OFFER_FEE = Decimal("1000000")
CENT = Decimal("0.01")
MAX_DAYS = 365
LAST_FIXED_DAY = 28  # every month has it
DEFAULT_SCHEDULE = PayoutSchedule(
    timing=PayoutTiming.ON_REQUEST, first_after_days=14, every_days=14, min_payout=Decimal(0)
)

PAYOUT_KEYS = frozenset(PayoutSchedule.model_fields)
RETRY_KEYS = frozenset(RetryOffer.model_fields)
RESET_KEYS = frozenset(ResetOffer.model_fields)


def _unknown(errors: FieldErrors, at: str, raw: dict[str, Any], known: frozenset[str]) -> None:
    for key in sorted(set(map(str, raw)) - known):
        errors.add(f"{at}.{key[:60]}", "Unknown field.")


def _days(errors: FieldErrors, field: str, raw: Any, *, low: int, default: int | None) -> int:
    if raw is None and default is not None:
        return default
    try:
        return read_whole(raw, low=low, high=MAX_DAYS)
    except NotANumber:
        errors.add(field, f"A whole number of days from {low} to {MAX_DAYS}.")
        return low


def _pct(errors: FieldErrors, field: str, raw: Any, *, below_100: bool) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = read_decimal(raw)
    except NotANumber:
        value = Decimal(-1)
    within = 0 < value < 100 if below_100 else 0 < value <= 100
    if not within or value != value.quantize(CENT):
        most = "less than 100" if below_100 else "at most 100"
        errors.add(field, f"More than 0, {most}, with at most 2 decimal places.")
        return None
    return value


def _fee(errors: FieldErrors, field: str, raw: Any, currency: str, label: str) -> Decimal:
    fee = parse_amount(errors, field, raw, currency, label=label)
    if fee is not None and fee > MAX_OFFER_FEE:
        errors.add(field, f"{label} is at most {MAX_OFFER_FEE}.")
    return fee or Decimal(1)


def _min_payout(errors: FieldErrors, raw: Any, currency: str) -> Decimal:
    """0 (none) when left out; any spelling of zero is zero, a boolean is no amount."""
    if raw is None or raw == "":
        return Decimal(0)
    try:
        zero = read_decimal(raw) == 0
    except NotANumber as exc:
        errors.add("payouts.min_payout", f"The minimum payout {exc.reason}")
        return Decimal(0)
    if zero:
        return Decimal(0)
    return _fee(errors, "payouts.min_payout", raw, currency, "The minimum payout")


def clean_payouts(
    errors: FieldErrors, raw: Any, *, currency: str, has_live: bool
) -> PayoutSchedule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("payouts", "An object with the payout schedule, or null.")
        return None
    if not has_live:
        errors.add("payouts", "Only a challenge with a live stage pays out.")
        return None
    _unknown(errors, "payouts", raw, PAYOUT_KEYS)
    timing = raw.get("timing", PayoutTiming.ON_REQUEST)
    if timing not in PayoutTiming.values:
        errors.add("payouts.timing", "on_request or fixed_days.")
        timing = PayoutTiming.ON_REQUEST
    first = _days(
        errors, "payouts.first_after_days", raw.get("first_after_days"), low=0, default=14
    )
    every: int | None = None
    fixed: list[int] = []
    # The other timing's field, given, is a contradiction, not a value to drop.
    if timing == PayoutTiming.ON_REQUEST and raw.get("fixed_days") not in (None, []):
        errors.add("payouts.fixed_days", "Only with timing fixed_days.")
    if timing == PayoutTiming.FIXED_DAYS and raw.get("every_days") is not None:
        errors.add("payouts.every_days", "Only with timing on_request.")
    if timing == PayoutTiming.ON_REQUEST:
        every = _days(errors, "payouts.every_days", raw.get("every_days"), low=1, default=14)
    else:
        given = raw.get("fixed_days")
        try:
            if not isinstance(given, list) or not 0 < len(given) <= LAST_FIXED_DAY:
                raise NotANumber("a list")
            fixed = sorted({read_whole(day, low=1, high=LAST_FIXED_DAY) for day in given})
        except NotANumber:
            errors.add(
                "payouts.fixed_days",
                f"One or more days of the month, each from 1 to {LAST_FIXED_DAY}.",
            )
    min_payout = _min_payout(errors, raw.get("min_payout"), currency)
    trading_days = _days(
        errors, "payouts.min_trading_days", raw.get("min_trading_days"), low=0, default=0
    )
    consistency = _pct(
        errors, "payouts.consistency_pct", raw.get("consistency_pct"), below_100=False
    )
    no_open = raw.get("no_open_positions", False)
    if not isinstance(no_open, bool):
        errors.add("payouts.no_open_positions", "true or false.")
        no_open = False
    if any(key.startswith("payouts") for key in errors.errors):
        return None
    return PayoutSchedule(
        timing=PayoutTiming(timing),
        first_after_days=first,
        every_days=every,
        fixed_days=tuple(fixed),
        min_payout=quantize(min_payout, currency),
        min_trading_days=trading_days,
        consistency_pct=consistency,
        no_open_positions=no_open,
    )


def clean_retry(errors: FieldErrors, raw: Any, *, currency: str) -> RetryOffer | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("retry", "An object with the retry's fee, or null.")
        return None
    _unknown(errors, "retry", raw, RETRY_KEYS)
    fee = _fee(errors, "retry.fee", raw.get("fee"), currency, "The retry fee")
    discount = _pct(errors, "retry.discount_pct", raw.get("discount_pct"), below_100=True)
    days = raw.get("discount_days")
    lasting = (
        None if days is None else _days(errors, "retry.discount_days", days, low=1, default=None)
    )
    if (discount is None) != (lasting is None) and "retry.discount_pct" not in errors:
        missing = "retry.discount_days" if lasting is None else "retry.discount_pct"
        errors.add(missing, "A discount needs both its percentage and its days.")
    if any(key.startswith("retry") for key in errors.errors):
        return None
    return RetryOffer(fee=fee, discount_pct=discount, discount_days=lasting)


def clean_reset(errors: FieldErrors, raw: Any, *, currency: str) -> ResetOffer | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("reset", "An object with the reset's fee, or null.")
        return None
    _unknown(errors, "reset", raw, RESET_KEYS)
    fee = _fee(errors, "reset.fee", raw.get("fee"), currency, "The reset fee")
    if any(key.startswith("reset") for key in errors.errors):
        return None
    return ResetOffer(fee=fee)
