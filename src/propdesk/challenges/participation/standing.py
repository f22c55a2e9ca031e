"""Where a client stands, and the one next thing for them to do: the portal's home asks this.

`facts_for` reads what decides it (the client's status and KYC, the firm's KYC policy, their
participations and pending requests, the published challenges and their wallet); `decide` is
the decision itself, a pure function of those facts, in this order:

1. an account not active: wait for the registration's review, or contact the firm (suspended);
2. a stage in progress: trade it;
3. a direct purchase not paid yet: pay it;
4. a participation under review (joining, the next stage, the live step): wait, saying what
   and since when;
5. otherwise the client would start a challenge next: if the firm's KYC policy blocks joining
   (or the deposit they need first) and their KYC is not approved, verify identity (resubmit
   after a rejection; wait while it is reviewed);
6. a pending deposit they need: wait for it;
7. no challenge published: wait for one;
8. the wallet cannot pay any published challenge and none can be bought directly: deposit;
9. buy a challenge.

Reading only: nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from propdesk.accounts import zones
from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue.definition import PaymentWay
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.participation import lifecycle
from propdesk.challenges.participation import services as participation
from propdesk.core.templatetags.money import money
from propdesk.core.text import in_sentence
from propdesk.onboarding import kyc, kyc_actions
from propdesk.platforms.models import TradingServer
from propdesk.wallet import deposits, ledger
from propdesk.wallet.providers import registry

NEXT_STAGE = (lifecycle.STAGE_PROGRESSION, lifecycle.LIVE_STEP)
ABOUT_PARTICIPATIONS = (participation.PARTICIPATION, *NEXT_STAGE)


class Do(StrEnum):
    TRADE = "trade"
    PAY = "pay"
    WAIT = "wait"
    VERIFY = "verify"
    RESUBMIT = "resubmit"
    DEPOSIT = "deposit"
    BUY = "buy"


@dataclass(frozen=True)
class Waiting:
    """A pending request of the client's, as they read it."""

    what: str  # "Your live step in 2-Step 100K is under review"
    since: datetime
    kind: str  # the request type's key
    participation_id: int | None = None


@dataclass(frozen=True)
class Facts:
    client_status: str = Client.Status.ACTIVE
    kyc_status: str = Client.KycStatus.NOT_SUBMITTED
    kyc_blocks_join: bool = False
    kyc_blocks_deposit: bool = False
    kyc_blocks_trade: bool = False
    kyc_reason: str = ""  # why the last KYC submission was rejected
    trading: tuple[tuple[int, str], ...] = ()  # (participation, "2-Step 100K, stage 1 of 3")
    # Of those, the ones whose account the platform is still opening, and where each trades
    # when not in the sandbox's web terminal (participation: the trading server's name).
    preparing: frozenset[int] = frozenset()
    elsewhere: dict[int, str] = field(default_factory=dict)
    unpaid: tuple[tuple[int, str], ...] = ()  # (participation, its challenge's name)
    waiting: tuple[Waiting, ...] = ()  # every pending request, oldest first
    offered: bool = True  # some challenge is published
    direct_purchase: bool = False  # some published challenge can be paid by card
    wallet_can_pay: bool = False  # the wallet holds the fee of one payable from it
    any_participation: bool = False
    kyc_since: datetime | None = None  # when the pending KYC submission came in
    zone: ZoneInfo | None = None  # the client's, their times are written in (None: the current)


@dataclass(frozen=True)
class Step:
    do: Do
    title: str
    text: str
    url: str = ""
    action: str = ""  # the button's words
    since: datetime | None = None


def since_text(at: datetime, now: datetime | None = None, *, zone: ZoneInfo | None = None) -> str:
    """ "2026-12-05 23:02 JST (Asia/Tokyo), 3 h ago": in the reader's zone (the client's own;
    by default the one active for the request), named."""
    zone = zone or timezone.get_current_timezone()
    seconds = int(((now or timezone.now()) - at).total_seconds())
    ago = progress.duration_text(seconds)
    ago = gettext("just now") if seconds <= 0 else gettext("%(ago)s ago") % {"ago": ago}
    return f"{progress.instant_text(at, zone)}, {ago}"


def _wait(item: Waiting, zone: ZoneInfo | None) -> Step:
    url = (
        reverse("portal:my_challenge", kwargs={"participation_id": item.participation_id})
        if item.participation_id
        else ""
    )
    return Step(
        Do.WAIT,
        gettext("Waiting for us"),
        gettext("%(what)s, since %(since)s. We will tell you the outcome.")
        % {"what": item.what, "since": since_text(item.since, zone=zone)},
        url=url,
        action=gettext("See it") if url else "",
        since=item.since,
    )


