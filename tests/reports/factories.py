"""Money for the Prop Trading Dashboard's tests, each at a given moment: fees paid (first ones,
retries and resets), refunds, and payouts at each of their steps with their Profit Share entries.
They are made straight through the models and `wallet.ledger` (what the use cases write, not
the use cases: the payouts' are built elsewhere)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.db import transaction
from django.utils import timezone

from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Challenge, Participation, Payout, StageAttempt
from propdesk.challenges.participation.services import fee_revenue
from propdesk.core.money import quantize
from propdesk.platforms.sandbox.accounts import default_server
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry

D = Decimal
_T = JournalEntry.Type


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Everything made inside is made at `moment` (Django's clock, which `auto_now_add` and
    the ledger read)."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _fee(client, kind: str, amount: Decimal, currency: str) -> JournalEntry:
    return ledger.post(
        kind,
        [
            ledger.Line(ledger.wallet(client, currency), -amount),
            ledger.Line(fee_revenue(currency), amount),
        ],
        memo=f"{_T(kind).label} (test)",
        client=client,
    )


def bought(
    client, challenge: Challenge, *, when: datetime, retry_of: Participation | None = None
) -> Participation:
    """An active participation of `challenge`'s published version, its fee taken from the
    wallet at `when`: a Prop Trading Fee, or a Prop Retry Fee when it retries `retry_of`."""
    version = challenge.published()
    assert version is not None
    spec = version.spec
    with at(when), transaction.atomic():
        made = Participation.objects.create(
            client=client,
            challenge=challenge,
            version=version,
            status=Participation.Status.ACTIVE,
            payment=Participation.Payment.WALLET,
            fee=spec.fee,
            currency=spec.currency,
            retry_of=retry_of,
        )
        kind = _T.PROP_RETRY_FEE if retry_of else _T.PROP_TRADING_FEE
        made.fee_entry = _fee(client, kind, spec.fee, spec.currency)
        made.save(update_fields=["fee_entry"])
    return made


def refund(participation: Participation, *, when: datetime) -> JournalEntry:
    """The participation's fee back to the wallet: the reversal of its fee entry."""
    with at(when), transaction.atomic():
        participation.refund_entry = ledger.reverse(participation.fee_entry, actor=None)
        participation.save(update_fields=["refund_entry"])
    return participation.refund_entry


def live_stage(participation: Participation) -> StageAttempt:
    """A live (funded) stage of the participation, in progress."""
    return StageAttempt.objects.create(
        participation=participation, stage=0, kind=StageKind.LIVE, server=default_server()
    )


def reset(attempt: StageAttempt, fee: str, *, when: datetime) -> StageAttempt:
    """The stage started over at `when` for `fee` (a Prop Reset Fee entry from the wallet): the
    old attempt cancelled, the new one carrying the fee."""
    participation = attempt.participation
    with at(when), transaction.atomic():
        entry = _fee(participation.client, _T.PROP_RESET_FEE, D(fee), participation.currency)
        attempt.status, attempt.ended_at = StageAttempt.Status.CANCELLED, when
        attempt.save(update_fields=["status", "ended_at"])
        return StageAttempt.objects.create(
            participation=participation,
            stage=attempt.stage,
            kind=attempt.kind,
            server=attempt.server,
            reset_of=attempt,
            reset_fee_entry=entry,
        )


def undo(entry: JournalEntry, *, when: datetime) -> JournalEntry:
    """Undo an entry at `when` (a reset fee refunded, a profit share taken back)."""
    with at(when), transaction.atomic():
        return ledger.reverse(entry, actor=None)


def payout(
    attempt: StageAttempt,
    profit: str,
    *,
    requested: datetime,
    decided: datetime | None = None,
    paid: datetime | None = None,
    rejected: bool = False,
    share_pct: str = "80",
) -> Payout:
    """A payout of `profit` from the stage, requested at `requested`; approved (or rejected)
    at `decided`; paid at `paid`, with its Profit Share entry (the firm's account to the
    trader's wallet) made then."""
    participation = attempt.participation
    currency = participation.currency
    taken = D(profit)
    trader = quantize((taken * D(share_pct) / 100).quantize(D("0.01")), currency)
    status = Payout.Status.REQUESTED
    if decided is not None:
        status = Payout.Status.REJECTED if rejected else Payout.Status.APPROVED
    if paid is not None:
        status = Payout.Status.PAID
    with at(requested):
        made = Payout.objects.create(
            attempt=attempt,
            client=participation.client,
            status=status,
            currency=currency,
            profit=taken,
            share_pct=D(share_pct),
            trader_share=trader,
            firm_share=taken - trader,
            base_balance=D("100000.00"),
            period_start=requested - timedelta(days=14),
        )
    made.decided_at, made.paid_at = decided, paid
    if paid is not None:
        with at(paid), transaction.atomic():
            made.entry = ledger.post(
                _T.PROFIT_SHARE,
                [
                    ledger.Line(
                        ledger.firm_account("profit_shares", currency, "Profit shares paid"),
                        -trader,
                    ),
                    ledger.Line(ledger.wallet(participation.client, currency), trader),
                ],
                memo=f"Profit share of {made.reference} (test)",
                client=participation.client,
            )
    made.save(update_fields=["decided_at", "paid_at", "entry"])
    return made
