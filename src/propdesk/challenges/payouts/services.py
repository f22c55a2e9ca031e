"""A funded trader's payouts: asked for in the portal or the API, decided in the approval
engine (`prop_payout`), paid by taking the profit off the trading account and crediting the
trader's share to their wallet.

- `request_payout` checks the schedule's conditions (payouts.eligibility) and opens the
  request; refused, it says which condition and its figure, and nothing is kept.
- On approval (`approve`) the profit, as the stage's figures show it then (never more than was
  asked), is written as a balance operation for the platform (the outbox carries it out after
  the commit, once, under the payout's key). The platform's balance event reaches the stage's
  evaluator as money moved by the firm, not trading: it neither breaches nor passes anything.
- When the platform has done it (`taken`, the outbox's hook, in the transaction that records
  it), the trader's share is credited to the wallet as one Profit Share entry and the payout is
  paid.
- A rejection keeps its reason for the trader; nothing moves.
- A balance operation the platform refused and staff cancelled (`untaken`, the outbox's hook):
  nothing was taken off, so nothing is paid; the payout is cancelled and the trader may ask
  again.

Locks follow the monitor's order: the stage's feed checkpoint, then the stage, then the payout.
A payout racing a breach: whichever commits first wins; an approval after the breach is refused,
and the breach withdraws the stage's pending payout requests after it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue.definition import PayoutSchedule, StageKind
from propdesk.challenges.catalogue.offers import DEFAULT_SCHEDULE
from propdesk.challenges.certificates import services as certificates
from propdesk.challenges.models import Participation, Payout, StageAttempt
from propdesk.challenges.monitoring import checkpoints, progress
from propdesk.challenges.participation import stage_accounts
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts.eligibility import Eligibility, History, Standing
from propdesk.core import idempotency
from propdesk.core.errors import Conflict, DomainError, NotFound
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.validation import parse_id
from propdesk.notifications import events
from propdesk.onboarding import kyc, kyc_actions
from propdesk.platforms import adapters, outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import PlatformError
from propdesk.rules.days import Calendar
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry

PAYOUT = "prop_payout"
TAKEN = "challenges.payout_taken"
APPROVED = (Payout.Status.APPROVED, Payout.Status.PAID)


class NotEligible(DomainError):
    code = "payout_not_eligible"
    status = 409
    default_message = gettext_lazy("A payout cannot be requested yet.")


def schedule_of(participation: Participation) -> PayoutSchedule:
    return participation.version.spec.payouts or DEFAULT_SCHEDULE


def _zone(participation: Participation) -> ZoneInfo:
    return ZoneInfo(participation.version.spec.time_zone)


# --- what the payout is measured on --------------------------------------------------------------


def standing(attempt: StageAttempt) -> Standing:
    """The stage's figures as the monitor last read them."""
    evaluator = progress.evaluator_for(attempt)
    shown = evaluator.figures()
    counted = evaluator.state().get("counted", [])
    return Standing(
        balance=shown.balance,
        equity=shown.equity,
        initial=evaluator.rules.initial_balance,
        moved=shown.moved,
        counted_days=tuple(date.fromisoformat(day) for day, _ in counted),
    )


@dataclass(frozen=True)
class Account:
    """What the platform says of the account now (None: it could not be read)."""

    open_positions: int | None
    deals: tuple[tuple[datetime, Decimal], ...] | None


def read_account(attempt: StageAttempt) -> Account:
    """Ask the platform (never inside one of our transactions: a slow platform holds no lock)."""
    if not attempt.login:
        return Account(0, ())
    platform = adapters.platform(attempt.server)
    try:
        positions: int | None = len(platform.account_state(attempt.login).positions)
    except PlatformError:
        positions = None
    try:
        deals: tuple[tuple[datetime, Decimal], ...] | None = tuple(
            (deal.at, deal.profit)
            for deal in platform.trade_history(attempt.login)
            if deal.entry == "out"
        )
    except PlatformError:
        deals = None
    return Account(positions, deals)


def _history(attempt: StageAttempt, account: Account) -> History:
    approved = attempt.payouts.filter(status__in=APPROVED)
    last = approved.order_by("-requested_at").values_list("requested_at", flat=True).first()
    paid_out = approved.aggregate(total=Sum("profit"))["total"] or Decimal(0)
    since = last or attempt.started_at
    rules = progress.rules_for(attempt)
    calendar = Calendar(rules.zone, rules.reset_time)
    days = (
        None
        if account.deals is None
        else eligibility.day_profits(account.deals, since=since, day_of=calendar.day_of)
    )
    return History(
        live_start=attempt.started_at,
        previous_request=last,
        paid_out=paid_out,
        open_positions=account.open_positions,
        day_profits=days,
        period_day=calendar.day_of(since),  # a day ends at the rules' reset, not at midnight
    )