def decide(f: Facts) -> Step:
    """The one next thing the client should do (the module's docstring gives the order)."""
    if f.client_status == Client.Status.PENDING_APPROVAL:
        return Step(
            Do.WAIT, gettext("Waiting for us"), gettext("Your registration is being reviewed.")
        )
    if f.client_status != Client.Status.ACTIVE:
        return Step(
            Do.WAIT,
            gettext("Your account is on hold"),
            gettext("Trading and payments are stopped for now: contact the firm's support."),
        )
    if f.trading and f.kyc_blocks_trade and f.kyc_status != Client.KycStatus.APPROVED:
        return _kyc_step(f, trade=True)  # every order is refused until then
    if f.trading:
        pid, what = f.trading[0]
        url = reverse("portal:my_challenge", kwargs={"participation_id": pid})
        if pid in f.preparing:
            return Step(
                Do.WAIT,
                gettext("Your account is being prepared"),
                gettext(
                    "%(what)s: its trading account is being opened; its credentials appear on "
                    "the challenge's page as soon as it is, usually within a minute."
                )
                % {"what": what},
                url=url,
                action=gettext("See it"),
            )
        where = f.elsewhere.get(pid)
        return Step(
            Do.TRADE,
            gettext("Trade your challenge"),
            (
                gettext(
                    "%(what)s is in progress: trade it on %(where)s with the stage's credentials."
                )
                % {"what": what, "where": where}
                if where
                else gettext(
                    "%(what)s is in progress: trade it in the web terminal with the stage's "
                    "credentials."
                )
                % {"what": what}
            ),
            url=url,
            action=gettext("Credentials") if where else gettext("Credentials and terminal"),
        )
    if f.unpaid:
        pid, name = f.unpaid[0]
        return Step(
            Do.PAY,
            gettext("Pay for your challenge"),
            gettext("%(name)s waits for your payment before its first stage opens.")
            % {"name": name},
            url=reverse("portal:my_challenge", kwargs={"participation_id": pid}),
            action=gettext("Pay now"),
        )
    for item in f.waiting:
        if item.kind in ABOUT_PARTICIPATIONS:
            return _wait(item, f.zone)
    need_deposit = f.offered and not f.direct_purchase and not f.wallet_can_pay
    kyc_needed = f.kyc_status != Client.KycStatus.APPROVED and (
        f.kyc_blocks_join or (need_deposit and f.kyc_blocks_deposit)
    )
    if kyc_needed:
        return _kyc_step(f, trade=False)
    deposit_waiting = [w for w in f.waiting if w.kind == deposits.DEPOSIT]
    if deposit_waiting and f.offered and not f.wallet_can_pay:  # the money is on its way
        return _wait(deposit_waiting[0], f.zone)
    if not f.offered:
        return Step(
            Do.WAIT,
            gettext("No challenge is open right now"),
            gettext("The firm has no challenge on offer at the moment: look again soon."),
        )
    if need_deposit:
        return Step(
            Do.DEPOSIT,
            gettext("Deposit to your wallet"),
            gettext("Challenge fees are paid from your wallet, and it does not hold any fee yet."),
            url=reverse("portal:deposit"),
            action=gettext("Deposit"),
        )
    return Step(
        Do.BUY,
        gettext("Start a new challenge")
        if f.any_participation
        else gettext("Buy your first challenge"),
        gettext("Choose a challenge and pay its fee from your wallet.")
        if f.wallet_can_pay
        else gettext("Choose a challenge and pay its fee by card."),
        url=reverse("portal:challenges"),
        action=gettext("See the challenges"),
    )


def _kyc_step(f: Facts, *, trade: bool) -> Step:
    """Wait for the identity check, resubmit it or send it, so as to be allowed to trade the
    challenge (`trade`) or to start one."""
    if f.kyc_status == Client.KycStatus.PENDING:
        return _wait(
            Waiting(
                gettext("Your identity check is being reviewed"),
                f.kyc_since or timezone.now(),
                "kyc",
            ),
            f.zone,
        )
    if f.kyc_status == Client.KycStatus.REJECTED:
        reason = f" ({f.kyc_reason})" if f.kyc_reason else ""
        text = (
            gettext(
                "Your identity check was not approved%(reason)s: send it again to "
                "trade your challenge."
            )
            if trade
            else gettext(
                "Your identity check was not approved%(reason)s: send it again to "
                "start a challenge."
            )
        )
        return Step(
            Do.RESUBMIT,
            gettext("Resubmit your identity documents"),
            text % {"reason": reason},
            url=reverse("portal:kyc"),
            action=gettext("Resubmit"),
        )
    return Step(
        Do.VERIFY,
        gettext("Verify your identity"),
        gettext("The firm verifies every trader's identity before they trade your challenge.")
        if trade
        else gettext("The firm verifies every trader's identity before they start a challenge."),
        url=reverse("portal:kyc"),
        action=gettext("Verify identity"),
    )


# --- the facts, as the database has them ------------------------------------------------------


