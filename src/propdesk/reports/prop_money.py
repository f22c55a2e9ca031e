"""The Prop Trading Dashboard's money: the fees, the payouts and the broker's profit, per
challenge and currency (never added across currencies), for a period of days in the firm's time
zone. Each figure counts by its own time:

- fees: the Prop Trading Fee and Prop Retry Fee entries (a participation's `fee_entry`; a retry,
  `retry_of` set, pays the latter) and Prop Reset Fee entries (a stage attempt's
  `reset_fee_entry`) made in the period; refunds: the reversals of those entries made in the
  period (a participation's `refund_entry` is one), whenever the fee was paid;
- payouts: requested in the period (by `requested_at`, whatever became of them since), approved
  in it (by `decided_at`, paid since or not), rejected in it (by `decided_at`) and paid in it (by
  `paid_at`): how many, the profit taken off the accounts, the traders' and the firm's shares;
- the broker's profit: the fees collected less the refunds, less the profit shares paid (the
  trader shares of the payouts paid in the period: a payout's Profit Share entry is made as it
  is paid), plus the profit shares taken back in it (their entries' reversals, whenever paid).

A participation's fee is its `fee` and a payout's share its `trader_share`; a reset fee, which
the attempt does not copy, is its entry's wallet posting. Each figure is one aggregate query,
grouped by challenge (its name rides along: a challenge has one name) and currency; entries are
found by their wallet postings, which Reports > Transactions indexes by type and time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Q, QuerySet, Sum

from propdesk.challenges.models import Participation, Payout, StageAttempt
from propdesk.core.money import from_database_sum, quantize
from propdesk.reports.transactions import within_days
from propdesk.wallet.models import JournalEntry, Posting

_T = JournalEntry.Type
FEE_TYPES: tuple[str, ...] = (_T.PROP_TRADING_FEE, _T.PROP_RETRY_FEE, _T.PROP_RESET_FEE)
ALL_CHALLENGES = "All challenges"
_ZERO = Decimal(0)


@dataclass(frozen=True)
class FeeLine:
    currency: str
    type: str  # the fee's entry type: prop_trading_fee, prop_retry_fee or prop_reset_fee
    paid: int  # fee entries in the period
    collected: Decimal
    refunds: int  # refund entries in the period
    refunded: Decimal

    @property
    def label(self) -> str:
        return str(_T(self.type).label)

    @property
    def net(self) -> Decimal:
        return self.collected - self.refunded


@dataclass(frozen=True)
class PayoutStep:
    """The payouts that took one step in the period: how many, and their money."""

    count: int
    profit: Decimal  # taken off the trading accounts
    trader_share: Decimal  # the trader's, credited to their wallet (Profit Share) when paid
    firm_share: Decimal  # the firm's

    def __add__(self, other: PayoutStep) -> PayoutStep:
        return PayoutStep(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class PayoutLine:
    challenge_id: int | None  # None: a currency's total
    challenge: str
    currency: str
    requested: PayoutStep
    approved: PayoutStep
    paid: PayoutStep
    rejected: int

    @property
    def steps(self) -> list[tuple[str, PayoutStep]]:
        return [("requested", self.requested), ("approved", self.approved), ("paid", self.paid)]

    def __add__(self, other: PayoutLine) -> PayoutLine:
        return PayoutLine(
            None,
            ALL_CHALLENGES,
            self.currency,
            self.requested + other.requested,
            self.approved + other.approved,
            self.paid + other.paid,
            self.rejected + other.rejected,
        )


@dataclass(frozen=True)
class ProfitLine:
    challenge_id: int | None  # None: a currency's total
    challenge: str
    currency: str
    fees: Decimal  # collected in the period, every fee type
    refunded: Decimal  # refunds of fees made in the period
    shares_paid: Decimal  # profit shares paid in the period
    shares_reversed: Decimal  # profit shares reversed in the period

    @property
    def shares(self) -> Decimal:
        return self.shares_paid - self.shares_reversed

    @property
    def profit(self) -> Decimal:
        return self.fees - self.refunded - self.shares

    def __add__(self, other: ProfitLine) -> ProfitLine:
        return ProfitLine(
            None,
            ALL_CHALLENGES,
            self.currency,
            self.fees + other.fees,
            self.refunded + other.refunded,
            self.shares_paid + other.shares_paid,
            self.shares_reversed + other.shares_reversed,
        )


@dataclass(frozen=True)
class Money:
    fees: list[FeeLine]  # per currency and fee type
    payouts: list[PayoutLine]  # per challenge (by name) and currency
    payout_totals: list[PayoutLine]  # per currency
    profit: list[ProfitLine]  # per challenge (by name) and currency
    profit_totals: list[ProfitLine]  # per currency


# --- the queries -------------------------------------------------------------------------------

_PAID, _REFUNDED = "paid", "refunded"
_STEPS = {"requested": "requested_at", "approved": "decided_at", "paid": "paid_at"}


@dataclass
class _Found:
    """What the queries found for one challenge in one currency."""

    name: str
    fees: dict[tuple[str, str], tuple[int, Decimal]] = field(default_factory=dict)
    steps: dict[str, PayoutStep] = field(default_factory=dict)
    rejected: int = 0
    shares_reversed: Decimal | None = None


class _Findings(dict[tuple[int, str], _Found]):
    def of(self, challenge_id: int, name: str, currency: str) -> _Found:
        return self.setdefault((challenge_id, currency), _Found(name))


def money(
    participations: QuerySet[Participation],
    attempts: QuerySet[StageAttempt],
    payouts: QuerySet[Payout],
    date_from: date | None,
    date_to: date | None,
) -> Money:
    """The fees, payouts and profit of the participations, attempts and payouts given (the
    dashboard's scope: all, or one challenge's) over the days from `date_from` to `date_to`
    (inclusive, either open). Reads only: six aggregate queries."""
    found = _Findings()
    _participation_fees(found, participations, date_from, date_to)
    _reset_fees(found, attempts, date_from, date_to)
    _payouts(found, payouts, date_from, date_to)
    _shares_reversed(found, payouts, date_from, date_to)
    return Money(
        fees=_fee_lines(found),
        payouts=(payout_lines := _lines(found, _payout_line)),
        payout_totals=_totals(payout_lines),
        profit=(profit_lines := _lines(found, _profit_line)),
        profit_totals=_totals(profit_lines),
    )


def _within(when: str, date_from: date | None, date_to: date | None) -> Q:
    """`when` (a time field) set and on the days."""
    return Q(**{f"{when}__isnull": False}) & within_days(when, date_from, date_to)


def _posted(entry: str, kinds: Sequence[str], date_from: date | None, date_to: date | None) -> Q:
    """The entry at `entry` (of one of `kinds`) made on the days, found by its wallet posting,
    which copies the entry's type and time: Reports > Transactions' index of the wallet
    postings by (type, time) finds the period's few instead of every entry made in it. To be
    in the same filter() call as whatever reads that posting, so that both mean the one."""
    postings = f"{entry}__postings"
    return Q(
        **{f"{postings}__client__isnull": False, f"{postings}__entry_type__in": list(kinds)}
    ) & within_days(f"{postings}__created_at", date_from, date_to)


def _paid(entry: str, kinds: Sequence[str], date_from: date | None, date_to: date | None) -> Q:
    """The entry at `entry` made on the days; over all dates, any (no need to look at it)."""
    if date_from is None and date_to is None:
        return Q(**{f"{entry}__isnull": False})
    return _posted(entry, kinds, date_from, date_to)


def _reversed(date_from: date | None, date_to: date | None) -> QuerySet[Posting, Any]:
    """The ids of the entries reversed on the days (by the reversals' wallet postings): few,
    so that `entry_id IN (...)` finds what they reversed by its own unique index."""
    return Posting.objects.filter(
        within_days("created_at", date_from, date_to),
        entry_type=_T.REVERSAL,
        client__isnull=False,
        entry__reverses__isnull=False,
    ).values("entry__reverses_id")


def _participation_fees(
    found: _Findings, rows: QuerySet[Participation], date_from: date | None, date_to: date | None
) -> None:
    """First fees and retries' fees, and their refunds. A retry (`retry_of` set) pays a Prop
    Retry Fee, a first participation a Prop Trading Fee."""
    fees = [_T.PROP_TRADING_FEE, _T.PROP_RETRY_FEE]
    kinds = {
        _T.PROP_TRADING_FEE: Q(retry_of__isnull=True),
        _T.PROP_RETRY_FEE: Q(retry_of__isnull=False),
    }
    sums: dict[str, Any] = {}
    for kind, which in kinds.items():
        sums[f"n_{kind}"] = Count("id", filter=which)
        sums[kind] = Sum("fee", filter=which)
    for what, which in (
        (_PAID, _paid("fee_entry", fees, date_from, date_to)),
        (_REFUNDED, Q(fee_entry_id__in=_reversed(date_from, date_to))),
    ):
        for row in (
            rows.filter(which)
            .values("challenge_id", "challenge__name", "currency")
            .annotate(**sums)
        ):
            currency = row["currency"]
            line = found.of(row["challenge_id"], row["challenge__name"], currency)
            for kind in kinds:
                if row[f"n_{kind}"]:
                    line.fees[kind, what] = (
                        row[f"n_{kind}"],
                        from_database_sum(row[kind], currency),
                    )


def _reset_fees(
    found: _Findings, rows: QuerySet[StageAttempt], date_from: date | None, date_to: date | None
) -> None:
    """Reset fees, and their refunds: each the fee entry's wallet posting (negative: the
    wallet paid), which the attempt does not copy."""
    posting = "reset_fee_entry__postings"
    wallet = Q(**{f"{posting}__client__isnull": False})
    for what, which in (
        (_PAID, _posted("reset_fee_entry", [_T.PROP_RESET_FEE], date_from, date_to)),
        (_REFUNDED, wallet & Q(reset_fee_entry_id__in=_reversed(date_from, date_to))),
    ):
        for row in (
            rows.filter(which)
            .values(
                "participation__challenge_id",
                "participation__challenge__name",
                f"{posting}__currency",
            )
            .annotate(n=Count("id"), total=Sum(f"{posting}__amount"))
        ):
            currency = row[f"{posting}__currency"]
            line = found.of(
                row["participation__challenge_id"], row["participation__challenge__name"], currency
            )
            line.fees[_T.PROP_RESET_FEE, what] = (
                row["n"],
                -from_database_sum(row["total"], currency),
            )


_OF_PAYOUT = ("attempt__participation__challenge_id", "attempt__participation__challenge__name")
_AMOUNTS = ("profit", "trader_share", "firm_share")


def _payouts(
    found: _Findings, rows: QuerySet[Payout], date_from: date | None, date_to: date | None
) -> None:
    """One query: the payouts with any of their times on the days (each time found by its
    index: the requested with every status named, so that the (status, requested_at) index
    serves), each step counted by its own time. A payout's Profit Share entry is made as it
    is paid: its trader share paid is the profit share paid."""
    on = {step: _within(when, date_from, date_to) for step, when in _STEPS.items()}
    on["requested"] &= Q(status__in=Payout.Status.values)
    counted = {
        "requested": on["requested"],
        "approved": on["approved"] & Q(status__in=[Payout.Status.APPROVED, Payout.Status.PAID]),
        "paid": on["paid"] & Q(status=Payout.Status.PAID),
    }
    sums: dict[str, Any] = {
        "rejected": Count("id", filter=on["approved"] & Q(status=Payout.Status.REJECTED))
    }
    for step, which in counted.items():
        sums[f"{step}_n"] = Count("id", filter=which)
        sums.update({f"{step}_{name}": Sum(name, filter=which) for name in _AMOUNTS})
    anywhere = Q()
    if date_from is not None or date_to is not None:
        anywhere = on["requested"] | on["approved"] | on["paid"]
    for row in rows.filter(anywhere).values(*_OF_PAYOUT, "currency").annotate(**sums):
        currency = row["currency"]
        line = found.of(row[_OF_PAYOUT[0]], row[_OF_PAYOUT[1]], currency)
        line.rejected = row["rejected"]
        for step in counted:
            if row[f"{step}_n"]:
                line.steps[step] = PayoutStep(
                    row[f"{step}_n"],
                    *(from_database_sum(row[f"{step}_{name}"], currency) for name in _AMOUNTS),
                )


def _shares_reversed(
    found: _Findings, rows: QuerySet[Payout], date_from: date | None, date_to: date | None
) -> None:
    """The profit shares taken back on the days: their entries' reversals."""
    for row in (
        rows.filter(entry_id__in=_reversed(date_from, date_to))
        .values(*_OF_PAYOUT, "currency")
        .annotate(total=Sum("trader_share"))
    ):
        currency = row["currency"]
        line = found.of(row[_OF_PAYOUT[0]], row[_OF_PAYOUT[1]], currency)
        line.shares_reversed = from_database_sum(row["total"], currency)