def check(attempt: StageAttempt, account: Account, *, now: datetime | None = None) -> Eligibility:
    participation = attempt.participation
    stage = participation.version.spec.stages[attempt.stage]
    return eligibility.evaluate(
        schedule_of(participation),
        share_pct=stage.profit_share_pct or Decimal(0),
        currency=participation.currency,
        standing=standing(attempt),
        history=_history(attempt, account),
        zone=_zone(participation),
        now=now or timezone.now(),
    )


# --- the trader's side ---------------------------------------------------------------------------


def live_stage(client: Client, participation_id: Any) -> StageAttempt:
    """The client's running live stage of this participation (404 for anyone else's)."""
    wanted = parse_id(participation_id)
    attempt = (
        StageAttempt.objects.select_related("participation__version", "server")
        .filter(participation_id=wanted, participation__client=client)
        .order_by("-stage", "-id")
        .first()
        if wanted is not None
        else None
    )
    if attempt is None:
        raise NotFound(gettext("No such participation."))
    return attempt


SET_ASIDE = gettext_noop("This stage is being checked by the firm: payouts wait until it is done.")


def measured(attempt: StageAttempt) -> bool:
    """Whether the stage's payout figures can be shown: a live stage the monitor reads (one it
    set aside may have a state it cannot read, and its figures stand still)."""
    return attempt.kind == StageKind.LIVE and not attempt.monitor_error


def refusal(attempt: StageAttempt) -> str:
    """Why no payout can be asked for on this stage at all ("" when one can)."""
    if attempt.kind != StageKind.LIVE:
        return gettext("Payouts are made from a live (funded) stage.")
    if attempt.status != StageAttempt.Status.IN_PROGRESS:
        return gettext("The stage is %(status)s: it pays out no more.") % {
            "status": str(attempt.get_status_display()).lower()
        }
    if not attempt.login:
        return gettext("The stage's account is being prepared.")
    if attempt.held_after is not None or stage_accounts.client_suspended(
        attempt.participation.client_id
    ):
        return gettext("Your account is suspended: payouts wait until it is reactivated.")
    if attempt.monitor_error:
        return gettext(SET_ASIDE)
    pending = attempt.payouts.filter(status__in=Payout.OPEN).first()
    if pending is not None:
        said = {
            "reference": pending.reference,
            "status": str(pending.get_status_display()).lower(),
        }
        if pending.status == Payout.Status.APPROVED:
            return (
                gettext(
                    "Payout %(reference)s is %(status)s: one at a time, so the next one can be "
                    "asked for once it is paid."
                )
                % said
            )
        return (
            gettext(
                "Payout %(reference)s is %(status)s: one at a time, so the next one can be "
                "asked for once it is paid or rejected."
            )
            % said
        )
    return kyc.refusal(attempt.participation.client, kyc_actions.REQUEST_PAYOUT)


def request_payout(client: Client, participation_id: Any, *, idempotency_key: Any = None) -> Payout:
    """Ask for a payout of the profit so far; refused (and nothing kept) unless every condition
    of the schedule is met. A retry with the same key answers the first payout."""
    attempt = live_stage(client, participation_id)
    key = idempotency.owned_key(f"client:{client.pk}:payout", idempotency_key)
    asked = idempotency.fingerprint(attempt.participation_id)
    account = read_account(attempt)  # before the transaction: the platform holds no lock
    with transaction.atomic():
        # A suspension's order: the client, then its stages (the payout's and its request's
        # keys lock the client's row at the commit: taken first, it is never the other way).
        Client.objects.select_for_update().filter(pk=client.pk).first()
        attempt = _locked(attempt.pk)
        earlier = idempotency.replay(key, asked, Payout)
        if earlier is not None:
            return earlier
        kyc.require_kyc(client, kyc_actions.REQUEST_PAYOUT)
        refused = refusal(attempt)
        if refused:
            raise Conflict(refused)
        found = check(attempt, account)
        if not found.eligible:
            raise NotEligible(
                gettext("A payout cannot be requested yet: %(why)s.") % {"why": found.why_not()},
                extra={"eligibility": found.to_json()},
            )
        payout = Payout.objects.create(
            attempt=attempt,
            client=client,
            currency=found.currency,
            profit=found.profit,
            share_pct=found.share_pct,
            trader_share=found.trader_share,
            firm_share=found.firm_share,
            base_balance=standing(attempt).initial,
            period_start=found.period_start,
            figures=found.to_json(),
            idempotency_key=key,
            fingerprint=asked,
        )
        approvals.submit(
            PAYOUT,
            client=client,
            payload={"payout_id": payout.pk, "participation_id": attempt.participation_id},
            amount=payout.trader_share,
            currency=payout.currency,
        )
    payout.refresh_from_db()
    return payout


