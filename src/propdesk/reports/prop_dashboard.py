"""Prop Trading > Prop Trading Dashboard: what the challenges brought in, paid out and stand at,
over a period of days in the firm's time zone, for one challenge or all.

- fees collected: the fee entries (Prop Trading, Prop Retry and Prop Reset Fee) made in the
  period, and the refunds (their reversing entries) made in it, whenever the fee was paid;
- payouts requested, approved and paid in the period, each by its own time, and the broker's
  profit (the fees less the refunds less the profit shares paid), per challenge and in total:
  prop_money.py;
- participants by status: the participations that started in the period, as they stand now;
- pass rate per stage: the stage attempts concluded in the period, passed / (passed + failed);
- funded amount: the account sizes of the live stages in progress now (whatever the dates);
- the broker's loss on failures: over the stages failed in the period, equity at the failure
  minus the stage's initial balance.

Money is per currency and never added across currencies. Every figure is one aggregate query
(a count or a sum in the database, grouped by challenge version and stage where a stage's
account size is needed); the few versions involved are then read once. The equity at a failure
is the failed stage's saved evaluator state's equity, which is what `progress.figures` shows:
the monitor stops feeding a stage at its verdict, so it is the failing snapshot's equity (the
last one read, when a day-end rule failed the stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from propdesk.challenges.catalogue.definition import StageDefinition, StageKind
from propdesk.challenges.models import (
    Challenge,
    ChallengeVersion,
    Participation,
    Payout,
    StageAttempt,
)
from propdesk.core.errors import ValidationFailed
from propdesk.core.money import from_database_sum, quantize
from propdesk.core.validation import parse_id, search_text
from propdesk.reports import prop_money
from propdesk.reports import transactions as reports
from propdesk.reports.prop_money import DiscountLine, FeeLine, PayoutLine, ProfitLine

# Equity as the evaluator state keeps it (text), read as a number; summed exactly on
# PostgreSQL, to the cent on SQLite (core.money.from_database_sum).
_EQUITY = Cast(
    KeyTextTransform("equity", "evaluator_state"),
    DecimalField(max_digits=30, decimal_places=8),
)
_PCT = Decimal("0.1")


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class StageRate:
    challenge_id: int
    challenge: str  # its name
    stage: int  # the index into the version's stages
    stage_name: str
    kind: StageKind
    passed: int
    failed: int

    @property
    def label(self) -> str:
        """2-Step 100K · Stage 1 (Challenge)"""
        return f"{self.challenge} · Stage {self.stage + 1} ({self.stage_name})"

    @property
    def is_live(self) -> bool:
        return self.kind == StageKind.LIVE

    @property
    def concluded(self) -> int:
        return self.passed + self.failed

    @property
    def rate_pct(self) -> Decimal | None:
        """Passed per hundred concluded; none for a live stage, which never passes."""
        if self.is_live or not self.concluded:
            return None
        return (Decimal(self.passed * 100) / self.concluded).quantize(_PCT, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class FundedLine:
    currency: str
    accounts: int
    amount: Decimal


@dataclass(frozen=True)
class LossLine:
    currency: str
    failures: int
    demo: Decimal  # on demo stages' accounts
    live: Decimal  # on live (funded) stages' accounts

    @property
    def total(self) -> Decimal:
        return self.demo + self.live


@dataclass(frozen=True)
class Dashboard:
    date_from: date | None
    date_to: date | None
    challenge_id: int | None
    fees: list[FeeLine]
    statuses: list[StatusCount]
    stages: list[StageRate]
    funded: list[FundedLine]
    losses: list[LossLine]
    payouts: list[PayoutLine]  # per challenge and currency
    payout_totals: list[PayoutLine]  # per currency
    profit: list[ProfitLine]  # the broker's, per challenge and currency
    profit_totals: list[ProfitLine]  # per currency
    discounts: list[DiscountLine] = field(default_factory=list)  # coupons', per currency

    @property
    def participants(self) -> int:
        return sum(s.count for s in self.statuses)


# --- the filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    challenge_id: int | None = None


def parse_filters(params: Any) -> Filters:
    """The dates as Reports > Transactions reads them (same checks, same words), and the
    challenge by id; anything wrong is named."""
    errors: dict[str, str] = {}
    dates = reports.Filters()
    try:
        dates = reports.parse_filters(
            {"date_from": params.get("date_from"), "date_to": params.get("date_to")}
        )
    except ValidationFailed as exc:
        errors.update(exc.fields)
    raw = search_text(params.get("challenge"), max_length=20)
    challenge_id = parse_id(raw) if raw else None
    if raw and (challenge_id is None or not Challenge.objects.filter(pk=challenge_id).exists()):
        errors["challenge"] = "No such challenge."
    if errors:
        raise ValidationFailed("Some filters are not valid.", fields=errors)
    return Filters(dates.date_from, dates.date_to, challenge_id)


# --- the figures -----------------------------------------------------------------------------


def figures(date_from: date | None, date_to: date | None, challenge_id: int | None) -> Dashboard:
    """The dashboard's figures for the days from `date_from` to `date_to` (inclusive, either
    open) and one challenge (None: all). Reads only."""
    participations = Participation.objects.order_by()
    attempts = StageAttempt.objects.order_by()
    payouts = Payout.objects.order_by()
    if challenge_id is not None:
        participations = participations.filter(challenge_id=challenge_id)
        attempts = attempts.filter(participation__challenge_id=challenge_id)
        payouts = payouts.filter(attempt__participation__challenge_id=challenge_id)
    concluded = list(
        attempts.filter(
            reports.within_days("ended_at", date_from, date_to),
            status__in=[StageAttempt.Status.PASSED, StageAttempt.Status.FAILED],
        )
        # The challenge's name rides along (a version is of one challenge: no more groups).
        .values("participation__version_id", "participation__challenge__name", "stage", "kind")
        .annotate(
            passed=Count("id", filter=Q(status=StageAttempt.Status.PASSED)),
            failed=Count("id", filter=Q(status=StageAttempt.Status.FAILED)),
            # Failed stages with an equity to count: one failed before its first event
            # still stands at its initial balance (no loss).
            measured=Count(
                "id",
                filter=Q(status=StageAttempt.Status.FAILED, evaluator_state__has_key="equity"),
            ),
            equity=Sum(_EQUITY, filter=Q(status=StageAttempt.Status.FAILED)),
        )
    )
    funded = list(
        attempts.filter(kind=StageKind.LIVE, status=StageAttempt.Status.IN_PROGRESS)
        .values("participation__version_id", "stage")
        .annotate(n=Count("id"))
    )
    versions = _versions(
        [row["participation__version_id"] for row in concluded]
        + [row["participation__version_id"] for row in funded]
    )
    money = prop_money.money(participations, attempts, payouts, date_from, date_to)
    return Dashboard(
        date_from=date_from,
        date_to=date_to,
        challenge_id=challenge_id,
        fees=money.fees,
        statuses=_statuses(
            participations.filter(reports.within_days("created_at", date_from, date_to))
        ),
        stages=_stage_rates(concluded, versions),
        funded=_funded(funded, versions),
        losses=_losses(concluded, versions),
        payouts=money.payouts,
        payout_totals=money.payout_totals,
        profit=money.profit,
        profit_totals=money.profit_totals,
        discounts=prop_money.discounts(participations, date_from, date_to),
    )


def _versions(ids: Iterable[int]) -> dict[int, ChallengeVersion]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {v.pk: v for v in ChallengeVersion.objects.filter(pk__in=wanted).order_by()}


def _statuses(participations: QuerySet[Participation]) -> list[StatusCount]:
    counts = dict(participations.values_list("status").annotate(n=Count("id")))
    return [
        StatusCount(value, str(label), counts.get(value, 0))
        for value, label in Participation.Status.choices
    ]


def _stage(versions: dict[int, ChallengeVersion], version_id: int, index: int) -> StageDefinition:
    return versions[version_id].spec.stages[index]


def _currency(versions: dict[int, ChallengeVersion], version_id: int) -> str:
    return versions[version_id].spec.currency


def _stage_rates(
    concluded: list[dict[str, Any]], versions: dict[int, ChallengeVersion]
) -> list[StageRate]:
    """One line per challenge and stage, its versions together (a stage that is demo in one
    version and live in another makes two lines), named as the newest of them names it."""
    lines: dict[tuple[int, int, StageKind], dict[str, Any]] = {}
    for row in concluded:
        version = versions[row["participation__version_id"]]
        key = (version.challenge_id, row["stage"], StageKind(row["kind"]))
        line = lines.setdefault(
            key, {"name": row["participation__challenge__name"], "version": version, "n": [0, 0]}
        )
        line["n"][0] += row["passed"]
        line["n"][1] += row["failed"]
        if version.number > line["version"].number:
            line["version"] = version
    rates = [
        StageRate(
            challenge_id,
            line["name"],
            index,
            line["version"].spec.stages[index].name,
            kind,
            *line["n"],
        )
        for (challenge_id, index, kind), line in lines.items()
    ]
    return sorted(rates, key=lambda r: (r.challenge.casefold(), r.challenge_id, r.stage, r.kind))


def _funded(
    funded: list[dict[str, Any]], versions: dict[int, ChallengeVersion]
) -> list[FundedLine]:
    totals: dict[str, list[Any]] = {}
    for row in funded:
        version_id, index = row["participation__version_id"], row["stage"]
        currency = _currency(versions, version_id)
        tally = totals.setdefault(currency, [0, Decimal(0)])
        tally[0] += row["n"]
        tally[1] += row["n"] * _stage(versions, version_id, index).balance
    return [
        FundedLine(currency, accounts, quantize(amount, currency))
        for currency, (accounts, amount) in sorted(totals.items())
    ]


def _losses(
    concluded: list[dict[str, Any]], versions: dict[int, ChallengeVersion]
) -> list[LossLine]:
    totals: dict[str, dict[str, Any]] = {}
    for row in concluded:
        if not row["failed"]:
            continue
        version_id = row["participation__version_id"]
        currency = _currency(versions, version_id)
        balance = _stage(versions, version_id, row["stage"]).balance
        loss = from_database_sum(row["equity"], currency) - row["measured"] * balance
        tally = totals.setdefault(
            currency, {"failures": 0, StageKind.DEMO: Decimal(0), StageKind.LIVE: Decimal(0)}
        )
        tally["failures"] += row["failed"]
        tally[StageKind.LIVE if row["kind"] == StageKind.LIVE else StageKind.DEMO] += loss
    return [
        LossLine(
            currency,
            tally["failures"],
            quantize(tally[StageKind.DEMO], currency),
            quantize(tally[StageKind.LIVE], currency),
        )
        for currency, tally in sorted(totals.items())
    ]


# --- the page --------------------------------------------------------------------------------
