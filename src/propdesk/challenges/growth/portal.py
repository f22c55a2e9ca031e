"""The portal's Referrals page: the client's referral code and link, and their own downline
(IB -> sub-IB -> clients, any depth), a page at a time, with each member's challenges, the fees
they paid and the commission the client earned from them (challenges/growth/downline.py says
what is shown, and nothing personal is)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from propdesk.accounts import referrals
from propdesk.accounts.models import Client
from propdesk.challenges.growth import downline
from propdesk.core.errors import ValidationFailed
from propdesk.core.web import actor, client_view


def referral_link(request: HttpRequest, client: Client) -> str:
    """The absolute address of the registration page with the client's code in it."""
    path = reverse("portal:register") + "?" + urlencode({"ref": client.referral_code or ""})
    return request.build_absolute_uri(path)


@require_GET
@client_view
def referrals_page(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    try:
        rows, cursor = downline.page(client, after=request.GET.get("after"))
    except ValidationFailed:  # a cursor not ours (of another client, or made up): page one
        rows, cursor = downline.page(client, after=None)
    return render(
        request,
        "challenges/growth/portal_referrals.html",
        {
            "client": client,
            "link": referral_link(request, client),
            "rows": rows,
            "next": cursor,
            "paged": bool(request.GET.get("after")),
            "total": referrals.downline_count(client),
            "direct": client.referrals.count(),
            "earned": (earned := downline.totals(client))["commission"],
            "paid": earned["paid"],
            "waiting": earned["waiting"],
            "owed": earned["owed"],
        },
    )