# --- the lines -------------------------------------------------------------------------------


def _fee_lines(found: _Findings) -> list[FeeLine]:
    """Per currency and fee type, over the challenges."""
    totals: dict[tuple[str, str], list[Any]] = {}
    for (_, currency), line in found.items():
        for (kind, what), (n, amount) in line.fees.items():
            none = quantize(_ZERO, currency)
            tally = totals.setdefault((currency, kind), [0, none, 0, none])
            at = 0 if what == _PAID else 2
            tally[at] += n
            tally[at + 1] += amount
    order = sorted(totals, key=lambda key: (key[0], FEE_TYPES.index(key[1])))
    return [FeeLine(currency, kind, *totals[currency, kind]) for currency, kind in order]


def _payout_line(key: tuple[int, str], line: _Found) -> PayoutLine | None:
    if not line.steps and not line.rejected:
        return None
    none = quantize(_ZERO, key[1])
    nothing = PayoutStep(0, none, none, none)
    requested, approved, paid = (line.steps.get(step, nothing) for step in _STEPS)
    return PayoutLine(key[0], line.name, key[1], requested, approved, paid, line.rejected)


def _fees_of(line: _Found, what: str, none: Decimal) -> Decimal:
    return sum((amount for (_, w), (_, amount) in line.fees.items() if w == what), none)


