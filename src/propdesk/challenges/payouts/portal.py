"""The trader's Payouts page of a funded challenge: the next date a payout may be asked for,
each condition of the schedule met or not with its figure, the button to ask, and every payout
so far (a rejection's reason shown)."""

from __future__ import annotations

import uuid

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from propdesk.accounts import zones
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Payout, StageAttempt
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts import services as payouts
from propdesk.core.errors import DomainError
from propdesk.core.templatetags.money import money
from propdesk.core.web import actor, client_view, edit_form


class RequestForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def _page(
    request: HttpRequest, attempt: StageAttempt, form: RequestForm, status: int, error: str
) -> HttpResponse:
    client = actor(request).client
    participation = attempt.participation
    refused = payouts.refusal(attempt)
    found = None
    if attempt.kind == StageKind.LIVE:
        found = payouts.check(attempt, payouts.read_account(attempt))
    schedule = payouts.schedule_of(participation)
    return render(
        request,
        "challenges/portal_payouts.html",
        {
            "p": participation,
            "attempt": attempt,
            "name": participation.version.spec.name,
            "form": form,
            "error": error,
            "refused": refused,
            "found": found,
            "schedule_words": eligibility.timing_words(schedule),
            "min_payout": schedule.min_payout,
            "payouts": Payout.objects.filter(
                attempt__participation=participation, client=client
            ).select_related("entry"),
            "zone": zones.zone_of(client),
            "back": reverse("portal:my_challenge", kwargs={"participation_id": participation.pk}),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@client_view
def payouts_page(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    payouts.live_stage(client, participation_id)  # someone else's: 404 before anything
    form = RequestForm(
        request.POST if request.method == "POST" else None,
        initial={"idempotency_key": uuid.uuid4().hex},
    )
    refusal: list[DomainError] = []

    def ask(data: dict[str, str]) -> Payout:
        return payouts.request_payout(
            client, participation_id, idempotency_key=data["idempotency_key"]
        )

    def asked(payout: Payout) -> str:
        if payout.status == Payout.Status.REQUESTED:
            return (
                f"Payout {payout.reference} requested: "
                f"{money(payout.trader_share, payout.currency)} {payout.currency}, your share "
                f"of {money(payout.profit, payout.currency)} {payout.currency} profit. "
                "The firm reviews it."
            )
        return f"Payout {payout.reference} is {payout.get_status_display().lower()}."

    return edit_form(
        request,
        form,
        ask,
        refused=(DomainError,),
        refusal=refusal.append,
        saved=asked,
        then=lambda payout: redirect(
            "portal:my_challenge_payouts", participation_id=participation_id
        ),
        page=lambda status: _page(
            request,
            payouts.live_stage(client, participation_id),
            form,
            status,
            refusal[0].message if refusal else "",
        ),
    )
