"""Payment methods and deposits: a client asks, staff (or the policy) approve, the wallet is
credited in one ledger entry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from propdesk.accounts import groups as client_groups_of
from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.registry import DecisionField
from propdesk.core import audit, idempotency
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, is_currency, parse_amount
from propdesk.core.permissions import SETTINGS_MANAGE, require_permission
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.onboarding import kyc, kyc_actions
from propdesk.wallet import bank_details, destinations, ledger, payments
from propdesk.wallet.models import Deposit, JournalEntry, Payment, PaymentDispute, PaymentMethod
from propdesk.wallet.providers import registry

DEPOSIT = "deposit"
BANK_REFERENCE = DecisionField(
    key="bank_reference",
    label="Bank reference",
    max_length=64,
    help="The transfer's transaction reference on the firm's bank statement: proof the money "
    "arrived, and the guard against crediting one transfer twice.",
    required=True,
)


# --- payment methods -------------------------------------------------------------------------


def enabled_methods(client: Client | None = None) -> QuerySet[PaymentMethod]:
    """The enabled methods; with `client`, those offered to their client group (a method
    limited to groups is offered to those groups' clients only)."""
    found = PaymentMethod.objects.filter(enabled=True)
    return client_groups_of.visible_to(found, client) if client is not None else found


def accepted_currencies(client: Client | None = None) -> list[str]:
    """The currencies some enabled method (offered to `client`) takes, in the usual order
    (core.money)."""
    taken = {c for m in enabled_methods(client) for c in m.currencies}
    return [c for c in MINOR_UNITS if c in taken]


def awaits_transfer(deposit: Deposit) -> bool:
    """A bank transfer not yet confirmed: the client is shown where to pay and what to quote."""
    return (
        deposit.method.kind == PaymentMethod.Kind.OFFLINE
        and deposit.status == Deposit.Status.PENDING
    )


def _method_snapshot(method: PaymentMethod) -> dict[str, Any]:
    groups = client_groups_of.group_names(method.client_groups.all()) if method.pk else []
    return audit.snapshot(
        method,
        [
            "name",
            "kind",
            "currencies",
            "min_amount",
            "max_amount",
            "enabled",
            "provider",
            *bank_details.FIELDS,
            "payout_to",
            "networks",
        ],
        client_groups=groups,
    )


def save_payment_method(
    method_id: int | None,
    *,
    name: Any,
    kind: Any,
    currencies: Any,
    min_amount: Any,
    max_amount: Any,
    instructions: Any = "",
    enabled: bool = True,
    provider: Any = "",
    payout_to: Any = "",
    networks: Any = (),
    client_groups: Any = None,
    actor: User,
    **bank: Any,
) -> PaymentMethod:
    """Create or change a payment method; `bank` is an offline method's bank account
    (`bank_beneficiary`, `bank_account`, `bank_bic`, `bank_name`: see bank_details.py), into
    which clients pay. `payout_to` is where its withdrawals are paid ("bank", "crypto" on the
    `networks` named, or "": it pays none; see destinations.py). `client_groups`: the groups
    it is offered to (none: every client; None: left as they are)."""
    require_permission(actor, SETTINGS_MANAGE)
    errors = FieldErrors()
    clean_name = clean_text(errors, "name", name, label="Name", max_length=100)
    text = clean_text(
        errors,
        "instructions",
        instructions,
        label="Instructions",
        max_length=2000,
        required=False,
        multiline=True,
    )
    if kind not in PaymentMethod.Kind.values:
        errors.add("kind", gettext("Choose online or offline."))
    unknown = set(bank) - set(bank_details.FIELDS)
    if unknown:
        raise TypeError(f"unknown payment method fields: {sorted(unknown)}")
    account = bank_details.clean(errors, offline=kind == PaymentMethod.Kind.OFFLINE, **bank)
    payout = destinations.clean_payout(errors, payout_to, networks)
    audience = client_groups_of.clean_groups(errors, "client_groups", client_groups)
    if provider and provider not in registry.kinds():
        errors.add("provider", gettext("Unknown payment provider."))
    elif provider and kind != PaymentMethod.Kind.ONLINE:
        errors.add("provider", gettext("Only an online method has a payment provider."))
    chosen = currencies if isinstance(currencies, list) else []
    if not chosen or any(not is_currency(c) for c in chosen):
        errors.add("currencies", f"Choose among: {', '.join(MINOR_UNITS)}.")
    low = parse_amount(errors, "min_amount", min_amount, "USD", label="Minimum")
    high = parse_amount(errors, "max_amount", max_amount, "USD", label="Maximum")
    if low is not None and high is not None and low > high:
        errors.add("max_amount", gettext("The maximum is below the minimum."))
    clash = PaymentMethod.objects.filter(name__iexact=clean_name)
    if method_id is not None:
        clash = clash.exclude(pk=method_id)
    if clean_name and clash.exists():
        errors.add("name", gettext("A payment method with this name already exists."))
    errors.raise_if_any()
    assert low is not None
    assert high is not None
    with transaction.atomic():
        method = (
            PaymentMethod.objects.select_for_update().filter(pk=method_id).first()
            if method_id is not None
            else PaymentMethod()
        )
        if method is None:
            raise NotFound(gettext("No such payment method."))
        before = _method_snapshot(method) if method.pk else None
        method.name, method.kind, method.currencies = clean_name, kind, sorted(set(chosen))
        method.min_amount, method.max_amount = low, high
        method.instructions, method.enabled = text, bool(enabled)
        method.provider = provider
        method.payout_to, method.networks = payout
        for field, value in account.items():
            setattr(method, field, value)
        method.save()
        if audience is not None:
            method.client_groups.set(client_groups_of.hold(audience))
        audit.record(
            actor=actor,
            action=(
                AuditAction.PAYMENT_METHOD_CREATE
                if before is None
                else AuditAction.PAYMENT_METHOD_UPDATE
            ),
            object_type="payment_method",
            object_id=method.pk,
            summary=f"Payment method {method.name} {'created' if before is None else 'changed'}",
            before=before,
            after=_method_snapshot(method),
        )
    return method


# --- deposits --------------------------------------------------------------------------------


def request_deposit(
    client: Client,
    *,
    method: Any,
    amount: Any,
    currency: Any,
    idempotency_key: str | None = None,
) -> Deposit:
    """Ask for a deposit; offline methods always wait for a person to verify the funds.

    The same Idempotency-Key returns the first deposit; nothing is asked twice.
    """
    key = idempotency.owned_key(f"client:{client.pk}", idempotency_key)
    kyc.require_kyc(client, kyc_actions.DEPOSIT)
    chosen, value = clean_money_request(method, amount, currency, what="deposit", client=client)
    fingerprint = idempotency.fingerprint("deposit", chosen.pk, str(value), currency)
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        earlier = idempotency.replay(key, fingerprint, Deposit)
        if earlier is not None:
            return earlier
        pending = Deposit.objects.filter(client=locked, status=Deposit.Status.PENDING).count()
        if pending >= settings.MAX_PENDING_DEPOSITS:
            raise Conflict(
                f"You already have {pending} deposits waiting; wait until they are reviewed.",
                code="too_many_pending",
            )
        paid_online = payments.has_provider(chosen)
        if paid_online:
            _refuse_too_many_unpaid(locked)
        deposit = Deposit.objects.create(
            client=locked,
            method=chosen,
            amount=value,
            currency=currency,
            idempotency_key=key,
            fingerprint=fingerprint,
            status=Deposit.Status.AWAITING_PAYMENT if paid_online else Deposit.Status.PENDING,
            checkout_token=uuid.uuid4() if paid_online else None,
        )
        if paid_online:
            assert deposit.checkout_token is not None
            payments.open_payment(
                token=deposit.checkout_token,
                method=chosen,
                client=locked,
                purpose=Payment.Purpose.DEPOSIT,
                amount=value,
                currency=currency,
            )
        else:
            _submit(deposit)
    deposit.refresh_from_db()
    return deposit


def payment_deadline(now: datetime | None = None) -> datetime:
    """An online payment opened before this and still unpaid has lapsed: its checkout is
    closed (the client starts again)."""
    hours = max(0.0, float(settings.CHECKOUT_EXPIRY_HOURS))
    return (now or timezone.now()) - timedelta(hours=hours)


def has_lapsed(opened_at: datetime) -> bool:
    return opened_at <= payment_deadline()


class TooManyUnpaid(Conflict):
    code = "too_many_awaiting_payment"


def refuse_too_many_unpaid(waiting: int, what: str) -> None:
    """The per-client cap on online payments opened and not paid (each kind on its own)."""
    limit = settings.MAX_AWAITING_PAYMENT
    if waiting >= limit:
        hours = f"{float(settings.CHECKOUT_EXPIRY_HOURS):g}"
        raise TooManyUnpaid(
            f"You already have {waiting} {what} waiting for payment (at most {limit}). "
            f"Pay or cancel one of them first; unpaid ones lapse after {hours} hours."
        )


def _refuse_too_many_unpaid(client: Client) -> None:
    """Under the client's lock: their lapsed checkouts close now (the sweep may not have run
    yet), then the ones still open are counted."""
    mine = Deposit.objects.filter(client=client)
    lapse_unpaid(mine)
    waiting = mine.filter(status=Deposit.Status.AWAITING_PAYMENT).count()
    refuse_too_many_unpaid(waiting, "card payments")


def lapse_unpaid(deposits: QuerySet[Deposit] | None = None, *, limit: int = 500) -> int:
    """Cancel the online deposits left unpaid past the deadline; returns how many.

    A payment that still comes for one (made in time, told late) is not lost: see
    `payment_received`."""
    stale = (Deposit.objects.all() if deposits is None else deposits).filter(
        status=Deposit.Status.AWAITING_PAYMENT, created_at__lte=payment_deadline()
    )
    lapsed = 0
    for pk in list(stale.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            token = Deposit.objects.filter(pk=pk).values_list("checkout_token", flat=True)[0]
            payment = payments.lock_unpaid(token)
            locked = (
                Deposit.objects.select_for_update()
                .filter(pk=pk, status=Deposit.Status.AWAITING_PAYMENT)
                .first()
            )
            if locked is None:
                continue  # paid or cancelled meanwhile
            move_status(locked, Deposit.Status.CANCELLED, Deposit.TRANSITIONS, what="deposit")
            locked.save(update_fields=["status"])
            payments.lapsed(payment)
            lapsed += 1
    return lapsed


def _submit(deposit: Deposit, amount: Decimal | None = None) -> None:
    approvals.submit(
        DEPOSIT,
        client=deposit.client,
        payload={"deposit_id": deposit.pk},
        amount=deposit.amount if amount is None else amount,
        currency=deposit.currency,
        manual_only=deposit.method.kind == PaymentMethod.Kind.OFFLINE,
    )


def payment_received(deposit: Deposit, *, payment_id: str, amount: Decimal) -> str | None:
    """The provider confirmed `amount` more arrived (wallet.payment_apply, once per amount):
    the deposit goes to approval (or straight through) for what actually arrived.

    A payment for a deposit cancelled meanwhile (it lapsed while the confirmation was on its
    way, e.g. our site was down) still arrived: the deposit is reopened and goes to approval
    like any other, rather than the money being dropped. More money after that (the rest of a
    part-payment, an over-payment) is a deposit of its own, reviewed like any other."""
    locked = (
        Deposit.objects.select_for_update().select_related("method", "client").get(pk=deposit.pk)
    )
    late = locked.status == Deposit.Status.CANCELLED and not locked.provider_payment_id
    if locked.status != Deposit.Status.AWAITING_PAYMENT and not late:
        # More money for a checkout already paid: it arrived all the same, so it is a deposit
        # of its own, reviewed like any other, never dropped.
        again = Deposit.objects.create(
            client=locked.client,
            method=locked.method,
            amount=amount,
            currency=locked.currency,
            status=Deposit.Status.PENDING,
            provider_payment_id=payment_id,
        )
        _submit(again)
        return f"paid again: deposit {again.reference} opened for the second payment"
    move_status(locked, Deposit.Status.PENDING, Deposit.TRANSITIONS, what="deposit")
    locked.provider_payment_id = payment_id
    locked.save(update_fields=["status", "provider_payment_id"])
    _submit(locked, amount)
    return "paid after the checkout closed: reopened" if late else None


def payment_cancelled(deposit: Deposit) -> None:
    locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
    if locked.status != Deposit.Status.AWAITING_PAYMENT:
        return
    move_status(locked, Deposit.Status.CANCELLED, Deposit.TRANSITIONS, what="deposit")
    locked.save(update_fields=["status"])


def clean_money_request(
    method: Any, amount: Any, currency: Any, *, what: str, client: Client | None = None
) -> tuple[PaymentMethod, Decimal]:
    """The enabled method and the exact amount, within the method's currencies and limits.
    A method not offered to `client`'s group is not found (as if it did not exist)."""
    errors = FieldErrors()
    chosen = find_method(method, client)
    if chosen is None:
        errors.add("method", gettext("Choose one of the payment methods."))
    if not is_currency(currency):
        errors.add("currency", gettext("Unknown currency."))
    elif currency not in accepted_currencies(client):
        taken = ", ".join(accepted_currencies(client)) or "none yet"
        errors.add("currency", f"No payment method takes {currency}; choose one of: {taken}.")
    elif chosen is not None and currency not in chosen.currencies:
        errors.add("currency", f"{chosen.name} takes {', '.join(chosen.currencies)}.")
    value = parse_amount(errors, "amount", amount, currency) if is_currency(currency) else None
    if (
        chosen is not None
        and value is not None
        and not (chosen.min_amount <= value <= chosen.max_amount)
    ):
        errors.add(
            "amount",
            f"{chosen.name} takes between {money(chosen.min_amount)} and "
            f"{money(chosen.max_amount)}.",
        )
    errors.raise_if_any(f"Please correct the {what}.")
    assert chosen is not None
    assert value is not None
    return chosen, value


def find_method(value: Any, client: Client | None = None) -> PaymentMethod | None:
    """The enabled method named or numbered `value`; with `client`, one offered to them (an
    enabled method of another group's: NotFound, so the API answers 404)."""
    found = _find_method(value)
    if (
        found is not None
        and client is not None
        and not client_groups_of.offered_to(client, found.client_groups.all())
    ):
        raise NotFound(gettext("No such payment method."))
    return found


def _find_method(value: Any) -> PaymentMethod | None:
    methods = enabled_methods()
    if isinstance(value, int) and not isinstance(value, bool):
        return methods.filter(pk=value).first() if 0 < value < 2**31 else None
    if isinstance(value, str) and value.strip() and value.isprintable() and len(value) <= 100:
        text = value.strip()
        wanted = parse_id(text)
        if wanted is not None:
            return methods.filter(pk=wanted).first() if wanted < 2**31 else None
        return methods.filter(name__iexact=text).first()
    return None


# --- the reviewer's bank reference ----------------------------------------------------------------


def _deposit_of(request: ApprovalRequest) -> Deposit:
    return Deposit.objects.select_related("method").get(pk=request.payload["deposit_id"])


def decision_fields(request: ApprovalRequest) -> tuple[DecisionField, ...]:
    """An offline deposit (a bank transfer) is approved against the transfer that arrived: the
    reviewer enters its bank reference. An online one has the provider's payment id."""
    offline = _deposit_of(request).method.kind == PaymentMethod.Kind.OFFLINE
    return (BANK_REFERENCE,) if offline else ()


def decision_initial(request: ApprovalRequest) -> dict[str, str]:
    """What an earlier level entered, for the next level to check."""
    return {"bank_reference": _deposit_of(request).bank_reference}


def take_bank_reference(request: ApprovalRequest, inputs: dict[str, str], actor: User) -> None:
    """Keep the reviewer's bank reference on the deposit (at every level of approval): required,
    and refused when another deposit, not rejected, already has it (any case), naming it."""
    deposit = (
        Deposit.objects.select_for_update()
        .select_related("method")
        .get(pk=request.payload["deposit_id"])
    )
    if deposit.method.kind != PaymentMethod.Kind.OFFLINE:
        return
    reference = inputs.get("bank_reference", "")
    if not reference:
        raise ValidationFailed(
            gettext("Enter the bank reference."),
            fields={
                "bank_reference": "Enter the transfer's bank reference from the bank statement: "
                "a bank transfer is approved only against the transfer that arrived."
            },
        )
    refused = _reference_taken(deposit, reference)
    if refused is None:
        deposit.bank_reference = reference
        try:
            with transaction.atomic():  # a savepoint: a racing approval keeps the reference
                deposit.save(update_fields=["bank_reference"])
        except IntegrityError:
            refused = _reference_taken(deposit, reference) or (
                f"Bank reference {reference} is being recorded on another deposit right now; "
                "check the bank statement."
            )
    if refused is not None:
        raise ValidationFailed(
            gettext("This bank reference is already used."), fields={"bank_reference": refused}
        )


def _reference_taken(deposit: Deposit, reference: str) -> str | None:
    other = (
        Deposit.objects.filter(bank_reference__iexact=reference)
        .exclude(pk=deposit.pk)
        .exclude(status=Deposit.Status.REJECTED)
        .select_related("client__user")
        .first()
    )
    if other is None:
        return None
    return (
        f"Bank reference {reference} is already recorded on deposit {other.reference} "
        f"({other.client.user.email}, {money(other.amount, other.currency)} {other.currency}, "
        f"{other.get_status_display().lower()}): one transfer is credited once. Check the bank "
        "statement for this deposit's own transfer."
    )


def credit(request: ApprovalRequest, actor: User | None) -> None:
    """The `deposit` type's approval: credit the (possibly amended) amount in one entry."""
    deposit = (
        Deposit.objects.select_for_update()
        .select_related("method")
        .get(pk=request.payload["deposit_id"])
    )
    _refuse_while_disputed(deposit)
    move_status(deposit, Deposit.Status.APPROVED, Deposit.TRANSITIONS, what="deposit")
    amount = Decimal(request.amount if request.amount is not None else deposit.amount)
    wallet = ledger.wallet(request.client, deposit.currency)
    cash = ledger.cash_account(deposit.method, deposit.currency)
    deposit.entry = ledger.post(
        JournalEntry.Type.DEPOSIT,
        [ledger.Line(wallet, amount), ledger.Line(cash, -amount)],
        memo=f"Deposit {deposit.reference} by {deposit.method.name}"
        + (f", bank reference {deposit.bank_reference}" if deposit.bank_reference else ""),
        client=request.client,
        actor=actor,
    )
    deposit.credited_amount = amount
    deposit.save(update_fields=["status", "entry", "credited_amount"])


def _refuse_while_disputed(deposit: Deposit) -> None:
    """Money the payer's bank is taking back (an open chargeback on the payment) is not credited:
    it could be withdrawn before the dispute is decided. Decide the dispute first."""
    paid = Q(token=deposit.checkout_token) if deposit.checkout_token else Q(pk__in=[])
    if deposit.provider_payment_id:
        paid |= Q(method=deposit.method, payment_id=deposit.provider_payment_id)
    payments = Payment.objects.filter(paid, client_id=deposit.client_id)
    if PaymentDispute.objects.filter(
        payment__in=payments, status=PaymentDispute.Status.OPEN
    ).exists():
        raise Conflict(
            f"Deposit {deposit.reference}'s payment is disputed by the payer's bank: it is "
            "not credited until the dispute is decided (Finance > Payments).",
            code="payment_disputed",
        )


def refuse(request: ApprovalRequest, actor: User | None) -> None:
    deposit = Deposit.objects.select_for_update().get(pk=request.payload["deposit_id"])
    move_status(deposit, Deposit.Status.REJECTED, Deposit.TRANSITIONS, what="deposit")
    deposit.save(update_fields=["status"])


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    deposit = Deposit.objects.select_related("method").get(pk=request.payload["deposit_id"])
    rows = [
        ("Method", f"{deposit.method.name} ({deposit.method.kind})"),  # "Bank transfer (offline)"
        ("Requested", f"{money(deposit.amount, deposit.currency)} {deposit.currency}"),
    ]
    if deposit.bank_reference:
        rows.append(("Bank reference", deposit.bank_reference))
    if deposit.provider_payment_id:
        rows.append(("Provider payment", deposit.provider_payment_id))
    if (
        deposit.method.kind == PaymentMethod.Kind.OFFLINE
        and deposit.status == Deposit.Status.PENDING
    ):
        rows.append(
            (
                "Check",
                "Verify that the funds arrived before approving, and enter the transfer's bank "
                "reference from the statement.",
            )
        )
    return rows


def event_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided deposit's event (`deposit.approved`/`.rejected`) names what reached the
    wallet: the amount credited, which a reviewer may have amended."""
    deposit = Deposit.objects.get(pk=request.payload["deposit_id"])
    credited = deposit.credited_amount if deposit.credited_amount is not None else deposit.amount
    return {"amount": credited, "currency": deposit.currency}


def client_deposits(client: Client) -> QuerySet[Deposit]:
    return Deposit.objects.filter(client=client).select_related("method")
