"""Starting a challenge: the fee, the `prop_participation` request, and the first stage's account.

Paying from the wallet is one ledger entry of type *Prop Trading Fee* (wallet → the firm's fee
revenue) made with the participation, under the client's row lock, so a double click or a
retried request (`Idempotency-Key`) charges once and two purchases racing for one balance never
overdraw. A rejected participation gets its fee back by a reversing entry. On approval the
stage-1 account is opened on the challenge's trading platform with the stage's balance and
leverage; its credentials are shown to the owner only.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.translation import gettext

from propdesk.accounts import mail
from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import offering
from propdesk.challenges.growth import commission, coupons
from propdesk.challenges.models import Challenge, Participation, StageAttempt
from propdesk.challenges.participation import lifecycle
from propdesk.core import idempotency, vault
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.validation import parse_id
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import deposits, ledger, payments
from propdesk.wallet.models import JournalEntry, Payment, PaymentMethod

PARTICIPATION = "prop_participation"


def fee_revenue(currency: str) -> Any:
    return ledger.firm_account("fee_revenue", currency, "Prop trading fee revenue")


def start(
    client: Client,
    challenge_id: Any,
    *,
    payment: Any,
    method: Any = None,
    idempotency_key: Any = None,
    coupon: Any = None,
) -> Participation:
    """Join a published challenge, paying its fee; refused requests charge nothing.

    `coupon`: one code or several (growth.coupons): the fee paid is the net, the discount kept.

    From the wallet the fee is taken at once. A direct purchase waits in `pending_payment` for
    the payment provider's answer (paid_online.settle), which takes the fee then.
    """
    kyc.require_kyc(client, kyc_actions.JOIN_CHALLENGE)
    version = offering.offered_to(challenge_id, client)  # not for the client's group: not found
    challenge = version.challenge
    ways = version.spec.payment_ways
    if payment not in Participation.Payment.values or payment not in ways:
        raise ValidationFailed(fields={"payment": f"This challenge is paid by: {', '.join(ways)}."})
    currency = version.spec.currency
    fee = version.spec.fee
    direct = payment == Participation.Payment.DIRECT
    chosen = _online_method(method, currency, client) if direct else None
    key = idempotency.owned_key(f"client:{client.pk}:participation", idempotency_key)
    codes = coupons.read_codes(coupon)
    asked = idempotency.fingerprint(
        challenge.pk, payment, chosen.pk if chosen else None, *(["coupon", *codes] if codes else [])
    )
    mine = Participation.objects.filter(client=client)
    if direct or codes:
        # The client's lapsed checkouts close now, sweep or not, and give their codes' uses
        # back; each in its own transaction (giving a use back locks the coupon: never while
        # this purchase holds the challenge, which another purchase may hold while it waits
        # for that coupon).
        lapse_unpaid(mine)
    with transaction.atomic():
        # Purchases by one client queue here: a retry finds the first, and two purchases can
        # never both spend the same balance.
        Client.objects.select_for_update().filter(pk=client.pk).first()
        earlier = idempotency.replay(key, asked, Participation)
        if earlier is not None:
            return earlier
        if direct:
            waiting = mine.filter(
                status=Participation.Status.PENDING_PAYMENT,
                created_at__gt=deposits.payment_deadline(),  # one lapsing meanwhile: closed
            ).count()
            deposits.refuse_too_many_unpaid(waiting, "challenge purchases")
        # No key update: staff adding this challenge to a coupon (a row that names it) do not
        # wait for the purchase while it waits for that coupon.
        still = Challenge.objects.select_for_update(no_key=True).filter(pk=challenge.pk).first()
        if still is None or still.status != Challenge.Status.PUBLISHED:
            raise NotFound(gettext("This challenge is no longer open."))  # ended meanwhile
        participation = Participation.objects.create(
            client=client,
            challenge=challenge,
            version=version,
            status=Participation.Status.PENDING_PAYMENT
            if direct
            else Participation.Status.PENDING_APPROVAL,
            payment=payment,
            fee=fee,
            currency=currency,
            method=chosen,
            checkout_token=uuid.uuid4() if direct else None,
            idempotency_key=key,
            fingerprint=asked,
        )
        coupons.apply(participation, codes)  # the fee becomes the net; the uses are counted
        if direct and participation.fee == 0:  # a coupon took it all: no checkout to pay
            lifecycle.settle(participation, Participation.Status.PENDING_APPROVAL)
            direct = False
        if direct:
            assert chosen is not None
            assert participation.checkout_token is not None
            payments.open_payment(
                token=participation.checkout_token,
                method=chosen,
                client=client,
                purpose=Payment.Purpose.PURCHASE,
                amount=participation.fee,
                currency=currency,
            )
        else:
            _take_fee(participation, ledger.wallet(client, currency))
    participation.refresh_from_db()
    return participation


def _online_method(method: Any, currency: str, client: Client) -> PaymentMethod:
    chosen = deposits.find_method(method, client)  # another group's method: not found
    if chosen is None or not payments.has_provider(chosen):
        raise ValidationFailed(fields={"method": "Choose one of the online payment methods."})
    if currency not in chosen.currencies:
        raise ValidationFailed(
            fields={"method": f"{chosen.name} takes {', '.join(chosen.currencies)}."}
        )
    return chosen


def _take_fee(participation: Participation, wallet: Any) -> None:
    """One Prop Trading Fee entry (the wallet → the firm's fee revenue), then the
    `prop_participation` request. A fee a coupon took whole posts no entry (the ledger moves
    no zero), and the request is made all the same."""
    if participation.fee > 0:
        _post_fee(participation, wallet)
    approvals.submit(  # no amount: the fee is charged, a reviewer cannot amend it
        PARTICIPATION,
        client=participation.client,
        payload={"participation_id": participation.pk},
    )


def _post_fee(participation: Participation, wallet: Any) -> None:
    commission.hold_upline(participation.client)  # client rows before the shared accounts
    participation.fee_entry = ledger.post(
        JournalEntry.Type.PROP_TRADING_FEE,
        [
            ledger.Line(wallet, -participation.fee),
            ledger.Line(fee_revenue(participation.currency), participation.fee),
        ],
        memo=f"Fee for {participation.version.spec.name}"
        + (f" paid by {participation.method.name}" if participation.method else "")
        + _discount_memo(participation),
        client_memo=fee_words(participation),
        client=participation.client,
    )
    participation.save(update_fields=["fee_entry"])
    commission.earn(participation)  # the IBs' share of the fee, with it


def fee_words(participation: Participation) -> str:
    """What the client's wallet says of a challenge's fee, written in the client's language
    (the ledger's memo is the firm's, in English): the challenge, and where a coupon took some,
    the gross price, the discount with its codes, and the net."""
    with mail.in_language_of(participation.client.user):
        words = gettext("Fee for %(challenge)s") % {"challenge": participation.version.spec.name}
        if participation.discount:
            currency = participation.currency
            words += gettext(
                ": %(gross)s less discount %(discount)s (%(codes)s) = %(net)s %(currency)s"
            ) % {
                "gross": money(participation.gross_fee, currency),
                "discount": money(participation.discount, currency),
                "codes": _codes(participation),
                "net": money(participation.fee, currency),
                "currency": currency,
            }
        return words


def _codes(participation: Participation) -> str:
    return ", ".join(u.coupon.code for u in participation.coupon_uses.select_related("coupon"))


def _discount_memo(participation: Participation) -> str:
    """The gross price, the discount and its codes, and the net, where a coupon took some (the
    firm's memo: English, whatever language the buyer's request is in)."""
    if not participation.discount:
        return ""
    currency = participation.currency
    with translation.override("en"):
        return (
            f": {money(participation.gross_fee, currency)} less discount"
            f" {money(participation.discount, currency)} ({_codes(participation)})"
            f" = {money(participation.fee, currency)} {currency}"
        )


def lapse_unpaid(participations: QuerySet[Participation] | None = None, *, limit: int = 500) -> int:
    """Cancel the direct purchases left unpaid past the deadline; returns how many. A payment
    that comes for one after all is kept in the client's wallet (paid_online.settle)."""
    stale = (Participation.objects.all() if participations is None else participations).filter(
        status=Participation.Status.PENDING_PAYMENT, created_at__lte=deposits.payment_deadline()
    )
    lapsed = 0
    for pk in list(stale.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            token = Participation.objects.filter(pk=pk).values_list("checkout_token", flat=True)
            payment = payments.lock_unpaid(token[0])  # first: the order applying it takes
            locked = (
                Participation.objects.select_for_update()
                .filter(pk=pk, status=Participation.Status.PENDING_PAYMENT)
                .first()
            )
            if locked is not None:
                lifecycle.settle(locked, Participation.Status.CANCELLED)
                coupons.release(locked)  # never paid: the codes' uses are given back
                payments.lapsed(payment)
                lapsed += 1
    return lapsed


def payment_cancelled(participation_id: int) -> None:
    locked = Participation.objects.select_for_update().get(pk=participation_id)
    if locked.status == Participation.Status.PENDING_PAYMENT:
        lifecycle.settle(locked, Participation.Status.CANCELLED)
        coupons.release(locked)  # never paid: the codes' uses are given back


def approve(request: ApprovalRequest, actor: User | None) -> None:
    """The `prop_participation` type's approval: open the first stage's account (a live first
    stage waits for the live step)."""
    participation = _locked(request)
    lifecycle.settle(participation, Participation.Status.ACTIVE)
    if participation.version.spec.stages[0].is_live:
        # Live credentials are always a person's decision: the live step comes first.
        approvals.submit(
            lifecycle.LIVE_STEP,
            client=participation.client,
            payload={"participation_id": participation.pk, "stage": 0},
            manual_only=True,
        )
        return
    lifecycle.open_stage(participation, 0)


def reject(request: ApprovalRequest, actor: User | None) -> None:
    """Rejected: the fee goes back by a reversing entry."""
    participation = _locked(request)
    move_status(
        participation,
        Participation.Status.REJECTED,
        Participation.TRANSITIONS,
        what="participation",
    )
    if participation.fee_entry is not None and participation.refund_entry is None:
        commission.hold_for_refund(participation)  # client rows before the shared accounts
        participation.refund_entry = ledger.reverse(
            participation.fee_entry,
            actor=actor,
            memo=f"Refund of the fee for participation {participation.reference}",
        )
        commission.reverse_for(participation, actor)  # the IBs' share goes back with it
    participation.save(update_fields=["status", "refund_entry"])


def event_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided purchase's event names the challenge (and its fee, refunded on a rejection)."""
    participation = Participation.objects.select_related("version").get(
        pk=request.payload["participation_id"]
    )
    return {
        "challenge": participation.version.spec.name,
        "amount": participation.fee,
        "currency": participation.currency,
    }


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    participation = Participation.objects.select_related("client", "fee_entry", "method").get(
        pk=request.payload["participation_id"]
    )
    definition = participation.version.spec
    currency = participation.currency
    stages = " → ".join(
        f"{s.kind.label} {money(s.balance, currency)} {currency}" for s in definition.stages
    )
    paid_by = participation.method.name if participation.method else "the wallet"
    return [
        ("Challenge", f"{definition.name} (v{participation.version.number})"),
        ("Stages", stages),
        ("KYC", participation.client.get_kyc_status_display()),
        (
            "Fee",
            (
                f"{money(participation.fee, currency)} {currency} paid by {paid_by}"
                f" (in the ledger as {participation.reference})"
                if participation.fee_entry_id is not None
                else "Nothing to pay: coupons took the whole fee"  # no entry: none moved
            )
            + _discount_memo(participation).replace(":", "; price", 1),
        ),
    ]


def _locked(request: ApprovalRequest) -> Participation:
    return (
        Participation.objects.select_for_update()
        .select_related("version", "client")
        .get(pk=request.payload["participation_id"])
    )


def credentials(participation: Participation, viewer: Client) -> dict[str, str] | None:
    """The current stage's login, password and server, for the participation's owner only."""
    if participation.client_id != viewer.pk:
        raise NotFound(gettext("No such participation."))
    attempt = participation.current_attempt()
    if attempt is None:
        return None
    if not attempt.login:  # the platform command that opens it has not run yet
        return {"preparing": "yes", "server": attempt.server.name}
    password = vault.open_sealed(attempt.sealed_password)
    return {
        "login": attempt.login,
        "password": password if password is not None else "(ask support to reset it)",
        "server": attempt.server.name,
        "kind": attempt.server.kind,
    }


def _with_attempts() -> Any:
    return Participation.objects.select_related("challenge", "version").prefetch_related(
        Prefetch("attempts", queryset=StageAttempt.objects.select_related("server"))
    )


def for_client(client: Client) -> list[Participation]:
    return list(_with_attempts().filter(client=client))


def get_own(client: Client, participation_id: Any) -> Participation:
    wanted = parse_id(participation_id)
    found = None if wanted is None else _with_attempts().filter(pk=wanted, client=client).first()
    if found is None:
        raise NotFound(gettext("No such participation."))
    return found


def account_owner(server_id: int, login: str) -> Client | None:
    """The client whose stage's account the server's login is (platforms.owners asks, so the
    firm's KYC policy can stop them trading)."""
    attempt = (
        StageAttempt.objects.filter(server_id=server_id, login=login)
        .select_related("participation__client__user")
        .first()
    )
    return attempt.participation.client if attempt is not None else None
