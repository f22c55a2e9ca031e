"""GET /api/v1/me/referrals: the calling client's referral code and link, and their own
downline a page at a time, with the fields of the portal's Referrals page (never anything
personal beyond the member's name and status)."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from django.http import HttpRequest
from ninja import Field, Router, Schema

from propdesk.accounts.api_auth import current_client
from propdesk.accounts.models import Client
from propdesk.challenges.growth import downline
from propdesk.challenges.growth.portal import referral_link
from propdesk.core.pagination import After, Page, refuse_offset
from propdesk.core.schema import WHOLE, Money, OneOf

referrals_router = Router(tags=["referrals"])


class AmountOut(Schema):
    currency: str
    amount: Money


class MemberOut(Schema):
    id: int
    name: str
    status: Annotated[str, OneOf(Client.Status.values)]
    depth: int = Field(description="1: referred by you; 2: referred by them; and so on.")
    challenge_count: int
    challenges: list[str] = Field(description="The names of their challenges, oldest first.")
    fees_paid: list[AmountOut] = Field(description="Challenge fees paid (refunds left out).")
    commission: list[AmountOut] = Field(
        description="The commission you earned on their fees (reversed commission left out)."
    )


class ReferralsPage(Page[MemberOut]):
    referral_code: str
    referral_link: str


def _amounts(found: dict[str, object]) -> list[AmountOut]:
    return [AmountOut(currency=c, amount=a) for c, a in found.items()]  # type: ignore[arg-type]


@referrals_router.get(
    "/me/referrals",
    response=ReferralsPage,
    summary="My referral code and link, and my downline level by level",
)
def my_referrals(
    request: HttpRequest,
    after: After = None,
    limit: Annotated[int, Interval(ge=1, le=200), WHOLE] = 50,
) -> ReferralsPage:
    refuse_offset(request)
    client = current_client(request, "Referrals are clients'; staff see them on the client's page.")
    rows, cursor = downline.page(client, after=after, limit=limit)
    return ReferralsPage(
        referral_code=client.referral_code or "",
        referral_link=referral_link(request, client),
        items=[
            MemberOut(
                id=r.id,
                name=r.name,
                status=r.status,
                depth=r.depth,
                challenge_count=r.challenge_count,
                challenges=r.challenges,
                fees_paid=_amounts(dict(r.fees_paid)),
                commission=_amounts(dict(r.commission)),
            )
            for r in rows
        ],
        next=cursor,
    )