def _locked(attempt_id: int) -> StageAttempt:
    """The stage locked in the monitor's order (its feed's checkpoint first)."""
    attempt = StageAttempt.objects.get(pk=attempt_id)
    if attempt.login:
        checkpoints.lock_for(attempt)
    return (
        StageAttempt.objects.select_for_update(of=("self",))
        .select_related("participation__version", "participation__client__user", "server")
        .get(pk=attempt_id)
    )


def for_participation(client: Client, participation_id: Any) -> list[Payout]:
    attempt = live_stage(client, participation_id)
    return list(
        Payout.objects.filter(attempt__participation_id=attempt.participation_id).order_by(
            "-requested_at", "-id"
        )
    )


# --- the approval engine's handlers ---------------------------------------------------------------


def _payout_of(request: ApprovalRequest) -> Payout:
    return Payout.objects.select_for_update().get(pk=request.payload["payout_id"])


def approve(request: ApprovalRequest, actor: User | None) -> None:
    """Pay out the profit as the stage shows it now, at most what was asked: the balance
    operation goes to the platform after the commit; the share is credited once it is done."""
    attempt_id = Payout.objects.values_list("attempt_id", flat=True).get(
        pk=request.payload["payout_id"]
    )
    attempt = _locked(attempt_id)
    payout = _payout_of(request)  # (locked after the stage: the monitor's order)
    if attempt.status != StageAttempt.Status.IN_PROGRESS:
        raise Conflict(
            f"The stage is {attempt.get_status_display().lower()} since the request: nothing "
            "is paid. Reject the request with that reason."
        )
    if payout.status != Payout.Status.REQUESTED:
        raise Conflict(f"Payout {payout.reference} is {payout.get_status_display().lower()}.")
    # The monitor does not read a held or set-aside stage: its figures stand still, and a
    # breach found once it reads it again may date from before this decision.
    if attempt.held_after is not None:
        raise Conflict(
            gettext(
                "The client is suspended: the stage is on hold and its figures stand still. "
                "Decide once the client is reactivated."
            )
        )
    if attempt.monitor_error:
        raise Conflict(
            gettext(
                "The monitor set the stage aside (Prop Trading > Monitor says why): its "
                "figures are being checked. Decide once it is watched again."
            )
        )
    paid_out = attempt.payouts.filter(status__in=APPROVED).aggregate(total=Sum("profit"))
    now_profit = eligibility.unpaid_profit(
        standing(attempt), paid_out["total"] or Decimal(0), payout.currency
    )
    profit = min(payout.profit, now_profit)
    trader, firm = eligibility.split(max(profit, Decimal(0)), payout.share_pct, payout.currency)
    schedule = schedule_of(attempt.participation)
    if profit <= 0 or trader < schedule.min_payout or trader <= 0:
        raise Conflict(
            f"Since the request the account's unpaid profit fell to "
            f"{money(now_profit, payout.currency)} {payout.currency}: a share of "
            f"{money(trader, payout.currency)} is below what is paid out. Reject the request."
        )
    if profit != payout.profit:
        payout.figures = {**payout.figures, "asked_profit": str(payout.profit)}
    payout.profit, payout.trader_share, payout.firm_share = profit, trader, firm
    move_status(payout, Payout.Status.APPROVED, Payout.TRANSITIONS, what="payout")
    payout.decided_at = timezone.now()
    payout.save()
    outbox.balance(
        attempt.server,
        subject=attempt.subject,
        amount=-profit,
        comment=f"Payout {payout.reference}",
        key=f"payout:{payout.pk}",
        login=attempt.login,
        then=TAKEN,
    )


