"""Paid second chances, each the client's own purchase from their wallet:

- **retry**: a failed participation whose version offers a retry (`ChallengeDefinition.retry`)
  is tried again, once. The retry is a new participation of the same version (`retry_of` the
  failed one), paid by one *Prop Retry Fee* entry, active at once (the firm approved the
  client's participation of this challenge already: no second approval) with a fresh first
  stage. Within `discount_days` of the failure the fee is `discount_pct` % lower.
- **reset**: a running demo stage whose version offers a reset (`ChallengeDefinition.reset`)
  starts over: one *Prop Reset Fee* entry, the running attempt cancelled (its account closed
  to trading and its positions closed, through the platform outbox) and a new attempt of the
  same stage opened on a fresh account at the stage's starting balance (`reset_of` the old).

Each is one transaction under the client's row lock (the lock every purchase of theirs and
every suspension takes first), so a double submit finds what the first made and charges
nothing more, and a purchase racing another never overdraws. A retried request with the same
`Idempotency-Key` gets the first result back. What the platform must do (open the new account,
close the old one) is written as outbox commands and carried out after the commit.

The firm's choices (docs/retry-and-reset.md): an ended challenge sells no retries (a retry is a
new participation, and an ended challenge takes none) but its running stages may still be
reset; a live (funded) stage, a stage on hold (the client suspended), one the monitor set
aside and one whose account is not open yet are never reset; a paused stage may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from propdesk.accounts import mail
from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue.definition import OnBreach, StageKind
from propdesk.challenges.growth import commission
from propdesk.challenges.models import Challenge, Participation, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from propdesk.challenges.participation import lifecycle, stage_accounts
from propdesk.challenges.participation.services import fee_revenue
from propdesk.core import idempotency
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import quantum
from propdesk.core.numbers import NotANumber, read_decimal
from propdesk.core.templatetags.money import money
from propdesk.core.validation import parse_id
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry

# What the trader reads of a stage they reset.
RESET_EXPLANATION = "You reset this stage: this account was closed and the stage started over."


# --- what a retry costs ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPrice:
    """What a retry costs now: `fee`, the offer's `full_fee` less the discount while it lasts
    (`discount_pct` and `discount_until` are then set)."""

    fee: Decimal
    full_fee: Decimal
    currency: str
    discount_pct: Decimal | None = None
    discount_until: datetime | None = None


def failed_at(participation: Participation) -> datetime:
    """When the participation failed: its last stage's end, or the refusal of the next stage
    it waited for (a live step rejected), whichever is later."""
    ends = [a.ended_at for a in participation.attempts.all() if a.ended_at is not None]
    refused = ApprovalRequest.objects.filter(
        type_key__in=(lifecycle.STAGE_PROGRESSION, lifecycle.LIVE_STEP),
        payload__participation_id=participation.pk,
        status=ApprovalRequest.Status.REJECTED,
    ).aggregate(at=Max("decided_at"))["at"]
    return max([*ends, *([refused] if refused else [])], default=participation.created_at)


def retry_price(participation: Participation, now: datetime | None = None) -> RetryPrice | None:
    """The price of retrying the participation now, by its version's offer (None: no offer).
    A discounted fee is rounded to the cent (half up), never below the currency's smallest
    unit: a retry is always a paid entry."""
    offer = participation.version.spec.retry
    if offer is None:
        return None
    currency = participation.currency
    full = offer.fee
    if offer.discount_pct is None or offer.discount_days is None:
        return RetryPrice(fee=full, full_fee=full, currency=currency)
    until = failed_at(participation) + timedelta(days=offer.discount_days)
    if (now or timezone.now()) > until:
        return RetryPrice(fee=full, full_fee=full, currency=currency)
    unit = quantum(currency)
    lowered = (full * (100 - offer.discount_pct) / 100).quantize(unit, rounding=ROUND_HALF_UP)
    return RetryPrice(
        fee=max(lowered, unit),
        full_fee=full,
        currency=currency,
        discount_pct=offer.discount_pct,
        discount_until=until,
    )


def retry_refusal(participation: Participation, retried: bool) -> str:
    """Why the participation cannot be retried (what `retry` would say), or "" when it can:
    for pages that offer the button only where it works. `retried`: a retry of it exists."""
    if participation.version.spec.retry is None:
        return "This challenge offers no retry."
    if participation.status != Participation.Status.FAILED:
        return "Only a failed challenge can be retried."
    if retried:
        return "This challenge was retried already."
    if participation.challenge.status != Challenge.Status.PUBLISHED:
        return "This challenge has ended: it is no longer sold, retries included."
    if not _offered(participation.client, participation.challenge_id):
        return NOT_OFFERED
    return ""


NOT_OFFERED = "This challenge is no longer offered to you: it is not sold to you, retries included."


def _offered(client: Client, challenge_id: int) -> bool:
    """Whether the challenge is still offered to the client (their group's catalogue): a
    client moved out of the group a challenge is meant for buys no retry of it."""
    try:
        offering.offered_to(challenge_id, client)
    except NotFound:
        return False
    return True


def retried(participations: list[Participation]) -> dict[int, Participation]:
    """The retries of these participations (one query): failed id -> its retry."""
    found = Participation.objects.filter(retry_of__in=[p.pk for p in participations])
    return {p.retry_of_id: p for p in found if p.retry_of_id is not None}


@dataclass(frozen=True)
class Offers:
    """What the client may buy for a participation now, for its pages: a retry (its price) or
    a reset of the running stage (its fee); and the retry made of it, if any."""

    retry: RetryPrice | None = None
    reset_fee: Decimal | None = None
    retried_by: Participation | None = None


def offers_for(participation: Participation, retried_by: Participation | None) -> Offers:
    """The participation's offers now (`retried_by` from `retried`)."""
    retry = None
    if not retry_refusal(participation, retried_by is not None):
        retry = retry_price(participation)
    offer = participation.version.spec.reset
    attempt = participation.current_attempt()
    fee = offer.fee if offer is not None and not reset_refusal(participation, attempt) else None
    return Offers(retry=retry, reset_fee=fee, retried_by=retried_by)


@dataclass(frozen=True)
class Reset:
    """A stage of the participation reset by its client: the attempt cancelled, the one that
    started over, when, and the fee paid."""

    number: int
    cancelled: StageAttempt
    fresh: StageAttempt
    fee: Decimal


def resets_of(participation: Participation) -> list[Reset]:
    """The participation's paid resets, oldest first (its attempts prefetched, one query for
    the fees)."""
    attempts = {a.pk: a for a in participation.attempts.all()}
    fresh = [a for a in attempts.values() if a.reset_of_id in attempts]
    paid = dict(
        ledger.Posting.objects.filter(
            entry_id__in=[a.reset_fee_entry_id for a in fresh], client__isnull=False
        ).values_list("entry_id", "amount")
    )
    return [
        Reset(
            number=a.stage + 1,
            cancelled=attempts[a.reset_of_id],
            fresh=a,
            fee=-paid.get(a.reset_fee_entry_id or 0, Decimal(0)),
        )
        for a in sorted(fresh, key=lambda a: a.pk)
        if a.reset_of_id is not None
    ]


# --- retrying a failed participation --------------------------------------------------------


def retry(
    client: Client, participation_id: Any, *, fee: Any = None, idempotency_key: Any = None
) -> Participation:
    """Try a failed participation again, once, paying the retry fee from the wallet; returns
    the new participation (the first one again for a repeated `idempotency_key`). `fee` is the
    price the client was shown (the portal's button, the API's `retry.fee`): when the price is
    no longer that (the discount ended meanwhile) nothing is charged (`price_changed`)."""
    wanted = parse_id(participation_id)
    if wanted is None:
        raise NotFound(gettext("No such participation."))
    agreed = _agreed_fee(fee)
    # The same keys as a purchase: a key reused for anything else is refused.
    key = idempotency.owned_key(f"client:{client.pk}:participation", idempotency_key)
    asked = idempotency.fingerprint("retry", wanted)
    with transaction.atomic():
        # The client's purchases and their suspension queue here (read afresh under it).
        me = Client.objects.select_for_update().get(pk=client.pk)
        earlier = idempotency.replay(key, asked, Participation)
        if earlier is not None:
            return earlier
        failed = (
            Participation.objects.select_for_update(of=("self",))
            .select_related("version", "challenge")
            .filter(pk=wanted, client=me)
            .first()
        )
        if failed is None:
            raise NotFound(gettext("No such participation."))
        _refuse_inactive(me)
        kyc.require_kyc(me, kyc_actions.JOIN_CHALLENGE)
        already = Participation.objects.filter(retry_of=failed).first()
        if already is not None:
            raise Conflict(
                f"This challenge was retried already, as {already.reference}.",
                code="already_retried",
                extra={"retry": already.pk},
            )
        if failed.status != Participation.Status.FAILED:
            raise Conflict(
                "Only a failed challenge can be retried; this one is "
                f"{failed.get_status_display().lower()}.",
                code="not_failed",
            )
        price = retry_price(failed)
        if price is None:
            raise Conflict(gettext("This challenge offers no retry."), code="no_retry_offer")
        if agreed is not None and agreed != price.fee:
            now = f"{money(price.fee, price.currency)} {price.currency}"
            raise Conflict(
                f"The retry now costs {now}, not the "
                f"{money(agreed, price.currency)} {price.currency} shown"
                + (" (its discount has ended)" if price.discount_pct is None else "")
                + f": nothing was charged. Retry again to pay {now}.",
                code="price_changed",
                extra={"fee": str(price.fee)},
            )
        challenge = Challenge.objects.select_for_update().get(pk=failed.challenge_id)
        if challenge.status != Challenge.Status.PUBLISHED:
            raise Conflict(
                gettext("This challenge has ended: it is no longer sold, retries included."),
                code="challenge_ended",
            )
        if not _offered(me, challenge.pk):
            raise Conflict(NOT_OFFERED, code="not_offered")
        made = Participation.objects.create(
            client=me,
            challenge=challenge,
            version=failed.version,
            status=Participation.Status.ACTIVE,  # approved with the participation it retries
            payment=Participation.Payment.WALLET,
            fee=price.fee,
            currency=failed.currency,
            idempotency_key=key,
            fingerprint=asked,
            retry_of=failed,
        )
        commission.hold_upline(me)  # client rows before the shared accounts
        made.fee_entry = ledger.post(
            JournalEntry.Type.PROP_RETRY_FEE,
            [
                ledger.Line(ledger.wallet(me, made.currency), -price.fee),
                ledger.Line(fee_revenue(made.currency), price.fee),
            ],
            memo=f"Retry of {failed.reference}: {failed.version.spec.name}"
            + (f", {price.discount_pct}% off" if price.discount_pct is not None else ""),
            client_memo=_words(
                me,
                RETRY_WORDS if price.discount_pct is None else RETRY_OFF_WORDS,
                reference=failed.reference,
                challenge=failed.version.spec.name,
                pct=price.discount_pct,
            ),
            client=me,
        )
        made.save(update_fields=["fee_entry"])
        commission.earn(made)  # the IBs' share of the retry's fee, with it
        if made.version.spec.stages[0].is_live:
            # Live credentials are always a person's decision, a retry's too.
            approvals.submit(
                lifecycle.LIVE_STEP,
                client=me,
                payload={"participation_id": made.pk, "stage": 0},
                manual_only=True,
            )
        else:
            lifecycle.open_stage(made, 0)
    made.refresh_from_db()
    return made


def _agreed_fee(fee: Any) -> Decimal | None:
    """The price the client agreed to (None: not said), read before anything is locked."""
    if fee is None or fee == "":
        return None
    try:
        return read_decimal(fee)
    except NotANumber as exc:
        raise ValidationFailed(fields={"fee": f"The retry's price {exc.reason}"}) from exc


def _refuse_inactive(client: Client) -> None:
    if client.status != Client.Status.ACTIVE:
        raise Conflict(
            gettext(
                "Your account is suspended: your challenges are on hold until the firm "
                "reactivates it."
            ),
            code="client_suspended",
        )


# --- resetting a running stage --------------------------------------------------------------


def reset_refusal(participation: Participation, attempt: StageAttempt | None) -> str:
    """Why the stage cannot be reset now (what `reset` would say), or "" when it can."""
    if participation.version.spec.reset is None:
        return "This challenge offers no reset."
    if attempt is None or attempt.status != StageAttempt.Status.IN_PROGRESS:
        return "Only a running stage can be reset."
    if participation.status != Participation.Status.ACTIVE:
        return "Only a running challenge can be reset."
    if attempt.kind == StageKind.LIVE:
        return "A funded (live) stage cannot be reset."
    if attempt.held_after is not None:
        return "This stage is on hold while your account is suspended."
    if attempt.monitor_error:
        return "This stage is being checked by the firm: it cannot be reset now."
    if not attempt.login:
        return "This stage's account is still being prepared: it can be reset once it is open."
    return ""


def reset(
    client: Client, participation_id: Any, *, attempt_id: Any = None, idempotency_key: Any = None
) -> StageAttempt:
    """Start the participation's running demo stage over on a fresh account, paying the reset
    fee from the wallet; returns the new attempt (the first one again for a repeated
    `idempotency_key`). `attempt_id` names the stage the client saw (the portal's form): a
    stage reset already is then refused instead of the next one being reset too."""
    wanted = parse_id(participation_id)
    if wanted is None:
        raise NotFound(gettext("No such participation."))
    key = idempotency.owned_key(f"client:{client.pk}:reset", idempotency_key)
    asked = idempotency.fingerprint("reset", wanted)
    with transaction.atomic():
        me = Client.objects.select_for_update().get(pk=client.pk)
        earlier = idempotency.replay(key, asked, JournalEntry)
        if earlier is not None:
            return StageAttempt.objects.get(reset_fee_entry=earlier)
        seen = _stage_to_reset(me, wanted, attempt_id)
        # The monitor's order: the checkpoint of the stage's feed, the stage, its participation.
        locked_feed = checkpoints.feed_key(seen)
        checkpoints.lock(locked_feed)
        attempt = (
            StageAttempt.objects.select_for_update(of=("self",))
            .select_related("server")
            .get(pk=seen.pk)
        )
        participation = (
            Participation.objects.select_for_update(of=("self",))
            .select_related("version", "challenge")
            .get(pk=attempt.participation_id)
        )
        attempt.participation = participation
        _refuse_inactive(me)
        done = StageAttempt.objects.filter(reset_of=attempt).first()
        if done is not None:
            raise Conflict(
                f"Stage {attempt.stage + 1} was reset already.",
                code="already_reset",
                extra={"attempt": done.pk},
            )
        refusal = reset_refusal(participation, attempt)
        if refusal:
            code = (
                "no_reset_offer" if participation.version.spec.reset is None else "not_resettable"
            )
            raise Conflict(refusal, code=code)
        if checkpoints.feed_key(attempt) != locked_feed:  # its account opened meanwhile
            raise Conflict(gettext("The stage changed meanwhile: try again."))
        return _start_over(me, participation, attempt, key, asked)


def _stage_to_reset(client: Client, participation_id: int, attempt_id: Any) -> StageAttempt:
    """The stage the client means (read without a lock: the caller locks it in order)."""
    participation = (
        Participation.objects.filter(pk=participation_id, client=client)
        .prefetch_related("attempts")
        .first()
    )
    if participation is None:
        raise NotFound(gettext("No such participation."))
    if attempt_id not in (None, ""):
        wanted = parse_id(attempt_id)
        found = next((a for a in participation.attempts.all() if a.pk == wanted), None)
        if found is None:
            raise NotFound(gettext("No such stage of this participation."))
        return found
    current = participation.current_attempt()
    if current is None:
        raise Conflict(gettext("No stage of this challenge has opened yet."), code="not_resettable")
    return current


def _start_over(
    client: Client,
    participation: Participation,
    attempt: StageAttempt,
    key: str | None,
    asked: str,
) -> StageAttempt:
    offer = participation.version.spec.reset
    assert offer is not None
    currency = participation.currency
    number = attempt.stage + 1
    name = participation.version.spec.stages[attempt.stage].name
    # The fee first: short of money, nothing else is written.
    entry = ledger.post(
        JournalEntry.Type.PROP_RESET_FEE,
        [
            ledger.Line(ledger.wallet(client, currency), -offer.fee),
            ledger.Line(fee_revenue(currency), offer.fee),
        ],
        memo=f"Reset of stage {number} ({name}) of {participation.reference}",
        client_memo=_words(client, RESET_WORDS, number=number, name=name),
        client=client,
        idempotency_key=key,
        request_fingerprint=asked,
    )
    lifecycle.move_stage(attempt, StageAttempt.Status.CANCELLED)
    attempt.explanation = RESET_EXPLANATION
    attempt.staff_note = f"Reset by the client for {money(offer.fee, currency)} {currency}."
    attempt.save()
    # Its account opens no position and its open ones are closed, whatever the challenge does
    # on a breach: the trader paid to leave it.
    stage_accounts.end(attempt, OnBreach.CLOSE, reason=f"stage {number} reset by the client")
    checkpoints.changed(attempt)  # the monitor drops it before its next batch
    return lifecycle.open_stage(
        participation, attempt.stage, reset_of=attempt, reset_fee_entry=entry
    )


RETRY_WORDS = gettext_noop(
    "Retry of %(reference)s: %(challenge)s"
)  # a wallet line, in the client's language
RETRY_OFF_WORDS = gettext_noop("Retry of %(reference)s: %(challenge)s, %(pct)s%% off")
RESET_WORDS = gettext_noop("Reset of stage %(number)s (%(name)s)")


def _words(client: Client, text: str, **values: object) -> str:
    """A wallet line's words for the client, in their language (the memo is the firm's)."""
    with mail.in_language_of(client.user):
        return gettext(text) % values
