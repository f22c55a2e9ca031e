"""Asking for a payout from the portal: the form of the Payouts tab (challenges/payouts/tab.py)
posts here; done, back to the tab with what was asked; refused, the tab again with the reason
(which condition, its figure) and nothing kept."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from propdesk.challenges.models import Payout
from propdesk.challenges.participation import portal_challenge as participation_portal
from propdesk.challenges.participation import services as participation
from propdesk.challenges.payouts import services as payouts
from propdesk.challenges.payouts import tab
from propdesk.core.errors import DomainError
from propdesk.core.templatetags.money import money
from propdesk.core.web import actor, client_view, edit_form


def _tab_url(participation_id: int) -> str:
    url = reverse("portal:my_challenge", kwargs={"participation_id": participation_id})
    return f"{url}?tab=payouts"


def _said(payout: Payout) -> str:
    if payout.status == Payout.Status.REQUESTED:
        return gettext(
            "Payout %(reference)s requested: %(share)s, your share of %(profit)s profit. "
            "The firm reviews it."
        ) % {
            "reference": payout.reference,
            "share": f"{money(payout.trader_share, payout.currency)} {payout.currency}",
            "profit": f"{money(payout.profit, payout.currency)} {payout.currency}",
        }
    return gettext("Payout %(reference)s is %(status)s.") % {
        "reference": payout.reference,
        "status": str(payout.get_status_display()).lower(),
    }


@require_http_methods(["GET", "POST"])
@client_view
def payouts_page(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    item = participation.get_own(client, participation_id)  # someone else's: 404
    if request.method == "GET":
        return redirect(_tab_url(item.pk))
    form = tab.RequestForm(request.POST)
    refusal: list[DomainError] = []
    return edit_form(
        request,
        form,
        lambda data: payouts.request_payout(
            client, item.pk, idempotency_key=data["idempotency_key"]
        ),
        refused=(DomainError,),
        refusal=refusal.append,
        saved=_said,
        then=lambda payout: redirect(_tab_url(item.pk)),
        page=lambda status: participation_portal.page(
            request,
            item,
            "payouts",
            tab.context(
                client,
                item,
                form=tab.fresh_form(),
                error=refusal[0].message if refusal else "",
            ),
            status=status,
        ),
    )