def stage_text(item: Participation, attempt: StageAttempt) -> str:
    stages = item.version.spec.stages
    return gettext("%(challenge)s, stage %(number)s of %(count)s (%(stage)s)") % {
        "challenge": item.version.spec.name,
        "number": attempt.stage + 1,
        "count": len(stages),
        "stage": stages[attempt.stage].name,
    }


def waiting_of(request: ApprovalRequest, named: dict[int, Participation]) -> Waiting:
    """How a pending request reads to its client."""
    pid = request.payload.get("participation_id") if request.payload else None
    item = named.get(pid) if isinstance(pid, int) else None
    name = item.version.spec.name if item else gettext("your challenge")
    key = request.type_key
    if key == participation.PARTICIPATION:
        what = gettext("Your participation in %(name)s is being reviewed") % {"name": name}
    elif (
        key in NEXT_STAGE
        and item is not None
        and 0 <= (number := int(request.payload.get("stage", 0))) < len(item.version.spec.stages)
    ):
        stage = item.version.spec.stages[number]
        said = {"name": name, "number": number + 1, "stage": stage.name}
        what = (
            gettext("Your live step in %(name)s (stage %(number)s: %(stage)s) is under review")
            if key == lifecycle.LIVE_STEP
            else gettext(
                "Your next stage in %(name)s (stage %(number)s: %(stage)s) is under review"
            )
        ) % said
    elif request.amount is not None:
        amount = f"{money(request.amount, request.currency)} {request.currency}"
        what = gettext("Your %(request)s of %(amount)s is being reviewed") % {
            "request": in_sentence(request.type_label),
            "amount": amount,
        }
    else:
        what = gettext("Your %(request)s request is being reviewed") % {
            "request": in_sentence(request.type_label)
        }
    return Waiting(what, request.created_at, key, item.pk if item else None)


def pending_next_stage(item: Participation) -> ApprovalRequest | None:
    """The participation's pending next-stage or live-step request, if one waits."""
    return (
        ApprovalRequest.objects.filter(
            client_id=item.client_id,
            status=ApprovalRequest.Status.PENDING,
            type_key__in=NEXT_STAGE,
            payload__participation_id=item.pk,
        )
        .order_by("created_at")
        .first()
    )


def facts_for(client: Client, mine: list[Participation] | None = None) -> Facts:
    mine = participation.for_client(client) if mine is None else mine
    named = {p.pk: p for p in mine}
    pending = ApprovalRequest.objects.filter(
        client=client, status=ApprovalRequest.Status.PENDING
    ).order_by("created_at", "id")
    waiting = tuple(waiting_of(r, named) for r in pending)
    trading, unpaid = [], []
    preparing: set[int] = set()
    elsewhere: dict[int, str] = {}
    for item in mine:
        attempt = item.current_attempt()
        if (
            item.status == Participation.Status.ACTIVE
            and attempt is not None
            and attempt.status == StageAttempt.Status.IN_PROGRESS
        ):
            trading.append((item.pk, stage_text(item, attempt)))
            if not attempt.login:
                preparing.add(item.pk)
            if attempt.server.kind != TradingServer.Kind.SANDBOX:
                elsewhere[item.pk] = attempt.server.name
        elif item.status == Participation.Status.PENDING_PAYMENT:
            unpaid.append((item.pk, item.version.spec.name))
    blocked = set(kyc.policy().blocked_actions)
    held = ledger.balances(client)
    offered = offering.for_client(client)
    card_currencies = {
        currency
        for method in deposits.enabled_methods(client).filter(provider__in=registry.kinds())
        for currency in method.currencies
    }
    direct = any(
        PaymentWay.DIRECT in v.spec.payment_ways and v.spec.currency in card_currencies
        for v in offered
    )
    can_pay = any(
        PaymentWay.WALLET in v.spec.payment_ways
        and held.get(v.spec.currency, Decimal(0)) >= v.spec.fee
        for v in offered
    )
    kyc_wait = [w for w in waiting if w.kind == kyc.KYC]
    last = kyc.history(client).first()
    return Facts(
        client_status=client.status,
        kyc_status=client.kyc_status,
        kyc_blocks_join=kyc_actions.JOIN_CHALLENGE in blocked,
        kyc_blocks_trade=kyc_actions.TRADE in blocked,
        kyc_blocks_deposit=kyc_actions.DEPOSIT in blocked,
        kyc_reason=(getattr(last, "rejection_reason", "") or "")
        if client.kyc_status == Client.KycStatus.REJECTED
        else "",
        trading=tuple(trading),
        preparing=frozenset(preparing),
        elsewhere=elsewhere,
        unpaid=tuple(unpaid),
        waiting=waiting,
        offered=bool(offered),
        direct_purchase=direct,
        wallet_can_pay=can_pay,
        any_participation=bool(mine),
        kyc_since=kyc_wait[0].since if kyc_wait else (last.created_at if last else None),
        zone=zones.zone_of(client),
    )
