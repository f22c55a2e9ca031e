"""Periodic settlement of IB commission: a period's collected commission of each IB (per
currency) becomes one `CommissionSettlement` and one `ib_commission` request.

Approved: one IB Commission entry pays the IB (less what they owe the firm), the commissions
become SETTLED and the settlement PAID. Rejected: the settlement is REJECTED and its
commissions go back to ACCRUED, and the next period's settlement takes them again (a period
gathers what is still collected from before it too, and its settlement's period starts at the
oldest; a firm that wants them gone reverses the fee instead). Settling a period twice pays
nothing twice: only ACCRUED commissions are gathered, under their row locks.

An IB suspended, or no longer an IB, since they earned is never paid automatically: their
request waits for a person whatever the policy, and its details say why.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.growth import commission as commissions
from propdesk.challenges.growth.models import Commission, CommissionSettlement
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import ValidationFailed
from propdesk.core.permissions import require_permission
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.validation import FieldErrors, read_day

IB_COMMISSION = "ib_commission"
LONGEST_PERIOD = timedelta(days=366)  # the days a period holds, both ends counted


def period(start: Any, end: Any) -> tuple[date, date]:
    """A period of whole days (the firm's), first and last included; not in the future."""
    errors = FieldErrors()
    first = _day(errors, "period_start", start)
    last = _day(errors, "period_end", end)
    errors.raise_if_any()
    assert first is not None
    assert last is not None
    if first > last:
        raise ValidationFailed(fields={"period_end": "The period ends before it starts."})
    if last > timezone.localdate():
        raise ValidationFailed(fields={"period_end": "The period cannot end in the future."})
    if last - first >= LONGEST_PERIOD:
        raise ValidationFailed(fields={"period_start": "A period is at most a year."})
    return first, last


def _day(errors: FieldErrors, field: str, value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    found = read_day(value) if isinstance(value, str) and len(value) <= 10 else None
    if found is None:
        errors.add(field, "Give a day as YYYY-MM-DD.")
    return found


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The period's first moment and the moment after it, in the firm's time zone."""
    zone = _zone()
    return (
        datetime.combine(first, time.min, tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    )


def settle(period_start: Any, period_end: Any, actor: User | None) -> list[CommissionSettlement]:
    """Gather each IB's ACCRUED commission made in the period (or before it, still waiting:
    given back by a rejected settlement, or of a period never settled) into one settlement per
    IB and currency, each with its `ib_commission` request; returns the settlements made (none
    when the period was settled already)."""
    if actor is not None:
        require_permission(actor, commissions.COMMISSION_MANAGE)
    first, last = period(period_start, period_end)
    _, until = bounds(first, last)
    made = []
    with transaction.atomic():
        waiting = Commission.objects.select_for_update().filter(
            status=Commission.Status.ACCRUED, created_at__lt=until
        )
        groups: dict[tuple[int, str], list[Commission]] = defaultdict(list)
        for found in waiting.order_by("pk"):  # locked: a second settle waits, then finds none
            groups[(found.ib_id, found.currency)].append(found)
        for (ib_id, currency), gathered in sorted(groups.items()):
            ib = Client.objects.select_related("user").get(pk=ib_id)
            made.append(_one(ib, currency, gathered, first, last, actor))
    return made


def _one(
    ib: Client,
    currency: str,
    gathered: list[Commission],
    first: date,
    last: date,
    actor: User | None,
) -> CommissionSettlement:
    oldest = timezone.localtime(min(c.created_at for c in gathered), _zone()).date()
    made = CommissionSettlement.objects.create(
        ib=ib,
        period_start=min(first, oldest),
        period_end=last,
        amount=sum((c.amount for c in gathered), Decimal(0)),
        currency=currency,
    )
    for found in gathered:
        move_status(found, Commission.Status.SETTLING, Commission.TRANSITIONS)
        found.settlement = made
        found.save(update_fields=["status", "settlement"])
    audit.record(
        actor=actor,
        action=AuditAction.COMMISSION_SETTLEMENT_CREATE,
        object_type="commission_settlement",
        object_id=made.pk,
        summary=f"IB commission of {ib.user.email} for {made.period_start} to {last}: "
        f"{money(made.amount, currency)} {currency} ({len(gathered)} commissions) "
        "submitted for approval",
        after=audit.snapshot(made, ["ib", "period_start", "period_end", "amount", "currency"]),
    )
    approvals.submit(
        IB_COMMISSION,
        client=ib,
        payload={"settlement_id": made.pk},
        manual_only=_not_payable(ib) is not None,  # a person looks at an IB no longer active
    )
    return made


def _not_payable(ib: Client) -> str | None:
    """Why the IB should not be paid without a person's look, or None."""
    if ib.kind != Client.Kind.IB:
        return f"{ib.get_kind_display()}: no longer an active IB"
    if ib.status != Client.Status.ACTIVE:
        return f"{ib.get_status_display()}: no longer an active IB"
    return None


def _zone() -> Any:
    return timezone.get_default_timezone()


def drop(found: Commission) -> None:
    """A commission waiting in a settlement was reversed: it leaves the settlement, whose
    amount is lowered (an emptied one pays nothing when approved). The caller locked the
    commission; the settlement is locked after it, as its approval does."""
    assert found.settlement_id is not None
    waiting = CommissionSettlement.objects.select_for_update().get(pk=found.settlement_id)
    waiting.amount = _total(waiting.pk, without=found.pk)
    waiting.save(update_fields=["amount"])
    found.settlement = None


def _total(settlement_id: int, *, without: int) -> Decimal:
    rows = Commission.objects.filter(
        settlement_id=settlement_id, status=Commission.Status.SETTLING
    ).exclude(pk=without)
    return sum((c.amount for c in rows), Decimal(0))


def _locked(request: ApprovalRequest) -> tuple[CommissionSettlement, list[Commission]]:
    """The settlement's commissions, then the settlement: a refund reversing one of them
    takes the same order (so the two queue, never deadlock), and one reversed meanwhile is no
    longer among them."""
    wanted = request.payload["settlement_id"]
    rows = list(
        Commission.objects.select_for_update()
        .filter(settlement_id=wanted, status=Commission.Status.SETTLING)
        .order_by("pk")
    )
    settlement = (
        CommissionSettlement.objects.select_for_update(of=("self",))
        .select_related("ib__user")
        .get(pk=wanted)
    )
    return settlement, rows


def approve(request: ApprovalRequest, actor: User | None) -> None:
    """Pay the settlement: one IB Commission entry for all its commissions."""
    settlement, rows = _locked(request)
    move_status(settlement, CommissionSettlement.Status.PAID, CommissionSettlement.TRANSITIONS)
    settlement.amount = sum((c.amount for c in rows), Decimal(0))
    if settlement.amount > 0:
        settlement.entry = commissions.pay(
            settlement.ib,
            settlement.amount,
            settlement.currency,
            memo=f"IB commission settlement #{settlement.pk} for "
            f"{settlement.period_start} to {settlement.period_end} ({len(rows)} commissions)",
            actor=actor,
        )
    settlement.save(update_fields=["status", "amount", "entry"])
    for found in rows:
        move_status(found, Commission.Status.SETTLED, Commission.TRANSITIONS)
        found.save(update_fields=["status"])


def reject(request: ApprovalRequest, actor: User | None) -> None:
    """Not paid: the commissions go back to ACCRUED, for a later settlement."""
    settlement, rows = _locked(request)
    move_status(settlement, CommissionSettlement.Status.REJECTED, CommissionSettlement.TRANSITIONS)
    settlement.save(update_fields=["status"])
    for found in rows:
        move_status(found, Commission.Status.ACCRUED, Commission.TRANSITIONS)
        found.settlement = None
        found.save(update_fields=["status", "settlement"])


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    settlement = CommissionSettlement.objects.select_related("ib__user").get(
        pk=request.payload["settlement_id"]
    )
    currency = settlement.currency
    count = settlement.commissions.count()
    owing = commissions.owed(settlement.ib, currency)
    lines = [
        ("IB", f"{settlement.ib.user.name} <{settlement.ib.user.email}>"),
        ("Period", f"{settlement.period_start} to {settlement.period_end}"),
        ("Commission", f"{money(settlement.amount, currency)} {currency} ({count} fees)"),
    ]
    if settlement.status == CommissionSettlement.Status.REJECTED:  # its commissions left it
        lines[-1] = (
            "Commission",
            f"{money(settlement.amount, currency)} {currency} (rejected: given back to be "
            "settled later)",
        )
    why = _not_payable(settlement.ib)
    if why is not None:
        lines.append(("IB status", why))
    if owing > 0:
        lines.append(
            ("Owed by the IB", f"{money(owing, currency)} {currency} (kept from this payment)")
        )
    return lines


def event_data(request: ApprovalRequest) -> dict[str, object]:
    """A decided settlement's event (`request.approved`/`.rejected`) names its amount."""
    settlement = CommissionSettlement.objects.get(pk=request.payload["settlement_id"])
    return {"amount": settlement.amount, "currency": settlement.currency}