def _profit_line(key: tuple[int, str], line: _Found) -> ProfitLine | None:
    paid = line.steps.get("paid")
    if not line.fees and paid is None and line.shares_reversed is None:
        return None
    none = quantize(_ZERO, key[1])
    return ProfitLine(
        key[0],
        line.name,
        key[1],
        _fees_of(line, _PAID, none),
        _fees_of(line, _REFUNDED, none),
        none if paid is None else paid.trader_share,
        none if line.shares_reversed is None else line.shares_reversed,
    )


L = TypeVar("L", PayoutLine, ProfitLine)


def _lines(found: _Findings, line_of: Callable[[tuple[int, str], _Found], L | None]) -> list[L]:
    """One line per challenge and currency that has something to show, by challenge name."""
    made = [line for key, sums in found.items() if (line := line_of(key, sums)) is not None]
    return sorted(
        made, key=lambda line: (line.challenge.casefold(), line.challenge_id or 0, line.currency)
    )


def _totals(lines: list[L]) -> list[L]:
    """One line per currency: its challenges' lines added up."""
    totals: dict[str, L] = {}
    for line in lines:
        if line.currency in totals:
            totals[line.currency] = totals[line.currency] + line
        else:
            totals[line.currency] = replace(line, challenge_id=None, challenge=ALL_CHALLENGES)
    return [totals[currency] for currency in sorted(totals)]


