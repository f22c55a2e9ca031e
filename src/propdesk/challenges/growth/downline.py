"""What a client (an IB) sees of their own downline: each member's name, status and level,
their challenges, the fees they paid and the commission the viewer earned from them. Never
their email, phone, country, KYC or any other personal detail: the rows are built here from
the few fields listed, and both the portal page and the API show these rows alone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from propdesk.accounts import referrals
from propdesk.accounts.models import Client
from propdesk.challenges.growth import commission as commissions
from propdesk.challenges.growth.models import Commission
from propdesk.challenges.models import Participation
from propdesk.core import pagination
from propdesk.core.money import from_database_sum

TAG = "me.referrals"


@dataclass
class MemberRow:
    """One member of the viewer's downline, as the viewer may see them."""

    id: int
    name: str
    status: str
    status_label: str
    depth: int
    challenges: list[str] = field(default_factory=list)
    fees_paid: dict[str, Decimal] = field(default_factory=dict)  # currency -> amount
    commission: dict[str, Decimal] = field(default_factory=dict)  # currency -> amount

    @property
    def challenge_count(self) -> int:
        return len(self.challenges)


def rows_for(viewer: Client, members: list[referrals.Member]) -> list[MemberRow]:
    """The rows of `members` (the viewer's own downline) with their challenges, fees and the
    viewer's commission from each: three queries for the page, whatever its size."""
    ids = [m.client.pk for m in members]
    names: dict[int, list[str]] = defaultdict(list)
    for client_id, name in (
        Participation.objects.filter(client_id__in=ids)
        .order_by("created_at", "id")
        .values_list("client_id", "challenge__name")
    ):
        names[client_id].append(name)
    fees: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (
        Participation.objects.filter(
            client_id__in=ids, fee_entry__isnull=False, refund_entry__isnull=True
        )
        .values("client_id", "currency")
        .annotate(total=Sum("fee"))
        .order_by("client_id", "currency")
    ):
        fees[row["client_id"]][row["currency"]] = from_database_sum(row["total"], row["currency"])
    earned: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (
        Commission.objects.filter(ib=viewer, participation__client_id__in=ids)
        .exclude(status=Commission.Status.REVERSED)
        .values("participation__client_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("participation__client_id", "currency")
    ):
        earned[row["participation__client_id"]][row["currency"]] = from_database_sum(
            row["total"], row["currency"]
        )
    return [
        MemberRow(
            id=m.client.pk,
            name=m.client.user.name,
            status=m.client.status,
            status_label=m.client.get_status_display(),
            depth=m.depth,
            challenges=names.get(m.client.pk, []),
            fees_paid=fees.get(m.client.pk, {}),
            commission=earned.get(m.client.pk, {}),
        )
        for m in members
    ]


def page(
    viewer: Client, *, after: str | None, limit: int = referrals.PAGE
) -> tuple[list[MemberRow], str | None]:
    """A page of the viewer's own downline (level by level) and the next page's cursor. The
    cursor is signed for the viewer: another client's cursor is refused."""
    scope = str(viewer.pk)
    found = pagination.decode(after, shape=[int, int], tag=TAG, scope=scope)
    place = (found[0], found[1]) if found is not None else None
    members, more = referrals.downline(viewer, after=place, limit=limit)
    cursor = pagination.encode(list(more), tag=TAG, scope=scope) if more is not None else None
    return rows_for(viewer, members), cursor


def totals(viewer: Client) -> dict[str, dict[str, Decimal]]:
    """The viewer's commission per currency: in all (not reversed), of it what was paid into
    their wallet and what waits for a settlement, and what they owe the firm (commission
    reversed after they had withdrawn it, kept from their next commission)."""
    found: dict[str, dict[str, Decimal]] = {"commission": {}, "paid": {}, "waiting": {}}
    bucket = {
        Commission.Status.CREDITED: "paid",
        Commission.Status.SETTLED: "paid",
        Commission.Status.ACCRUED: "waiting",
        Commission.Status.SETTLING: "waiting",
    }
    for row in (
        Commission.objects.filter(ib=viewer)
        .exclude(status=Commission.Status.REVERSED)
        .values("currency", "status")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    ):
        currency, amount = row["currency"], from_database_sum(row["total"], row["currency"])
        for key in ("commission", bucket[row["status"]]):
            found[key][currency] = found[key].get(currency, Decimal(0)) + amount
    found["owed"] = commissions.debts(viewer)
    return found