def reject(request: ApprovalRequest, actor: User | None) -> None:
    payout = _payout_of(request)
    move_status(payout, Payout.Status.REJECTED, Payout.TRANSITIONS, what="payout")
    payout.reason = request.rejection_reason
    payout.decided_at = timezone.now()
    payout.save(update_fields=["status", "reason", "decided_at"])


def event_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided payout's event names the trader's share (what reaches their wallet once the
    profit is taken off the trading account) and the profit it is a share of."""
    payout = Payout.objects.get(pk=request.payload["payout_id"])
    return {"amount": payout.trader_share, "currency": payout.currency, "profit": payout.profit}


def _payout_of_command(command: PlatformCommand) -> Payout:
    """The payout whose balance operation `command` is (its key: `balance:payout:<id>`), locked."""
    return (
        Payout.objects.select_for_update(of=("self",))  # the payout's row, not the joined ones
        .select_related("client__user", "attempt__participation")
        .get(pk=int(command.key.removeprefix("balance:payout:")))
    )


def taken(command: PlatformCommand, credentials: object) -> None:
    """The outbox's hook: the platform took the profit off; the share goes to the wallet."""
    payout = _payout_of_command(command)
    if payout.status != Payout.Status.APPROVED:
        return
    entry = ledger.post(
        JournalEntry.Type.PROFIT_SHARE,
        [
            ledger.Line(
                ledger.firm_account("profit_share", payout.currency, "Profit shares paid"),
                -payout.trader_share,
            ),
            ledger.Line(ledger.wallet(payout.client, payout.currency), payout.trader_share),
        ],
        memo=f"Payout {payout.reference}: {payout.share_pct.normalize():f}% of "
        f"{payout.profit} {payout.currency} profit on account {command.login}",
        client_memo=f"Profit share, payout {payout.reference}",
        client=payout.client,
        idempotency_key=f"payout:{payout.pk}",
    )
    move_status(payout, Payout.Status.PAID, Payout.TRANSITIONS, what="payout")
    payout.entry, payout.paid_at = entry, timezone.now()
    payout.save(update_fields=["status", "entry", "paid_at"])
    certificates.issue_for_payout(payout)  # the trader's proof of being paid
    _tell(payout, "payout.paid", profit=payout.profit)


def untaken(command: PlatformCommand) -> None:
    """The outbox's hook for a balance operation given up (staff cancelled it after the
    platform refused it): the profit was never taken off the account, so nothing is paid and
    the payout is cancelled; its profit counts as unpaid again and the trader may ask again."""
    payout = _payout_of_command(command)
    if payout.status != Payout.Status.APPROVED:
        return
    move_status(payout, Payout.Status.CANCELLED, Payout.TRANSITIONS, what="payout")
    payout.reason = (
        "The platform did not take the profit off the trading account (its balance operation "
        "was cancelled): nothing was paid. You may ask again."
    )
    payout.save(update_fields=["status", "reason"])
    _tell(payout, "payout.failed")


def _tell(payout: Payout, key: str, **data: object) -> None:
    """The trader hears what became of an approved payout (`payout.paid`, `payout.failed`), in
    the transaction that recorded it: the portal notification, the email and the webhooks."""
    events.emit(
        key,
        user=payout.client.user,
        data={
            "reference": payout.reference,
            "amount": payout.trader_share,
            "currency": payout.currency,
            **data,
        },
    )


def withdraw_for_ended(attempt_id: int) -> int:
    """The stage ended: its payouts still waiting for a decision are cancelled, with their
    requests (run after the ending commits). Returns how many."""
    with transaction.atomic():
        waiting = ApprovalRequest.objects.filter(
            type_key=PAYOUT,
            status=ApprovalRequest.Status.PENDING,
            payload__payout_id__in=list(
                Payout.objects.filter(
                    attempt_id=attempt_id, status=Payout.Status.REQUESTED
                ).values_list("pk", flat=True)
            ),
        )
        count = approvals.cancel_pending(
            waiting, actor=None, text="The stage ended before a decision: nothing is paid."
        )
        for payout in Payout.objects.select_for_update().filter(
            attempt_id=attempt_id, status=Payout.Status.REQUESTED
        ):
            move_status(payout, Payout.Status.CANCELLED, Payout.TRANSITIONS, what="payout")
            payout.reason = "The stage ended before a decision."
            payout.decided_at = timezone.now()
            payout.save(update_fields=["status", "reason", "decided_at"])
    return count