# --- discounts (challenges.growth.coupons) ------------------------------------------------------


@dataclass(frozen=True)
class DiscountLine:
    """The purchases with a coupon: their price, what the coupons took off and what was paid."""

    currency: str
    purchases: int
    gross: Decimal
    discount: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.discount


def discounts(
    participations: QuerySet[Participation], date_from: date | None, date_to: date | None
) -> list[DiscountLine]:
    """Per currency, the purchases with a discount whose fee was taken in the period (a
    challenge's Prop Trading Fee entry), and those started in it that coupons made free (no
    entry: the ledger moves no zero). Refunds are the fees table's."""
    taken = participations.filter(
        Q(discount__gt=0),
        (Q(fee__gt=0) & _paid("fee_entry", [_T.PROP_TRADING_FEE], date_from, date_to))
        | (Q(fee=0) & within_days("created_at", date_from, date_to)),
    )
    rows = (
        taken.values("currency")
        .annotate(n=Count("id", distinct=True), paid=Sum("fee"), off=Sum("discount"))
        .order_by("currency")
    )
    return [
        DiscountLine(
            row["currency"],
            row["n"],
            from_database_sum(row["paid"], row["currency"])
            + from_database_sum(row["off"], row["currency"]),
            from_database_sum(row["off"], row["currency"]),
        )
        for row in rows
    ]
